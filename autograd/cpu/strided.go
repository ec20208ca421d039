package cpu

// Gather copies a strided view of src into the contiguous dst:
// dst[idx] = src[offset + sum_d idx_d*strides[d]] over shape. With it one
// kernel serves permute, slice, expand and the pieces of concat and roll.
func Gather[T Float](dst, src []T, shape, strides []int, offset int) {
	nd := len(shape)
	if nd == 0 {
		dst[0] = src[offset]
		return
	}
	inner := shape[nd-1]
	if inner == 0 || len(dst) == 0 {
		return
	}
	rows := len(dst) / inner
	is := strides[nd-1]
	ParallelFor(rows, inner, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			o := offset + stridedRowOffset(r, shape, strides)
			d := dst[r*inner : (r+1)*inner]
			if is == 1 {
				copy(d, src[o:o+inner])
				continue
			}
			for i := range d {
				d[i] = src[o+i*is]
			}
		}
	})
}

// Scatter is the adjoint of Gather: dst[offset + sum_d idx_d*strides[d]]
// += src[idx] (or = when add is false). The strided positions must not
// overlap (no zero strides), so rows can be written in parallel.
func Scatter[T Float](dst, src []T, shape, strides []int, offset int, add bool) {
	nd := len(shape)
	if nd == 0 {
		if add {
			dst[offset] += src[0]
		} else {
			dst[offset] = src[0]
		}
		return
	}
	inner := shape[nd-1]
	if inner == 0 || len(src) == 0 {
		return
	}
	rows := len(src) / inner
	is := strides[nd-1]
	ParallelFor(rows, inner, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			o := offset + stridedRowOffset(r, shape, strides)
			s := src[r*inner : (r+1)*inner]
			switch {
			case !add && is == 1:
				copy(dst[o:o+inner], s)
			case add:
				for i, v := range s {
					dst[o+i*is] += v
				}
			default:
				for i, v := range s {
					dst[o+i*is] = v
				}
			}
		}
	})
}

// stridedRowOffset is the element offset of row r (all dimensions but the
// last) of shape under strides.
func stridedRowOffset(r int, shape, strides []int) int {
	o := 0
	for d := len(shape) - 2; d >= 0; d-- {
		o += (r % shape[d]) * strides[d]
		r /= shape[d]
	}
	return o
}

// IndexSelect picks along the axis: dst[o, k, i] = src[o, idx[k], i], with
// src seen as (outer, n, inner) and dst as (outer, len(idx), inner).
func IndexSelect[T Float](dst, src []T, idx []int32, outer, n, inner int) {
	k := len(idx)
	ParallelFor(outer*k, inner, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			o, j := p/k, p%k
			s := (o*n + int(idx[j])) * inner
			copy(dst[p*inner:(p+1)*inner], src[s:s+inner])
		}
	})
}

// IndexAdd is the adjoint of IndexSelect: dx[o, idx[k], i] += dy[o, k, i].
// Repeated indices accumulate, so the loop runs in parallel over outer only.
func IndexAdd[T Float](dx, dy []T, idx []int32, outer, n, inner int) {
	k := len(idx)
	ParallelFor(outer, k*inner, func(lo, hi int) {
		for o := lo; o < hi; o++ {
			for j, t := range idx {
				d := dx[(o*n+int(t))*inner : (o*n+int(t)+1)*inner]
				s := dy[(o*k+j)*inner : (o*k+j+1)*inner]
				for i, v := range s {
					d[i] += v
				}
			}
		}
	})
}

// GatherAxis picks one element per position along the axis:
// dst[o, j, i] = src[o, idx[o, j, i], i], with src (outer, n, inner) and
// dst and idx (outer, k, inner), as torch.gather.
func GatherAxis[T Float](dst, src []T, idx []int32, outer, n, k, inner int) {
	ParallelFor(outer, k*inner, func(lo, hi int) {
		for o := lo; o < hi; o++ {
			for j := 0; j < k; j++ {
				for i := 0; i < inner; i++ {
					p := (o*k+j)*inner + i
					dst[p] = src[(o*n+int(idx[p]))*inner+i]
				}
			}
		}
	})
}

// GatherAxisAdd is the adjoint of GatherAxis: dx[o, idx[o,j,i], i] += dy[o,j,i].
func GatherAxisAdd[T Float](dx, dy []T, idx []int32, outer, n, k, inner int) {
	ParallelFor(outer, k*inner, func(lo, hi int) {
		for o := lo; o < hi; o++ {
			for j := 0; j < k; j++ {
				for i := 0; i < inner; i++ {
					p := (o*k+j)*inner + i
					dx[(o*n+int(idx[p]))*inner+i] += dy[p]
				}
			}
		}
	})
}
