package autograd

import (
	"fmt"

	"github.com/vertebra-ml/vertebra/autograd/kernel"
)

// MaxPool2dOptions are the window of a 2-d max pooling; zero stride means
// the kernel size, zero dilation means 1.
type MaxPool2dOptions struct {
	Kernel, Stride, Padding, Dilation [2]int
	CeilMode                          bool
}

// poolOut is PyTorch's pooling output length.
func poolOut(in, k, s, p, d int, ceil bool) int {
	num := in + 2*p - d*(k-1) - 1
	var out int
	if ceil {
		out = (num+s-1)/s + 1
		if (out-1)*s >= in+p { // the last window must start inside the input or left padding
			out--
		}
	} else {
		out = num/s + 1
	}
	return out
}

func planes(op string, x *Tensor) (int, int, int) {
	if x.Rank() < 3 {
		panic(fmt.Sprintf("autograd: %s: input %v needs (..., H, W)", op, x.shape))
	}
	r := x.Rank()
	return numel(x.shape[:r-2]), x.shape[r-2], x.shape[r-1]
}

func withHW(shape []int, h, w int) []int {
	s := append([]int(nil), shape...)
	s[len(s)-2], s[len(s)-1] = h, w
	return s
}

// MaxPool2d takes window maxima over the last two dimensions; padding acts
// as -inf, as torch.nn.functional.max_pool2d.
func MaxPool2d(x *Tensor, o MaxPool2dOptions) *Tensor {
	p, h, w := planes("MaxPool2d", x)
	st := o.Stride
	if st[0] == 0 {
		st = o.Kernel
	}
	s := kernel.PoolShape{Planes: p, H: h, W: w, KH: o.Kernel[0], KW: o.Kernel[1], SH: st[0], SW: st[1],
		PH: o.Padding[0], PW: o.Padding[1], DH: max(o.Dilation[0], 1), DW: max(o.Dilation[1], 1)}
	if s.KH < 1 || s.KW < 1 || s.SH < 1 || s.SW < 1 || 2*s.PH > s.KH || 2*s.PW > s.KW {
		panic(fmt.Sprintf("autograd: MaxPool2d: %+v (padding must be at most half the kernel)", o))
	}
	s.OH = poolOut(h, s.KH, s.SH, s.PH, s.DH, o.CeilMode)
	s.OW = poolOut(w, s.KW, s.SW, s.PW, s.DW, o.CeilMode)
	if s.OH < 1 || s.OW < 1 {
		panic(fmt.Sprintf("autograd: MaxPool2d: input %v too small for %+v", x.shape, o))
	}
	dev := x.Device()
	y := x.empty(withHW(x.shape, s.OH, s.OW)...)
	arg := adopt(newTensor(dev, Int32, y.shape))
	dev.MaxPool2d(s, y.st, arg.st, x.st)
	return record(y, "max_pool2d", []*Tensor{x}, func(g *Tensor) []*Tensor {
		gx := x.empty(x.shape...)
		dev.MaxPool2dGrad(s, gx.st, g.st, arg.st)
		return []*Tensor{gx}
	})
}

// AdaptiveAvgPool2d averages the last two dimensions into oh x ow bins, as
// torch.nn.functional.adaptive_avg_pool2d.
func AdaptiveAvgPool2d(x *Tensor, oh, ow int) *Tensor {
	p, h, w := planes("AdaptiveAvgPool2d", x)
	if oh < 1 || ow < 1 {
		panic(fmt.Sprintf("autograd: AdaptiveAvgPool2d: output %dx%d", oh, ow))
	}
	s := kernel.PoolShape{Planes: p, H: h, W: w, OH: oh, OW: ow}
	dev := x.Device()
	y := x.empty(withHW(x.shape, oh, ow)...)
	dev.AdaptiveAvgPool2d(s, y.st, x.st)
	return record(y, "adaptive_avg_pool2d", []*Tensor{x}, func(g *Tensor) []*Tensor {
		gx := x.empty(x.shape...)
		dev.AdaptiveAvgPool2dGrad(s, gx.st, g.st)
		return []*Tensor{gx}
	})
}

// InterpolateBilinear resizes the last two dimensions to oh x ow with
// bilinear interpolation, as torch.nn.functional.interpolate(mode=
// "bilinear", antialias=False) with the given align_corners.
func InterpolateBilinear(x *Tensor, oh, ow int, alignCorners bool) *Tensor {
	p, h, w := planes("InterpolateBilinear", x)
	if oh < 1 || ow < 1 || h < 1 || w < 1 {
		panic(fmt.Sprintf("autograd: InterpolateBilinear: %v to %dx%d", x.shape, oh, ow))
	}
	s := kernel.PoolShape{Planes: p, H: h, W: w, OH: oh, OW: ow}
	dev := x.Device()
	y := x.empty(withHW(x.shape, oh, ow)...)
	dev.Bilinear(s, y.st, x.st, alignCorners)
	return record(y, "interpolate_bilinear", []*Tensor{x}, func(g *Tensor) []*Tensor {
		gx := x.empty(x.shape...)
		dev.BilinearGrad(s, gx.st, g.st, alignCorners)
		return []*Tensor{gx}
	})
}
