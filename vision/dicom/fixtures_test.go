package dicom

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixtureDir is the shared fixture folder, a sibling of the repository.
var fixtureDir = filepath.Join("..", "..", "..", "shared", "dicom")

// fixture is the part of <name>.expected.json the tests check.
type fixture struct {
	Rows                int      `json:"rows"`
	Columns             int      `json:"columns"`
	Frames              int      `json:"frames"`
	SamplesPerPixel     int      `json:"samples_per_pixel"`
	BitsAllocated       int      `json:"bits_allocated"`
	BitsStored          int      `json:"bits_stored"`
	HighBit             int      `json:"high_bit"`
	PixelRepresentation int      `json:"pixel_representation"`
	Photometric         string   `json:"photometric"`
	TransferSyntaxUID   string   `json:"transfer_syntax_uid"`
	RescaleSlope        *float64 `json:"rescale_slope"`
	RescaleIntercept    *float64 `json:"rescale_intercept"`
	Lossy               bool     `json:"lossy"`
	Error               bool     `json:"error"`
	FailStage           string   `json:"fail_stage"`
	SHA256              string   `json:"sha256_int32le"`
	I32                 string   `json:"i32"`
	SourceI32           string   `json:"source_i32"`
	DcmtkI32            string   `json:"dcmtk_decoded_i32"`
	DcmtkSHA256         string   `json:"dcmtk_decoded_sha256_int32le"`
	MaxAbsDiff          struct {
		Dcmtk int `json:"dcmtk"`
	} `json:"max_abs_diff"`
	StoredMin *int `json:"stored_value_min"`
	StoredMax *int `json:"stored_value_max"`
}

// loadManifest returns the fixture names, or skips the test when the
// shared folder is not there.
func loadManifest(t testing.TB) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, "manifest.json"))
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("no fixtures: %s is missing", fixtureDir)
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	if err := json.Unmarshal(b, &names); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	return names
}

// readI32 reads a little-endian int32 array and checks its hash when one
// is given.
func readI32(t *testing.T, name, wantSHA string) []int32 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name))
	if err != nil {
		t.Fatal(err)
	}
	if wantSHA != "" {
		if got := sha256Hex(b); got != wantSHA {
			t.Fatalf("%s: sha256 %s, JSON says %s", name, got, wantSHA)
		}
	}
	out := make([]int32, len(b)/4)
	for i := range out {
		out[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// hashStored is the fixtures' sha256_int32le of decoded values.
func hashStored(v []int32) string {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(x))
	}
	return sha256Hex(b)
}

func TestFixtures(t *testing.T) {
	for _, name := range loadManifest(t) {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(fixtureDir, name+".expected.json"))
			if err != nil {
				t.Fatal(err)
			}
			var fx fixture
			if err := json.Unmarshal(b, &fx); err != nil {
				t.Fatalf("%s.expected.json: %v", name, err)
			}
			path := filepath.Join(fixtureDir, name+".dcm")
			if fx.Error {
				checkBroken(t, path, fx)
				return
			}
			im, err := ReadFile(path)
			if err != nil {
				t.Fatalf("ReadFile: %v", err)
			}
			checkHeader(t, im, fx)
			got, err := im.Stored()
			if !SupportedTransferSyntax(fx.TransferSyntaxUID) {
				var ue *UnsupportedTransferSyntaxError
				if !errors.As(err, &ue) || ue.UID != fx.TransferSyntaxUID ||
					!strings.Contains(err.Error(), "unsupported transfer syntax "+fx.TransferSyntaxUID+" (") {
					t.Fatalf("Stored of unsupported %s: err = %v, want an UnsupportedTransferSyntaxError", fx.TransferSyntaxUID, err)
				}
				t.Logf("unsupported as expected: %v", err)
				return
			}
			if err != nil {
				t.Fatalf("Stored: %v", err)
			}
			if n := fx.Rows * fx.Columns * fx.Frames; len(got) != n {
				t.Fatalf("Stored: %d values, want %d", len(got), n)
			}
			if fx.Lossy {
				checkLossy(t, got, fx)
				return
			}
			want := readI32(t, fx.I32, fx.SHA256)
			if h := hashStored(got); h != fx.SHA256 {
				t.Errorf("sha256 of stored values %s, want %s", h, fx.SHA256)
			}
			if i := firstDiff(got, want); i >= 0 {
				t.Fatalf("stored[%d] = %d, want %d", i, got[i], want[i])
			}
			checkFrames(t, im, got, fx)
		})
	}
}

// checkBroken checks that a broken file fails at its stage.
func checkBroken(t *testing.T, path string, fx fixture) {
	im, err := ReadFile(path)
	switch fx.FailStage {
	case "parse":
		if err == nil {
			t.Fatalf("ReadFile succeeded, want a parse error")
		}
	case "pixels":
		if err != nil {
			t.Fatalf("ReadFile: %v; want the header to parse", err)
		}
	case "parse_or_pixels":
	default:
		t.Fatalf("unknown fail_stage %q", fx.FailStage)
	}
	if err == nil {
		if _, err = im.Stored(); err == nil {
			t.Fatalf("Stored succeeded, want an error")
		}
		if _, ferr := im.Frame(0); ferr == nil {
			t.Errorf("Frame(0) succeeded, want an error")
		}
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the file", err)
	}
	t.Logf("%s: %v", fx.FailStage, err)
}

func checkHeader(t *testing.T, im *Image, fx fixture) {
	t.Helper()
	slope, icpt := 1.0, 0.0
	if fx.RescaleSlope != nil {
		slope = *fx.RescaleSlope
	}
	if fx.RescaleIntercept != nil {
		icpt = *fx.RescaleIntercept
	}
	type field struct {
		name      string
		got, want any
	}
	for _, f := range []field{
		{"Rows", im.Rows, fx.Rows},
		{"Columns", im.Columns, fx.Columns},
		{"Frames", im.Frames, fx.Frames},
		{"SamplesPerPixel", im.SamplesPerPixel, fx.SamplesPerPixel},
		{"BitsAllocated", im.BitsAllocated, fx.BitsAllocated},
		{"BitsStored", im.BitsStored, fx.BitsStored},
		{"HighBit", im.HighBit, fx.HighBit},
		{"Signed", im.Signed, fx.PixelRepresentation == 1},
		{"Photometric", im.Photometric, fx.Photometric},
		{"TransferSyntax", im.TransferSyntax, fx.TransferSyntaxUID},
		{"RescaleSlope", im.RescaleSlope, slope},
		{"RescaleIntercept", im.RescaleIntercept, icpt},
	} {
		if f.got != f.want {
			t.Errorf("%s = %v, want %v", f.name, f.got, f.want)
		}
	}
}

// checkLossy compares a lossy decode with the source image and with
// dcmtk's decode, as the fixtures' README suggests.
func checkLossy(t *testing.T, got []int32, fx fixture) {
	src := readI32(t, fx.SourceI32, "")
	ref := readI32(t, fx.DcmtkI32, fx.DcmtkSHA256)
	srcDiff, refDiff := maxAbsDiff(got, src), maxAbsDiff(got, ref)
	t.Logf("max |diff|: %d from the source (dcmtk: %d), %d from dcmtk", srcDiff, fx.MaxAbsDiff.Dcmtk, refDiff)
	if srcDiff > fx.MaxAbsDiff.Dcmtk && refDiff > 1 {
		t.Errorf("max |diff| %d from the source (allowed %d) and %d from dcmtk (allowed 1)", srcDiff, fx.MaxAbsDiff.Dcmtk, refDiff)
	}
}

// checkFrames checks Frame against the stored values: rescale and the
// MONOCHROME1 inversion.
func checkFrames(t *testing.T, im *Image, stored []int32, fx fixture) {
	n := im.Rows * im.Columns
	for f := 0; f < im.Frames; f++ {
		fr, err := im.Frame(f)
		if err != nil {
			t.Fatalf("Frame(%d): %v", f, err)
		}
		s := stored[f*n : (f+1)*n]
		lo, hi := s[0], s[0]
		for _, v := range s {
			lo, hi = min(lo, v), max(hi, v)
		}
		for i, v := range s {
			want := float32(float64(v)*im.RescaleSlope + im.RescaleIntercept)
			if im.Photometric == "MONOCHROME1" {
				want = float32(float64(lo+hi-v)*im.RescaleSlope + im.RescaleIntercept)
			}
			if fr[i] != want {
				t.Fatalf("Frame(%d)[%d] = %v, want %v (stored %d)", f, i, fr[i], want, v)
			}
		}
	}
	if _, err := im.Frame(im.Frames); err == nil {
		t.Errorf("Frame(%d) succeeded past the last frame", im.Frames)
	}
}

func firstDiff(a, b []int32) int {
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

func maxAbsDiff(a, b []int32) int {
	if len(a) != len(b) {
		return 1 << 30
	}
	m := 0
	for i := range a {
		d := int(a[i]) - int(b[i])
		m = max(m, d, -d)
	}
	return m
}
