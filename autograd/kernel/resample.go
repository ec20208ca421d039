package kernel

import "math"

// AntialiasTaps are the weights of PyTorch's antialiased bilinear resizing
// along one axis of in samples to out (_compute_indices_weights_aa with the
// triangle filter): output i reads the source samples first[i],
// first[i]+1, ... with weights[i], which sum to one. When shrinking, the
// filter widens by the scale in/out, so every source sample contributes;
// when enlarging it is plain bilinear. With alignCorners the scale is
// (in-1)/(out-1), as PyTorch computes it. Both the autograd op and the
// host image transform resize with these taps.
func AntialiasTaps(in, out int, alignCorners bool) (first []int, weights [][]float64) {
	var scale float64
	switch {
	case alignCorners && out > 1:
		scale = float64(in-1) / float64(out-1)
	case alignCorners:
		scale = 0
	default:
		scale = float64(in) / float64(out)
	}
	support, invscale := 1.0, 1.0 // the triangle's half-width
	if scale >= 1 {
		support, invscale = scale, 1/scale
	}
	first, weights = make([]int, out), make([][]float64, out)
	for i := range out {
		center := scale * (float64(i) + 0.5)
		// PyTorch truncates toward zero here (a C++ cast), then clamps.
		lo := max(int(center-support+0.5), 0)
		hi := min(int(center+support+0.5), in)
		ws := make([]float64, max(hi-lo, 0))
		var total float64
		for j := range ws {
			ws[j] = max(0, 1-math.Abs((float64(j+lo)-center+0.5)*invscale))
			total += ws[j]
		}
		if total != 0 {
			for j := range ws {
				ws[j] /= total
			}
		}
		first[i], weights[i] = lo, ws
	}
	return first, weights
}
