package transforms

import "fmt"

// ImageNetMean returns the per-channel (R, G, B) means torchvision's
// ImageNet weights were trained with.
func ImageNetMean() []float32 { return []float32{0.485, 0.456, 0.406} }

// ImageNetStd returns the per-channel (R, G, B) standard deviations that go
// with [ImageNetMean].
func ImageNetStd() []float32 { return []float32{0.229, 0.224, 0.225} }

// GrayToRGB repeats a one-channel image into three identical channels, as
// the study did to feed grayscale MRI to ImageNet backbones. A
// three-channel image is returned as a copy; other channel counts are an
// error.
func GrayToRGB(m Image) (Image, error) {
	if err := m.Check(); err != nil {
		return Image{}, err
	}
	switch m.C {
	case 3:
		return m.Clone(), nil
	case 1:
		out := Image{C: 3, H: m.H, W: m.W, Pix: make([]float32, 3*len(m.Pix))}
		for c := range 3 {
			copy(out.Pix[c*len(m.Pix):], m.Pix)
		}
		return out, nil
	}
	return Image{}, fmt.Errorf("transforms: GrayToRGB: image has %d channels, want 1 (or 3)", m.C)
}

// Normalize returns (v - mean[c]) / std[c] for every value of channel c.
// mean and std need one entry per channel and std must be positive.
func Normalize(m Image, mean, std []float32) (Image, error) {
	if err := m.Check(); err != nil {
		return Image{}, err
	}
	if len(mean) != m.C || len(std) != m.C {
		return Image{}, fmt.Errorf("transforms: Normalize: %d means and %d stds for an image with %d channels",
			len(mean), len(std), m.C)
	}
	for c, s := range std {
		if !(s > 0) {
			return Image{}, fmt.Errorf("transforms: Normalize: std[%d] = %v, want > 0", c, s)
		}
	}
	out := Image{C: m.C, H: m.H, W: m.W, Pix: make([]float32, len(m.Pix))}
	plane := m.H * m.W
	for c := range m.C {
		mu, sd := mean[c], std[c]
		src, dst := m.Pix[c*plane:(c+1)*plane], out.Pix[c*plane:(c+1)*plane]
		for i, v := range src {
			dst[i] = (v - mu) / sd
		}
	}
	return out, nil
}
