package transforms

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Rotate turns m counter-clockwise by degrees about its centre, keeping its
// size, as torchvision's F.rotate on a tensor with bilinear interpolation
// and fill 0: output pixel (x, y), taken relative to the centre
// ((W-1)/2, (H-1)/2), reads the source point (cos a*x - sin a*y,
// sin a*x + cos a*y) with grid_sample's bilinear rule, neighbours outside
// the image counting as zero. Like torchvision (which resamples a mask of
// ones alongside the image and multiplies by it to apply the fill), the
// result is then multiplied by the in-image share of the weights, so a
// pixel straddling the border is attenuated by that share twice.
func Rotate(m Image, degrees float64) (Image, error) {
	if err := m.Check(); err != nil {
		return Image{}, err
	}
	if math.IsNaN(degrees) || math.IsInf(degrees, 0) {
		return Image{}, fmt.Errorf("transforms: Rotate: angle %v is not finite", degrees)
	}
	a := degrees * math.Pi / 180
	cos, sin := math.Cos(a), math.Sin(a)
	cx, cy := float64(m.W-1)/2, float64(m.H-1)/2
	out := NewImage(m.C, m.H, m.W)
	plane := m.H * m.W
	for y := range m.H {
		ry := float64(y) - cy
		for x := range m.W {
			rx := float64(x) - cx
			sx := cos*rx - sin*ry + cx
			sy := sin*rx + cos*ry + cy
			x0, y0 := math.Floor(sx), math.Floor(sy)
			fx, fy := sx-x0, sy-y0
			ix, iy := int(x0), int(y0)
			// The four neighbours and their weights; those outside count zero.
			var idx [4]int
			var wt [4]float64
			n := 0
			var cover float64
			for k, p := range [4][2]int{{ix, iy}, {ix + 1, iy}, {ix, iy + 1}, {ix + 1, iy + 1}} {
				if p[0] < 0 || p[0] >= m.W || p[1] < 0 || p[1] >= m.H {
					continue
				}
				w := (1 - fx) * (1 - fy)
				switch k {
				case 1:
					w = fx * (1 - fy)
				case 2:
					w = (1 - fx) * fy
				case 3:
					w = fx * fy
				}
				idx[n], wt[n] = p[1]*m.W+p[0], w
				cover += w
				n++
			}
			for c := range m.C {
				src := m.Pix[c*plane : (c+1)*plane]
				var s float64
				for k := range n {
					s += wt[k] * float64(src[idx[k]])
				}
				out.Pix[c*plane+y*m.W+x] = float32(s * cover)
			}
		}
	}
	return out, nil
}

// RandomRotation rotates m by an angle drawn uniformly from
// [-degrees, degrees], as torchvision's RandomRotation(degrees), but with
// bilinear interpolation where torchvision defaults to nearest.
func RandomRotation(m Image, degrees float64, rng *rand.Rand) (Image, error) {
	if !(degrees >= 0) || math.IsInf(degrees, 0) {
		return Image{}, fmt.Errorf("transforms: RandomRotation: range %v degrees, want finite and >= 0", degrees)
	}
	return Rotate(m, (2*rng.Float64()-1)*degrees)
}
