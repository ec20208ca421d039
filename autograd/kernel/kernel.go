// Package kernel is the vocabulary shared by the autograd ops and every
// device that runs them: the element-wise op codes, the geometry of
// convolutions and pooling windows with its validation, and the exact
// definition of the counter-based random numbers behind dropout.
//
// It holds no kernels and imports nothing of the project: package autograd
// speaks it in its Device interface, autograd/cpu and cuda implement it.
package kernel

import "fmt"

// UnaryOp names an element-wise function of one input.
type UnaryOp int

// The element-wise functions. Alpha is the scalar parameter of the ops
// that take one (AddScalar, MulScalar, Pow).
const (
	Neg UnaryOp = iota
	Exp
	Log
	Sqrt
	Abs
	Tanh
	ReLU
	Sigmoid
	SiLU
	GELU     // exact: x * Phi(x)
	GELUTanh // tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
	AddScalar
	MulScalar
	Pow
)

var unaryNames = [...]string{"neg", "exp", "log", "sqrt", "abs", "tanh", "relu", "sigmoid", "silu", "gelu", "gelu_tanh", "add_scalar", "mul_scalar", "pow"}

// NumUnaryOps is the number of unary op codes; they are 0 to NumUnaryOps-1.
const NumUnaryOps = len(unaryNames)

// String is the op's name, as used in graph nodes and errors.
func (op UnaryOp) String() string {
	if op < 0 || int(op) >= len(unaryNames) {
		return fmt.Sprintf("unary(%d)", int(op))
	}
	return unaryNames[op]
}

// Activation is an element-wise function that a normalisation kernel
// applies to its output in the same pass (a batch norm followed by ReLU or
// SiLU, as in ResNet and EfficientNet); its backward recomputes the
// pre-activation instead of keeping it.
type Activation int

// The fused activations.
const (
	Identity Activation = iota
	ActReLU
	ActSiLU
)

var activationNames = [...]string{"identity", "relu", "silu"}

// String is the activation's name.
func (a Activation) String() string {
	if a < 0 || int(a) >= len(activationNames) {
		return fmt.Sprintf("activation(%d)", int(a))
	}
	return activationNames[a]
}

// BinaryOp names an element-wise function of two inputs.
type BinaryOp int

// The element-wise binary functions.
const (
	Add BinaryOp = iota
	Sub
	Mul
	Div
)

var binaryNames = [...]string{"add", "sub", "mul", "div"}

// NumBinaryOps is the number of binary op codes; they are 0 to NumBinaryOps-1.
const NumBinaryOps = len(binaryNames)

// String is the op's name, as used in graph nodes and errors.
func (op BinaryOp) String() string {
	if op < 0 || int(op) >= len(binaryNames) {
		return fmt.Sprintf("binary(%d)", int(op))
	}
	return binaryNames[op]
}

// AdamW is one step of torch.optim.AdamW (amsgrad off, no maximize) on one
// parameter tensor p with gradient g and moments m and v:
//
//	p = p * (1 - LR*WeightDecay)
//	m = Beta1*m + (1-Beta1)*g
//	v = Beta2*v + (1-Beta2)*g*g
//	p = p - LR/(1-Beta1^Step) * m / (sqrt(v)/sqrt(1-Beta2^Step) + Eps)
//
// Step counts from 1 (the parameter's first update).
type AdamW struct {
	LR, Beta1, Beta2, Eps, WeightDecay float64
	Step                               int
}
