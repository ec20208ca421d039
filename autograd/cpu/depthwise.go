package cpu

import (
	"sync"
	"unsafe"
)

// Depthwise convolutions (one input channel per group, M = O/C outputs per
// channel) run as direct loops: im2col would turn every product into a
// matrix-vector one. Output channel o reads input channel o/M.
//
// The loops work one output row at a time on the list of kernel taps that
// fall on valid input rows. In the interior columns, where every tap of
// the row lies inside the input, taps are applied four at a time so that
// each output element is loaded and stored once per four taps (forward)
// and four dot products share each load of dy (weight gradient); the few
// border columns check each tap. On amd64, float32 passes that keep the
// plane size or whose stride splits into phase planes run as flat vector
// kernels instead (see newDwFlat); of the rest, large float32 kernels use
// banded micro-kernel products (see convBandCorrelate). On the study's
// shapes (3x3 and 7x7, 7x7 to 56x56 planes) the flat kernels beat the
// banded ones by 2-5x.

// convTap is one kernel tap seen from an output row.
type convTap[T Float] struct {
	w   T   // weight
	idx int // kh*KW + kw
	col int // input column under output column 0: kw*DW - PW
	off int // input plane offset of that column: ih*inW + col
}

// convGeom is the geometry of a direct depthwise pass from an inH x inW
// plane to an outH x outW one.
type convGeom struct {
	inH, inW, outH, outW           int
	kh, kw, sh, sw, ph, pw, dh, dw int
	lo, hi                         int // interior output columns
}

func newConvGeom(inH, inW, outH, outW, kh, kw, sh, sw, ph, pw, dh, dw int) *convGeom {
	g := &convGeom{inH, inW, outH, outW, kh, kw, sh, sw, ph, pw, dh, dw, 0, 0}
	// Column offsets grow with kw: tap 0 bounds the interior on the left,
	// tap KW-1 on the right.
	g.lo, _ = convRange(-pw, sw, inW, outW)
	_, g.hi = convRange((kw-1)*dw-pw, sw, inW, outW)
	g.hi = max(g.hi, g.lo)
	return g
}

// convTapBuf is the stack room for the taps of one output row; larger
// kernels allocate once per chunk of planes.
const convTapBuf = 64

func convTapSlice[T Float](g *convGeom, buf *[convTapBuf]convTap[T]) []convTap[T] {
	if n := g.kh * g.kw; n > convTapBuf {
		return make([]convTap[T], 0, n)
	}
	return buf[:0]
}

// convRowTaps returns the taps of output row r whose input row is valid,
// with weights from w (KH*KW values; nil leaves them zero).
func convRowTaps[T Float](g *convGeom, r int, w []T, taps []convTap[T]) []convTap[T] {
	taps = taps[:0]
	for kh := range g.kh {
		ih := r*g.sh - g.ph + kh*g.dh
		if ih < 0 || ih >= g.inH {
			continue
		}
		for kw := range g.kw {
			t := convTap[T]{idx: kh*g.kw + kw, col: kw*g.dw - g.pw}
			t.off = ih*g.inW + t.col
			if w != nil {
				t.w = w[t.idx]
			}
			taps = append(taps, t)
		}
	}
	return taps
}

// convCorrelate adds the correlation of the input plane x with the kernel
// w (KH*KW) to the output plane y.
func convCorrelate[T Float](g *convGeom, x, w, y []T, taps []convTap[T]) {
	for r := range g.outH {
		yr := y[r*g.outW : (r+1)*g.outW]
		taps = convRowTaps(g, r, w, taps)
		if g.sw == 1 {
			convAxpy4(yr[g.lo:g.hi], x, g.lo, taps)
		} else {
			for i := g.lo; i < g.hi; i++ {
				var s T
				for _, t := range taps {
					s += t.w * x[t.off+i*g.sw]
				}
				yr[i] += s
			}
		}
		for i := 0; i < g.outW; i++ {
			if i == g.lo {
				if i = g.hi; i >= g.outW {
					break
				}
			}
			var s T
			for _, t := range taps {
				if iw := i*g.sw + t.col; iw >= 0 && iw < g.inW {
					s += t.w * x[t.off+i*g.sw]
				}
			}
			yr[i] += s
		}
	}
}

// convAxpy4 adds sum_t t.w * x[t.off+i0+i : ...] to y, four taps a pass.
func convAxpy4[T Float](y, x []T, i0 int, taps []convTap[T]) {
	n := len(y)
	if n == 0 {
		return
	}
	for ; len(taps) >= 4; taps = taps[4:] {
		t := taps[:4:4]
		w0, w1, w2, w3 := t[0].w, t[1].w, t[2].w, t[3].w
		x0 := x[t[0].off+i0:][:n]
		x1 := x[t[1].off+i0:][:n]
		x2 := x[t[2].off+i0:][:n]
		x3 := x[t[3].off+i0:][:n]
		for i := range y {
			y[i] += w0*x0[i] + w1*x1[i] + w2*x2[i] + w3*x3[i]
		}
	}
	switch len(taps) {
	case 3:
		w0, w1, w2 := taps[0].w, taps[1].w, taps[2].w
		x0 := x[taps[0].off+i0:][:n]
		x1 := x[taps[1].off+i0:][:n]
		x2 := x[taps[2].off+i0:][:n]
		for i := range y {
			y[i] += w0*x0[i] + w1*x1[i] + w2*x2[i]
		}
	case 2:
		w0, w1 := taps[0].w, taps[1].w
		x0 := x[taps[0].off+i0:][:n]
		x1 := x[taps[1].off+i0:][:n]
		for i := range y {
			y[i] += w0*x0[i] + w1*x1[i]
		}
	case 1:
		w0 := taps[0].w
		x0 := x[taps[0].off+i0:][:n]
		for i := range y {
			y[i] += w0 * x0[i]
		}
	}
}

// convTapDots adds to acc[t.idx], for every tap t, the dot product of the
// output plane dy with the input pixels under t.
func convTapDots[T Float](g *convGeom, x, dy, acc []T, taps []convTap[T]) {
	for r := range g.outH {
		dyr := dy[r*g.outW : (r+1)*g.outW]
		taps = convRowTaps(g, r, []T(nil), taps)
		if g.sw == 1 {
			convDot4(dyr[g.lo:g.hi], x, g.lo, taps, acc)
		} else {
			for _, t := range taps {
				var s T
				for i := g.lo; i < g.hi; i++ {
					s += dyr[i] * x[t.off+i*g.sw]
				}
				acc[t.idx] += s
			}
		}
		for i := 0; i < g.outW; i++ {
			if i == g.lo {
				if i = g.hi; i >= g.outW {
					break
				}
			}
			d := dyr[i]
			for _, t := range taps {
				if iw := i*g.sw + t.col; iw >= 0 && iw < g.inW {
					acc[t.idx] += d * x[t.off+i*g.sw]
				}
			}
		}
	}
}

// convDot4 adds dot(y, x[t.off+i0 : ...]) to acc[t.idx] for every tap,
// four taps a pass with independent sums.
func convDot4[T Float](y, x []T, i0 int, taps []convTap[T], acc []T) {
	n := len(y)
	if n == 0 {
		return
	}
	for ; len(taps) >= 4; taps = taps[4:] {
		t := taps[:4:4]
		x0 := x[t[0].off+i0:][:n]
		x1 := x[t[1].off+i0:][:n]
		x2 := x[t[2].off+i0:][:n]
		x3 := x[t[3].off+i0:][:n]
		var s0, s1, s2, s3 T
		for i, v := range y {
			s0 += v * x0[i]
			s1 += v * x1[i]
			s2 += v * x2[i]
			s3 += v * x3[i]
		}
		acc[t[0].idx] += s0
		acc[t[1].idx] += s1
		acc[t[2].idx] += s2
		acc[t[3].idx] += s3
	}
	for _, t := range taps {
		x0 := x[t.off+i0:][:n]
		var s0, s1 T
		i := 0
		for ; i+2 <= n; i += 2 {
			s0 += y[i] * x0[i]
			s1 += y[i+1] * x0[i+1]
		}
		if i < n {
			s0 += y[i] * x0[i]
		}
		acc[t.idx] += s0 + s1
	}
}

// Banded products. With the assembly kernel, a depthwise correlation is
// faster as micro-kernel products than as scalar loops, despite wasted
// work: a 6 x 16 tile of the output, transposed (6 output columns c0+i by
// 16 output rows r0+j), is the sum over kw of A_kw * B_kw where, for
// q < spanR = 15*SH + (KH-1)*DH + 1,
//
//	A_kw[i][q] = xp[r0*SH + q][c0 + kw*DW + i]    (xp: zero-padded input)
//	B_kw[q][j] = w[kh][kw] if q == j*SH + kh*DH, else 0
//
// Each k step of A_kw is 6 contiguous pixels of one row of xp, so the
// kernel reads A in place (k steps a row apart) and only the weights are
// packed, as a band, once per kernel. A 7x7 kernel uses 49 of every 154
// multiply-adds, at several times the speed of the scalar loop.

// convBandTaps is the smallest kernel (KH*KW) that takes the banded path;
// below it the band is too sparse to pay.
const convBandTaps = 25

// convUseBand reports whether the banded path applies to g: float32 with
// the assembly kernel, unit column stride and a large enough kernel.
func convUseBand[T Float](g *convGeom) bool {
	return gemmIsF32[T]() && gemmUseAsm && g.sw == 1 && g.kh*g.kw >= convBandTaps
}

// convBandDims holds the sizes of the banded products for a geometry.
type convBandDims struct {
	spanR          int // input rows per tile: k of each product
	tilesR, tilesC int // tiles of 16 output rows and of 6 output columns
	hp, wp         int // padded input plane, large enough for every tile
}

func newConvBandDims(g *convGeom) *convBandDims {
	d := &convBandDims{spanR: 15*g.sh + (g.kh-1)*g.dh + 1}
	d.tilesR = (g.outH + 15) / 16
	d.tilesC = (g.outW + 5) / 6
	d.hp = (d.tilesR-1)*16*g.sh + d.spanR
	d.wp = d.tilesC*6 + (g.kw-1)*g.dw
	return d
}

// convBandScratch is the pooled scratch of one worker: the padded input
// plane and the packed bands.
type convBandScratch[T Float] struct {
	xp, bp *[]T
}

func newConvBandScratch[T Float](g *convGeom, bd *convBandDims, mult int) convBandScratch[T] {
	return convBandScratch[T]{
		xp: gemmGetBuf[T](bd.hp * bd.wp),
		bp: gemmGetBuf[T](mult * g.kw * bd.spanR * 16),
	}
}

func (sc convBandScratch[T]) release() {
	gemmPutBuf(sc.xp)
	gemmPutBuf(sc.bp)
}

// convBandCorrelate adds to each of the mult consecutive output planes in
// y the correlation of the input plane x with the matching kernel of the
// mult consecutive kernels in w.
func convBandCorrelate[T Float](g *convGeom, bd *convBandDims, x, w, y []T, mult int, sc convBandScratch[T]) {
	wp, spanR := bd.wp, bd.spanR
	xp := (*sc.xp)[:bd.hp*wp]
	clear(xp)
	if n := min(g.inW, wp-g.pw); n > 0 {
		for ih := range min(g.inH, bd.hp-g.ph) {
			copy(xp[(ih+g.ph)*wp+g.pw:][:n], x[ih*g.inW:][:n])
		}
	}
	// Band of kernel m, tap column kw: rows [(m*KW+kw)*spanR, +spanR).
	bsize := g.kw * spanR * 16
	bp := (*sc.bp)[:mult*bsize]
	clear(bp)
	kk := g.kh * g.kw
	for m := range mult {
		b := bp[m*bsize : (m+1)*bsize]
		for kh := range g.kh {
			for kw := range g.kw {
				wv := w[m*kk+kh*g.kw+kw]
				for j := range 16 {
					b[(kw*spanR+j*g.sh+kh*g.dh)*16+j] = wv
				}
			}
		}
	}
	var tile [6 * 16]T
	plane := g.outH * g.outW
	for tr := range bd.tilesR {
		r0 := tr * 16
		rows := min(16, g.outH-r0)
		for tc := range bd.tilesC {
			c0 := tc * 6
			cols := min(6, g.outW-c0)
			a0 := r0*g.sh*wp + c0
			for m := range mult {
				b := bp[m*bsize : (m+1)*bsize]
				for kw := range g.kw {
					var beta T
					if kw > 0 {
						beta = 1
					}
					gemmMicroF32Strided(spanR, xp[a0+kw*g.dw:], wp, b[kw*spanR*16:(kw+1)*spanR*16], 1, beta, tile[:], 16)
				}
				ym := y[m*plane : (m+1)*plane]
				for i := range cols {
					for j, v := range tile[i*16 : i*16+rows] {
						ym[(r0+j)*g.outW+c0+i] += v
					}
				}
			}
		}
	}
}

// convDepthwiseForward computes y for a depthwise shape, parallel over the
// N*C input planes, each feeding its M output planes.
func convDepthwiseForward[T Float](s ConvShape, d *convDims, x, w, bias, y []T, e *convNorm[T]) {
	hw, kk := s.H*s.W, s.KH*s.KW
	mult := s.O / s.C
	g := newConvGeom(s.H, s.W, d.oh, d.ow, s.KH, s.KW, s.SH, s.SW, s.PH, s.PW, s.DH, s.DW)
	fp := newDwFlat[T](g)
	defer fp.release()
	var bd *convBandDims
	if fp == nil && convUseBand[T](g) {
		bd = newConvBandDims(g)
	}
	ParallelFor(s.N*s.C, mult*kk*d.ohw, func(lo, hi int) {
		var buf [convTapBuf]convTap[T]
		taps := convTapSlice(g, &buf)
		var sc convBandScratch[T]
		if bd != nil {
			sc = newConvBandScratch[T](g, bd, mult)
			defer sc.release()
		}
		pbuf := dwFlatBuf[T](fp)
		defer dwFlatPutBuf(pbuf)
		plane := func(p int) {
			n, c := p/s.C, p%s.C
			xp := x[p*hw:][:hw]
			o0 := c * mult
			ys := y[(n*s.O+o0)*d.ohw:][:mult*d.ohw]
			if fp != nil {
				xp := dwFlatInput(fp, xp, pbuf)
				for m := range mult {
					b := &dwZero
					if bias != nil {
						b = dwF32(bias[o0+m:])
					}
					dwFlatCorrelate(fp, ys[m*d.ohw:], xp, w[(o0+m)*kk:][:kk], b)
				}
				return
			}
			for m := range mult {
				var b T
				if bias != nil {
					b = bias[o0+m]
				}
				convFill(ys[m*d.ohw:(m+1)*d.ohw], b)
			}
			if bd != nil {
				convBandCorrelate(g, bd, xp, w[o0*kk:][:mult*kk], ys, mult, sc)
				return
			}
			for m := range mult {
				convCorrelate(g, xp, w[(o0+m)*kk:][:kk], ys[m*d.ohw:(m+1)*d.ohw], taps)
			}
		}
		if e == nil {
			for p := lo; p < hi; p++ {
				plane(p)
			}
			return
		}
		// e finishes up to convNormBlock planes of an image at a time,
		// while they are in cache.
		for p := lo; p < hi; {
			n, c := p/s.C, p%s.C
			end := min(hi, p+convNormBlock, (n+1)*s.C)
			for ; p < end; p++ {
				plane(p)
			}
			e.apply(y, s.O, d.ohw, n, c*mult, (end-n*s.C)*mult)
		}
	})
}

// convDepthwiseBackwardData computes dx for a depthwise shape, parallel
// over the N*C input planes; plane c gathers from its M output channels.
// With stride 1 the gradient is the correlation of dy with the flipped
// kernel, padded by D*(K-1)-P; other strides scatter.
func convDepthwiseBackwardData[T Float](s ConvShape, d *convDims, dy, w, dx []T) {
	hw, kk := s.H*s.W, s.KH*s.KW
	mult := s.O / s.C
	fph, fpw := s.DH*(s.KH-1)-s.PH, s.DW*(s.KW-1)-s.PW
	if s.SH != 1 || s.SW != 1 {
		fg := newConvGeom(s.H, s.W, d.oh, d.ow, s.KH, s.KW, s.SH, s.SW, s.PH, s.PW, s.DH, s.DW)
		if fp := newDwFlat[T](fg); fp != nil {
			defer fp.release()
			convDepthwiseBackwardDataPhases(s, d, fp, dy, w, dx)
			return
		}
	}
	if s.SH != 1 || s.SW != 1 || fph < 0 || fpw < 0 {
		convDepthwiseBackwardDataScatter(s, d, dy, w, dx)
		return
	}
	g := newConvGeom(d.oh, d.ow, s.H, s.W, s.KH, s.KW, 1, 1, fph, fpw, s.DH, s.DW)
	fp := newDwFlat[T](g)
	defer fp.release()
	var bd *convBandDims
	if fp == nil && convUseBand[T](g) {
		bd = newConvBandDims(g)
	}
	ParallelFor(s.N*s.C, mult*kk*d.ohw, func(lo, hi int) {
		var buf [convTapBuf]convTap[T]
		taps := convTapSlice(g, &buf)
		var sc convBandScratch[T]
		if bd != nil {
			sc = newConvBandScratch[T](g, bd, 1)
			defer sc.release()
		}
		pbuf := dwFlatBuf[T](fp)
		defer dwFlatPutBuf(pbuf)
		var fbuf [convTapBuf]T
		flipped := fbuf[:]
		if kk > convTapBuf {
			flipped = make([]T, kk)
		}
		flipped = flipped[:kk]
		for p := lo; p < hi; p++ {
			n, c := p/s.C, p%s.C
			dxp := dx[p*hw:][:hw]
			if fp == nil {
				clear(dxp)
			}
			for o := c * mult; o < (c+1)*mult; o++ {
				wo := w[o*kk:][:kk]
				for i, v := range wo {
					flipped[kk-1-i] = v
				}
				dyp := dy[(n*s.O+o)*d.ohw:][:d.ohw]
				if fp != nil {
					b := &dwZero
					if o > c*mult {
						b = nil // accumulate
					}
					dwFlatCorrelate(fp, dxp, dwFlatInput(fp, dyp, pbuf), flipped, b)
					continue
				}
				if bd != nil {
					convBandCorrelate(g, bd, dyp, flipped, dxp, 1, sc)
					continue
				}
				convCorrelate(g, dyp, flipped, dxp, taps)
			}
		}
	})
}

// convDepthwiseBackwardDataPhases computes dx for a strided depthwise
// shape with a flat plan fp: the transposed pass gathers each phase plane
// from dy, then the phase planes interleave into dx.
func convDepthwiseBackwardDataPhases[T Float](s ConvShape, d *convDims, fp *dwFlat, dy, w, dx []T) {
	hw, kk := s.H*s.W, s.KH*s.KW
	mult := s.O / s.C
	adj := dwAdjoint(fp)
	ParallelFor(s.N*s.C, mult*kk*d.ohw, func(lo, hi int) {
		pbuf := gemmGetBuf[T](fp.plen)
		defer gemmPutBuf(pbuf)
		ph := *pbuf
		var wbuf [convTapBuf]T
		wg := wbuf[:]
		if kk > convTapBuf {
			wg = make([]T, kk)
		}
		for p := lo; p < hi; p++ {
			n, c := p/s.C, p%s.C
			for f, a := range adj {
				dp := ph[f*d.ohw:][:d.ohw]
				if len(a.offs) == 0 {
					clear(dp)
					continue
				}
				for o := c * mult; o < (c+1)*mult; o++ {
					for k, t := range a.idx {
						wg[k] = w[o*kk+t]
					}
					b := &dwZero
					if o > c*mult {
						b = nil
					}
					dwFlatCorrelate(a, dp, dy[(n*s.O+o)*d.ohw:][:d.ohw], wg[:len(a.idx)], b)
				}
			}
			dwPhasesOut(fp, ph, dx[p*hw:][:hw])
		}
	})
}

// dwPhasesOut interleaves the phase planes ph of plan p into the input
// plane x; pixels past the phase planes, which no tap reads, are 0.
func dwPhasesOut[T Float](p *dwFlat, ph, x []T) {
	plane := p.oh * p.ow
	for ih := range p.h {
		xr := x[ih*p.w : (ih+1)*p.w]
		a, i := ih%p.sh, ih/p.sh
		if i >= p.oh {
			clear(xr)
			continue
		}
		if n := p.sw * p.ow; n < p.w {
			clear(xr[n:])
			xr = xr[:n]
		}
		if p.sw == 2 && dwUseAVX512 {
			even, odd := ph[a*2*plane+i*p.ow:][:p.ow], ph[(a*2+1)*plane+i*p.ow:][:p.ow]
			dwMerge2(dwF32(xr), dwF32(even), dwF32(odd), len(xr))
			continue
		}
		for b := range p.sw {
			src := ph[(a*p.sw+b)*plane+i*p.ow:][:p.ow]
			n := min(p.ow, (len(xr)-b+p.sw-1)/p.sw)
			xs := xr[b:]
			for j, v := range src[:n] {
				xs[j*p.sw] = v
			}
		}
	}
}

// convDepthwiseBackwardDataScatter computes dx for strided depthwise
// shapes by scattering each output gradient to its input pixels.
func convDepthwiseBackwardDataScatter[T Float](s ConvShape, d *convDims, dy, w, dx []T) {
	hw, kk := s.H*s.W, s.KH*s.KW
	mult := s.O / s.C
	ParallelFor(s.N*s.C, mult*kk*d.ohw, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			n, c := p/s.C, p%s.C
			dxp := dx[p*hw:][:hw]
			clear(dxp)
			for o := c * mult; o < (c+1)*mult; o++ {
				dyp := dy[(n*s.O+o)*d.ohw:][:d.ohw]
				wp := w[o*kk:][:kk]
				for kh := range s.KH {
					for kw := range s.KW {
						wv := wp[kh*s.KW+kw]
						off := kw*s.DW - s.PW
						olo, ohi := convRange(off, s.SW, s.W, d.ow)
						ylo, yhi := convRange(kh*s.DH-s.PH, s.SH, s.H, d.oh)
						for r := ylo; r < yhi; r++ {
							ih := r*s.SH - s.PH + kh*s.DH
							dyr := dyp[r*d.ow+olo : r*d.ow+ohi]
							dxr := dxp[ih*s.W : (ih+1)*s.W]
							for i, v := range dyr {
								dxr[(olo+i)*s.SW+off] += wv * v
							}
						}
					}
				}
			}
		}
	})
}

// convDepthwiseBackwardWeight computes dw for a depthwise shape, parallel
// over output channels; each tap is a dot product summed over images.
func convDepthwiseBackwardWeight[T Float](s ConvShape, d *convDims, x, dy, dw []T) {
	hw, kk := s.H*s.W, s.KH*s.KW
	mult := s.O / s.C
	g := newConvGeom(s.H, s.W, d.oh, d.ow, s.KH, s.KW, s.SH, s.SW, s.PH, s.PW, s.DH, s.DW)
	fp := newDwFlat[T](g)
	defer fp.release()
	ParallelFor(s.O, s.N*kk*d.ohw, func(lo, hi int) {
		var buf [convTapBuf]convTap[T]
		taps := convTapSlice(g, &buf)
		pbuf := dwFlatBuf[T](fp)
		defer dwFlatPutBuf(pbuf)
		for o := lo; o < hi; o++ {
			acc := dw[o*kk:][:kk]
			clear(acc)
			switch {
			case fp != nil && fp.plen == 0:
				if s.N > 0 {
					dwFlatDots(fp, acc, dy[o*d.ohw:], x[o/mult*hw:], s.N, s.O*d.ohw, s.C*hw)
				}
				continue
			case fp != nil:
				for n := range s.N {
					xp := dwFlatInput(fp, x[(n*s.C+o/mult)*hw:][:hw], pbuf)
					dwFlatDots(fp, acc, dy[(n*s.O+o)*d.ohw:], xp, 1, 0, 0)
				}
				continue
			}
			for n := range s.N {
				convTapDots(g, x[(n*s.C+o/mult)*hw:][:hw], dy[(n*s.O+o)*d.ohw:][:d.ohw], acc, taps)
			}
		}
	})
}

// Flat passes. When a stride-1 pass keeps the plane size (the "same"
// padding of every depthwise layer in the study), output pixel j of the
// flattened plane reads input pixel j + dr*W + dc for tap (dr, dc), so the
// whole plane is one long vector whatever its width. Lanes whose tap falls
// in the padding (off the plane, or wrapped into the next or previous row)
// are masked out per vector and tap, which the AVX-512 kernels do for free
// (the AVX2 ones with VMASKMOVPS) without reading the masked memory. Small
// planes such as 7x7 thus fill whole vectors instead of a 7-wide row each.
// A strided pass reads its input as phase planes (see dwFlatInput).

// dwZero is the zero that starts a correlation with no bias.
var dwZero float32

// dwFlat is the plan of a flat pass: per tap its offset, per block of
// four 16-lane vectors and tap the lane masks, and per vector the lanes
// inside the output plane. A strided pass reads the input as its S*S
// phase planes, whose geometry the plan records.
type dwFlat struct {
	nblk  int
	offs  []int
	masks []uint16 // [(blk*len(offs)+t)*4 + i]
	ymask []uint16 // [blk*4 + i]

	sh, sw, h, w, oh, ow int // the geometry of the phase planes
	plen                 int // elements of the phase planes; 0 without

	rows, cols []dwAxis // per kernel row and column: where its taps read
	kw         int
	idx        []int // for a transposed plan: the kernel tap of each tap
}

// dwAxis is where a kernel row (or column) reads along one axis of a
// strided pass: offset q from the output pixel in phase a, which has n
// valid pixels.
type dwAxis struct{ q, a, n int }

var dwFlatPool sync.Pool

// newDwFlat returns the flat plan of g, or nil if g does not take the flat
// path: float32 with the AVX-512 or AVX2 kernels, and either unit stride
// with the same plane in as out, or a stride up to 4 whose taps read no
// further than the input pixel under their output pixel, so that the
// phase planes (see dwFlatInput) need only the output's size.
func newDwFlat[T Float](g *convGeom) *dwFlat {
	if !gemmIsF32[T]() || !dwUseAVX512 && !dwUseAVX2 || g.outH*g.outW == 0 {
		return nil
	}
	unit := g.sh == 1 && g.sw == 1 && g.inH == g.outH && g.inW == g.outW
	phased := !unit && g.sh <= 4 && g.sw <= 4 && (g.kh-1)*g.dh-g.ph < g.sh && (g.kw-1)*g.dw-g.pw < g.sw
	if !unit && !phased {
		return nil
	}
	p, _ := dwFlatPool.Get().(*dwFlat)
	if p == nil {
		p = new(dwFlat)
	}
	oh, ow := g.outH, g.outW
	*p = dwFlat{offs: p.offs[:0], masks: p.masks, ymask: p.ymask, rows: p.rows, cols: p.cols,
		sh: g.sh, sw: g.sw, h: g.inH, w: g.inW, oh: oh, ow: ow}
	if phased {
		p.plen = g.sh * g.sw * oh * ow
	}
	// Tap (kh, kw) reads input row r*SH + kh*DH - PH = SH*(r+qh) + a: row
	// r+qh of phase a, valid below rows(a) phase rows; the same for columns.
	split := func(d, s, in, out int) dwAxis {
		q := d / s
		if d%s != 0 && d < 0 {
			q--
		}
		a := d - q*s
		return dwAxis{q, a, min(out, (in-a+s-1)/s)}
	}
	var rbuf, cbuf [16]dwAxis
	rows, cols := rbuf[:0], cbuf[:0]
	for kh := range g.kh {
		rows = append(rows, split(kh*g.dh-g.ph, g.sh, g.inH, oh))
	}
	for kw := range g.kw {
		cols = append(cols, split(kw*g.dw-g.pw, g.sw, g.inW, ow))
	}
	for _, r := range rows {
		for _, c := range cols {
			p.offs = append(p.offs, (r.a*g.sw+c.a)*oh*ow+r.q*ow+c.q)
		}
	}
	p.setMasks(oh*ow, func(t, j int) bool {
		ra, ca := rows[t/g.kw], cols[t%g.kw]
		r, c := j/ow+ra.q, j%ow+ca.q
		return r >= 0 && r < ra.n && c >= 0 && c < ca.n
	})
	if phased {
		p.rows = append(p.rows[:0], rows...)
		p.cols = append(p.cols[:0], cols...)
		p.kw = g.kw
	}
	return p
}

// setMasks sets the blocks and masks of a plan over n output lanes whose
// taps are p.offs: lane j of tap t is on where valid(t, j).
func (p *dwFlat) setMasks(n int, valid func(t, j int) bool) {
	ntap := len(p.offs)
	p.nblk = (n + 63) / 64
	p.masks = dwGrow(p.masks, p.nblk*ntap*4)
	p.ymask = dwGrow(p.ymask, p.nblk*4)
	for v := range p.nblk * 4 {
		j0 := v * 16
		var ym uint16
		for l := range 16 {
			if j0+l < n {
				ym |= 1 << l
			}
		}
		p.ymask[v] = ym
		blk, i := v/4, v%4
		for t := range ntap {
			var m uint16
			for l := range 16 {
				if j := j0 + l; j < n && valid(t, j) {
					m |= 1 << l
				}
			}
			p.masks[(blk*ntap+t)*4+i] = m
		}
	}
}

// dwAdjoint returns, for a strided plan p, one plan per phase plane for
// the transposed pass: phase pixel i of phase f gathers w[t]*dy[i-q_t]
// over the taps t that read phase f (p.idx of the plan lists them).
func dwAdjoint(p *dwFlat) []*dwFlat {
	plane := p.oh * p.ow
	adj := make([]*dwFlat, p.sh*p.sw)
	for f := range adj {
		a := new(dwFlat)
		for t, off := range p.offs {
			if dwPhaseOf(p, t) == f {
				a.offs = append(a.offs, f*plane-off)
				a.idx = append(a.idx, t)
			}
		}
		a.setMasks(plane, func(k, i int) bool {
			t := a.idx[k]
			ra, ca := p.rows[t/p.kw], p.cols[t%p.kw]
			ir, ic := i/p.ow, i%p.ow
			r, c := ir-ra.q, ic-ca.q
			return ir < ra.n && ic < ca.n && r >= 0 && r < p.oh && c >= 0 && c < p.ow
		})
		adj[f] = a
	}
	return adj
}

// dwPhaseOf returns the phase plane that tap t of p reads.
func dwPhaseOf(p *dwFlat, t int) int {
	return p.rows[t/p.kw].a*p.sw + p.cols[t%p.kw].a
}

// dwFlatInput returns the input plane x as the plan reads it: x itself, or
// its phase planes written to buf (plen elements) for a strided pass.
// Phase (a, b) is the oh x ow plane whose pixel (i, j) is input pixel
// (SH*i+a, SW*j+b); pixels past the input are left as they were, since
// every tap mask leaves them out.
func dwFlatInput[T Float](p *dwFlat, x []T, buf *[]T) []T {
	if p.plen == 0 {
		return x
	}
	ph := (*buf)[:p.plen]
	x = x[:p.h*p.w]
	plane := p.oh * p.ow
	for ih := range min(p.h, p.sh*p.oh) {
		a, i := ih%p.sh, ih/p.sh
		xr := x[ih*p.w : (ih+1)*p.w]
		if p.sw == 2 && dwUseAVX512 {
			even, odd := ph[a*2*plane+i*p.ow:][:p.ow], ph[(a*2+1)*plane+i*p.ow:][:p.ow]
			dwSplit2(dwF32(even), dwF32(odd), dwF32(xr), min(p.w, 2*p.ow))
			continue
		}
		for b := range p.sw {
			dst := ph[(a*p.sw+b)*plane+i*p.ow:][:p.ow]
			if p.sw == 2 {
				// The common stride: each pair of input pixels splits.
				n := min(p.ow, (p.w-b+1)/2)
				for j := range dst[:n] {
					dst[j] = xr[2*j+b]
				}
				continue
			}
			for j := range dst {
				if iw := p.sw*j + b; iw < p.w {
					dst[j] = xr[iw]
				}
			}
		}
	}
	return ph
}

// dwFlatBuf returns a buffer for the phase planes of p, or nil if p reads
// its input in place.
func dwFlatBuf[T Float](p *dwFlat) *[]T {
	if p == nil || p.plen == 0 {
		return nil
	}
	return gemmGetBuf[T](p.plen)
}

func dwFlatPutBuf[T Float](b *[]T) {
	if b != nil {
		gemmPutBuf(b)
	}
}

func dwGrow(s []uint16, n int) []uint16 {
	if cap(s) < n {
		return make([]uint16, n)
	}
	return s[:n]
}

func (p *dwFlat) release() {
	if p != nil {
		dwFlatPool.Put(p)
	}
}

// dwF32 returns the address of s[0] as a *float32; T is float32 wherever
// a flat plan exists.
func dwF32[T Float](s []T) *float32 {
	return (*float32)(unsafe.Pointer(&s[0]))
}

// dwFlatCorrelate sets y to *b plus the correlation of the plane x with
// the kernel w, or adds the correlation to y when b is nil.
func dwFlatCorrelate[T Float](p *dwFlat, y, x, w []T, b *float32) {
	_ = w[len(p.offs)-1]
	dwCorr(dwF32(y), dwF32(x), p.nblk, &p.offs[0], dwF32(w), len(p.offs), &p.masks[0], &p.ymask[0], b)
}

// dwFlatDots adds to acc[t], for every tap t, the dot products of nimg
// pairs of planes dy and x (dystride and xstride elements apart) under t.
func dwFlatDots[T Float](p *dwFlat, acc, dy, x []T, nimg, dystride, xstride int) {
	_ = acc[len(p.offs)-1]
	dwDots(dwF32(dy), dwF32(x), p.nblk, &p.offs[0], len(p.offs), &p.masks[0], &p.ymask[0], nimg, dystride, xstride, dwF32(acc))
}
