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
				x, y := randSlice[float32](r, n*n), randSlice[float32](r, n*n)
				z := make([]float32, n*n)
				withWorkers(w, func() {
					b.ResetTimer()
					for range b.N {
						Gemm(false, false, n, n, n, 1, x, n, y, n, 0, z, n)
					}
				})
				reportFlops(b, 2*float64(n)*float64(n)*float64(n))
			})
		}
	}
}

// reportFlops reports the rate of flops floating-point operations per
// iteration.
func reportFlops(b *testing.B, flops float64) {
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
