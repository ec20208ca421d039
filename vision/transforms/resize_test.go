package transforms

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func goldenPath(t *testing.T, parts ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{"..", "..", "..", "shared", "goldens"}, parts...)...)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("golden %s not available: %v", p, err)
	}
	return p
}

func maxAbsDiff(a, b []float32) float64 {
	var d float64
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

func TestResizeGolden(t *testing.T) {
	f, err := readSafetensors(goldenPath(t, "ops", "interpolate_bilinear.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	var args struct {
		Size         []int `json:"size"`
		Mode         string
		AlignCorners bool `json:"align_corners"`
		Antialias    bool
	}
	if err := json.Unmarshal([]byte(f.Meta["args"]), &args); err != nil {
		t.Fatalf("args %q: %v", f.Meta["args"], err)
	}
	if args.Mode != "bilinear" || args.AlignCorners || len(args.Size) != 2 {
		t.Fatalf("golden args %+v: want bilinear, align_corners false, a 2-d size", args)
	}
	in, want := f.Tensors["in.x"], f.Tensors["out"]
	n, c, h, w := in.Shape[0], in.Shape[1], in.Shape[2], in.Shape[3]
	oh, ow := args.Size[0], args.Size[1]
	resize := Resize
	if args.Antialias {
		resize = ResizeAntialias
	}
	// N images of C channels resize as one image of N*C channels.
	got, err := resize(Image{C: n * c, H: h, W: w, Pix: in.Data}, oh, ow)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Pix) != len(want.Data) {
		t.Fatalf("got %d values, want %d (shape %v)", len(got.Pix), len(want.Data), want.Shape)
	}
	d := maxAbsDiff(got.Pix, want.Data)
	t.Logf("interpolate %dx%d -> %dx%d antialias=%v: max abs error %.3g", h, w, oh, ow, args.Antialias, d)
	if d > 1e-4 {
		t.Errorf("max abs error %g, want <= 1e-4", d)
	}
}

// ramp returns a 1-channel h x w image with distinct values.
func ramp(h, w int) Image {
	m := NewImage(1, h, w)
	for i := range m.Pix {
		m.Pix[i] = float32(i*i%97) + float32(i)/7
	}
	return m
}

func TestResizeCases(t *testing.T) {
	src := ramp(6, 8)
	tests := []struct {
		name      string
		h, w      int
		antialias bool
		check     func(t *testing.T, got Image)
	}{
		{"identity", 6, 8, false, func(t *testing.T, got Image) {
			if d := maxAbsDiff(got.Pix, src.Pix); d > 1e-6 {
				t.Errorf("same-size resize changed values by %g", d)
			}
		}},
		{"identity antialias", 6, 8, true, func(t *testing.T, got Image) {
			if d := maxAbsDiff(got.Pix, src.Pix); d > 1e-5 {
				t.Errorf("same-size resize changed values by %g", d)
			}
		}},
		{"halve is 2x2 mean", 3, 4, false, func(t *testing.T, got Image) {
			// Source coordinate 2i+0.5: the mean of pixels 2i and 2i+1.
			for y := range 3 {
				for x := range 4 {
					want := (src.At(0, 2*y, 2*x) + src.At(0, 2*y, 2*x+1) + src.At(0, 2*y+1, 2*x) + src.At(0, 2*y+1, 2*x+1)) / 4
					if d := math.Abs(float64(got.At(0, y, x) - want)); d > 1e-5 {
						t.Errorf("(%d,%d) = %v, want %v", y, x, got.At(0, y, x), want)
					}
				}
			}
		}},
		{"halve antialias is 1-3-3-1", 3, 4, true, func(t *testing.T, got Image) {
			// Scale 2: weights 1/8, 3/8, 3/8, 1/8 over pixels 2i-1..2i+2,
			// renormalised where the window leaves the image.
			wts := func(i, n int) map[int]float64 {
				m := map[int]float64{}
				var tot float64
				for k, w := range []float64{1, 3, 3, 1} {
					j := 2*i - 1 + k
					if j >= 0 && j < n {
						m[j] = w
						tot += w
					}
				}
				for j := range m {
					m[j] /= tot
				}
				return m
			}
			for y := range 3 {
				for x := range 4 {
					var want float64
					for sy, wy := range wts(y, 6) {
						for sx, wx := range wts(x, 8) {
							want += wy * wx * float64(src.At(0, sy, sx))
						}
					}
					if d := math.Abs(float64(got.At(0, y, x)) - want); d > 1e-4 {
						t.Errorf("(%d,%d) = %v, want %v", y, x, got.At(0, y, x), want)
					}
				}
			}
		}},
		{"constant stays constant antialias", 5, 3, true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := src
			if tc.check == nil {
				in = NewImage(1, 6, 8)
				for i := range in.Pix {
					in.Pix[i] = 3
				}
			}
			resize := Resize
			if tc.antialias {
				resize = ResizeAntialias
			}
			got, err := resize(in, tc.h, tc.w)
			if err != nil {
				t.Fatal(err)
			}
			if got.H != tc.h || got.W != tc.w || got.C != 1 {
				t.Fatalf("got %v, want 1x%dx%d", got, tc.h, tc.w)
			}
			if tc.check == nil {
				for i, v := range got.Pix {
					if math.Abs(float64(v)-3) > 1e-6 {
						t.Fatalf("value %d = %v, want 3", i, v)
					}
				}
				return
			}
			tc.check(t, got)
		})
	}
}

func TestResizeUpsampleAntialiasEqualsBilinear(t *testing.T) {
	src := ramp(5, 7)
	a, err := Resize(src, 13, 17)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ResizeAntialias(src, 13, 17)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(a.Pix, b.Pix); d > 1e-4 {
		t.Errorf("upsampling: antialias differs from bilinear by %g", d)
	}
}

func TestResizeErrors(t *testing.T) {
	tests := []struct {
		name string
		m    Image
		h, w int
	}{
		{"zero height", ramp(4, 4), 0, 4},
		{"negative width", ramp(4, 4), 4, -1},
		{"short pixels", Image{C: 1, H: 4, W: 4, Pix: make([]float32, 15)}, 2, 2},
		{"zero channels", Image{C: 0, H: 4, W: 4}, 2, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Resize(tc.m, tc.h, tc.w); err == nil {
				t.Error("Resize: no error")
			}
			if _, err := ResizeAntialias(tc.m, tc.h, tc.w); err == nil {
				t.Error("ResizeAntialias: no error")
			}
		})
	}
}
