package transforms

import (
	"fmt"

	"github.com/vertebra-ml/vertebra/autograd/kernel"
)

// Resize resamples every channel of m to h x w with bilinear interpolation,
// exactly as PyTorch's F.interpolate(mode="bilinear", align_corners=False,
// antialias=False): output index i reads the source coordinate
// (i+0.5)*in/out-0.5, clamped at 0 below, and its two neighbours, the upper
// one clamped at the last row or column. When shrinking by more than 2x it
// skips source pixels; [ResizeAntialias] does not.
func Resize(m Image, h, w int) (Image, error) {
	return resize(m, h, w, bilinearTaps)
}

// ResizeAntialias resamples m to h x w as PyTorch's F.interpolate(
// mode="bilinear", align_corners=False, antialias=True): a separable
// triangle filter whose support reaches scale = in/out source pixels either
// side of each output centre when downsampling (one pixel when upsampling),
// with the weights normalised to sum to one. When upsampling it equals
// [Resize].
func ResizeAntialias(m Image, h, w int) (Image, error) {
	return resize(m, h, w, antialiasTaps)
}

// taps holds, for each output index, the first source index it reads and
// the weights of consecutive source indices from there.
type taps struct {
	first   []int
	weights [][]float64
}

func resize(m Image, h, w int, axis func(in, out int) taps) (Image, error) {
	if err := m.Check(); err != nil {
		return Image{}, err
	}
	if h <= 0 || w <= 0 {
		return Image{}, fmt.Errorf("transforms: resize %s to %dx%d: size must be positive", m, h, w)
	}
	xs, ys := axis(m.W, w), axis(m.H, h)
	out := NewImage(m.C, h, w)
	row := make([]float64, w)     // one source row resampled along x
	tmp := make([]float64, m.H*w) // one channel resampled along x
	for c := range m.C {
		src := m.Pix[c*m.H*m.W : (c+1)*m.H*m.W]
		for y := range m.H {
			line := src[y*m.W : (y+1)*m.W]
			for ox := range w {
				var s float64
				for k, wt := range xs.weights[ox] {
					s += wt * float64(line[xs.first[ox]+k])
				}
				row[ox] = s
			}
			copy(tmp[y*w:], row)
		}
		dst := out.Pix[c*h*w : (c+1)*h*w]
		for oy := range h {
			for ox := range w {
				var s float64
				for k, wt := range ys.weights[oy] {
					s += wt * tmp[(ys.first[oy]+k)*w+ox]
				}
				dst[oy*w+ox] = float32(s)
			}
		}
	}
	return out, nil
}

// bilinearTaps is PyTorch's upsample_bilinear2d index computation
// (area_pixel_compute_source_index with align_corners=False).
func bilinearTaps(in, out int) taps {
	t := taps{first: make([]int, out), weights: make([][]float64, out)}
	scale := float64(in) / float64(out)
	for i := range out {
		src := max(scale*(float64(i)+0.5)-0.5, 0)
		i0 := int(src)
		lambda := src - float64(i0)
		if i0 < in-1 {
			t.first[i], t.weights[i] = i0, []float64{1 - lambda, lambda}
		} else {
			// At the last pixel both taps are the same pixel.
			t.first[i], t.weights[i] = in-1, []float64{1}
		}
	}
	return t
}

// antialiasTaps is PyTorch's _compute_indices_weights_aa for the bilinear
// (triangle) filter, as the autograd op uses it.
func antialiasTaps(in, out int) taps {
	first, weights := kernel.AntialiasTaps(in, out, false)
	return taps{first: first, weights: weights}
}
