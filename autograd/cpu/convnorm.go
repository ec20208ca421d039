package cpu

import (
	"fmt"
	"math"
)

// convNorm is the eval-mode batch norm (with its residual and activation)
// that Conv2dBatchNorm applies to the convolution's output planes while
// they are still in cache, instead of in a pass of its own.
type convNorm[T Float] struct {
	scale, shift []T // per output channel
	res          []T // added after the affine, or nil
	act          Activation
}

// convNormBlock is how many output planes the copy out of a product
// finishes at a time: their copy, affine, residual and activation then
// stay in L1 and L2.
const convNormBlock = 16

// apply finishes output planes [o0, o1) of image n of y (O planes of ohw
// values per image), which hold the convolution plus its bias. The affine
// runs per plane; the residual and the activation, elementwise, over spans
// of the planes together, as BatchNorm does on short rows: the bits are
// BatchNorm's either way.
func (e *convNorm[T]) apply(y []T, O, ohw, n, o0, o1 int) {
	if e == nil || o0 >= o1 {
		return
	}
	base := (n*O + o0) * ohw
	for o := o0; o < o1; o++ {
		p := y[(n*O+o)*ohw:][:ohw]
		normAffine(p, p, e.scale[o], e.shift[o])
	}
	if e.res == nil && e.act == Identity {
		return
	}
	span := y[base : (n*O+o1)*ohw]
	for s := 0; s < len(span); s += bnSpan {
		bnFinish(span[s:min(len(span), s+bnSpan)], e.res, base+s, e.act)
	}
}

// applyAll finishes every output plane of images [n0, n1), parallel over
// the planes when workers > 1.
func (e *convNorm[T]) applyAll(y []T, O, ohw, n0, n1, workers int) {
	if e == nil {
		return
	}
	body := func(lo, hi int) {
		for o := lo; o < hi; o += convNormBlock {
			for n := n0; n < n1; n++ {
				e.apply(y, O, ohw, n, o, min(hi, o+convNormBlock))
			}
		}
	}
	if workers <= 1 || (n1-n0)*O*ohw < convParallelCopy {
		body(0, O)
		return
	}
	ParallelFor(O, (n1-n0)*ohw, body)
}

// bnEvalAffine is channel j's eval-mode batch norm as y = x*scale + shift,
// from the running statistics, as BatchNorm computes it.
func bnEvalAffine[T Float](w, b, runMean, runVar []T, eps float64, j int) (scale, shift T, m, r float64) {
	m, v := float64(runMean[j]), float64(runVar[j])
	r = 1 / math.Sqrt(v+eps)
	scale, shift = bnAffine(m, r, w, b, j)
	return scale, shift, m, r
}

// Conv2dBatchNorm writes to y act(BatchNorm(conv(x, w) + bias) + res) with
// the batch norm in eval mode (running statistics; bnW, bnB, bias and res
// may be nil): bit for bit what Conv2dForward into a temporary followed by
// BatchNorm with training false would write, without the temporary or the
// batch norm's passes over it. res must not overlap y.
func Conv2dBatchNorm[T Float](s ConvShape, x, w, bias, bnW, bnB, runMean, runVar, res, y []T, eps float64, act Activation) {
	convCheck("Conv2dBatchNorm", s)
	d := dimsOf(s)
	convCheckLen("Conv2dBatchNorm", s, "x", len(x), s.N*s.C*s.H*s.W)
	convCheckLen("Conv2dBatchNorm", s, "w", len(w), s.O*d.k)
	convCheckLen("Conv2dBatchNorm", s, "y", len(y), s.N*s.O*d.ohw)
	convCheckLen("Conv2dBatchNorm", s, "running mean", len(runMean), s.O)
	convCheckLen("Conv2dBatchNorm", s, "running var", len(runVar), s.O)
	for _, p := range []struct {
		name string
		v    []T
		n    int
	}{{"bias", bias, s.O}, {"weight", bnW, s.O}, {"norm bias", bnB, s.O}, {"residual", res, s.N * s.O * d.ohw}} {
		if p.v != nil && len(p.v) < p.n {
			panic(fmt.Sprintf("cpu.Conv2dBatchNorm: len(%s)=%d < %d", p.name, len(p.v), p.n))
		}
	}
	if s.N == 0 {
		return
	}
	buf := gemmGetBuf[T](2 * s.O)
	defer gemmPutBuf(buf)
	e := &convNorm[T]{scale: (*buf)[:s.O], shift: (*buf)[s.O : 2*s.O], res: res, act: act}
	for j := range s.O {
		e.scale[j], e.shift[j], _, _ = bnEvalAffine(bnW, bnB, runMean, runVar, eps, j)
	}
	if s.Depthwise() {
		convDepthwiseForward(s, &d, x, w, bias, y, e)
		return
	}
	convPackedForward(s, &d, x, w, bias, y, e)
}
