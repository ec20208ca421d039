package transforms

import "fmt"

// Image is a host-side image: C channels of H rows of W float32 values,
// stored channel-major then row-major (CHW), so the value at channel c,
// row y, column x is Pix[(c*H+y)*W+x].
type Image struct {
	C, H, W int
	Pix     []float32
}

// NewImage returns a zero image of the given shape. It panics if a
// dimension is not positive, like make does for a negative length.
func NewImage(c, h, w int) Image {
	if c <= 0 || h <= 0 || w <= 0 {
		panic(fmt.Sprintf("transforms: NewImage(%d, %d, %d): dimensions must be positive", c, h, w))
	}
	return Image{C: c, H: h, W: w, Pix: make([]float32, c*h*w)}
}

// Check reports whether m is well formed: positive dimensions and exactly
// C*H*W values.
func (m Image) Check() error {
	if m.C <= 0 || m.H <= 0 || m.W <= 0 {
		return fmt.Errorf("transforms: image shape %dx%dx%d: dimensions must be positive", m.C, m.H, m.W)
	}
	if len(m.Pix) != m.C*m.H*m.W {
		return fmt.Errorf("transforms: image shape %dx%dx%d needs %d values, has %d",
			m.C, m.H, m.W, m.C*m.H*m.W, len(m.Pix))
	}
	return nil
}

// At returns the value at channel c, row y, column x.
func (m Image) At(c, y, x int) float32 { return m.Pix[(c*m.H+y)*m.W+x] }

// Set sets the value at channel c, row y, column x.
func (m Image) Set(c, y, x int, v float32) { m.Pix[(c*m.H+y)*m.W+x] = v }

// Clone returns a deep copy of m.
func (m Image) Clone() Image {
	m.Pix = append([]float32(nil), m.Pix...)
	return m
}

// String describes the image's shape, e.g. "Image(1x256x320)".
func (m Image) String() string { return fmt.Sprintf("Image(%dx%dx%d)", m.C, m.H, m.W) }
