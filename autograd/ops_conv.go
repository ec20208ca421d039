package autograd

import (
	"fmt"

	"github.com/vertebra-ml/vertebra/autograd/kernel"
)

// Conv2dOptions are the geometry of a 2-d convolution; zero values mean
// stride 1, no padding, dilation 1 and one group.
type Conv2dOptions struct {
	Stride, Padding, Dilation [2]int
	Groups                    int
}

// Conv2d convolves x (N, C, H, W) with w (O, C/groups, KH, KW) and adds b
// (O) if it is not nil, as torch.nn.functional.conv2d.
func Conv2d(x, w, b *Tensor, o Conv2dOptions) *Tensor {
	s := conv2dShape("Conv2d", x, w, b, o)
	oh, ow := s.OutHW()
	y := x.empty(s.N, s.O, oh, ow)
	var bs Storage
	if b != nil {
		bs = b.st
	}
	dev := x.Device()
	dev.Conv2d(s, x.st, w.st, bs, y.st)
	lx, lw, lb := likeOf(x), likeOf(w), likeOf(b)
	var xs, ws Storage // saved only for the gradient that reads them
	if lw.needs {
		xs = x.st
	}
	if lx.needs {
		ws = w.st
	}
	return record(y, "conv2d", []*Tensor{x, w, b}, func(gy *Tensor) []*Tensor {
		var gx, gw, gb *Tensor
		if lx.needs {
			gx = lx.empty()
			dev.Conv2dBackwardData(s, gy.st, ws, gx.st)
		}
		if lw.needs {
			gw = lw.empty()
			dev.Conv2dBackwardWeight(s, xs, gy.st, gw.st)
		}
		if lb.needs {
			gb = lb.empty()
			dev.Conv2dBackwardBias(s, gy.st, gb.st)
		}
		return []*Tensor{gx, gw, gb}
	})
}

// conv2dShape checks Conv2d's arguments (fn names the op in panics) and
// returns the convolution's shape.
func conv2dShape(fn string, x, w, b *Tensor, o Conv2dOptions) kernel.ConvShape {
	checkPair(fn, x, w)
	if x.Rank() != 4 || w.Rank() != 4 {
		panic(fmt.Sprintf("autograd: %s: input %v and weight %v must be 4-d", fn, x.shape, w.shape))
	}
	g := max(o.Groups, 1)
	s := kernel.ConvShape{
		N: x.shape[0], C: x.shape[1], H: x.shape[2], W: x.shape[3],
		O: w.shape[0], KH: w.shape[2], KW: w.shape[3],
		SH: max(o.Stride[0], 1), SW: max(o.Stride[1], 1),
		PH: o.Padding[0], PW: o.Padding[1],
		DH: max(o.Dilation[0], 1), DW: max(o.Dilation[1], 1),
		Groups: g,
	}
	if w.shape[1]*g != s.C {
		panic(fmt.Sprintf("autograd: %s: input %v has %d channels; weight %v with %d groups takes %d (weight.shape[1] * groups)", fn, x.shape, s.C, w.shape, g, w.shape[1]*g))
	}
	if err := s.Validate(); err != nil {
		panic(fmt.Sprintf("autograd: %s: input %v, weight %v, %+v: %v", fn, x.shape, w.shape, o, err))
	}
	if b != nil && (b.Rank() != 1 || b.shape[0] != s.O) {
		panic(fmt.Sprintf("autograd: %s: bias %v for %d output channels", fn, b.shape, s.O))
	}
	return s
}

// Conv2dBatchNorm is BatchNorm(Conv2d(x, w, b, co), bnW, bnB, runningMean,
// runningVar, bo): a convolution and the batch norm after it, as every
// ResNet and EfficientNet layer has. In eval mode (bo.Training false) with
// nothing to differentiate (gradients disabled, or no input requiring
// one) the device runs them as one op (Device.Conv2dBatchNorm), which
// gives the same bits without the convolution's output as a tensor of its
// own; otherwise it is the two ops.
func Conv2dBatchNorm(x, w, b *Tensor, co Conv2dOptions, bnW, bnB, runningMean, runningVar *Tensor, bo BatchNormOptions) *Tensor {
	if bo.Training || GradEnabled() && anyRequiresGrad(x, w, b, bnW, bnB, bo.Residual) {
		return BatchNorm(Conv2d(x, w, b, co), bnW, bnB, runningMean, runningVar, bo)
	}
	s := conv2dShape("Conv2dBatchNorm", x, w, b, co)
	oh, ow := s.OutHW()
	y := x.empty(s.N, s.O, oh, ow)
	checkBatchNorm("Conv2dBatchNorm", y, bnW, bnB, runningMean, runningVar, bo)
	x.Device().Conv2dBatchNorm(s, x.st, w.st, storageOf(b), y.st, storageOf(bnW), storageOf(bnB), storageOf(bo.Residual),
		storageOf(runningMean), storageOf(runningVar), bo.Eps, bo.Activation)
	return y
}

// anyRequiresGrad reports whether a tensor among ts (nil ones skipped)
// requires a gradient.
func anyRequiresGrad(ts ...*Tensor) bool {
	for _, t := range ts {
		if t != nil && t.requiresGrad {
			return true
		}
	}
	return false
}
