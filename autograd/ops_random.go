package autograd

import (
	"fmt"
	"sync"
)

// Generator is the source of dropout and stochastic-depth masks: a
// Philox4x32-10 stream (seed, offset) from which each mask takes the next
// ceil(n/4) counter blocks. The masks are computed on the tensor's device
// by Device.Bernoulli, which every device implements bit for bit alike, so
// one seed gives the same masks on the CPU and on a GPU. It is safe for
// concurrent use.
type Generator struct {
	mu     sync.Mutex
	seed   uint64
	offset uint64
}

// NewGenerator returns a generator at the start of seed's stream.
func NewGenerator(seed uint64) *Generator { return &Generator{seed: seed} }

// State returns the seed and the offset of the next mask, for checkpoints.
func (g *Generator) State() (seed, offset uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.seed, g.offset
}

// SetState restores a state returned by State.
func (g *Generator) SetState(seed, offset uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.seed, g.offset = seed, offset
}

// take reserves the blocks of n numbers and returns where they start.
func (g *Generator) take(n int) (seed, offset uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	seed, offset = g.seed, g.offset
	g.offset += uint64(n+3) / 4
	return seed, offset
}

// Dropout zeroes each element with probability p and scales the rest by
// 1/(1-p) when training; otherwise it returns x. The mask comes from gen.
func Dropout(x *Tensor, p float64, training bool, gen *Generator) *Tensor {
	if !training || p == 0 {
		return x
	}
	return Mul(x, bernoulliMask("Dropout", x, x.shape, p, gen))
}

// DropPath (stochastic depth) zeroes whole samples (the first dimension)
// with probability p and scales the rest by 1/(1-p) when training, as
// torchvision's StochasticDepth(mode="row").
func DropPath(x *Tensor, p float64, training bool, gen *Generator) *Tensor {
	if !training || p == 0 {
		return x
	}
	shape := make([]int, x.Rank())
	for i := range shape {
		shape[i] = 1
	}
	shape[0] = x.shape[0]
	return Mul(x, bernoulliMask("DropPath", x, shape, p, gen))
}

// bernoulliMask is an op-made tensor like x with the given shape holding
// 1/(1-p) with probability 1-p and 0 otherwise.
func bernoulliMask(op string, x *Tensor, shape []int, p float64, gen *Generator) *Tensor {
	if !(p >= 0 && p <= 1) {
		panic(fmt.Sprintf("autograd: %s: probability %g outside [0, 1]", op, p))
	}
	if gen == nil {
		panic(fmt.Sprintf("autograd: %s: training needs a random generator", op))
	}
	m := x.empty(shape...)
	if p == 1 {
		x.Device().Fill(m.st, 0)
		return m
	}
	seed, offset := gen.take(m.Len())
	x.Device().Bernoulli(m.st, seed, offset, 1-p, 1/(1-p))
	return m
}
