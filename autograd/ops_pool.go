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
	if ceil {
		num += s - 1
	}
	out := floorDiv(num, s) + 1    // floor, not Go's truncation: a kernel larger than the input gives 0
	if ceil && (out-1)*s >= in+p { // the last window must start inside the input or left padding
		out--
	}
	return out
}

func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
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
	checkWindow("MaxPool2d", o.Kernel, st, o.Padding, [2]int{s.DH, s.DW})
	s.OH = poolOut(h, s.KH, s.SH, s.PH, s.DH, o.CeilMode)
	s.OW = poolOut(w, s.KW, s.SW, s.PW, s.DW, o.CeilMode)
	if s.OH < 1 || s.OW < 1 {
		panic(fmt.Sprintf("autograd: MaxPool2d: input %v too small for kernel %v, padding %v, dilation %v (output %dx%d)", x.shape, o.Kernel, o.Padding, [2]int{s.DH, s.DW}, s.OH, s.OW))
	}
	dev := x.Device()
	y := x.empty(withHW(x.shape, s.OH, s.OW)...)
	arg := adopt(newTensor(dev, Int32, y.shape))
	dev.MaxPool2d(s, y.st, arg.st, x.st)
	lx := likeOf(x)
	return record(y, "max_pool2d", []*Tensor{x}, func(g *Tensor) []*Tensor {
		gx := lx.empty()
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
	lx := likeOf(x)
	return record(y, "adaptive_avg_pool2d", []*Tensor{x}, func(g *Tensor) []*Tensor {
		gx := lx.empty()
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
	lx := likeOf(x)
	return record(y, "interpolate_bilinear", []*Tensor{x}, func(g *Tensor) []*Tensor {
		gx := lx.empty()
		dev.BilinearGrad(s, gx.st, g.st, alignCorners)
		return []*Tensor{gx}
	})
}
