package datasets

import "testing"

// BenchmarkSyntheticImage measures rendering one slice (192..384 pixels a side).
func BenchmarkSyntheticImage(b *testing.B) {
	d, _ := NewSynthetic(SyntheticConfig{Studies: 8, Seed: 1})
	for i := 0; b.Loop(); i++ {
		d.Image((i % 8) * Levels)
	}
}
