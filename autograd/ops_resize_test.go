package autograd

import (
	"math"
	"math/rand/v2"
	"testing"
)

// sinInput is x[i] = sin(0.7 i + 0.3) in row-major order, the input the
// PyTorch values below were computed from.
func sinInput(shape ...int) *Tensor {
	v := make([]float64, numel(shape))
	for i := range v {
		v[i] = math.Sin(0.7*float64(i) + 0.3)
	}
	return FromFloat64(v, shape...)
}

// TestInterpolateBilinearAAMatchesPyTorch compares with
// F.interpolate(x, size, mode="bilinear", antialias=True, align_corners=ac)
// from PyTorch 1.13 in float64.
func TestInterpolateBilinearAAMatchesPyTorch(t *testing.T) {
	for _, tc := range []struct {
		name   string
		shape  []int
		oh, ow int
		ac     bool
		want   []float64
	}{
		{"down/two planes", []int{1, 2, 7, 5}, 4, 3, false, []float64{-0.00870030229083, 0.154372741349, 0.155202019878, 0.0574677496963, 0.0606681246017, 0.000107081062506, 0.0476651710362, -0.0246261692651, -0.0710357224911, -0.0463523997181, -0.173246059175, -0.118060339297, -0.117106130676, 0.072775274296, 0.186170802256, 0.0213081751685, 0.0670210581231, 0.0422956712343, 0.069856030302, 0.0175922150661, -0.0531607918757, 0.0693681262271, -0.117082892523, -0.180481297534}},
		{"up", []int{1, 1, 3, 4}, 5, 7, false, []float64{0.295520206661, 0.490502627428, 0.802474500655, 0.91656789763, 0.969078979745, 0.788392334087, 0.675463180551, 0.19394438897, 0.217585476662, 0.255411216969, 0.232063136857, 0.193123211122, 0.106214186458, 0.0518960460426, 0.0415806624333, -0.191790249487, -0.565183708559, -0.794694004304, -0.970810441812, -0.917053034986, -0.88345465572, -0.207693733925, -0.154166806905, -0.068523723673, 0.030715793521, 0.127891579624, 0.197024814124, 0.240233085686, -0.37387666483, -0.12908451185, 0.262582932917, 0.580988992071, 0.860359593914, 0.939743380197, 0.989358246623}},
		{"down/non-integer scale", []int{1, 1, 10, 9}, 3, 4, false, []float64{0.682450803887, 0.588078081984, -0.569456437445, -0.700028366947, 0.709011679098, 0.559259949106, -0.597674571282, -0.67275089438, 0.733863659333, 0.52909386027, -0.624452160341, -0.64385192437}},
		{"down/align corners", []int{1, 1, 7, 5}, 4, 3, true, []float64{0.0497023049344, 0.120837147816, 0.0797293306949, 0.000578605741908, 0.0046048382689, 0.00418799423633, 0.00370686525925, 0.0040709331153, 0.000909711827208, 0.0149471857034, -0.408414767039, -0.429359094585}},
		{"same size is identity", []int{1, 1, 6, 6}, 6, 6, false, nil},
		{"to one column, align corners", []int{1, 1, 9, 2}, 2, 1, true, []float64{0.00419396296459, -0.270491390679}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := sinInput(tc.shape...)
			want := tc.want
			if want == nil {
				want = x.Float64s()
			}
			y := InterpolateBilinearAA(x, tc.oh, tc.ow, tc.ac)
			if y.Dim(-2) != tc.oh || y.Dim(-1) != tc.ow || y.Dim(1) != tc.shape[1] {
				t.Fatalf("shape %v", y.Shape())
			}
			for i, g := range y.Float64s() {
				if math.Abs(g-want[i]) > 1e-10 {
					t.Fatalf("y[%d] = %.12g, want %.12g", i, g, want[i])
				}
			}
		})
	}
}

func TestInterpolateBilinearAAGradCheck(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		shape  []int
		oh, ow int
		ac     bool
	}{
		{[]int{2, 1, 7, 5}, 3, 2, false},
		{[]int{1, 3, 4}, 6, 5, false},
		{[]int{1, 1, 8, 3}, 3, 3, true},
	} {
		x := RandN(rng, Float64, tc.shape...).SetRequiresGrad(true)
		f := func(in []*Tensor) *Tensor { return InterpolateBilinearAA(in[0], tc.oh, tc.ow, tc.ac) }
		if err := GradCheck(f, []*Tensor{x}, GradCheckOptions{Seed: 1}); err != nil {
			t.Errorf("%v -> %dx%d align=%v: %v", tc.shape, tc.oh, tc.ow, tc.ac, err)
		}
	}
}
