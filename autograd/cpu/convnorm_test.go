package cpu

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestConv2dBatchNorm checks the fused convolution and eval-mode batch
// norm bit for bit against Conv2dForward followed by BatchNorm, over the
// paths the product takes (one image straight to y, several through the
// copy out, dropped columns, groups, depthwise) and the options.
func TestConv2dBatchNorm(t *testing.T) {
	conv := func(n, c, h, o, k, stride, pad, groups int) ConvShape {
		return ConvShape{N: n, C: c, H: h, W: h + 1, O: o, KH: k, KW: k, SH: stride, SW: stride, PH: pad, PW: pad, DH: 1, DW: 1, Groups: groups}
	}
	shapes := []struct {
		name string
		s    ConvShape
	}{
		{"1x1 one image", conv(1, 33, 17, 40, 1, 1, 0, 1)},
		{"1x1 batch", conv(5, 64, 7, 70, 1, 1, 0, 1)},
		{"3x3 batch", conv(3, 17, 14, 33, 3, 1, 1, 1)},
		{"3x3 one large image", conv(1, 8, 40, 20, 3, 1, 1, 1)},
		{"3x3 stride 2", conv(4, 16, 15, 24, 3, 2, 1, 1)},
		{"grouped", conv(2, 12, 9, 18, 3, 1, 1, 3)},
		{"depthwise", conv(3, 40, 14, 40, 3, 1, 1, 40)},
		{"depthwise x2", conv(2, 7, 9, 14, 5, 2, 2, 7)},
		{"empty batch", conv(0, 4, 5, 6, 3, 1, 1, 1)},
		// Large enough for the finishing and the copy out to be split
		// between workers.
		{"1x1 one image parallel", conv(1, 16, 64, 72, 1, 1, 0, 1)},
		{"3x3 batch parallel", conv(3, 16, 7, 1300, 3, 1, 1, 1)},
	}
	for _, sh := range shapes {
		for _, opt := range []struct {
			name              string
			bias, affine, res bool
			act               Activation
		}{
			{"plain", false, false, false, Identity},
			{"relu", false, true, false, ActReLU},
			{"silu bias", true, true, false, ActSiLU},
			{"residual relu", false, true, true, ActReLU},
			{"residual bias", true, false, true, Identity},
		} {
			t.Run(sh.name+"/"+opt.name+"/float32", func(t *testing.T) {
				checkConv2dBatchNorm[float32](t, sh.s, opt.bias, opt.affine, opt.res, opt.act)
			})
			t.Run(sh.name+"/"+opt.name+"/float64", func(t *testing.T) {
				checkConv2dBatchNorm[float64](t, sh.s, opt.bias, opt.affine, opt.res, opt.act)
			})
		}
	}
}

func checkConv2dBatchNorm[T Float](t *testing.T, s ConvShape, bias, affine, res bool, act Activation) {
	r := rand.New(rand.NewPCG(3, uint64(s.C*s.O)))
	d := dimsOf(s)
	ny := s.N * s.O * d.ohw
	x := gemmRandSlice[T](r, s.N*s.C*s.H*s.W)
	w := gemmRandSlice[T](r, s.O*d.k)
	mean := gemmRandSlice[T](r, s.O)
	vr := gemmRandSlice[T](r, s.O)
	for i := range vr {
		vr[i] = vr[i]*vr[i] + 0.1
	}
	var b, bw, bb, rs []T
	if bias {
		b = gemmRandSlice[T](r, s.O)
	}
	if affine {
		bw, bb = gemmRandSlice[T](r, s.O), gemmRandSlice[T](r, s.O)
	}
	if res {
		rs = gemmRandSlice[T](r, ny)
	}
	const eps = 1e-5
	tmp, want := make([]T, ny), make([]T, ny)
	Conv2dForward(s, x, w, b, tmp)
	BatchNorm(want, tmp, bw, bb, rs, mean, vr, make([]T, s.O), make([]T, s.O), s.N, s.O, d.ohw, false, 0.1, eps, act)
	got := make([]T, ny)
	for i := range got {
		got[i] = T(math.NaN())
	}
	Conv2dBatchNorm(s, x, w, b, bw, bb, mean, vr, rs, got, eps, act)
	for i := range want {
		if math.Float64bits(float64(got[i])) != math.Float64bits(float64(want[i])) {
			t.Fatalf("y[%d] = %v, want %v (Conv2dForward then BatchNorm)", i, got[i], want[i])
		}
	}
}
