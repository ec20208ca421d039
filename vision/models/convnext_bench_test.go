package models

import "testing"

// BenchmarkConvNeXtForward times the convnext_base preset's inference forward:
// batch 1, 224x224, float32, no graph.
func BenchmarkConvNeXtForward(b *testing.B) {
	cnnBenchForward(b, "convnext_base")
}
