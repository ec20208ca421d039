package cpu

import "github.com/vertebra-ml/vertebra/autograd/kernel"

// The kernel vocabulary, named here as the kernels use it. The types are
// package kernel's own, so autograd passes its values straight through.
type (
	// UnaryOp is kernel.UnaryOp.
	UnaryOp = kernel.UnaryOp
	// BinaryOp is kernel.BinaryOp.
	BinaryOp = kernel.BinaryOp
	// ConvShape is kernel.ConvShape.
	ConvShape = kernel.ConvShape
	// PoolShape is kernel.PoolShape.
	PoolShape = kernel.PoolShape
	// Activation is kernel.Activation.
	Activation = kernel.Activation
)

// The op codes of package kernel.
const (
	Neg       = kernel.Neg
	Exp       = kernel.Exp
	Log       = kernel.Log
	Sqrt      = kernel.Sqrt
	Abs       = kernel.Abs
	Tanh      = kernel.Tanh
	ReLU      = kernel.ReLU
	Sigmoid   = kernel.Sigmoid
	SiLU      = kernel.SiLU
	GELU      = kernel.GELU
	GELUTanh  = kernel.GELUTanh
	AddScalar = kernel.AddScalar
	MulScalar = kernel.MulScalar
	Pow       = kernel.Pow

	Add = kernel.Add
	Sub = kernel.Sub
	Mul = kernel.Mul
	Div = kernel.Div

	Identity = kernel.Identity
	ActReLU  = kernel.ActReLU
	ActSiLU  = kernel.ActSiLU
)
