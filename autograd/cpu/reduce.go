package cpu

import "math"

// The axis kernels see a tensor as (outer, n, inner): the axis they work
// along has n elements, inner is the product of the dimensions after it and
// outer of those before it. Element (o, j, i) sits at (o*n+j)*inner+i.

// SumAxis writes dst[o*inner+i] = sum_j src[(o*n+j)*inner+i], scaled by
// scale (1 for a sum, 1/n for a mean).
func SumAxis[T Float](dst, src []T, outer, n, inner int, scale T) {
	checkLen("SumAxis", len(src), outer*n*inner)
	checkLen("SumAxis", len(dst), outer*inner)
	if inner == 1 {
		ParallelFor(outer, n, func(lo, hi int) {
			for o := lo; o < hi; o++ {
				row := src[o*n : (o+1)*n]
				var s T
				for _, v := range row {
					s += v
				}
				dst[o] = s * scale
			}
		})
		return
	}
	ParallelFor(outer, n*inner, func(lo, hi int) {
		for o := lo; o < hi; o++ {
			d := dst[o*inner : (o+1)*inner]
			copy(d, src[o*n*inner:o*n*inner+inner])
			for j := 1; j < n; j++ {
				s := src[(o*n+j)*inner : (o*n+j+1)*inner]
				for i := range d {
					d[i] += s[i]
				}
			}
			if scale != 1 {
				for i := range d {
					d[i] *= scale
				}
			}
		}
	})
}

// MaxAxis writes the maximum along the axis to dst and the index of its
// first occurrence to arg. NaN propagates, as in PyTorch.
func MaxAxis[T Float](dst []T, arg []int32, src []T, outer, n, inner int) {
	checkLen("MaxAxis", len(src), outer*n*inner)
	checkLen("MaxAxis", len(dst), outer*inner)
	ParallelFor(outer*inner, n, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			o, i := p/inner, p%inner
			base := o*n*inner + i
			best, bj := src[base], 0
			for j := 1; j < n; j++ {
				v := src[base+j*inner]
				if v > best || (v != v && best == best) {
					best, bj = v, j
				}
			}
			dst[p], arg[p] = best, int32(bj)
		}
	})
}

// MaxAxisGrad scatters dy into dx at the arg positions; dx is overwritten.
func MaxAxisGrad[T Float](dx, dy []T, arg []int32, outer, n, inner int) {
	clear(dx)
	ParallelFor(outer, n*inner, func(lo, hi int) {
		for o := lo; o < hi; o++ {
			for i := 0; i < inner; i++ {
				p := o*inner + i
				dx[(o*n+int(arg[p]))*inner+i] += dy[p]
			}
		}
	})
}

// Softmax computes a softmax (or log-softmax) along the axis.
func Softmax[T Float](dst, src []T, outer, n, inner int, log bool) {
	checkLen("Softmax", len(src), outer*n*inner)
	checkLen("Softmax", len(dst), len(src))
	if d32, ok := any(dst).([]float32); ok && inner == 1 && !log {
		softmaxRowsFloat32(d32, any(src).([]float32), outer, n)
		return
	}
	ParallelFor(outer*inner, 4*n, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			o, i := p/inner, p%inner
			base := o*n*inner + i
			m := math.Inf(-1)
			for j := 0; j < n; j++ {
				m = math.Max(m, float64(src[base+j*inner]))
			}
			var s float64
			for j := 0; j < n; j++ {
				s += math.Exp(float64(src[base+j*inner]) - m)
			}
			if log {
				ls := m + math.Log(s)
				for j := 0; j < n; j++ {
					dst[base+j*inner] = T(float64(src[base+j*inner]) - ls)
				}
			} else {
				inv := 1 / s
				for j := 0; j < n; j++ {
					dst[base+j*inner] = T(math.Exp(float64(src[base+j*inner])-m) * inv)
				}
			}
		}
	})
}

// SoftmaxGrad computes dx from the output y and dy: for softmax
// dx = y*(dy - sum(dy*y)), for log-softmax dx = dy - exp(y)*sum(dy).
func SoftmaxGrad[T Float](dx, y, dy []T, outer, n, inner int, log bool) {
	if dx32, ok := any(dx).([]float32); ok && inner == 1 && !log && lnRowsAsm() {
		y32, dy32 := any(y).([]float32), any(dy).([]float32)
		ParallelFor(outer, 4*n, func(lo, hi int) {
			for p := lo; p < hi; p++ {
				yr, gr := y32[p*n:(p+1)*n], dy32[p*n:(p+1)*n]
				// dx = y*(dy - sum(dy*y)), as a layer-norm gradient row
				// with w = x = y.
				_, s := normSumDot(gr, yr, 0)
				lnGradApplyRow(dx32[p*n:(p+1)*n], gr, yr, yr, 1, 0, float32(s), 0)
			}
		})
		return
	}
	ParallelFor(outer*inner, 4*n, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			o, i := p/inner, p%inner
			base := o*n*inner + i
			var s float64
			for j := 0; j < n; j++ {
				k := base + j*inner
				if log {
					s += float64(dy[k])
				} else {
					s += float64(dy[k]) * float64(y[k])
				}
			}
			for j := 0; j < n; j++ {
				k := base + j*inner
				if log {
					dx[k] = T(float64(dy[k]) - math.Exp(float64(y[k]))*s)
				} else {
					dx[k] = T(float64(y[k]) * (float64(dy[k]) - s))
				}
			}
		}
	})
}

// softmaxRowsFloat32 is the softmax over contiguous float32 rows (the
// attention case): one pass per row without the strided indexing of the
// general kernel, with a float64 sum.
func softmaxRowsFloat32(dst, src []float32, rows, n int) {
	ParallelFor(rows, 4*n, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			x, y := src[r*n:(r+1)*n], dst[r*n:(r+1)*n]
			if softmaxRowF32(y, x) {
				continue
			}
			m := float32(math.Inf(-1))
			for _, v := range x {
				m = max(m, v)
			}
			var s float64
			for j, v := range x {
				e := float32(math.Exp(float64(v - m)))
				y[j] = e
				s += float64(e)
			}
			inv := float32(1 / s)
			for j := range y {
				y[j] *= inv
			}
		}
	})
}
