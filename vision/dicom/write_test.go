package dicom

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// testSpec returns a spec with a pattern that shows flips and transposes.
func testSpec(rows, cols, bits int) WriteSpec {
	px := make([]uint16, rows*cols)
	maxv := 1<<uint(bits) - 1
	for i := range px {
		y, x := i/cols, i%cols
		px[i] = uint16((y*cols*7 + x*13 + y*x) % (maxv + 1))
	}
	px[0], px[len(px)-1] = 0, uint16(maxv)
	return WriteSpec{
		Rows: rows, Columns: cols, BitsStored: bits, Pixels: px,
		PatientID:               "10728036",
		StudyInstanceUID:        "1.2.826.0.1.3680043.8.498.1",
		SeriesInstanceUID:       "1.2.826.0.1.3680043.8.498.1.2",
		SOPInstanceUID:          "1.2.826.0.1.3680043.8.498.1.2.3",
		SeriesDescription:       "Sagittal T2/STIR",
		InstanceNumber:          7,
		PixelSpacing:            [2]float64{0.68359375, 0.7},
		ImagePositionPatient:    [3]float64{-12.5, -110.25, 95.123456789},
		ImageOrientationPatient: [6]float64{0, 1, 0, 0, 0, -1},
	}
}

func TestWriteRoundTrip(t *testing.T) {
	for _, tc := range []struct{ rows, cols, bits int }{
		{47, 61, 12},
		{61, 47, 16},
		{1, 1, 16},
		{3, 5, 12},
	} {
		t.Run(strconv.Itoa(tc.rows)+"x"+strconv.Itoa(tc.cols)+"_"+strconv.Itoa(tc.bits), func(t *testing.T) {
			s := testSpec(tc.rows, tc.cols, tc.bits)
			var buf bytes.Buffer
			if err := Write(&buf, s); err != nil {
				t.Fatal(err)
			}
			im, err := Read(&buf)
			if err != nil {
				t.Fatal(err)
			}
			got := WriteSpec{
				Rows: im.Rows, Columns: im.Columns, BitsStored: im.BitsStored,
				PatientID: im.PatientID, StudyInstanceUID: im.StudyInstanceUID,
				SeriesInstanceUID: im.SeriesInstanceUID, SOPInstanceUID: im.SOPInstanceUID,
				SeriesDescription: im.SeriesDescription, InstanceNumber: im.InstanceNumber,
				PixelSpacing: im.PixelSpacing,
			}
			copy(got.ImagePositionPatient[:], im.ImagePositionPatient)
			copy(got.ImageOrientationPatient[:], im.ImageOrientationPatient)
			stored, err := im.Stored()
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range stored {
				got.Pixels = append(got.Pixels, uint16(v))
			}
			if !reflect.DeepEqual(got, s) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, s)
			}
			if im.BitsAllocated != 16 || im.HighBit != tc.bits-1 || im.Signed || im.Frames != 1 ||
				im.Photometric != "MONOCHROME2" || im.TransferSyntax != ExplicitVRLittleEndian ||
				im.RescaleSlope != 1 || im.RescaleIntercept != 0 {
				t.Errorf("header: %+v", im)
			}
			if e, ok := im.Element(0x0008, 0x0060); !ok || e.Text() != "MR" {
				t.Errorf("Modality = %q, %v; want MR", e.Text(), ok)
			}
			if e, ok := im.Element(0x0002, 0x0003); !ok || e.Text() != s.SOPInstanceUID {
				t.Errorf("MediaStorageSOPInstanceUID = %q, %v", e.Text(), ok)
			}
		})
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "1.dcm")
	s := testSpec(4, 6, 16)
	old := syscall.Umask(0o022)
	err := WriteFile(path, s)
	syscall.Umask(old)
	if err != nil {
		t.Fatal(err)
	}
	// An ordinary data file, not os.CreateTemp's 0600.
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("mode = %v (%v), want 0644", st.Mode().Perm(), err)
	}
	im, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if im.SOPInstanceUID != s.SOPInstanceUID {
		t.Errorf("SOPInstanceUID = %q", im.SOPInstanceUID)
	}
	// A failing write leaves neither the file nor a temporary behind.
	bad := s
	bad.BitsStored = 10
	if err := WriteFile(filepath.Join(dir, "2.dcm"), bad); err == nil || !strings.Contains(err.Error(), "2.dcm") {
		t.Errorf("WriteFile with bad spec: err = %v, want one naming the file", err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("folder holds %d entries, want only 1.dcm", len(ents))
	}
	if err := WriteFile(filepath.Join(dir, "missing", "3.dcm"), s); err == nil {
		t.Error("WriteFile into a missing folder succeeded")
	}
}

func TestWriteRejects(t *testing.T) {
	for _, tc := range []struct {
		name   string
		modify func(*WriteSpec)
		want   string
	}{
		{"zero rows", func(s *WriteSpec) { s.Rows = 0 }, "image size"},
		{"bits 8", func(s *WriteSpec) { s.BitsStored = 8 }, "bits stored"},
		{"pixel count", func(s *WriteSpec) { s.Pixels = s.Pixels[1:] }, "pixels, want"},
		{"12-bit overflow", func(s *WriteSpec) { s.BitsStored = 12; s.Pixels[5] = 4096 }, "more than 12 bits"},
		{"empty UID", func(s *WriteSpec) { s.SOPInstanceUID = "" }, "SOPInstanceUID"},
		{"UID letters", func(s *WriteSpec) { s.StudyInstanceUID = "1.2.abc" }, "StudyInstanceUID"},
		{"UID leading zero", func(s *WriteSpec) { s.SeriesInstanceUID = "1.02.3" }, "SeriesInstanceUID"},
		{"UID too long", func(s *WriteSpec) { s.SOPInstanceUID = "1." + strings.Repeat("1", 63) }, "SOPInstanceUID"},
		{"backslash", func(s *WriteSpec) { s.SeriesDescription = `a\b` }, "SeriesDescription"},
		{"long ID", func(s *WriteSpec) { s.PatientID = strings.Repeat("x", 65) }, "PatientID"},
		{"NaN spacing", func(s *WriteSpec) { s.PixelSpacing[0] = math.NaN() }, "(0028,0030)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testSpec(4, 6, 16)
			tc.modify(&s)
			err := Write(new(bytes.Buffer), s)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Write: err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestFormatDS(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{
		{0, "0"},
		{0.68359375, "0.68359375"},
		{-110.25, "-110.25"},
		{1.0 / 3, "0.33333333333333"},
		{-1.0 / 3, "-0.3333333333333"},
		{1e-20, "1e-20"},
		{123456789012345678, "1.2345678901e+17"},
	} {
		got, err := formatDS(tc.v)
		if err != nil || got != tc.want || len(got) > 16 {
			t.Errorf("formatDS(%v) = %q, %v; want %q", tc.v, got, err, tc.want)
		}
	}
}
