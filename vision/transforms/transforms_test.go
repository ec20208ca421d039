package transforms

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestMinMax(t *testing.T) {
	tests := []struct {
		name string
		in   []float32
		want []float32
	}{
		{"ramp", []float32{10, 20, 30, 50}, []float32{0, 0.25, 0.5, 1}},
		{"constant gives zeros", []float32{7, 7, 7, 7}, []float32{0, 0, 0, 0}},
		{"negative", []float32{-2, 0, 2, -1}, []float32{0, 0.5, 1, 0.25}},
		{"16-bit range", []float32{0, 65535, 32767.5, 1}, []float32{0, 1, 0.5, 1.0 / 65535}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := MinMax(Image{C: 1, H: 2, W: 2, Pix: tc.in})
			if err != nil {
				t.Fatal(err)
			}
			if d := maxAbsDiff(got.Pix, tc.want); d > 1e-7 {
				t.Errorf("got %v, want %v", got.Pix, tc.want)
			}
		})
	}
	for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1))} {
		if _, err := MinMax(Image{C: 1, H: 1, W: 2, Pix: []float32{0, bad}}); err == nil {
			t.Errorf("MinMax with %v: no error", bad)
		}
	}
}

func TestNormalize(t *testing.T) {
	m, err := GrayToRGB(Image{C: 1, H: 1, W: 2, Pix: []float32{0, 1}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Normalize(m, ImageNetMean(), ImageNetStd())
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{
		-0.485 / 0.229, (1 - 0.485) / 0.229,
		-0.456 / 0.224, (1 - 0.456) / 0.224,
		-0.406 / 0.225, (1 - 0.406) / 0.225,
	}
	if d := maxAbsDiff(got.Pix, want); d > 1e-6 {
		t.Errorf("got %v, want %v", got.Pix, want)
	}
	bad := []struct {
		name      string
		mean, std []float32
	}{
		{"too few means", []float32{0}, []float32{1, 1, 1}},
		{"zero std", []float32{0, 0, 0}, []float32{1, 0, 1}},
		{"NaN std", []float32{0, 0, 0}, []float32{1, float32(math.NaN()), 1}},
	}
	for _, tc := range bad {
		if _, err := Normalize(m, tc.mean, tc.std); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

func TestGrayToRGB(t *testing.T) {
	got, err := GrayToRGB(Image{C: 1, H: 1, W: 3, Pix: []float32{1, 2, 3}})
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{1, 2, 3, 1, 2, 3, 1, 2, 3}
	if got.C != 3 || maxAbsDiff(got.Pix, want) != 0 {
		t.Errorf("got %v %v, want 3 channels %v", got, got.Pix, want)
	}
	if _, err := GrayToRGB(NewImage(2, 1, 1)); err == nil {
		t.Error("two channels: no error")
	}
}

func TestHFlip(t *testing.T) {
	m := Image{C: 2, H: 2, W: 3, Pix: []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}}
	got, err := HFlip(m)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10}
	if maxAbsDiff(got.Pix, want) != 0 {
		t.Errorf("got %v, want %v", got.Pix, want)
	}
	twice, _ := HFlip(got)
	if maxAbsDiff(twice.Pix, m.Pix) != 0 {
		t.Error("flipping twice is not the identity")
	}
}

func TestRandomHFlip(t *testing.T) {
	m := ramp(3, 4)
	flipped, _ := HFlip(m)
	rng := rand.New(rand.NewPCG(1, 2))
	n, trials := 0, 2000
	for range trials {
		got, err := RandomHFlip(m, 0.5, rng)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case maxAbsDiff(got.Pix, flipped.Pix) == 0:
			n++
		case maxAbsDiff(got.Pix, m.Pix) != 0:
			t.Fatal("result is neither the image nor its mirror")
		}
	}
	if n < 900 || n > 1100 {
		t.Errorf("flipped %d of %d times, want about half", n, trials)
	}
	// Same seed, same decisions.
	a, _ := RandomHFlip(m, 0.5, rand.New(rand.NewPCG(7, 7)))
	b, _ := RandomHFlip(m, 0.5, rand.New(rand.NewPCG(7, 7)))
	if maxAbsDiff(a.Pix, b.Pix) != 0 {
		t.Error("same seed gave different flips")
	}
}

func TestRotate(t *testing.T) {
	sq := ramp(5, 5)
	tests := []struct {
		name    string
		m       Image
		degrees float64
		want    func(y, x int) float32
	}{
		{"zero is identity", ramp(4, 7), 0, func(y, x int) float32 { return ramp(4, 7).At(0, y, x) }},
		// Counter-clockwise: output (x, y) reads source (W-1-y, x).
		{"90 permutes", sq, 90, func(y, x int) float32 { return sq.At(0, x, 4-y) }},
		{"-90 permutes", sq, -90, func(y, x int) float32 { return sq.At(0, 4-x, y) }},
		{"180 permutes", sq, 180, func(y, x int) float32 { return sq.At(0, 4-y, 4-x) }},
		{"360 is identity", sq, 360, func(y, x int) float32 { return sq.At(0, y, x) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Rotate(tc.m, tc.degrees)
			if err != nil {
				t.Fatal(err)
			}
			for y := range tc.m.H {
				for x := range tc.m.W {
					if d := math.Abs(float64(got.At(0, y, x) - tc.want(y, x))); d > 1e-4 {
						t.Errorf("(%d,%d) = %v, want %v", y, x, got.At(0, y, x), tc.want(y, x))
					}
				}
			}
		})
	}
}

func TestRotateFillsCornersWithZero(t *testing.T) {
	m := NewImage(1, 9, 9)
	for i := range m.Pix {
		m.Pix[i] = 1
	}
	got, err := Rotate(m, 45)
	if err != nil {
		t.Fatal(err)
	}
	if got.At(0, 0, 0) != 0 || got.At(0, 8, 8) != 0 {
		t.Errorf("corners %v %v, want 0 (outside the rotated image)", got.At(0, 0, 0), got.At(0, 8, 8))
	}
	if math.Abs(float64(got.At(0, 4, 4))-1) > 1e-6 {
		t.Errorf("centre %v, want 1", got.At(0, 4, 4))
	}
	// Output (x=1, y=0) reads source row sy just above the image: only
	// row 0 counts, with weight fy, and torchvision's fill mask multiplies
	// by fy again.
	s := math.Sqrt2 / 2
	sy := s*(1-4) + s*(0-4) + 4
	fy := sy - math.Floor(sy)
	if want := fy * fy; math.Abs(float64(got.At(0, 0, 1))-want) > 1e-6 {
		t.Errorf("border pixel %v, want fy^2 = %v", got.At(0, 0, 1), want)
	}
}

func TestRandomRotation(t *testing.T) {
	m := ramp(8, 8)
	a, err := RandomRotation(m, 15, rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := RandomRotation(m, 15, rand.New(rand.NewPCG(3, 4)))
	if maxAbsDiff(a.Pix, b.Pix) != 0 {
		t.Error("same seed, different rotations")
	}
	// The angle drawn is (2u-1)*15 with u the rng's first Float64.
	u := rand.New(rand.NewPCG(3, 4)).Float64()
	want, _ := Rotate(m, (2*u-1)*15)
	if maxAbsDiff(a.Pix, want.Pix) != 0 {
		t.Error("RandomRotation does not rotate by the drawn angle")
	}
	for _, bad := range []float64{-1, math.NaN(), math.Inf(1)} {
		if _, err := RandomRotation(m, bad, rand.New(rand.NewPCG(1, 1))); err == nil {
			t.Errorf("degrees %v: no error", bad)
		}
	}
}

func TestCropAround(t *testing.T) {
	m := Image{C: 1, H: 3, W: 4, Pix: []float32{
		1, 2, 3, 4,
		5, 6, 7, 8,
		9, 10, 11, 12,
	}}
	tests := []struct {
		name string
		x, y float64
		size int
		want []float32
	}{
		{"inside", 1.7, 1.2, 2, []float32{2, 3, 6, 7}},
		{"rounds half up", 0.5, 0.49, 2, []float32{0, 0, 1, 2}},
		{"odd size centred", 1.4, 0.6, 3, []float32{1, 2, 3, 5, 6, 7, 9, 10, 11}},
		{"top-left padded", 0, 0, 3, []float32{0, 0, 0, 0, 1, 2, 0, 5, 6}},
		{"bottom-right padded", 3.4, 2.4, 3, []float32{7, 8, 0, 11, 12, 0, 0, 0, 0}},
		{"far outside", 100, -100, 2, []float32{0, 0, 0, 0}},
		{"larger than image", 2, 1, 6, []float32{
			0, 0, 0, 0, 0, 0,
			0, 0, 0, 0, 0, 0,
			0, 1, 2, 3, 4, 0,
			0, 5, 6, 7, 8, 0,
			0, 9, 10, 11, 12, 0,
			0, 0, 0, 0, 0, 0,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CropAround(m, tc.x, tc.y, tc.size)
			if err != nil {
				t.Fatal(err)
			}
			if got.H != tc.size || got.W != tc.size || maxAbsDiff(got.Pix, tc.want) != 0 {
				t.Errorf("got %v %v, want %v", got, got.Pix, tc.want)
			}
		})
	}
	for _, bad := range []struct {
		x, y float64
		size int
	}{{1, 1, 0}, {math.NaN(), 1, 2}, {1, math.Inf(-1), 2}} {
		if _, err := CropAround(m, bad.x, bad.y, bad.size); err == nil {
			t.Errorf("CropAround(%v, %v, %d): no error", bad.x, bad.y, bad.size)
		}
	}
}
