package cpu

import (
	"fmt"
	"math"
)

// The normalisation kernels see x as (outer, n, inner) like the axis
// kernels. Layer norm normalises each (o, i) over j; batch norm normalises
// each channel j over (o, i). Statistics accumulate in float64.

// LayerNorm writes y = (x-mean)*rstd*w[j] + b[j] with mean and variance
// over j for every (o, i), and stores mean and rstd (length outer*inner)
// for the backward pass. w and b may be nil.
func LayerNorm[T Float](y, x, w, b, mean, rstd []T, outer, n, inner int, eps float64) {
	checkLen("LayerNorm", len(x), outer*n*inner)
	if x32, ok := any(x).([]float32); ok && inner == 1 && w != nil && b != nil && lnRowsAsm() {
		layerNormRows(any(y).([]float32), x32, any(w).([]float32), any(b).([]float32), any(mean).([]float32), any(rstd).([]float32), outer, n, eps)
		return
	}
	ParallelFor(outer*inner, 3*n, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			o, i := p/inner, p%inner
			base := o*n*inner + i
			var s float64
			for j := 0; j < n; j++ {
				s += float64(x[base+j*inner])
			}
			m := s / float64(n)
			var v float64
			for j := 0; j < n; j++ {
				d := float64(x[base+j*inner]) - m
				v += d * d
			}
			r := 1 / math.Sqrt(v/float64(n)+eps)
			mean[p], rstd[p] = T(m), T(r)
			for j := 0; j < n; j++ {
				k := base + j*inner
				h := (float64(x[k]) - m) * r
				if w != nil {
					h *= float64(w[j])
				}
				if b != nil {
					h += float64(b[j])
				}
				y[k] = T(h)
			}
		}
	})
}

// LayerNormGrad computes dx (overwritten) and accumulates dw and db (either
// may be nil) from the saved mean and rstd.
func LayerNormGrad[T Float](dx, dw, db, x, w, dy, mean, rstd []T, outer, n, inner int) {
	if x32, ok := any(x).([]float32); ok && inner == 1 && w != nil && lnRowsAsm() {
		layerNormGradRows(any(dx).([]float32), any(dw).([]float32), any(db).([]float32), x32, any(w).([]float32), any(dy).([]float32), any(mean).([]float32), any(rstd).([]float32), outer, n)
		return
	}
	ParallelFor(outer*inner, 4*n, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			o, i := p/inner, p%inner
			base := o*n*inner + i
			m, r := float64(mean[p]), float64(rstd[p])
			var sg, sgx float64
			for j := 0; j < n; j++ {
				k := base + j*inner
				g := float64(dy[k])
				if w != nil {
					g *= float64(w[j])
				}
				sg += g
				sgx += g * (float64(x[k]) - m) * r
			}
			sg /= float64(n)
			sgx /= float64(n)
			for j := 0; j < n; j++ {
				k := base + j*inner
				g := float64(dy[k])
				if w != nil {
					g *= float64(w[j])
				}
				xh := (float64(x[k]) - m) * r
				dx[k] = T(r * (g - sg - xh*sgx))
			}
		}
	})
	if dw == nil && db == nil {
		return
	}
	ParallelFor(n, 2*outer*inner, func(lo, hi int) {
		for j := lo; j < hi; j++ {
			var sw, sb float64
			for o := 0; o < outer; o++ {
				for i := 0; i < inner; i++ {
					p := o*inner + i
					k := (o*n+j)*inner + i
					g := float64(dy[k])
					sw += g * (float64(x[k]) - float64(mean[p])) * float64(rstd[p])
					sb += g
				}
			}
			if dw != nil {
				dw[j] += T(sw)
			}
			if db != nil {
				db[j] += T(sb)
			}
		}
	})
}

// layerNormRows is LayerNorm over contiguous float32 rows (inner 1: the
// transformers' token rows) with the vectorised row kernels: statistics in
// float64, the affine pass in float32.
func layerNormRows(y, x, w, b, mean, rstd []float32, rows, n int, eps float64) {
	ParallelFor(rows, 3*n, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			row := x[p*n : (p+1)*n]
			m := normSum(row) / float64(n)
			r := 1 / math.Sqrt(normSqDev(row, m)/float64(n)+eps)
			mean[p], rstd[p] = float32(m), float32(r)
			lnApplyRow(y[p*n:(p+1)*n], row, w, b, float32(m), float32(r))
		}
	})
}

// lnGradChunks is the number of row chunks whose weight and bias gradients
// are summed separately and then added in chunk order, so that the result
// does not depend on which goroutine ran which chunk.
const lnGradChunks = 16

// layerNormGradRows is LayerNormGrad over contiguous float32 rows, as
// layerNormRows: dx row by row, and the weight and bias gradients summed
// in float64 per chunk of rows.
func layerNormGradRows(dx, dw, db, x, w, dy, mean, rstd []float32, rows, n int) {
	chunks := min(rows, lnGradChunks)
	var accW, accB []float64
	params := dw != nil || db != nil
	if params {
		// Pooled: every layer norm's backward in a step asks for these.
		bw, bb := gemmGetBuf[float64](chunks*n), gemmGetBuf[float64](chunks*n)
		defer gemmPutBuf(bw)
		defer gemmPutBuf(bb)
		accW, accB = (*bw)[:chunks*n], (*bb)[:chunks*n]
		clear(accW)
		clear(accB)
	}
	ParallelFor(chunks, 6*n*rows/max(chunks, 1), func(lo, hi int) {
		for c := lo; c < hi; c++ {
			for p := c * rows / chunks; p < (c+1)*rows/chunks; p++ {
				xr, gr := x[p*n:(p+1)*n], dy[p*n:(p+1)*n]
				m, r := float64(mean[p]), float64(rstd[p])
				sg, sgx := lnGradSumsRow(gr, w, xr, m)
				// dx = r*(g - mean(g) - xhat*mean(g*xhat)) with g = dy*w
				// and xhat = (x - m)*r.
				cb, cc := r*sg/float64(n), r*r*r*sgx/float64(n)
				lnGradApplyRow(dx[p*n:(p+1)*n], gr, w, xr, float32(r), float32(cb), float32(cc), float32(m))
				if params {
					lnParamAccRow(accW[c*n:(c+1)*n], accB[c*n:(c+1)*n], gr, xr, m, r)
				}
			}
		}
	})
	if !params {
		return
	}
	for j := range n {
		var sw, sb float64
		for c := range chunks {
			sw += accW[c*n+j]
			sb += accB[c*n+j]
		}
		if dw != nil {
			dw[j] += float32(sw)
		}
		if db != nil {
			db[j] += float32(sb)
		}
	}
}

// BatchNorm writes act((x - mean) * rstd * w + b + res) per channel j of
// the (outer, n, inner) input, with the batch statistics in training (also
// updating the running ones, either of which may be nil) and the running
// ones otherwise; w, b and res may be nil. The normalised value is rounded
// to T before res is added, as a separate addition would. mean and rstd
// receive the statistics used, for BatchNormGrad.
func BatchNorm[T Float](y, x, w, b, res, runMean, runVar, mean, rstd []T, outer, n, inner int, training bool, momentum, eps float64, act Activation) {
	checkLen("BatchNorm", len(x), outer*n*inner)
	if res != nil {
		checkLen("BatchNorm residual", len(res), len(x))
	}
	cnt := outer * inner
	// On short rows (7x7 and 14x14 planes) a vector kernel's call costs
	// more than its elements: there the residual and the activation run
	// after the affine pass, over spans of consecutive rows.
	perRow := inner >= bnShortRow
	ParallelFor(n, 3*cnt, func(lo, hi int) {
		for j := lo; j < hi; j++ {
			var m, v float64
			if training {
				var s float64
				for o := 0; o < outer; o++ {
					s += normSum(x[(o*n+j)*inner : (o*n+j+1)*inner])
				}
				m = s / float64(cnt)
				for o := 0; o < outer; o++ {
					v += normSqDev(x[(o*n+j)*inner:(o*n+j+1)*inner], m)
				}
				v /= float64(cnt)
				if runMean != nil {
					runMean[j] = T((1-momentum)*float64(runMean[j]) + momentum*m)
				}
				if runVar != nil {
					unbiased := v
					if cnt > 1 {
						unbiased = v * float64(cnt) / float64(cnt-1)
					}
					runVar[j] = T((1-momentum)*float64(runVar[j]) + momentum*unbiased)
				}
			}
			var sc, sh T
			var r float64
			if training {
				r = 1 / math.Sqrt(v+eps)
				sc, sh = bnAffine(m, r, w, b, j)
			} else {
				sc, sh, m, r = bnEvalAffine(w, b, runMean, runVar, eps, j)
			}
			mean[j], rstd[j] = T(m), T(r)
			for o := 0; o < outer; o++ {
				src := x[(o*n+j)*inner : (o*n+j+1)*inner]
				dst := y[(o*n+j)*inner : (o*n+j+1)*inner][:len(src)]
				normAffine(dst, src, sc, sh)
				if perRow {
					bnFinish(dst, res, (o*n+j)*inner, act)
				}
			}
		}
	})
	if !perRow && (res != nil || act != Identity) {
		ParallelFor(len(y), 2, func(lo, hi int) {
			for s := lo; s < hi; s += bnSpan {
				e := min(hi, s+bnSpan)
				bnFinish(y[s:e], res, s, act)
			}
		})
	}
}

// bnShortRow is the row length below which BatchNorm finishes its output
// in spans of bnSpan elements (16 KiB of float32: L1) instead of by row.
// EfficientNetV2-M inference on the 2-core Zen 3 spent 9 % of its time in
// SiLU, half of it in the padded tails of 49- and 196-element rows.
const bnShortRow, bnSpan = 256, 4096

// bnFinish adds res[off:] to dst (when res is not nil) and applies act.
func bnFinish[T Float](dst, res []T, off int, act Activation) {
	if res != nil {
		addRow(dst, res[off:off+len(dst)])
	}
	if act != Identity {
		activate(act, dst, dst)
	}
}

// bnAffine is channel j's batch norm as y = x*scale + shift.
func bnAffine[T Float](m, r float64, w, b []T, j int) (scale, shift T) {
	s, h := r, -m*r
	if w != nil {
		s *= float64(w[j])
		h *= float64(w[j])
	}
	if b != nil {
		h += float64(b[j])
	}
	return T(s), T(h)
}

// normAffine writes dst = src*scale + shift.
func normAffine[T Float](dst, src []T, scale, shift T) {
	if d32, ok := any(dst).([]float32); ok && normAffineF32(d32, any(src).([]float32), float32(scale), float32(shift)) {
		return
	}
	dst = dst[:len(src)]
	i := 0
	for ; i+4 <= len(src); i += 4 {
		s, d := src[i:i+4:i+4], dst[i:i+4:i+4]
		d[0], d[1], d[2], d[3] = s[0]*scale+shift, s[1]*scale+shift, s[2]*scale+shift, s[3]*scale+shift
	}
	for ; i < len(src); i++ {
		dst[i] = src[i]*scale + shift
	}
}

// addRow accumulates dst += src in the calling goroutine.
func addRow[T Float](dst, src []T) {
	src = src[:len(dst)]
	if d32, ok := any(dst).([]float32); ok {
		k := binaryVVF32(Add, d32, d32, any(src).([]float32))
		dst, src = dst[k:], src[k:]
	}
	for i := range dst {
		dst[i] += src[i]
	}
}

// normGrad writes dx = a*g + (b*(x - m) + c).
func normGrad[T Float](dx, g, x []T, a, b, m, c T) {
	if d32, ok := any(dx).([]float32); ok && normGradF32(d32, any(g).([]float32), any(x).([]float32), float32(a), float32(b), float32(m), float32(c)) {
		return
	}
	for i, gv := range g {
		dx[i] = a*gv + (b*(x[i]-m) + c)
	}
}

// activate writes dst = act(src) (dst may be src).
func activate[T Float](act Activation, dst, src []T) {
	switch act {
	case Identity:
		copy(dst, src)
	case ActReLU:
		if d32, ok := any(dst).([]float32); ok {
			reluF32(d32, any(src).([]float32))
			return
		}
		reluScalar(dst, src)
	case ActSiLU:
		if d32, ok := any(dst).([]float32); ok && unaryFloat32(SiLU, d32, any(src).([]float32)) {
			return
		}
		f := unaryFunc(SiLU, 0)
		for i, v := range src {
			dst[i] = T(f(float64(v)))
		}
	default:
		panic(fmt.Sprintf("cpu: no fused activation %v", act))
	}
}

// activateGrad writes dz = dy * act'(z) (dz may be z or dy).
func activateGrad[T Float](act Activation, dz, z, dy []T) {
	switch act {
	case ActReLU:
		if d32, ok := any(dz).([]float32); ok {
			reluGradF32(d32, any(z).([]float32), any(dy).([]float32))
			return
		}
		reluGradScalar(dz, z, dy)
	case ActSiLU:
		if d32, ok := any(dz).([]float32); ok && unaryGradFloat32(SiLU, d32, any(z).([]float32), any(dy).([]float32)) {
			return
		}
		f := unaryDeriv(SiLU, 0)
		for i, g := range dy {
			dz[i] = g * T(f(float64(z[i])))
		}
	default:
		panic(fmt.Sprintf("cpu: no fused activation gradient for %v", act))
	}
}

// BatchNormGrad computes dx (overwritten) and accumulates dw and db (either
// may be nil). training selects the batch-statistics rule, in which mean
// and variance depend on x. dy is the gradient of BatchNorm's output; with
// an activation, the pre-activation is recomputed from x, w and b, one
// channel at a time into scratch.
func BatchNormGrad[T Float](dx, dw, db, x, w, b, dy, mean, rstd []T, outer, n, inner int, training bool, act Activation) {
	cnt := float64(outer * inner)
	ParallelFor(n, 4*outer*inner, func(lo, hi int) {
		// Short rows copy dy into gather and run act' once per channel, as
		// BatchNorm finishes them in spans.
		var scratch, gather *[]T
		perRow := inner >= bnShortRow
		if act != Identity {
			scratch = gemmGetBuf[T](outer * inner)
			defer gemmPutBuf(scratch)
			if !perRow {
				gather = gemmGetBuf[T](outer * inner)
				defer gemmPutBuf(gather)
			}
		}
		for j := lo; j < hi; j++ {
			m, r := float64(mean[j]), float64(rstd[j])
			// g(o) is the gradient of the normalised output in row o of
			// channel j: dy itself, or dy * act'(z) computed into dz.
			var dz []T
			if act != Identity {
				dz = (*scratch)[:outer*inner]
				sc, sh := bnAffine(m, r, w, b, j)
				for o := 0; o < outer; o++ {
					row := dz[o*inner : (o+1)*inner]
					normAffine(row, x[(o*n+j)*inner:(o*n+j+1)*inner], sc, sh)
					if perRow {
						activateGrad(act, row, row, dy[(o*n+j)*inner:(o*n+j+1)*inner])
					} else {
						copy((*gather)[o*inner:(o+1)*inner], dy[(o*n+j)*inner:(o*n+j+1)*inner])
					}
				}
				if !perRow {
					activateGrad(act, dz, dz, (*gather)[:outer*inner])
				}
			}
			g := func(o int) []T {
				if dz != nil {
					return dz[o*inner : (o+1)*inner]
				}
				return dy[(o*n+j)*inner : (o*n+j+1)*inner]
			}
			var sg, sgx float64
			for o := 0; o < outer; o++ {
				gs, c := normSumDot(g(o), x[(o*n+j)*inner:(o*n+j+1)*inner], m)
				sg += gs
				sgx += c * r
			}
			if dw != nil {
				dw[j] += T(sgx)
			}
			if db != nil {
				db[j] += T(sg)
			}
			wj := 1.0
			if w != nil {
				wj = float64(w[j])
			}
			// dx = a*g + b*(x - mean) + c, the centring done in T so
			// that nothing cancels.
			a, bb, c := T(wj*r), T(0), T(0)
			if training {
				bb, c = T(-wj*r*r*sgx/cnt), T(-wj*r*sg/cnt)
			}
			mj := T(m)
			for o := 0; o < outer; o++ {
				gs := g(o)
				xs := x[(o*n+j)*inner : (o*n+j+1)*inner][:len(gs)]
				d := dx[(o*n+j)*inner : (o*n+j+1)*inner][:len(gs)]
				normGrad(d, gs, xs, a, bb, mj, c)
			}
		}
	})
}

// normSum returns the sum of s in float64, with four partial sums so that
// the additions do not wait on one another.
func normSum[T Float](s []T) float64 {
	if s32, ok := any(s).([]float32); ok {
		if head, n := normSumF32(s32); n > 0 {
			return head + normSum(s[n:])
		}
	}
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(s); i += 4 {
		q := s[i : i+4 : i+4]
		s0 += float64(q[0])
		s1 += float64(q[1])
		s2 += float64(q[2])
		s3 += float64(q[3])
	}
	for ; i < len(s); i++ {
		s0 += float64(s[i])
	}
	return (s0 + s1) + (s2 + s3)
}

// normSqDev returns the sum of (s[i] - m)^2 in float64, as normSum.
func normSqDev[T Float](s []T, m float64) float64 {
	if s32, ok := any(s).([]float32); ok {
		if head, n := normSqDevF32(s32, m); n > 0 {
			return head + normSqDev(s[n:], m)
		}
	}
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(s); i += 4 {
		q := s[i : i+4 : i+4]
		d0, d1, d2, d3 := float64(q[0])-m, float64(q[1])-m, float64(q[2])-m, float64(q[3])-m
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; i < len(s); i++ {
		d := float64(s[i]) - m
		s0 += d * d
	}
	return (s0 + s1) + (s2 + s3)
}

// normSumDot returns the sums of g[i] and of g[i]*(x[i] - m) in float64,
// two partial sums of each.
func normSumDot[T Float](g, x []T, m float64) (sg, sgx float64) {
	x = x[:len(g)]
	if g32, ok := any(g).([]float32); ok {
		if hg, hc, n := normSumDotF32(g32, any(x).([]float32), m); n > 0 {
			tg, tc := normSumDot(g[n:], x[n:], m)
			return hg + tg, hc + tc
		}
	}
	var g0, g1, c0, c1 float64
	i := 0
	for ; i+2 <= len(g); i += 2 {
		gg, xx := g[i:i+2:i+2], x[i:i+2:i+2]
		a, b := float64(gg[0]), float64(gg[1])
		g0 += a
		g1 += b
		c0 += a * (float64(xx[0]) - m)
		c1 += b * (float64(xx[1]) - m)
	}
	if i < len(g) {
		a := float64(g[i])
		g0 += a
		c0 += a * (float64(x[i]) - m)
	}
	return g0 + g1, c0 + c1
}
