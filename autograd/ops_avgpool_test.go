package autograd

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestAvgPool2dMatchesPyTorch compares with F.avg_pool2d of PyTorch 1.13
// (float64) on sinInput.
func TestAvgPool2dMatchesPyTorch(t *testing.T) {
	for _, tc := range []struct {
		name  string
		shape []int
		o     AvgPool2dOptions
		out   []int
		want  []float64
	}{
		{"plain 2x2", []int{1, 2, 4, 6}, AvgPool2dOptions{Kernel: [2]int{2, 2}}, []int{1, 2, 2, 3}, []float64{-0.180998395479, 0.401198172422, 0.317379409686, 0.468595227382, 0.00776323136809, -0.465956238872, -0.305673974427, -0.409260888359, 0.166552166636, -0.151129173825, 0.417285840429, 0.292978937966}},
		{"3x3 s2 p1", []int{1, 1, 7, 6}, AvgPool2dOptions{Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}, Padding: [2]int{1, 1}}, []int{1, 1, 4, 3}, []float64{-0.080443731324, 0.173645446531, 0.250724686979, 0.00148845957161, -0.00342219902831, -0.00479301273681, -0.00400662707924, -0.0018750469916, 0.00475026431555, 0.207056746744, 0.0926991433217, -0.248575303944}},
		{"exclude pad", []int{1, 1, 7, 6}, AvgPool2dOptions{Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}, Padding: [2]int{1, 1}, ExcludePadding: true}, []int{1, 1, 4, 3}, []float64{-0.180998395479, 0.260468169796, 0.376087030468, 0.00223268935741, -0.00342219902831, -0.00479301273681, -0.00600994061887, -0.0018750469916, 0.00475026431555, 0.465877680173, 0.139048714983, -0.372862955915}},
		{"ceil", []int{1, 1, 7, 6}, AvgPool2dOptions{Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}, CeilMode: true}, []int{1, 1, 3, 3}, []float64{-0.00483682551679, 0.00170565767787, 0.00597269696954, 0.00470382465274, 0.00356026061798, -0.00204569337116, -4.84600294487e-05, -0.0054032635671, -0.00384808625465}},
		{"ceil pad", []int{1, 1, 5, 5}, AvgPool2dOptions{Kernel: [2]int{3, 2}, Stride: [2]int{2, 3}, Padding: [2]int{1, 1}, CeilMode: true}, []int{1, 1, 3, 2}, []float64{-0.0527229473802, 0.0682994450755, -0.123726250063, -0.100056918019, 0.00097262236802, -0.11014972361}},
		{"ceil pad exclude", []int{1, 1, 5, 5}, AvgPool2dOptions{Kernel: [2]int{3, 2}, Stride: [2]int{2, 3}, Padding: [2]int{1, 1}, CeilMode: true, ExcludePadding: true}, []int{1, 1, 3, 2}, []float64{-0.158168842141, 0.102449167613, -0.247452500127, -0.100056918019, 0.00291786710406, -0.165224585415}},
		{"divisor", []int{1, 1, 4, 4}, AvgPool2dOptions{Kernel: [2]int{2, 2}, DivisorOverride: 3}, []int{1, 1, 2, 2}, []float64{0.18890465432, -0.0646189274605, 0.20846978474, 0.0779293294309}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			y := AvgPool2d(sinInput(tc.shape...), tc.o)
			if !sameShape(y.Shape(), tc.out) {
				t.Fatalf("shape %v, want %v", y.Shape(), tc.out)
			}
			for i, g := range y.Float64s() {
				if math.Abs(g-tc.want[i]) > 1e-10 {
					t.Fatalf("y[%d] = %.12g, want %.12g", i, g, tc.want[i])
				}
			}
		})
	}
}

func TestAvgPool2dGradCheck(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	x := RandN(rng, Float64, 2, 1, 5, 5).SetRequiresGrad(true)
	o := AvgPool2dOptions{Kernel: [2]int{3, 2}, Stride: [2]int{2, 3}, Padding: [2]int{1, 1}, CeilMode: true, ExcludePadding: true}
	if err := GradCheck(func(in []*Tensor) *Tensor { return AvgPool2d(in[0], o) }, []*Tensor{x}, GradCheckOptions{Seed: 2}); err != nil {
		t.Error(err)
	}
}

func TestAvgPool2dRejects(t *testing.T) {
	x := Zeros(Float32, 1, 1, 4, 4)
	for _, tc := range []struct {
		o    AvgPool2dOptions
		want string
	}{
		{AvgPool2dOptions{}, "kernel [0 0]: the height must be at least 1"},
		{AvgPool2dOptions{Kernel: [2]int{2, 2}, Padding: [2]int{0, 2}}, "padding [0 2]: the width must be in [0, kernel/2]"},
		{AvgPool2dOptions{Kernel: [2]int{5, 5}}, "too small"},
	} {
		msg := panicMessage(func() { AvgPool2d(x, tc.o) })
		if !contains(msg, tc.want) {
			t.Errorf("%+v: panic %q, want it to say %q", tc.o, msg, tc.want)
		}
	}
}
