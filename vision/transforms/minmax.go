package transforms

import (
	"fmt"
	"math"
)

// MinMax scales m to [0, 1] over all its channels: (v - min) / (max - min).
// A constant image becomes all zeros rather than NaN. Non-finite values are
// an error, since they would poison every value of the result.
func MinMax(m Image) (Image, error) {
	if err := m.Check(); err != nil {
		return Image{}, err
	}
	lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
	for i, v := range m.Pix {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return Image{}, fmt.Errorf("transforms: MinMax: value %v at index %d is not finite", v, i)
		}
		lo = min(lo, v)
		hi = max(hi, v)
	}
	out := Image{C: m.C, H: m.H, W: m.W, Pix: make([]float32, len(m.Pix))}
	if hi == lo {
		return out, nil
	}
	// Divide in float64: float32 ranges near 2^16 lose the last bits otherwise.
	scale := 1 / (float64(hi) - float64(lo))
	for i, v := range m.Pix {
		out.Pix[i] = float32((float64(v) - float64(lo)) * scale)
	}
	return out, nil
}
