package autograd

import (
	"fmt"

	"github.com/vertebra-ml/vertebra/autograd/kernel"
)

// storageOf returns t's storage, or nil for a nil tensor.
func storageOf(t *Tensor) Storage {
	if t == nil {
		return nil
	}
	return t.st
}

// LayerNorm normalises x over its last len(normalizedShape) dimensions,
// which must equal normalizedShape, then scales by w and shifts by b
// (either may be nil; otherwise of shape normalizedShape), as
// torch.nn.functional.layer_norm.
func LayerNorm(x, w, b *Tensor, normalizedShape []int, eps float64) *Tensor {
	k := len(normalizedShape)
	if k == 0 || k > x.Rank() || !sameShape(x.shape[x.Rank()-k:], normalizedShape) {
		panic(fmt.Sprintf("autograd: LayerNorm: normalized shape %v for input %v", normalizedShape, x.shape))
	}
	n := numel(normalizedShape)
	return layerNorm("layer_norm", x, w, b, x.Len()/max(n, 1), n, 1, eps)
}

// LayerNorm2d normalises x (N, C, H, W) over C at every pixel, as
// torchvision's LayerNorm2d and ConvNeXt's channels-first LayerNorm.
func LayerNorm2d(x, w, b *Tensor, eps float64) *Tensor {
	if x.Rank() != 4 {
		panic(fmt.Sprintf("autograd: LayerNorm2d: input %v must be NCHW", x.shape))
	}
	return layerNorm("layer_norm2d", x, w, b, x.shape[0], x.shape[1], x.shape[2]*x.shape[3], eps)
}

func layerNorm(op string, x, w, b *Tensor, outer, n, inner int, eps float64) *Tensor {
	for _, p := range []*Tensor{w, b} {
		if p != nil && p.Len() != n {
			panic(fmt.Sprintf("autograd: %s: affine parameter %v for %d normalised elements of %v", op, p.shape, n, x.shape))
		}
	}
	dev := x.Device()
	y := x.empty(x.shape...)
	// The statistics are op-made tensors, so a Scope releases them.
	mean, rstd := x.empty(outer*inner), x.empty(outer*inner)
	dev.LayerNorm(y.st, x.st, storageOf(w), storageOf(b), mean.st, rstd.st, outer, n, inner, eps)
	lx, lw, lb := likeOf(x), likeOf(w), likeOf(b)
	xs, ws := x.st, storageOf(w)
	return record(y, op, []*Tensor{x, w, b}, func(g *Tensor) []*Tensor {
		gx := lx.empty()
		var gw, gb *Tensor
		if lw.needs {
			gw = lw.zeros()
		}
		if lb.needs {
			gb = lb.zeros()
		}
		dev.LayerNormGrad(gx.st, storageOf(gw), storageOf(gb), xs, ws, g.st, mean.st, rstd.st, outer, n, inner)
		if !lx.needs {
			gx = nil
		}
		return []*Tensor{gx, gw, gb}
	})
}

// checkBatchNorm panics unless BatchNorm's arguments fit together (fn
// names the op in panics).
func checkBatchNorm(fn string, x, w, b, runningMean, runningVar *Tensor, o BatchNormOptions) {
	if x.Rank() < 2 {
		panic(fmt.Sprintf("autograd: %s: input %v needs a channel dimension", fn, x.shape))
	}
	outer, c, inner := split3(x.shape, 1)
	for _, p := range []*Tensor{w, b, runningMean, runningVar} {
		if p != nil && p.Len() != c {
			panic(fmt.Sprintf("autograd: %s: parameter %v for %d channels", fn, p.shape, c))
		}
	}
	if !o.Training && (runningMean == nil || runningVar == nil) {
		panic("autograd: " + fn + ": eval mode needs running statistics")
	}
	if o.Activation < NoActivation || o.Activation > ActSiLU {
		panic(fmt.Sprintf("autograd: %s: unknown activation %v", fn, o.Activation))
	}
	res := o.Residual
	if res != nil {
		if !sameShape(res.shape, x.shape) || res.DType() != x.DType() || res.Device() != x.Device() {
			panic(fmt.Sprintf("autograd: %s: residual %v %v on %s for input %v %v on %s", fn,
				res.shape, res.DType(), res.Device().Name(), x.shape, x.DType(), x.Device().Name()))
		}
		if o.Activation != NoActivation && o.Activation != ActReLU {
			panic(fmt.Sprintf("autograd: %s: a residual fuses with ReLU or no activation, not %v", fn, o.Activation))
		}
	}
	if o.Training && outer*inner <= 1 {
		panic(fmt.Sprintf("autograd: %s: training needs more than one value per channel, got input %v", fn, x.shape))
	}
}

// BatchNormOptions are batch norm's mode and constants.
type BatchNormOptions struct {
	Training bool    // normalise with batch statistics and update the running ones
	Momentum float64 // running = (1-momentum)*running + momentum*batch
	Eps      float64
	// Activation is applied to the output in the same pass: BatchNorm
	// with ActReLU is ReLU(BatchNorm(...)) with one tensor written and
	// saved instead of two.
	Activation Activation
	// Residual, when not nil, is added to the normalised output before
	// the activation, as a residual block ends: BatchNorm with ActReLU
	// and Residual r is ReLU(BatchNorm(...) + r), in one pass, with the
	// same rounding. It has x's shape; only NoActivation and ActReLU take
	// one.
	Residual *Tensor
}

// Activation is an element-wise function that BatchNorm applies in its
// own pass (the zero value, NoActivation, is the identity).
type Activation = kernel.Activation

// The activations BatchNorm can fuse.
const (
	NoActivation = kernel.Identity
	ActReLU      = kernel.ActReLU // max(x, 0), as ReLU
	ActSiLU      = kernel.ActSiLU // x * sigmoid(x), as SiLU
)

// BatchNorm normalises x (N, C, ...) per channel, as
// torch.nn.functional.batch_norm. In training mode it uses the batch
// statistics and updates runningMean and runningVar in place (outside the
// graph; either may be nil); otherwise it uses them. w and b may be nil.
func BatchNorm(x, w, b, runningMean, runningVar *Tensor, o BatchNormOptions) *Tensor {
	checkBatchNorm("BatchNorm", x, w, b, runningMean, runningVar, o)
	outer, c, inner := split3(x.shape, 1)
	dev := x.Device()
	y := x.empty(x.shape...)
	mean, rstd := x.empty(c), x.empty(c)
	res := o.Residual
	dev.BatchNorm(y.st, x.st, storageOf(w), storageOf(b), storageOf(res), storageOf(runningMean), storageOf(runningVar), mean.st, rstd.st, outer, c, inner, o.Training, o.Momentum, o.Eps, o.Activation)
	lx, lw, lb, lr := likeOf(x), likeOf(w), likeOf(b), likeOf(res)
	xs, ws, bs := x.st, storageOf(w), Storage(nil)
	act := o.Activation
	// With a residual the ReLU's mask is read off the output (y > 0
	// exactly where the sum is), and BatchNormGrad gets the sum's
	// gradient; without one it recomputes the pre-activation from x, w
	// and b.
	var ys Storage
	if res != nil {
		if act == ActReLU {
			ys = y.st
		}
		act = NoActivation
	} else if act != NoActivation {
		bs = storageOf(b)
	}
	op := "batch_norm"
	if res != nil {
		op += "_add"
	}
	if o.Activation != NoActivation {
		op += "_" + o.Activation.String()
	}
	return record(y, op, []*Tensor{x, w, b, res}, func(g *Tensor) []*Tensor {
		gz := g
		if ys != nil {
			gz = lx.empty()
			dev.UnaryGrad(kernel.ReLU, gz.st, ys, ys, g.st, 0)
		}
		var gx, gw, gb *Tensor
		if lw.needs {
			gw = lw.zeros()
		}
		if lb.needs {
			gb = lb.zeros()
		}
		if lx.needs || lw.needs || lb.needs {
			gx = lx.empty()
			dev.BatchNormGrad(gx.st, storageOf(gw), storageOf(gb), xs, ws, bs, gz.st, mean.st, rstd.st, outer, c, inner, o.Training, act)
		}
		if !lx.needs {
			gx = nil
		}
		var gr *Tensor
		if lr.needs {
			gr = gz // the pass counts references, as Add's rule returns g twice
		}
		return []*Tensor{gx, gw, gb, gr}
	})
}

// Softmax normalises exp(x) along axis to sum to one.
func Softmax(x *Tensor, axis int) *Tensor { return softmax(x, axis, false) }

// LogSoftmax is the logarithm of Softmax, computed stably.
func LogSoftmax(x *Tensor, axis int) *Tensor { return softmax(x, axis, true) }

func softmax(x *Tensor, axis int, log bool) *Tensor {
	axis = x.axis("Softmax", axis)
	outer, n, inner := split3(x.shape, axis)
	y := x.empty(x.shape...)
	dev := x.Device()
	dev.Softmax(y.st, x.st, outer, n, inner, log)
	op := "softmax"
	if log {
		op = "log_softmax"
	}
	lx, ys := likeOf(x), y.st
	return record(y, op, []*Tensor{x}, func(g *Tensor) []*Tensor {
		gx := lx.empty()
		dev.SoftmaxGrad(gx.st, ys, g.st, outer, n, inner, log)
		return []*Tensor{gx}
	})
}
