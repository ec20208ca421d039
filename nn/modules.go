package nn

import (
	"fmt"

	ag "github.com/vertebra-ml/vertebra/autograd"
)

// SequentialBuilder builds a Sequential whose children are named by their
// index under one prefix, as torch.nn.Sequential names them: the child at
// index i is created under b.SubN(i), so a checkpoint's
// "features.3.weight" is the weight of the fourth module.
type SequentialBuilder struct {
	b      Builder
	layers Sequential
	asked  int // Next calls since the last Add
}

// NewSequential starts a Sequential under b.
func NewSequential(b Builder) *SequentialBuilder { return &SequentialBuilder{b: b} }

// Next is the builder of the next module to Add, b.SubN(index): pass it to
// that module's constructor. Modules without parameters need none.
func (s *SequentialBuilder) Next() Builder {
	s.asked++
	return s.b.SubN(len(s.layers))
}

// Add appends modules, each taking the next index. At most one of them
// may have been built with Next (two would share one index).
func (s *SequentialBuilder) Add(ms ...Module) *SequentialBuilder {
	if s.asked > 1 {
		panic(fmt.Sprintf("nn: Sequential %s: Next was called %d times for index %d; build one module per Next and Add it before the next", s.b.prefix, s.asked, len(s.layers)))
	}
	s.asked = 0
	s.layers = append(s.layers, ms...)
	return s
}

// Sequential returns the modules added so far.
func (s *SequentialBuilder) Sequential() Sequential { return s.layers }

// Func adapts a function to a Module: nn.Func(ag.Tanh).
type Func func(x *ag.Tensor) *ag.Tensor

// Forward returns f(x).
func (f Func) Forward(x *ag.Tensor) *ag.Tensor { return f(x) }

// MaxPool2d is torch.nn.MaxPool2d.
type MaxPool2d struct{ Options ag.MaxPool2dOptions }

// NewMaxPool2d is MaxPool2d(kernel) with stride = kernel and no padding;
// set further fields of Options for the full form.
func NewMaxPool2d(kernel int) *MaxPool2d {
	return &MaxPool2d{ag.MaxPool2dOptions{Kernel: ag.Pair(kernel)}}
}

// Forward pools the last two dimensions of x.
func (m *MaxPool2d) Forward(x *ag.Tensor) *ag.Tensor { return ag.MaxPool2d(x, m.Options) }

// AvgPool2d is torch.nn.AvgPool2d.
type AvgPool2d struct{ Options ag.AvgPool2dOptions }

// NewAvgPool2d is AvgPool2d(kernel) with stride = kernel and no padding;
// set further fields of Options for the full form.
func NewAvgPool2d(kernel int) *AvgPool2d {
	return &AvgPool2d{ag.AvgPool2dOptions{Kernel: ag.Pair(kernel)}}
}

// Forward pools the last two dimensions of x.
func (m *AvgPool2d) Forward(x *ag.Tensor) *ag.Tensor { return ag.AvgPool2d(x, m.Options) }

// AdaptiveAvgPool2d is torch.nn.AdaptiveAvgPool2d((H, W)).
type AdaptiveAvgPool2d struct{ H, W int }

// Forward averages the last two dimensions of x into H x W bins.
func (m AdaptiveAvgPool2d) Forward(x *ag.Tensor) *ag.Tensor {
	return ag.AdaptiveAvgPool2d(x, m.H, m.W)
}

// Flatten is torch.nn.Flatten(): (N, ...) becomes (N, rest). For another
// start dimension, nn.Func(func(x *ag.Tensor) *ag.Tensor { return ag.Flatten(x, k) }).
type Flatten struct{}

// Forward flattens every dimension after the first.
func (Flatten) Forward(x *ag.Tensor) *ag.Tensor { return ag.Flatten(x, 1) }
