package models

import (
	"testing"

	ag "github.com/vertebra-ml/vertebra/autograd"
)

// BenchmarkSwinForward times the eval forward of the full-size presets of
// both namings on one 224x224 float32 image.
func BenchmarkSwinForward(b *testing.B) {
	for _, name := range []string{"swin_b", "swin-base-patch4-window7-224"} {
		b.Run(name, func(b *testing.B) {
			store := newEvalStore(ag.Float32, 1)
			m, err := New(name, store.Root())
			if err != nil {
				b.Fatal(err)
			}
			x := ag.RandN(store.RNG(), ag.Float32, 1, 3, 224, 224)
			b.ResetTimer()
			ag.NoGrad(func() {
				for range b.N {
					m.Forward(x)
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
		})
	}
}
