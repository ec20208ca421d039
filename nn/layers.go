package nn

import (
	"fmt"
	"slices"

	ag "github.com/vertebra-ml/vertebra/autograd"
)

// Module is a layer with one input and one output.
type Module interface {
	Forward(x *ag.Tensor) *ag.Tensor
}

// Sequential applies its modules in order.
type Sequential []Module

// Forward runs x through every module.
func (s Sequential) Forward(x *ag.Tensor) *ag.Tensor {
	for _, m := range s {
		x = m.Forward(x)
	}
	return x
}

// Linear is torch.nn.Linear: y = x W^T + b.
type Linear struct {
	Weight *ag.Tensor // (out, in)
	Bias   *ag.Tensor // (out), or nil
}

// LinearInit chooses NewLinear's initialisers; a nil field keeps PyTorch's
// default (Kaiming uniform for the weight, U(+-1/sqrt(in)) for the bias).
type LinearInit struct{ Weight, Bias Init }

// NewLinear creates weight (and bias) under b with PyTorch's default init,
// or the initialisers of init if one is given:
// nn.NewLinear(b, 768, 10, true, nn.LinearInit{Weight: nn.TruncNormal(0.02), Bias: nn.Zeros()}).
func NewLinear(b Builder, in, out int, bias bool, init ...LinearInit) *Linear {
	if len(init) > 1 {
		panic(fmt.Sprintf("nn: NewLinear %s: %d LinearInit values, want at most one", b.prefix, len(init)))
	}
	wInit, bInit := KaimingUniform(in), KaimingUniform(in)
	if len(init) == 1 {
		if init[0].Weight != nil {
			wInit = init[0].Weight
		}
		if init[0].Bias != nil {
			bInit = init[0].Bias
		}
	}
	l := &Linear{Weight: b.Param("weight", []int{out, in}, wInit)}
	if bias {
		l.Bias = b.Param("bias", []int{out}, bInit)
	}
	return l
}

// Forward applies the layer to the last dimension of x.
func (l *Linear) Forward(x *ag.Tensor) *ag.Tensor { return ag.Linear(x, l.Weight, l.Bias) }

// Conv2d is torch.nn.Conv2d.
type Conv2d struct {
	Weight  *ag.Tensor // (out, in/groups, kh, kw)
	Bias    *ag.Tensor // (out), or nil
	Options ag.Conv2dOptions
}

// NewConv2d creates weight (and bias) under b with PyTorch's default init.
func NewConv2d(b Builder, in, out int, kernel [2]int, o ag.Conv2dOptions, bias bool) *Conv2d {
	g := max(o.Groups, 1)
	if in%g != 0 || out%g != 0 {
		panic(fmt.Sprintf("nn: Conv2d %s: %d in and %d out channels do not divide into %d groups", b.prefix, in, out, g))
	}
	fanIn := in / g * kernel[0] * kernel[1]
	c := &Conv2d{Weight: b.Param("weight", []int{out, in / g, kernel[0], kernel[1]}, KaimingUniform(fanIn)), Options: o}
	if bias {
		c.Bias = b.Param("bias", []int{out}, KaimingUniform(fanIn))
	}
	return c
}

// Forward convolves x (N, C, H, W).
func (c *Conv2d) Forward(x *ag.Tensor) *ag.Tensor { return ag.Conv2d(x, c.Weight, c.Bias, c.Options) }

// BatchNorm2d is torch.nn.BatchNorm2d (it also serves 1-d inputs (N, C)).
type BatchNorm2d struct {
	Weight, Bias, RunningMean, RunningVar *ag.Tensor
	NumBatchesTracked                     *IntBuffer
	Eps, Momentum                         float64
	store                                 *Store
}

// NewBatchNorm2d creates weight, bias, running_mean, running_var and
// num_batches_tracked under b.
func NewBatchNorm2d(b Builder, c int, eps, momentum float64) *BatchNorm2d {
	return &BatchNorm2d{
		Weight:            b.Param("weight", []int{c}, Ones()),
		Bias:              b.Param("bias", []int{c}, Zeros()),
		RunningMean:       b.Buffer("running_mean", []int{c}, Zeros()),
		RunningVar:        b.Buffer("running_var", []int{c}, Ones()),
		NumBatchesTracked: b.IntBuffer("num_batches_tracked", []int{}, nil),
		Eps:               eps, Momentum: momentum, store: b.store,
	}
}

// Forward normalises per channel: with batch statistics in training mode
// (updating the running ones), with the running ones in eval mode.
func (n *BatchNorm2d) Forward(x *ag.Tensor) *ag.Tensor { return n.ForwardAct(x, ag.NoActivation) }

// ForwardAct is act(Forward(x)) in one pass, which also saves the
// pre-activation tensor in training (ag.BatchNormOptions.Activation).
func (n *BatchNorm2d) ForwardAct(x *ag.Tensor, act ag.Activation) *ag.Tensor {
	return n.ForwardAddAct(x, nil, act)
}

// ForwardAddAct is act(Forward(x) + residual) in one pass, as a residual
// block ends (ag.BatchNormOptions.Residual; act is ag.NoActivation or
// ag.ActReLU when residual is not nil).
func (n *BatchNorm2d) ForwardAddAct(x, residual *ag.Tensor, act ag.Activation) *ag.Tensor {
	training := n.store.Training()
	if training {
		n.NumBatchesTracked.Values[0]++
	}
	return ag.BatchNorm(x, n.Weight, n.Bias, n.RunningMean, n.RunningVar,
		ag.BatchNormOptions{Training: training, Momentum: n.Momentum, Eps: n.Eps, Activation: act, Residual: residual})
}

// ForwardConv is ForwardAddAct(c.Forward(x), residual, act), a
// convolution and this batch norm after it. In eval mode without
// gradients to compute the two run as one op that never writes the
// convolution's output (ag.Conv2dBatchNorm), with the same result.
func (n *BatchNorm2d) ForwardConv(c *Conv2d, x, residual *ag.Tensor, act ag.Activation) *ag.Tensor {
	if n.store.Training() {
		return n.ForwardAddAct(c.Forward(x), residual, act)
	}
	return ag.Conv2dBatchNorm(x, c.Weight, c.Bias, c.Options, n.Weight, n.Bias, n.RunningMean, n.RunningVar,
		ag.BatchNormOptions{Momentum: n.Momentum, Eps: n.Eps, Activation: act, Residual: residual})
}

// LayerNorm is torch.nn.LayerNorm over the trailing dimensions Shape.
type LayerNorm struct {
	Weight, Bias *ag.Tensor
	Shape        []int
	Eps          float64
}

// NewLayerNorm creates weight (ones) and bias (zeros) of the given shape.
func NewLayerNorm(b Builder, shape []int, eps float64) *LayerNorm {
	return &LayerNorm{
		Weight: b.Param("weight", shape, Ones()),
		Bias:   b.Param("bias", shape, Zeros()),
		Shape:  slices.Clone(shape), Eps: eps,
	}
}

// Forward normalises the trailing dimensions of x.
func (l *LayerNorm) Forward(x *ag.Tensor) *ag.Tensor {
	return ag.LayerNorm(x, l.Weight, l.Bias, l.Shape, l.Eps)
}

// LayerNorm2d is LayerNorm over the channels of NCHW (torchvision's
// LayerNorm2d).
type LayerNorm2d struct {
	Weight, Bias *ag.Tensor
	Eps          float64
}

// NewLayerNorm2d creates weight (ones) and bias (zeros) of c channels.
func NewLayerNorm2d(b Builder, c int, eps float64) *LayerNorm2d {
	return &LayerNorm2d{Weight: b.Param("weight", []int{c}, Ones()), Bias: b.Param("bias", []int{c}, Zeros()), Eps: eps}
}

// Forward normalises x (N, C, H, W) over C.
func (l *LayerNorm2d) Forward(x *ag.Tensor) *ag.Tensor {
	return ag.LayerNorm2d(x, l.Weight, l.Bias, l.Eps)
}

// Embedding is torch.nn.Embedding.
type Embedding struct {
	Weight *ag.Tensor // (num, dim)
}

// NewEmbedding creates weight (num, dim) with N(0, 1) init, as PyTorch.
func NewEmbedding(b Builder, num, dim int) *Embedding {
	return &Embedding{Weight: b.Param("weight", []int{num, dim}, Normal(1))}
}

// Forward looks up the rows of idx, an int32 tensor of any shape on the
// weight's device (see ag.Indices): idx.Shape() + (dim).
func (e *Embedding) Forward(idx *ag.Tensor) *ag.Tensor { return ag.Embedding(e.Weight, idx) }

// Dropout is torch.nn.Dropout, active in training mode.
type Dropout struct {
	P     float64
	store *Store
}

// NewDropout returns a dropout layer of the store under b.
func NewDropout(b Builder, p float64) *Dropout { return &Dropout{P: p, store: b.store} }

// Forward zeroes elements with probability P in training mode.
func (d *Dropout) Forward(x *ag.Tensor) *ag.Tensor {
	return ag.Dropout(x, d.P, d.store.Training(), d.store.Generator())
}

// DropPath is stochastic depth per sample (torchvision's
// StochasticDepth(p, "row")), active in training mode.
type DropPath struct {
	P     float64
	store *Store
}

// NewDropPath returns a stochastic-depth layer of the store under b.
func NewDropPath(b Builder, p float64) *DropPath { return &DropPath{P: p, store: b.store} }

// Forward drops whole samples with probability P in training mode.
func (d *DropPath) Forward(x *ag.Tensor) *ag.Tensor {
	return ag.DropPath(x, d.P, d.store.Training(), d.store.Generator())
}

// Active reports whether Forward would drop anything now (training mode
// and P > 0); when it would not, Forward returns its input.
func (d *DropPath) Active() bool { return d.P > 0 && d.store.Training() }

// GELU is the exact (erf) GELU activation.
type GELU struct{}

// Forward applies GELU.
func (GELU) Forward(x *ag.Tensor) *ag.Tensor { return ag.GELU(x) }

// SiLU is the x*sigmoid(x) activation.
type SiLU struct{}

// Forward applies SiLU.
func (SiLU) Forward(x *ag.Tensor) *ag.Tensor { return ag.SiLU(x) }

// ReLU is the max(x, 0) activation.
type ReLU struct{}

// Forward applies ReLU.
func (ReLU) Forward(x *ag.Tensor) *ag.Tensor { return ag.ReLU(x) }

// Identity returns its input.
type Identity struct{}

// Forward returns x.
func (Identity) Forward(x *ag.Tensor) *ag.Tensor { return x }
