package cpu

import "fmt"

// convDims holds the derived sizes of a valid shape.
type convDims struct {
	oh, ow, ohw int
	cg, og      int // channels per group, in and out
	k           int // cg*KH*KW: rows of the im2col matrix
}

func dimsOf(s ConvShape) convDims {
	oh, ow := s.OutHW()
	cg := s.C / s.Groups
	return convDims{oh: oh, ow: ow, ohw: oh * ow, cg: cg, og: s.O / s.Groups, k: cg * s.KH * s.KW}
}

// convCheck panics unless s is valid.
func convCheck(fn string, s ConvShape) {
	if err := s.Validate(); err != nil {
		panic("cpu." + fn + ": " + err.Error())
	}
}

// convCheckLen panics unless the slice called name is at least need long.
func convCheckLen(fn string, s ConvShape, name string, l, need int) {
	if l < need {
		panic(fmt.Sprintf("cpu.%s: len(%s)=%d < %d for %+v", fn, name, l, need, s))
	}
}

// convFill sets every element of s to v, by doubling copies, which run
// at memmove's vector speed.
func convFill[T Float](s []T, v T) {
	if len(s) == 0 {
		return
	}
	s[0] = v
	for i := 1; i < len(s); i *= 2 {
		copy(s[i:], s[:i])
	}
}

// convRange returns the range [lo, hi) of output positions o in [0, n)
// whose input position o*stride+off lies in [0, size).
func convRange(off, stride, size, n int) (lo, hi int) {
	if off < 0 {
		lo = (-off + stride - 1) / stride
	}
	if last := size - 1 - off; last >= 0 {
		hi = last/stride + 1
	}
	hi = min(hi, n)
	lo = min(lo, hi)
	return lo, hi
}

// Im2col writes the im2col matrix of image n, group g of x to col: a
// (C/Groups*KH*KW) x (OH*OW) row-major matrix whose row (c*KH+kh)*KW+kw
// holds, for every output position, the input pixel that kernel tap
// (kh, kw) of group channel c sees there, or 0 in the padding.
func Im2col[T Float](s ConvShape, x []T, n, g int, col []T) {
	convCheck("Im2col", s)
	d := dimsOf(s)
	convCheckLen("Im2col", s, "x", len(x), s.N*s.C*s.H*s.W)
	convCheckLen("Im2col", s, "col", len(col), d.k*d.ohw)
	convCheckImage("Im2col", s, n, g)
	convIm2colPar(s, &d, x, n, g, col, Workers)
}

// Col2im adds the im2col-shaped matrix col back into image n, group g of
// dx: each entry is added to the input pixel it was taken from (padding
// entries are dropped). It is the adjoint of Im2col.
func Col2im[T Float](s ConvShape, col []T, n, g int, dx []T) {
	convCheck("Col2im", s)
	d := dimsOf(s)
	convCheckLen("Col2im", s, "dx", len(dx), s.N*s.C*s.H*s.W)
	convCheckLen("Col2im", s, "col", len(col), d.k*d.ohw)
	convCheckImage("Col2im", s, n, g)
	convCol2imPar(s, &d, col, n, g, dx, Workers)
}

func convCheckImage(fn string, s ConvShape, n, g int) {
	if n < 0 || n >= s.N || g < 0 || g >= s.Groups {
		panic(fmt.Sprintf("cpu.%s: image %d group %d out of range for N=%d Groups=%d", fn, n, g, s.N, s.Groups))
	}
}

// convParallelCopy is the im2col matrix size (elements) worth splitting
// between workers: the copy is memory-bound and waking a worker costs tens
// of microseconds.
const convParallelCopy = 1 << 18

// convIm2colPar runs convIm2col over the group's channels on up to workers
// goroutines.
func convIm2colPar[T Float](s ConvShape, d *convDims, x []T, n, g int, col []T, workers int) {
	if workers <= 1 || d.k*d.ohw < convParallelCopy {
		convIm2col(s, d, x, n, g, 0, d.cg, col)
		return
	}
	ParallelFor(d.cg, s.KH*s.KW*d.ohw, func(lo, hi int) { convIm2col(s, d, x, n, g, lo, hi, col) })
}

// convIm2col fills the rows of col for group channels [c0, c1).
func convIm2col[T Float](s ConvShape, d *convDims, x []T, n, g, c0, c1 int, col []T) {
	hw := s.H * s.W
	for c := c0; c < c1; c++ {
		plane := x[(n*s.C+g*d.cg+c)*hw:][:hw]
		for kh := range s.KH {
			for kw := range s.KW {
				row := col[((c*s.KH+kh)*s.KW+kw)*d.ohw:][:d.ohw]
				off := kw*s.DW - s.PW
				lo, hi := convRange(off, s.SW, s.W, d.ow)
				for y := range d.oh {
					dst := row[y*d.ow : (y+1)*d.ow]
					ih := y*s.SH - s.PH + kh*s.DH
					if ih < 0 || ih >= s.H {
						clear(dst)
						continue
					}
					src := plane[ih*s.W : (ih+1)*s.W]
					clear(dst[:lo])
					clear(dst[hi:])
					if s.SW == 1 {
						copy(dst[lo:hi], src[lo+off:hi+off])
						continue
					}
					for o := lo; o < hi; o++ {
						dst[o] = src[o*s.SW+off]
					}
				}
			}
		}
	}
}

// convCol2imPar runs convCol2im over the group's channels on up to workers
// goroutines; channels own disjoint planes of dx.
func convCol2imPar[T Float](s ConvShape, d *convDims, col []T, n, g int, dx []T, workers int) {
	if workers <= 1 || d.k*d.ohw < convParallelCopy {
		convCol2im(s, d, col, n, g, 0, d.cg, dx)
		return
	}
	ParallelFor(d.cg, s.KH*s.KW*d.ohw, func(lo, hi int) { convCol2im(s, d, col, n, g, lo, hi, dx) })
}

// convCol2im accumulates the rows of col for group channels [c0, c1).
func convCol2im[T Float](s ConvShape, d *convDims, col []T, n, g, c0, c1 int, dx []T) {
	hw := s.H * s.W
	for c := c0; c < c1; c++ {
		plane := dx[(n*s.C+g*d.cg+c)*hw:][:hw]
		for kh := range s.KH {
			for kw := range s.KW {
				row := col[((c*s.KH+kh)*s.KW+kw)*d.ohw:][:d.ohw]
				off := kw*s.DW - s.PW
				lo, hi := convRange(off, s.SW, s.W, d.ow)
				if lo >= hi {
					continue
				}
				for y := range d.oh {
					ih := y*s.SH - s.PH + kh*s.DH
					if ih < 0 || ih >= s.H {
						continue
					}
					src := row[y*d.ow+lo : y*d.ow+hi]
					dst := plane[ih*s.W : (ih+1)*s.W]
					if s.SW == 1 {
						dst = dst[lo+off : hi+off]
						for i, v := range src {
							dst[i] += v
						}
						continue
					}
					for i, v := range src {
						dst[(lo+i)*s.SW+off] += v
					}
				}
			}
		}
	}
}

// Conv2dForward computes y = conv(x, w) + bias for the shape s; bias (O
// values) may be nil. y is overwritten. Each group is a product of the
// group's weights (O/Groups x C/Groups*KH*KW) by the im2col matrix of a
// run of images, packed straight from the input (see convgemm.go); a
// depthwise convolution runs as a direct loop.
func Conv2dForward[T Float](s ConvShape, x, w, bias []T, y []T) {
	convCheck("Conv2dForward", s)
	d := dimsOf(s)
	convCheckLen("Conv2dForward", s, "x", len(x), s.N*s.C*s.H*s.W)
	convCheckLen("Conv2dForward", s, "w", len(w), s.O*d.k)
	convCheckLen("Conv2dForward", s, "y", len(y), s.N*s.O*d.ohw)
	if bias != nil && len(bias) < s.O {
		panic(fmt.Sprintf("cpu.Conv2dForward: len(bias)=%d < O=%d", len(bias), s.O))
	}
	if s.N == 0 {
		return
	}
	if s.Depthwise() {
		convDepthwiseForward[T](s, &d, x, w, bias, y, nil)
		return
	}
	convPackedForward[T](s, &d, x, w, bias, y, nil)
}

// convPrepack packs each group's weights (transposed for the data
// gradient) once for all the images' products; nil for a single image.
func convPrepack[T Float](s ConvShape, d *convDims, w []T, transpose bool) []*gemmPrepacked[T] {
	if s.N < 2 {
		return nil
	}
	pre := make([]*gemmPrepacked[T], s.Groups)
	for g := range pre {
		wg := w[g*d.og*d.k:]
		if transpose {
			pre[g] = gemmPrepackA(true, d.k, d.og, wg, d.k)
		} else {
			pre[g] = gemmPrepackA(false, d.og, d.k, wg, d.k)
		}
	}
	return pre
}

func convRelease[T Float](pre []*gemmPrepacked[T]) {
	for _, p := range pre {
		p.release()
	}
}

// convGroupPre returns group g's packed weights, nil without them.
func convGroupPre[T Float](pre []*gemmPrepacked[T], g int) *gemmPrepacked[T] {
	if pre == nil {
		return nil
	}
	return pre[g]
}

// Conv2dBackwardData computes dx, the gradient with respect to x of
// <conv(x, w), dy>; dx is overwritten.
func Conv2dBackwardData[T Float](s ConvShape, dy, w []T, dx []T) {
	convCheck("Conv2dBackwardData", s)
	d := dimsOf(s)
	convCheckLen("Conv2dBackwardData", s, "dy", len(dy), s.N*s.O*d.ohw)
	convCheckLen("Conv2dBackwardData", s, "w", len(w), s.O*d.k)
	convCheckLen("Conv2dBackwardData", s, "dx", len(dx), s.N*s.C*s.H*s.W)
	if s.N == 0 {
		return
	}
	if s.Depthwise() {
		convDepthwiseBackwardData(s, &d, dy, w, dx)
		return
	}
	convPackedBackwardData(s, &d, dy, w, dx)
}

// Conv2dBackwardWeight computes dw, the gradient with respect to w of
// <conv(x, w), dy>; dw is overwritten. The bias gradient comes from
// Conv2dBackwardBias.
func Conv2dBackwardWeight[T Float](s ConvShape, x, dy []T, dw []T) {
	convCheck("Conv2dBackwardWeight", s)
	d := dimsOf(s)
	convCheckLen("Conv2dBackwardWeight", s, "x", len(x), s.N*s.C*s.H*s.W)
	convCheckLen("Conv2dBackwardWeight", s, "dy", len(dy), s.N*s.O*d.ohw)
	convCheckLen("Conv2dBackwardWeight", s, "dw", len(dw), s.O*d.k)
	if s.N == 0 {
		clear(dw[:s.O*d.k])
		return
	}
	if s.Depthwise() {
		convDepthwiseBackwardWeight(s, &d, x, dy, dw)
		return
	}
	convPackedBackwardWeight(s, &d, x, dy, dw)
}

// Conv2dBackwardBias computes db[o], the sum of dy over images and output
// positions of channel o; db is overwritten.
func Conv2dBackwardBias[T Float](s ConvShape, dy []T, db []T) {
	convCheck("Conv2dBackwardBias", s)
	d := dimsOf(s)
	convCheckLen("Conv2dBackwardBias", s, "dy", len(dy), s.N*s.O*d.ohw)
	convCheckLen("Conv2dBackwardBias", s, "db", len(db), s.O)
	ParallelFor(s.O, s.N*d.ohw, func(lo, hi int) {
		for o := lo; o < hi; o++ {
			// Sum in float64: a channel can hold millions of terms.
			var sum float64
			for n := range s.N {
				for _, v := range dy[(n*s.O+o)*d.ohw:][:d.ohw] {
					sum += float64(v)
				}
			}
			db[o] = T(sum)
		}
	})
}
