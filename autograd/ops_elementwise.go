package autograd

import (
	"fmt"

	"github.com/vertebra-ml/vertebra/autograd/kernel"
)

// checkPair panics unless a and b share a dtype and a device.
func checkPair(op string, a, b *Tensor) {
	if a.DType() != b.DType() {
		panic(fmt.Sprintf("autograd: %s: dtypes %s and %s differ", op, a.DType(), b.DType()))
	}
	if a.Device() != b.Device() {
		panic(fmt.Sprintf("autograd: %s: tensors on %s and %s", op, a.Device().Name(), b.Device().Name()))
	}
}

// broadcastShape is the NumPy broadcast of a and b.
func broadcastShape(op string, a, b []int) []int {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := range n {
		da, db := 1, 1
		if j := i - (n - len(a)); j >= 0 {
			da = a[j]
		}
		if j := i - (n - len(b)); j >= 0 {
			db = b[j]
		}
		switch {
		case da == db || db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			panic(fmt.Sprintf("autograd: %s: shapes %v and %v do not broadcast", op, a, b))
		}
	}
	return out
}

// broadcastStrides returns the element strides that read shape as if it
// had shape out: 0 along broadcast dimensions.
func broadcastStrides(shape, out []int) []int {
	st := make([]int, len(out))
	s := 1
	for i := len(out) - 1; i >= 0; i-- {
		j := i - (len(out) - len(shape))
		if j < 0 {
			continue
		}
		if shape[j] != 1 || out[i] == 1 {
			st[i] = s
		}
		s *= shape[j]
	}
	return st
}

// contiguousStrides are the row-major strides of shape.
func contiguousStrides(shape []int) []int {
	st := make([]int, len(shape))
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = s
		s *= shape[i]
	}
	return st
}

func binary(op kernel.BinaryOp, a, b *Tensor) *Tensor {
	name := op.String()
	checkPair(name, a, b)
	shape := broadcastShape(name, a.shape, b.shape)
	y := a.empty(shape...)
	a.Device().Binary(op, y.st, a.st, b.st, shape, broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape))
	la, lb := likeOf(a), likeOf(b)
	// Save only the operands the gradients read: a sum's rule reads none.
	var sa, sb, sy *Tensor
	switch op {
	case kernel.Mul:
		if la.needs {
			sb = b
		}
		if lb.needs {
			sa = a
		}
	case kernel.Div:
		sb = b
		if lb.needs {
			sy = y.Detach()
		}
	}
	return record(y, name, []*Tensor{a, b}, func(g *Tensor) []*Tensor {
		var ga, gb *Tensor
		switch op {
		case kernel.Add:
			if la.needs {
				ga = SumTo(g, la.shape)
			}
			if lb.needs {
				gb = SumTo(g, lb.shape)
			}
		case kernel.Sub:
			if la.needs {
				ga = SumTo(g, la.shape)
			}
			if lb.needs {
				gb = SumTo(Neg(g), lb.shape)
			}
		case kernel.Mul:
			if la.needs {
				ga = SumTo(Mul(g, sb), la.shape)
			}
			if lb.needs {
				gb = SumTo(Mul(g, sa), lb.shape)
			}
		case kernel.Div:
			gOverB := Div(g, sb)
			if la.needs {
				ga = SumTo(gOverB, la.shape)
			}
			if lb.needs {
				gb = SumTo(Neg(Mul(gOverB, sy)), lb.shape) // d(a/b)/db = -y/b
			}
		}
		return []*Tensor{ga, gb}
	})
}

// Add returns a + b with NumPy broadcasting.
func Add(a, b *Tensor) *Tensor { return binary(kernel.Add, a, b) }

// Sub returns a - b with NumPy broadcasting.
func Sub(a, b *Tensor) *Tensor { return binary(kernel.Sub, a, b) }

// Mul returns a * b element-wise with NumPy broadcasting.
func Mul(a, b *Tensor) *Tensor { return binary(kernel.Mul, a, b) }

// Div returns a / b element-wise with NumPy broadcasting.
func Div(a, b *Tensor) *Tensor { return binary(kernel.Div, a, b) }

func unary(op kernel.UnaryOp, x *Tensor, alpha float64) *Tensor {
	y := x.empty(x.shape...)
	x.Device().Unary(op, y.st, x.st, alpha)
	lx := likeOf(x)
	// Save only what the derivative reads; ReLU's is read off its output
	// (y > 0 exactly where x > 0), as PyTorch's threshold_backward does.
	// Devices take both x and y; the one not read is given the other (or,
	// for the linear ops, which read neither, the incoming gradient).
	var xs, ys Storage
	switch op {
	case kernel.Neg, kernel.AddScalar, kernel.MulScalar:
	case kernel.ReLU:
		xs, ys = y.st, y.st
	case kernel.Exp, kernel.Sqrt, kernel.Tanh, kernel.Sigmoid:
		xs, ys = y.st, y.st
	default:
		xs, ys = x.st, x.st
	}
	return record(y, op.String(), []*Tensor{x}, func(g *Tensor) []*Tensor {
		dx, xr, yr := lx.empty(), xs, ys
		if xr == nil {
			xr, yr = g.st, g.st
		}
		lx.dev.UnaryGrad(op, dx.st, xr, yr, g.st, alpha)
		return []*Tensor{dx}
	})
}

// Neg returns -x.
func Neg(x *Tensor) *Tensor { return unary(kernel.Neg, x, 0) }

// Exp returns e^x.
func Exp(x *Tensor) *Tensor { return unary(kernel.Exp, x, 0) }

// Log returns the natural logarithm of x.
func Log(x *Tensor) *Tensor { return unary(kernel.Log, x, 0) }

// Sqrt returns the square root of x.
func Sqrt(x *Tensor) *Tensor { return unary(kernel.Sqrt, x, 0) }

// Abs returns |x|; its gradient at 0 is 0, as in PyTorch.
func Abs(x *Tensor) *Tensor { return unary(kernel.Abs, x, 0) }

// Tanh returns the hyperbolic tangent of x.
func Tanh(x *Tensor) *Tensor { return unary(kernel.Tanh, x, 0) }

// Pow returns x raised to the constant power p.
func Pow(x *Tensor, p float64) *Tensor { return unary(kernel.Pow, x, p) }

// AddScalar returns x + s.
func AddScalar(x *Tensor, s float64) *Tensor { return unary(kernel.AddScalar, x, s) }

// MulScalar returns x * s.
func MulScalar(x *Tensor, s float64) *Tensor { return unary(kernel.MulScalar, x, s) }

// ReLU returns max(x, 0).
func ReLU(x *Tensor) *Tensor { return unary(kernel.ReLU, x, 0) }

// Sigmoid returns 1 / (1 + e^-x).
func Sigmoid(x *Tensor) *Tensor { return unary(kernel.Sigmoid, x, 0) }

// SiLU returns x * sigmoid(x) (also called swish).
func SiLU(x *Tensor) *Tensor { return unary(kernel.SiLU, x, 0) }

// GELU returns the exact GELU, x * Phi(x) with the normal CDF Phi (erf
// form), PyTorch's default.
func GELU(x *Tensor) *Tensor { return unary(kernel.GELU, x, 0) }

// GELUTanh returns the tanh approximation of GELU (PyTorch's
// approximate="tanh").
func GELUTanh(x *Tensor) *Tensor { return unary(kernel.GELUTanh, x, 0) }

// SumTo sums x down to shape, the reverse of broadcasting shape to x's
// shape: leading dimensions are summed away and dimensions of size 1 in
// shape are summed with keepdim.
func SumTo(x *Tensor, shape []int) *Tensor {
	if sameShape(x.shape, shape) {
		return x
	}
	lead := len(x.shape) - len(shape)
	if lead < 0 {
		panic(fmt.Sprintf("autograd: SumTo: cannot sum %v to %v", x.shape, shape))
	}
	var axes []int
	for i := range x.shape {
		j := i - lead
		if j < 0 || (shape[j] == 1 && x.shape[i] != 1) {
			axes = append(axes, i)
		} else if shape[j] != x.shape[i] {
			panic(fmt.Sprintf("autograd: SumTo: cannot sum %v to %v", x.shape, shape))
		}
	}
	return Reshape(Sum(x, axes, true), shape...)
}

// Expand broadcasts x to shape (NumPy rules) as a new contiguous tensor.
func Expand(x *Tensor, shape ...int) *Tensor {
	out := broadcastShape("Expand", x.shape, shape)
	if !sameShape(out, shape) {
		panic(fmt.Sprintf("autograd: Expand: %v cannot expand to %v", x.shape, shape))
	}
	if sameShape(x.shape, shape) {
		return x
	}
	y := x.empty(shape...)
	x.Device().Gather(y.st, x.st, shape, broadcastStrides(x.shape, shape), 0)
	xshape := x.shape
	return record(y, "expand", []*Tensor{x}, func(g *Tensor) []*Tensor {
		return []*Tensor{SumTo(g, xshape)}
	})
}
