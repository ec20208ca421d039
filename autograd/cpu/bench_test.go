package cpu

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkSgemm measures square float32 products on one and two workers.
func BenchmarkSgemm(b *testing.B) {
	for _, n := range []int{512, 1024, 2048} {
		for _, w := range []int{1, 2} {
			b.Run(fmt.Sprintf("%d/w%d", n, w), func(b *testing.B) {
				r := rand.New(rand.NewPCG(1, 1))
				x, y := gemmRandSlice[float32](r, n*n), gemmRandSlice[float32](r, n*n)
				z := make([]float32, n*n)
				gemmWithWorkers(w, func() {
					b.ResetTimer()
					for range b.N {
						Gemm(false, false, n, n, n, 1, x, n, y, n, 0, z, n)
					}
				})
				gemmReportFlops(b, 2*float64(n)*float64(n)*float64(n))
			})
		}
	}
}

// gemmReportFlops reports the rate of flops floating-point operations per
// iteration.
func gemmReportFlops(b *testing.B, flops float64) {
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkConv2d measures float32 forward convolutions of typical layers:
// a ResNet 3x3 at 14x14 and a ConvNeXt depthwise 7x7 at 56x56.
func BenchmarkConv2d(b *testing.B) {
	cases := []struct {
		name string
		s    ConvShape
	}{
		{"resnet3x3", ConvShape{N: 1, C: 256, H: 14, W: 14, O: 256, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1, Groups: 1}},
		{"convnext_dw7x7", ConvShape{N: 1, C: 128, H: 56, W: 56, O: 128, KH: 7, KW: 7, SH: 1, SW: 1, PH: 3, PW: 3, DH: 1, DW: 1, Groups: 128}},
	}
	for _, tc := range cases {
		s := tc.s
		oh, ow := s.OutHW()
		flops := 2 * float64(s.N*s.O*oh*ow*s.C/s.Groups*s.KH*s.KW)
		r := rand.New(rand.NewPCG(1, 1))
		x := gemmRandSlice[float32](r, s.N*s.C*s.H*s.W)
		w := gemmRandSlice[float32](r, s.O*s.C/s.Groups*s.KH*s.KW)
		bias := gemmRandSlice[float32](r, s.O)
		y := make([]float32, s.N*s.O*oh*ow)
		dy := gemmRandSlice[float32](r, len(y))
		dx, dw := make([]float32, len(x)), make([]float32, len(w))
		passes := []struct {
			name string
			f    func()
		}{
			{"forward", func() { Conv2dForward(s, x, w, bias, y) }},
			{"backward_data", func() { Conv2dBackwardData(s, dy, w, dx) }},
			{"backward_weight", func() { Conv2dBackwardWeight(s, x, dy, dw) }},
		}
		for _, p := range passes {
			b.Run(tc.name+"/"+p.name, func(b *testing.B) {
				for range b.N {
					p.f()
				}
				gemmReportFlops(b, flops)
			})
		}
	}
}
