package autograd

import (
	"fmt"
	"slices"

	"github.com/vertebra-ml/vertebra/autograd/cpu"
)

// normAxes resolves axes against x's rank, sorted and unique; nil means
// every axis.
func (t *Tensor) normAxes(op string, axes []int) []int {
	if axes == nil {
		out := make([]int, len(t.shape))
		for i := range out {
			out[i] = i
		}
		return out
	}
	out := make([]int, len(axes))
	for i, a := range axes {
		out[i] = t.axis(op, a)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// keptShape is shape with the given axes set to 1.
func keptShape(shape, axes []int) []int {
	s := slices.Clone(shape)
	for _, a := range axes {
		s[a] = 1
	}
	return s
}

// droppedShape is shape without the given axes.
func droppedShape(shape, axes []int) []int {
	var s []int
	for i, d := range shape {
		if !slices.Contains(axes, i) {
			s = append(s, d)
		}
	}
	return s
}

func reduceShape(shape, axes []int, keepdim bool) []int {
	if keepdim {
		return keptShape(shape, axes)
	}
	return droppedShape(shape, axes)
}

// sumAxes sums x over axes (keepdim shape), scaled, without recording.
func sumAxes(x *Tensor, axes []int, scale float64) *Tensor {
	cur := x
	shape := slices.Clone(x.shape)
	for i, a := range axes {
		outer, n, inner := split3(shape, a)
		shape[a] = 1
		y := x.empty(shape...)
		s := 1.0
		if i == len(axes)-1 {
			s = scale
		}
		x.Device().SumAxis(y.st, cur.st, outer, n, inner, s)
		cur = y
	}
	if len(axes) == 0 {
		y := x.empty(shape...)
		x.Device().Unary(cpu.MulScalar, y.st, x.st, scale)
		return y
	}
	return cur
}

// Sum sums x over axes (nil: all of them); keepdim keeps them as size 1.
func Sum(x *Tensor, axes []int, keepdim bool) *Tensor {
	ax := x.normAxes("Sum", axes)
	return scaledSum(x, ax, 1, keepdim, "sum")
}

// Mean averages x over axes (nil: all of them).
func Mean(x *Tensor, axes []int, keepdim bool) *Tensor {
	ax := x.normAxes("Mean", axes)
	n := 1
	for _, a := range ax {
		n *= x.shape[a]
	}
	return scaledSum(x, ax, 1/float64(n), keepdim, "mean")
}

func scaledSum(x *Tensor, axes []int, scale float64, keepdim bool, op string) *Tensor {
	s := sumAxes(x, axes, scale)
	y := adoptView(s, &Tensor{shape: reduceShape(x.shape, axes, keepdim), st: s.st})
	xshape := x.shape
	return record(y, op, []*Tensor{x}, func(g *Tensor) []*Tensor {
		g = Reshape(g, keptShape(xshape, axes)...)
		if scale != 1 {
			g = MulScalar(g, scale)
		}
		return []*Tensor{Expand(g, xshape...)}
	})
}

// Max returns the maximum over axes (nil: all of them). The gradient flows
// to the first position of each maximum, as in PyTorch's max along a dim.
func Max(x *Tensor, axes []int, keepdim bool) *Tensor {
	ax := x.normAxes("Max", axes)
	cur := x
	for i := len(ax) - 1; i >= 0; i-- {
		cur = maxAxis(cur, ax[i])
	}
	return Reshape(cur, reduceShape(x.shape, ax, keepdim)...)
}

// maxAxis reduces one axis with keepdim.
func maxAxis(x *Tensor, axis int) *Tensor {
	outer, n, inner := split3(x.shape, axis)
	shape := keptShape(x.shape, []int{axis})
	y := x.empty(shape...)
	arg := adopt(newTensor(x.Device(), Int32, []int{outer * inner}))
	x.Device().MaxAxis(y.st, arg.st, x.st, outer, n, inner)
	lx := likeOf(x)
	return record(y, "max", []*Tensor{x}, func(g *Tensor) []*Tensor {
		dx := lx.empty()
		lx.dev.MaxAxisGrad(dx.st, g.st, arg.st, outer, n, inner)
		return []*Tensor{dx}
	})
}

// Var returns the variance over axes with Bessel's correction
// (correction 1 is PyTorch's unbiased default, 0 the biased estimate).
func Var(x *Tensor, axes []int, correction int, keepdim bool) *Tensor {
	ax := x.normAxes("Var", axes)
	n := 1
	for _, a := range ax {
		n *= x.shape[a]
	}
	if n-correction <= 0 {
		panic(fmt.Sprintf("autograd: Var: %d elements with correction %d", n, correction))
	}
	d := Sub(x, Mean(x, ax, true))
	return MulScalar(Sum(Mul(d, d), ax, keepdim), 1/float64(n-correction))
}
