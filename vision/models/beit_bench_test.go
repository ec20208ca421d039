package models

import "testing"

// BenchmarkBeitForward is beit-base-patch16-224.
func BenchmarkBeitForward(b *testing.B) { vitBenchPresetForward(b, "beit-base-patch16-224") }
