package models

import (
	"testing"

	ag "github.com/vertebra-ml/vertebra/autograd"
)

// BenchmarkResNetForward times the resnet152 preset's inference forward:
// batch 1, 224x224, float32, no graph.
func BenchmarkResNetForward(b *testing.B) {
	cnnBenchForward(b, "resnet152")
}

// cnnBenchForward builds a preset (untimed) and times its forward on one
// 224x224 image under ag.NoGrad, reporting images/s.
func cnnBenchForward(b *testing.B, preset string) {
	store := newEvalStore(ag.Float32, 1)
	m, err := New(preset, store.Root())
	if err != nil {
		b.Fatal(err)
	}
	x := ag.RandN(store.RNG(), ag.Float32, 1, 3, 224, 224)
	ag.NoGrad(func() { m.Forward(x) }) // warm the allocator pool
	for b.Loop() {
		ag.NoGrad(func() { m.Forward(x) })
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
}
