package transforms

import "math/rand/v2"

// HFlip mirrors m left to right.
func HFlip(m Image) (Image, error) {
	if err := m.Check(); err != nil {
		return Image{}, err
	}
	out := Image{C: m.C, H: m.H, W: m.W, Pix: make([]float32, len(m.Pix))}
	for r := 0; r < m.C*m.H; r++ {
		src, dst := m.Pix[r*m.W:(r+1)*m.W], out.Pix[r*m.W:(r+1)*m.W]
		for x, v := range src {
			dst[m.W-1-x] = v
		}
	}
	return out, nil
}

// RandomHFlip mirrors m with probability p, drawing one value from rng as
// torchvision's RandomHorizontalFlip does (flip when the draw is below p).
// When it does not flip it returns m itself.
func RandomHFlip(m Image, p float64, rng *rand.Rand) (Image, error) {
	if err := m.Check(); err != nil {
		return Image{}, err
	}
	if rng.Float64() < p {
		return HFlip(m)
	}
	return m, nil
}
