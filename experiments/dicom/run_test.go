package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vertebra-ml/vertebra/vision/dicom"
)

// spec is a small 12-bit image whose stored values are known.
func spec(rows, cols int) dicom.WriteSpec {
	px := make([]uint16, rows*cols)
	for i := range px {
		px[i] = uint16(i * 37 % 4096)
	}
	return dicom.WriteSpec{
		Rows: rows, Columns: cols, BitsStored: 12, Pixels: px,
		PatientID: "1", StudyInstanceUID: "1.2", SeriesInstanceUID: "1.2.3", SOPInstanceUID: "1.2.3.4",
	}
}

// wantHash hashes the spec's pixels the way the fixtures do.
func wantHash(s dicom.WriteSpec) string {
	var b []byte
	for _, v := range s.Pixels {
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func TestFormatLine(t *testing.T) {
	s := spec(3, 5)
	var buf bytes.Buffer
	if err := dicom.Write(&buf, s); err != nil {
		t.Fatal(err)
	}
	im, err := dicom.Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := im.Stored()
	if err != nil {
		t.Fatal(err)
	}
	got := formatLine("a/b.dcm", im, stored)
	want := "a/b.dcm 1.2.840.10008.1.2.1 3x5x1 bits=16/12 signed=0 MONOCHROME2 sha256=" + wantHash(s)
	if got != want {
		t.Errorf("formatLine:\n got %s\nwant %s", got, want)
	}
}

func TestHashStoredChunks(t *testing.T) {
	v := make([]int32, 3000) // more than one 4096-byte chunk
	var b []byte
	for i := range v {
		v[i] = int32(i*7919) - 1000000
		b = binary.LittleEndian.AppendUint32(b, uint32(v[i]))
	}
	h := sha256.Sum256(b)
	if got := hashStored(v); got != hex.EncodeToString(h[:]) {
		t.Errorf("hashStored = %s, want %s", got, hex.EncodeToString(h[:]))
	}
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.dcm")
	s := spec(4, 6)
	if err := dicom.WriteFile(good, s); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.dcm")
	if err := os.WriteFile(bad, []byte("not a DICOM file at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	pngDir := filepath.Join(dir, "png")
	if err := os.Mkdir(pngDir, 0o755); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name   string
		args   []string
		status int
		lines  []string // prefixes of the expected lines
	}{
		{"good", []string{good}, 0, []string{good + " 1.2.840.10008.1.2.1 4x6x1 bits=16/12 signed=0 MONOCHROME2 sha256=" + wantHash(s)}},
		{"bad", []string{good, bad, filepath.Join(dir, "missing.dcm")}, 1, []string{
			good + " ", bad + " ERROR not DICOM", filepath.Join(dir, "missing.dcm") + " ERROR open "}},
		{"png", []string{"--png", pngDir, good, good}, 0, []string{good + " ", good + " "}},
		{"png dir missing", []string{"--png", filepath.Join(dir, "nope"), good}, 1, []string{good + " ERROR "}},
		{"no files", nil, 2, nil},
		{"bad flag", []string{"--frobnicate", good}, 2, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			status := run(tc.args, &stdout, &stderr)
			if status != tc.status {
				t.Errorf("status %d, want %d; stderr %q", status, tc.status, stderr.String())
			}
			out := strings.TrimSuffix(stdout.String(), "\n")
			var lines []string
			if out != "" {
				lines = strings.Split(out, "\n")
			}
			if len(lines) != len(tc.lines) {
				t.Fatalf("output %q, want %d lines", out, len(tc.lines))
			}
			for i, l := range lines {
				if !strings.HasPrefix(l, tc.lines[i]) {
					t.Errorf("line %d = %q, want prefix %q", i, l, tc.lines[i])
				}
			}
		})
	}

	// The png case wrote the same file twice under two names.
	for _, name := range []string{"good_frame0.png", "good_2_frame0.png"} {
		f, err := os.Open(filepath.Join(pngDir, name))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		g, ok := img.(*image.Gray16)
		if !ok || g.Bounds() != image.Rect(0, 0, 6, 4) {
			t.Fatalf("%s: %T %v, want a 6x4 Gray16", name, img, img.Bounds())
		}
		// The windowing stretches min..max to 0..65535, keeping order.
		if g.Gray16At(0, 0).Y != 0 {
			t.Errorf("%s: top left (the minimum) = %d, want 0", name, g.Gray16At(0, 0).Y)
		}
		lo, hi := uint16(65535), uint16(0)
		for y := 0; y < 4; y++ {
			for x := 0; x < 6; x++ {
				v := g.Gray16At(x, y).Y
				lo, hi = min(lo, v), max(hi, v)
				if x > 0 && (s.Pixels[y*6+x] > s.Pixels[y*6+x-1]) != (v > g.Gray16At(x-1, y).Y) {
					t.Errorf("%s: order of (%d,%d) and (%d,%d) not kept", name, y, x-1, y, x)
				}
			}
		}
		if lo != 0 || hi != 65535 {
			t.Errorf("%s: values %d..%d, want 0..65535", name, lo, hi)
		}
	}
}

// TestRunFixtures checks the hashes of the shared fixtures, when present.
func TestRunFixtures(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "dicom")
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Skipf("no fixtures: %v", err)
	}
	var names []string
	if err := json.Unmarshal(b, &names); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		var fx struct {
			Error bool   `json:"error"`
			Lossy bool   `json:"lossy"`
			TS    string `json:"transfer_syntax_uid"`
			SHA   string `json:"sha256_int32le"`
		}
		b, err := os.ReadFile(filepath.Join(dir, name+".expected.json"))
		if err != nil || json.Unmarshal(b, &fx) != nil {
			t.Fatalf("%s: bad JSON", name)
		}
		path := filepath.Join(dir, name+".dcm")
		var stdout bytes.Buffer
		status := run([]string{path}, &stdout, &stdout)
		line := strings.TrimSpace(stdout.String())
		switch {
		case fx.Error || !dicom.SupportedTransferSyntax(fx.TS):
			if status != 1 || !strings.HasPrefix(line, path+" ERROR ") {
				t.Errorf("%s: status %d, line %q; want an ERROR line", name, status, line)
			}
		case fx.Lossy:
			if status != 0 {
				t.Errorf("%s: status %d, line %q", name, status, line)
			}
		default:
			if status != 0 || !strings.HasSuffix(line, " sha256="+fx.SHA) || !strings.HasPrefix(line, path+" "+fx.TS+" ") {
				t.Errorf("%s: status %d, line %q; want sha256=%s", name, status, line, fx.SHA)
			}
		}
	}
}
