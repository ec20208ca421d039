package autograd

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestConv2dBatchNormIsTheComposition checks Conv2dBatchNorm against
// BatchNorm(Conv2d(...)): the same bits in eval mode whether it fuses (no
// gradient to compute) or not, the same gradients when one is needed, and
// the same running statistics in training.
func TestConv2dBatchNormIsTheComposition(t *testing.T) {
	co := Conv2dOptions{Stride: [2]int{1, 1}, Padding: [2]int{1, 1}}
	for _, tc := range []struct {
		name         string
		training     bool
		noGrad       bool
		grad         string // the input that requires a gradient, if any
		act          Activation
		withResidual bool
	}{
		{"eval no grad", false, true, "", ActReLU, false},
		{"eval no input requires grad", false, false, "", ActSiLU, false},
		{"eval residual", false, true, "", ActReLU, true},
		{"eval x requires grad", false, false, "x", ActReLU, true},
		{"eval conv weight requires grad", false, false, "w", NoActivation, false},
		{"training", true, false, "x", ActReLU, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(9, 10))
			x := RandN(rng, Float32, 3, 4, 14, 14)
			w := RandN(rng, Float32, 6, 4, 3, 3)
			cb := RandN(rng, Float32, 6)
			bw, bb := RandN(rng, Float32, 6), RandN(rng, Float32, 6)
			var res *Tensor
			if tc.withResidual {
				res = RandN(rng, Float32, 3, 6, 14, 14)
			}
			switch tc.grad {
			case "x":
				x.SetRequiresGrad(true)
			case "w":
				w.SetRequiresGrad(true)
			}
			run := func(fused bool) (y *Tensor, stats [][]float32, grad []float32) {
				rm := FromFloat32([]float32{0.1, -0.2, 0.3, 0, 0.5, -1}, 6)
				rv := FromFloat32([]float32{0.5, 1.5, 2, 1, 0.25, 3}, 6)
				o := BatchNormOptions{Training: tc.training, Momentum: 0.1, Eps: 1e-5, Activation: tc.act, Residual: res}
				f := func() {
					if fused {
						y = Conv2dBatchNorm(x, w, cb, co, bw, bb, rm, rv, o)
					} else {
						y = BatchNorm(Conv2d(x, w, cb, co), bw, bb, rm, rv, o)
					}
				}
				if tc.noGrad {
					NoGrad(f)
				} else {
					f()
				}
				if tc.grad != "" {
					if !y.RequiresGrad() {
						t.Fatalf("fused=%v: the output does not require a gradient though %s does", fused, tc.grad)
					}
					Sum(Mul(y, y), nil, false).Backward()
					in := map[string]*Tensor{"x": x, "w": w}[tc.grad]
					grad = slices.Clone(in.Grad().Float32s())
					in.ZeroGrad()
				}
				return y, [][]float32{rm.Float32s(), rv.Float32s()}, grad
			}
			y1, s1, g1 := run(true)
			y2, s2, g2 := run(false)
			same := func(what string, a, b []float32) {
				t.Helper()
				for i := range b {
					if a[i] != b[i] {
						t.Fatalf("%s[%d] = %v, composition %v", what, i, a[i], b[i])
					}
				}
			}
			same("y", y1.Float32s(), y2.Float32s())
			same("running mean", s1[0], s2[0])
			same("running var", s1[1], s2[1])
			same("gradient", g1, g2)
		})
	}
}
