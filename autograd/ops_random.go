package autograd

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// Dropout zeroes each element with probability p and scales the rest by
// 1/(1-p) when training; otherwise it returns x. The mask comes from rng,
// so a seeded generator reproduces it.
func Dropout(x *Tensor, p float64, training bool, rng *rand.Rand) *Tensor {
	if !training || p == 0 {
		return x
	}
	return Mul(x, bernoulliMask("Dropout", x, x.shape, p, rng))
}

// DropPath (stochastic depth) zeroes whole samples (the first dimension)
// with probability p and scales the rest by 1/(1-p) when training, as
// torchvision's StochasticDepth(mode="row").
func DropPath(x *Tensor, p float64, training bool, rng *rand.Rand) *Tensor {
	if !training || p == 0 {
		return x
	}
	shape := make([]int, x.Rank())
	for i := range shape {
		shape[i] = 1
	}
	shape[0] = x.shape[0]
	return Mul(x, bernoulliMask("DropPath", x, shape, p, rng))
}

// bernoulliMask is a constant tensor of 0 and 1/(1-p) like x with shape.
func bernoulliMask(op string, x *Tensor, shape []int, p float64, rng *rand.Rand) *Tensor {
	if p < 0 || p > 1 {
		panic(fmt.Sprintf("autograd: %s: probability %g outside [0, 1]", op, p))
	}
	if rng == nil {
		panic(fmt.Sprintf("autograd: %s: training needs a random generator", op))
	}
	v := make([]float64, numel(shape))
	if p < 1 {
		keep := 1 / (1 - p)
		for i := range v {
			if rng.Float64() >= p {
				v[i] = keep
			}
		}
	}
	return fromF64As(x.DType(), v, slices.Clone(shape)).To(x.Device())
}
