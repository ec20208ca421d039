package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// maxPoolRef is MaxPool2d written tap by tap with a bounds test each, as
// PyTorch's CPU kernel scans a window.
func maxPoolRef(s PoolShape, y []float32, arg []int32, x []float32) {
	dh, dw := max(s.DH, 1), max(s.DW, 1)
	for p := range s.Planes {
		for oy := range s.OH {
			for ox := range s.OW {
				best, bi := float32(math.Inf(-1)), int32(-1)
				for ky := range s.KH {
					iy := oy*s.SH - s.PH + ky*dh
					for kx := range s.KW {
						ix := ox*s.SW - s.PW + kx*dw
						if iy < 0 || iy >= s.H || ix < 0 || ix >= s.W {
							continue
						}
						v := x[p*s.H*s.W+iy*s.W+ix]
						if v > best || bi < 0 || v != v {
							best, bi = v, int32(iy*s.W+ix)
						}
					}
				}
				o := (p*s.OH+oy)*s.OW + ox
				y[o], arg[o] = best, bi
			}
		}
	}
}

func TestMaxPool2dMatchesTapByTap(t *testing.T) {
	// out is PyTorch's output size, with ceil mode when ceil is set.
	out := func(in, k, st, pad, dil int, ceil bool) int {
		span := in + 2*pad - dil*(k-1) - 1
		o := span/st + 1
		if ceil && span%st != 0 {
			o++
			if (o-1)*st >= in+pad {
				o--
			}
		}
		return o
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		h, w, k, st, pad, dil int
		ceil                  bool
	}{
		{1, 1, 1, 1, 0, 1, false},
		{7, 7, 3, 2, 1, 1, false},
		{17, 33, 3, 2, 1, 1, true},
		{33, 17, 2, 2, 0, 1, true},
		{112, 112, 3, 2, 1, 1, false},
		{9, 9, 3, 1, 1, 2, false},
		{8, 5, 5, 3, 2, 1, true},
		// Widths around the 8-lane groups of the assembly scans.
		{3, 255, 3, 2, 1, 1, false},
		{5, 33, 3, 1, 1, 1, false},
		{4, 17, 2, 1, 0, 1, true},
		{2, 7, 7, 1, 3, 1, false},
		{6, 255, 5, 3, 2, 2, true},
	} {
		s := PoolShape{Planes: 3, H: c.h, W: c.w, KH: c.k, KW: c.k, SH: c.st, SW: c.st, PH: c.pad, PW: c.pad, DH: c.dil, DW: c.dil}
		s.OH, s.OW = out(c.h, c.k, c.st, c.pad, c.dil, c.ceil), out(c.w, c.k, c.st, c.pad, c.dil, c.ceil)
		t.Run(fmt.Sprintf("%dx%d_k%d_s%d_p%d_d%d", c.h, c.w, c.k, c.st, c.pad, c.dil), func(t *testing.T) {
			if err := s.ValidateWindow(); err != nil {
				t.Fatal(err)
			}
			x := make([]float32, s.Planes*c.h*c.w)
			for i := range x {
				switch u := r.IntN(20); {
				case u == 0:
					x[i] = float32(math.NaN())
				case u == 1:
					x[i] = float32(math.Inf(-1))
				case u < 8:
					x[i] = float32(r.IntN(3)) // ties
				default:
					x[i] = r.Float32()*2 - 1
				}
			}
			n := s.Planes * s.OH * s.OW
			yr, ar := make([]float32, n), make([]int32, n)
			maxPoolRef(s, yr, ar, x)
			saved := actUseAsm
			defer func() { actUseAsm = saved }()
			for _, asm := range []bool{false, true} {
				actUseAsm = asm && saved
				y, arg := make([]float32, n), make([]int32, n)
				MaxPool2d(s, y, arg, x)
				for i := range y {
					same := y[i] == yr[i] || y[i] != y[i] && yr[i] != yr[i]
					if !same || arg[i] != ar[i] {
						t.Fatalf("asm %v, output %d: got %v at %d, want %v at %d", asm, i, y[i], arg[i], yr[i], ar[i])
					}
				}
			}
		})
	}
}

// BenchmarkMaxPool2d runs ResNet's stem pooling (3x3, stride 2, padding 1
// on 112x112) over a batch of 8, on a ReLU's output: half zeros, so the
// comparisons are as unpredictable as in the model.
func BenchmarkMaxPool2d(b *testing.B) {
	s := PoolShape{Planes: 8 * 64, H: 112, W: 112, OH: 56, OW: 56, KH: 3, KW: 3, SH: 2, SW: 2, PH: 1, PW: 1, DH: 1, DW: 1}
	x := make([]float32, s.Planes*s.H*s.W)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range x {
		x[i] = max(0, r.Float32()*2-1)
	}
	y, arg := make([]float32, s.Planes*s.OH*s.OW), make([]int32, s.Planes*s.OH*s.OW)
	for b.Loop() {
		MaxPool2d(s, y, arg, x)
	}
}
