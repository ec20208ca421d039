package datasets

import (
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writePNG16(t *testing.T, path string, w, h int) {
	t.Helper()
	m := image.NewGray16(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.SetGray16(x, y, color.Gray16{Y: uint16(1000*y + x)})
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, m); err != nil {
		t.Fatal(err)
	}
}

func TestReadRows(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "img", "4003253", "702807833"), 0o755); err != nil {
		t.Fatal(err)
	}
	writePNG16(t, filepath.Join(dir, "img", "4003253", "702807833", "8.png"), 5, 3)
	csv := "image_path,row_id,level,severity\n" +
		"img/4003253/702807833/8.png,4003253_spinal_canal_stenosis_l1_l2,l1_l2,Normal/Mild\n" +
		"img/4003253/702807833/8.png,4003253_spinal_canal_stenosis_l5_s1,L5/S1,Severe\n" +
		"/abs/3008676218/1/2.dcm,row7,L3/L4,Moderate\n"
	path := filepath.Join(dir, "train.csv")
	if err := os.WriteFile(path, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := ReadRows(path)
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 3 {
		t.Fatalf("%d rows, want 3", d.Len())
	}
	want := []Sample{
		{StudyID: 4003253, SeriesID: 702807833, InstanceNumber: 8, Level: 0, Grade: 0, ImagePath: filepath.Join(dir, "img/4003253/702807833/8.png")},
		{StudyID: 4003253, SeriesID: 702807833, InstanceNumber: 8, Level: 4, Grade: 2, ImagePath: filepath.Join(dir, "img/4003253/702807833/8.png")},
		{StudyID: 3008676218, SeriesID: 1, InstanceNumber: 2, Level: 2, Grade: 1, ImagePath: "/abs/3008676218/1/2.dcm"},
	}
	for i, w := range want {
		got := d.Sample(i)
		if !math.IsNaN(got.X) || !math.IsNaN(got.Y) {
			t.Errorf("row %d: point (%v, %v), want NaN without x, y columns", i, got.X, got.Y)
		}
		got.X, got.Y = 0, 0
		if got != w {
			t.Errorf("row %d:\n got %+v\nwant %+v", i, got, w)
		}
	}
	m, err := d.Image(0)
	if err != nil {
		t.Fatal(err)
	}
	if m.H != 3 || m.W != 5 || m.At(0, 2, 4) != 2004 {
		t.Errorf("PNG read as %v with (2,4) = %v, want 1x3x5 and 2004", m, m.At(0, 2, 4))
	}
	if _, err := d.Image(2); err == nil || !strings.Contains(err.Error(), "/abs/3008676218/1/2.dcm") {
		t.Errorf("missing DICOM: error %v, want one naming the file", err)
	}
}

func TestRowsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	samples := []Sample{
		{StudyID: 4290000000, SeriesID: 12, InstanceNumber: 10, Level: 3, Grade: 1, X: 101.25, Y: 77.5, ImagePath: filepath.Join(dir, "a", "b.dcm")},
		{StudyID: 7, SeriesID: 8, InstanceNumber: 9, Level: 0, Grade: 2, X: math.NaN(), Y: math.NaN(), ImagePath: filepath.Join(dir, "c.png")},
	}
	path := filepath.Join(dir, "val.csv")
	if err := WriteRows(path, samples); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(b), "image_path,row_id,level,severity,") || !strings.Contains(string(b), "a/b.dcm,4290000000_spinal_canal_stenosis_l4_l5,L4/L5,Moderate,") {
		t.Errorf("written CSV:\n%s", b)
	}
	d, err := ReadRows(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range samples {
		got := d.Sample(i)
		if math.IsNaN(want.X) {
			if !math.IsNaN(got.X) || !math.IsNaN(got.Y) {
				t.Errorf("row %d: point (%v, %v), want NaN", i, got.X, got.Y)
			}
			got.X, got.Y, want.X, want.Y = 0, 0, 0, 0
		}
		if got != want {
			t.Errorf("row %d:\n got %+v\nwant %+v", i, got, want)
		}
	}
	if err := WriteRows(filepath.Join(dir, "bad.csv"), []Sample{{Level: 5}}); err == nil {
		t.Error("level 5: no error")
	}
}

func TestReadRowsErrors(t *testing.T) {
	tests := []struct {
		name, csv string
		want      []string
	}{
		{"missing column", "image_path,level,severity\na.png,L1/L2,Severe\n", []string{":1:", `"row_id"`}},
		{"bad level", "image_path,row_id,level,severity\na.png,1_x,L1/L2,Severe\nb.png,2_x,L9/L2,Severe\n", []string{":3:", "level", `"L9/L2"`}},
		{"bad severity", "image_path,row_id,level,severity\na.png,1_x,L1/L2,Worse\n", []string{":2:", "severity", `"Worse"`}},
		{"field count", "image_path,row_id,level,severity\na.png,1_x,L1/L2\n", []string{":2:", "3 fields, want 4"}},
		{"bad x", "image_path,row_id,level,severity,x,y\na.png,1_x,L1/L2,Severe,NaN,3\n", []string{":2:", "column x", `"NaN"`}},
		{"bad study id", "image_path,row_id,level,severity,study_id\na.png,1_x,L1/L2,Severe,12ab\n", []string{":2:", "study_id", `"12ab"`}},
		{"empty path", "image_path,row_id,level,severity\n,1_x,L1/L2,Severe\n", []string{":2:", "image_path"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "rows.csv")
			if err := os.WriteFile(path, []byte(tc.csv), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ReadRows(path)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range append(tc.want, "rows.csv") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
