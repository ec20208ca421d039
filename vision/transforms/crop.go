package transforms

import (
	"fmt"
	"math"
)

// CropAround cuts a size x size square out of m around the point (x, y)
// (column, row, in source pixels, pixel centres at whole numbers as in the
// RSNA coordinates). The pixel nearest the point lands at index size/2 of
// the crop on each axis; the parts of the square outside m are zero.
func CropAround(m Image, x, y float64, size int) (Image, error) {
	if err := m.Check(); err != nil {
		return Image{}, err
	}
	if size <= 0 {
		return Image{}, fmt.Errorf("transforms: CropAround: size %d, want > 0", size)
	}
	if math.IsNaN(x) || math.IsNaN(y) || math.IsInf(x, 0) || math.IsInf(y, 0) {
		return Image{}, fmt.Errorf("transforms: CropAround: point (%v, %v) is not finite", x, y)
	}
	// Far-away points would overflow int; any point beyond the image by more
	// than size gives an all-zero crop anyway.
	x = math.Max(math.Min(x, float64(m.W+size)), float64(-size))
	y = math.Max(math.Min(y, float64(m.H+size)), float64(-size))
	left := int(math.Floor(x+0.5)) - size/2
	top := int(math.Floor(y+0.5)) - size/2
	out := NewImage(m.C, size, size)
	x0, x1 := max(left, 0), min(left+size, m.W)
	for c := range m.C {
		for oy := range size {
			sy := top + oy
			if sy < 0 || sy >= m.H || x0 >= x1 {
				continue
			}
			src := m.Pix[(c*m.H+sy)*m.W:]
			copy(out.Pix[(c*size+oy)*size+x0-left:], src[x0:x1])
		}
	}
	return out, nil
}
