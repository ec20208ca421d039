package models

import "testing"

// BenchmarkEfficientNetV2Forward times the efficientnet_v2_m preset's inference forward:
// batch 1, 224x224, float32, no graph.
func BenchmarkEfficientNetV2Forward(b *testing.B) {
	cnnBenchForward(b, "efficientnet_v2_m")
}
