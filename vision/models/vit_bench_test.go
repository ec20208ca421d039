package models

import (
	"testing"

	ag "github.com/vertebra-ml/vertebra/autograd"
)

// vitBenchPresetForward times the eval forward of a full-size preset on
// one 224x224 image in float32 and reports images/s. One untimed forward
// first warms the tensor pool, so that -benchtime 1x measures the steady
// state.
func vitBenchPresetForward(b *testing.B, preset string) {
	store := newEvalStore(ag.Float32, 1)
	m, err := New(preset, store.Root())
	if err != nil {
		b.Fatal(err)
	}
	x := vitRandInput(1, 1, 3, 224, 224)
	ag.NoGrad(func() {
		m.Forward(x)
		b.ResetTimer()
		for range b.N {
			m.Forward(x)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
}

// BenchmarkViTForward is vit_b_16.
func BenchmarkViTForward(b *testing.B) { vitBenchPresetForward(b, "vit_b_16") }
