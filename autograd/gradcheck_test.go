package autograd

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func leaf(rng *rand.Rand, shape ...int) *Tensor {
	return RandN(rng, Float64, shape...).SetRequiresGrad(true)
}

// positive is a leaf with values in [0.5, 2), for log, sqrt, pow and division.
func positive(rng *rand.Rand, shape ...int) *Tensor {
	return RandU(rng, Float64, 0.5, 2, shape...).SetRequiresGrad(true)
}

type gradCase struct {
	name   string
	inputs func(rng *rand.Rand) []*Tensor
	f      func(in []*Tensor) *Tensor
}

func shapes(mk func(*rand.Rand, ...int) *Tensor, ss ...[]int) func(*rand.Rand) []*Tensor {
	return func(rng *rand.Rand) []*Tensor {
		out := make([]*Tensor, len(ss))
		for i, s := range ss {
			out[i] = mk(rng, s...)
		}
		return out
	}
}

func one(f func(*Tensor) *Tensor) func([]*Tensor) *Tensor {
	return func(in []*Tensor) *Tensor { return f(in[0]) }
}

func two(f func(a, b *Tensor) *Tensor) func([]*Tensor) *Tensor {
	return func(in []*Tensor) *Tensor { return f(in[0], in[1]) }
}

func gradCases() []gradCase {
	s := func(d ...int) []int { return d }
	cases := []gradCase{
		{"add/broadcast", shapes(leaf, s(3, 1, 4), s(2, 4)), two(Add)},
		{"add/scalar-tensor", shapes(leaf, s(3, 4), s()), two(Add)},
		{"add/size1", shapes(leaf, s(1, 1), s(1)), two(Add)},
		{"sub/broadcast", shapes(leaf, s(2, 3), s(3)), two(Sub)},
		{"mul/outer", shapes(leaf, s(4, 1), s(1, 5)), two(Mul)},
		{"mul/same", shapes(leaf, s(2, 3, 2), s(2, 3, 2)), two(Mul)},
		{"div/broadcast", shapes(positive, s(2, 3), s(2, 1)), two(Div)},
		{"neg", shapes(leaf, s(3, 2)), one(Neg)},
		{"exp", shapes(leaf, s(3, 2)), one(Exp)},
		{"log", shapes(positive, s(3, 2)), one(Log)},
		{"sqrt", shapes(positive, s(3, 2)), one(Sqrt)},
		{"abs", shapes(leaf, s(3, 2)), one(Abs)},
		{"tanh", shapes(leaf, s(3, 2)), one(Tanh)},
		{"pow/2", shapes(leaf, s(3, 2)), one(func(x *Tensor) *Tensor { return Pow(x, 2) })},
		{"pow/-1.5", shapes(positive, s(3, 2)), one(func(x *Tensor) *Tensor { return Pow(x, -1.5) })},
		{"add_scalar", shapes(leaf, s(4)), one(func(x *Tensor) *Tensor { return AddScalar(x, 3) })},
		{"mul_scalar", shapes(leaf, s(4)), one(func(x *Tensor) *Tensor { return MulScalar(x, -2.5) })},
		{"relu", shapes(leaf, s(4, 5)), one(ReLU)},
		{"sigmoid", shapes(leaf, s(4, 5)), one(Sigmoid)},
		{"silu", shapes(leaf, s(4, 5)), one(SiLU)},
		{"gelu", shapes(leaf, s(4, 5)), one(GELU)},
		{"gelu_tanh", shapes(leaf, s(4, 5)), one(GELUTanh)},
		{"sum/axes", shapes(leaf, s(2, 3, 4)), one(func(x *Tensor) *Tensor { return Sum(x, []int{0, 2}, false) })},
		{"sum/keepdim", shapes(leaf, s(2, 3, 4)), one(func(x *Tensor) *Tensor { return Sum(x, []int{-1}, true) })},
		{"sum/all", shapes(leaf, s(2, 3)), one(func(x *Tensor) *Tensor { return Sum(x, nil, false) })},
		{"mean/axes", shapes(leaf, s(2, 3, 4)), one(func(x *Tensor) *Tensor { return Mean(x, []int{1}, false) })},
		{"max/axis", shapes(leaf, s(3, 5, 2)), one(func(x *Tensor) *Tensor { return Max(x, []int{1}, false) })},
		{"max/all", shapes(leaf, s(3, 4)), one(func(x *Tensor) *Tensor { return Max(x, nil, true) })},
		{"var/unbiased", shapes(leaf, s(3, 5)), one(func(x *Tensor) *Tensor { return Var(x, []int{1}, 1, false) })},
		{"var/biased-all", shapes(leaf, s(2, 3, 2)), one(func(x *Tensor) *Tensor { return Var(x, nil, 0, true) })},
		{"matmul/2d", shapes(leaf, s(3, 4), s(4, 2)), two(MatMul)},
		{"matmul/batched", shapes(leaf, s(2, 3, 4), s(2, 4, 5)), two(MatMul)},
		{"matmul/broadcast-a", shapes(leaf, s(3, 4), s(2, 4, 5)), two(MatMul)},
		{"matmul/broadcast-b", shapes(leaf, s(2, 3, 4), s(4, 2)), two(MatMul)},
		{"matmul/broadcast-both", shapes(leaf, s(2, 1, 3, 4), s(3, 4, 2)), two(MatMul)},
		{"matmul/vector", shapes(leaf, s(4), s(2, 4, 3)), two(MatMul)},
		{"matmul/matvec", shapes(leaf, s(3, 4), s(4)), two(MatMul)},
		{"matmul/dot", shapes(leaf, s(4), s(4)), two(MatMul)},
		{"matmul/size1", shapes(leaf, s(1, 1), s(1, 3)), two(MatMul)},
		{"matmulT/a", shapes(leaf, s(2, 4, 3), s(2, 4, 5)), two(func(a, b *Tensor) *Tensor { return MatMulT(a, b, true, false) })},
		{"matmulT/b", shapes(leaf, s(2, 3, 4), s(5, 4)), two(func(a, b *Tensor) *Tensor { return MatMulT(a, b, false, true) })},
		{"matmulT/ab", shapes(leaf, s(4, 3), s(2, 5, 4)), two(func(a, b *Tensor) *Tensor { return MatMulT(a, b, true, true) })},
		{"linear", shapes(leaf, s(2, 3, 5), s(4, 5), s(4)), func(in []*Tensor) *Tensor { return Linear(in[0], in[1], in[2]) }},
		{"linear/nobias", shapes(leaf, s(3, 5), s(2, 5)), func(in []*Tensor) *Tensor { return Linear(in[0], in[1], nil) }},
		{"reshape", shapes(leaf, s(2, 6)), one(func(x *Tensor) *Tensor { return Mul(Reshape(x, 3, -1), Reshape(x, 3, 4)) })},
		{"permute", shapes(leaf, s(2, 3, 4)), one(func(x *Tensor) *Tensor { return Permute(x, 2, 0, 1) })},
		{"transpose", shapes(leaf, s(2, 3, 4)), one(func(x *Tensor) *Tensor { return Transpose(x, 0, -1) })},
		{"expand", shapes(leaf, s(3, 1)), one(func(x *Tensor) *Tensor { return Expand(x, 2, 3, 4) })},
		{"slice/step", shapes(leaf, s(3, 7)), one(func(x *Tensor) *Tensor { return Slice(x, 1, 1, -1, 2) })},
		{"slice/negative", shapes(leaf, s(5, 2)), one(func(x *Tensor) *Tensor { return Slice(x, 0, -3, 5, 1) })},
		{"concat", shapes(leaf, s(2, 3), s(2, 1), s(2, 2)), func(in []*Tensor) *Tensor { return Concat(1, in...) }},
		{"split", shapes(leaf, s(5, 2)), one(func(x *Tensor) *Tensor {
			p := Split(x, 0, 2, 3)
			return Add(Sum(p[0], nil, false), MulScalar(Sum(Mul(p[1], p[1]), nil, false), 0.5))
		})},
		{"pad", shapes(leaf, s(2, 3, 2)), one(func(x *Tensor) *Tensor { return Pad(x, [][2]int{{0, 0}, {1, 2}, {0, 1}}, 0.5) })},
		{"roll", shapes(leaf, s(3, 4, 2)), one(func(x *Tensor) *Tensor { return Roll(x, []int{-1, 3}, []int{0, 1}) })},
		{"index_select/repeats", shapes(leaf, s(4, 3)), one(func(x *Tensor) *Tensor { return IndexSelect(x, 0, Indices(CPU, []int{3, 0, 3, 1}, 4)) })},
		{"index_select/axis1", shapes(leaf, s(2, 4, 3)), one(func(x *Tensor) *Tensor { return IndexSelect(x, 1, Indices(CPU, []int{2, 2, 0}, 4)) })},
		{"embedding", shapes(leaf, s(5, 3)), one(func(x *Tensor) *Tensor { return Embedding(x, Reshape(Indices(CPU, []int{4, 1, 1, 0}, 5), 2, 2)) })},
		{"gather", shapes(leaf, s(3, 4)), one(func(x *Tensor) *Tensor { return Gather(x, 1, FromInt32([]int32{3, 0, 1, 1, 2, 2}, 3, 2)) })},
		{"softmax", shapes(leaf, s(2, 5, 3)), one(func(x *Tensor) *Tensor { return Softmax(x, 1) })},
		{"log_softmax", shapes(leaf, s(3, 5)), one(func(x *Tensor) *Tensor { return LogSoftmax(x, -1) })},
		{"layer_norm/last", shapes(leaf, s(3, 5), s(5), s(5)), func(in []*Tensor) *Tensor { return LayerNorm(in[0], in[1], in[2], []int{5}, 1e-5) }},
		{"layer_norm/two-dims", shapes(leaf, s(2, 3, 4), s(3, 4), s(3, 4)), func(in []*Tensor) *Tensor { return LayerNorm(in[0], in[1], in[2], []int{3, 4}, 1e-5) }},
		{"layer_norm/no-affine", shapes(leaf, s(4, 6)), one(func(x *Tensor) *Tensor { return LayerNorm(x, nil, nil, []int{6}, 1e-5) })},
		{"layer_norm2d", shapes(leaf, s(2, 3, 2, 3), s(3), s(3)), func(in []*Tensor) *Tensor { return LayerNorm2d(in[0], in[1], in[2], 1e-6) }},
		{"batch_norm/train", shapes(leaf, s(3, 2, 2, 3), s(2), s(2)), func(in []*Tensor) *Tensor {
			rm, rv := Zeros(Float64, 2), Ones(Float64, 2)
			return BatchNorm(in[0], in[1], in[2], rm, rv, BatchNormOptions{Training: true, Momentum: 0.1, Eps: 1e-5})
		}},
		{"batch_norm/train-1d", shapes(leaf, s(5, 3), s(3), s(3)), func(in []*Tensor) *Tensor {
			return BatchNorm(in[0], in[1], in[2], nil, nil, BatchNormOptions{Training: true, Eps: 1e-5})
		}},
		{"batch_norm/eval", shapes(leaf, s(2, 3, 2, 2), s(3), s(3)), func(in []*Tensor) *Tensor {
			rm := FromFloat64([]float64{0.1, -0.2, 0.3}, 3)
			rv := FromFloat64([]float64{0.5, 1.5, 2}, 3)
			return BatchNorm(in[0], in[1], in[2], rm, rv, BatchNormOptions{Eps: 1e-3})
		}},
		{"batch_norm/train-silu", shapes(leaf, s(3, 2, 2, 3), s(2), s(2)), func(in []*Tensor) *Tensor {
			return BatchNorm(in[0], in[1], in[2], nil, nil, BatchNormOptions{Training: true, Eps: 1e-5, Activation: ActSiLU})
		}},
		{"batch_norm/train-relu", shapes(leaf, s(3, 2, 2, 3), s(2), s(2)), func(in []*Tensor) *Tensor {
			return BatchNorm(in[0], in[1], in[2], nil, nil, BatchNormOptions{Training: true, Eps: 1e-5, Activation: ActReLU})
		}},
		{"batch_norm/train-add-relu", shapes(leaf, s(3, 2, 2, 3), s(2), s(2), s(3, 2, 2, 3)), func(in []*Tensor) *Tensor {
			return BatchNorm(in[0], in[1], in[2], nil, nil, BatchNormOptions{Training: true, Eps: 1e-5, Activation: ActReLU, Residual: in[3]})
		}},
		{"batch_norm/eval-add", shapes(leaf, s(2, 3, 2, 2), s(3), s(3), s(2, 3, 2, 2)), func(in []*Tensor) *Tensor {
			rm := FromFloat64([]float64{0.1, -0.2, 0.3}, 3)
			rv := FromFloat64([]float64{0.5, 1.5, 2}, 3)
			return BatchNorm(in[0], in[1], in[2], rm, rv, BatchNormOptions{Eps: 1e-3, Residual: in[3]})
		}},
		{"batch_norm/eval-silu", shapes(leaf, s(2, 3, 2, 2), s(3), s(3)), func(in []*Tensor) *Tensor {
			rm := FromFloat64([]float64{0.1, -0.2, 0.3}, 3)
			rv := FromFloat64([]float64{0.5, 1.5, 2}, 3)
			return BatchNorm(in[0], in[1], in[2], rm, rv, BatchNormOptions{Eps: 1e-3, Activation: ActSiLU})
		}},
		{"conv2d/plain", shapes(leaf, s(2, 2, 5, 4), s(3, 2, 3, 3), s(3)), conv(Conv2dOptions{})},
		{"conv2d/stride2-pad1", shapes(leaf, s(1, 2, 5, 6), s(2, 2, 3, 3), s(2)), conv(Conv2dOptions{Stride: [2]int{2, 2}, Padding: [2]int{1, 1}})},
		{"conv2d/dilation2", shapes(leaf, s(1, 2, 6, 6), s(2, 2, 3, 3), s(2)), conv(Conv2dOptions{Padding: [2]int{2, 2}, Dilation: [2]int{2, 2}})},
		{"conv2d/groups2", shapes(leaf, s(1, 4, 4, 4), s(4, 2, 3, 3), s(4)), conv(Conv2dOptions{Padding: [2]int{1, 1}, Groups: 2})},
		{"conv2d/depthwise-s2", shapes(leaf, s(2, 3, 5, 5), s(3, 1, 3, 3), s(3)), conv(Conv2dOptions{Stride: [2]int{2, 2}, Padding: [2]int{1, 1}, Groups: 3})},
		{"conv2d/patch2x3", shapes(leaf, s(1, 2, 4, 6), s(3, 2, 2, 3), s(3)), conv(Conv2dOptions{Stride: [2]int{2, 3}})},
		{"conv2d/1x1-nobias", shapes(leaf, s(2, 3, 2, 3), s(4, 3, 1, 1)), func(in []*Tensor) *Tensor { return Conv2d(in[0], in[1], nil, Conv2dOptions{}) }},
		{"max_pool2d", shapes(leaf, s(1, 2, 5, 7)), one(func(x *Tensor) *Tensor {
			return MaxPool2d(x, MaxPool2dOptions{Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}, Padding: [2]int{1, 1}})
		})},
		{"max_pool2d/ceil", shapes(leaf, s(1, 1, 6, 6)), one(func(x *Tensor) *Tensor {
			return MaxPool2d(x, MaxPool2dOptions{Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}, CeilMode: true})
		})},
		{"adaptive_avg_pool2d", shapes(leaf, s(2, 2, 5, 7)), one(func(x *Tensor) *Tensor { return AdaptiveAvgPool2d(x, 3, 2) })},
		{"adaptive_avg_pool2d/global", shapes(leaf, s(1, 3, 4, 4)), one(func(x *Tensor) *Tensor { return AdaptiveAvgPool2d(x, 1, 1) })},
		{"bilinear/down", shapes(leaf, s(1, 2, 7, 5)), one(func(x *Tensor) *Tensor { return InterpolateBilinear(x, 4, 3, false) })},
		{"bilinear/up", shapes(leaf, s(1, 1, 3, 4)), one(func(x *Tensor) *Tensor { return InterpolateBilinear(x, 5, 7, false) })},
		{"bilinear/align-corners", shapes(leaf, s(1, 1, 3, 4)), one(func(x *Tensor) *Tensor { return InterpolateBilinear(x, 5, 6, true) })},
		{"attention/bias", shapes(leaf, s(2, 3, 4), s(2, 5, 4), s(2, 5, 3), s(3, 5)), func(in []*Tensor) *Tensor {
			return ScaledDotProductAttention(in[0], in[1], in[2], in[3], 0)
		}},
		{"dropout", shapes(leaf, s(4, 5)), one(func(x *Tensor) *Tensor {
			return Dropout(x, 0.3, true, NewGenerator(7))
		})},
		{"drop_path", shapes(leaf, s(4, 2, 3)), one(func(x *Tensor) *Tensor {
			return DropPath(x, 0.5, true, NewGenerator(3))
		})},
		{"cross_entropy/plain", shapes(leaf, s(5, 3)), one(func(x *Tensor) *Tensor {
			return CrossEntropy(x, []int{0, 2, 1, 2, 2}, CrossEntropyOptions{})
		})},
		{"cross_entropy/weighted-smoothed", shapes(leaf, s(5, 3)), one(func(x *Tensor) *Tensor {
			w := FromFloat64([]float64{1, 4, 9}, 3)
			return CrossEntropy(x, []int{0, 2, 1, 2, 0}, CrossEntropyOptions{Weight: w, LabelSmoothing: 0.1})
		})},
	}
	return cases
}

func conv(o Conv2dOptions) func([]*Tensor) *Tensor {
	return func(in []*Tensor) *Tensor { return Conv2d(in[0], in[1], in[2], o) }
}

func TestGradCheck(t *testing.T) {
	for i, c := range gradCases() {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(i), 42))
			if err := GradCheck(c.f, c.inputs(rng), GradCheckOptions{Seed: uint64(i)}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestGradCheckCatchesBrokenRule records an op whose backward rule is off by
// a factor and checks that GradCheck reports it.
func TestGradCheckCatchesBrokenRule(t *testing.T) {
	brokenSquare := func(in []*Tensor) *Tensor {
		x := in[0]
		y := x.empty(x.shape...)
		x.Device().Binary(0+2, y.st, x.st, x.st, x.shape, contiguousStrides(x.shape), contiguousStrides(x.shape)) // x*x
		return record(y, "broken_square", []*Tensor{x}, func(g *Tensor) []*Tensor {
			return []*Tensor{Mul(g, x)} // should be 2*g*x
		})
	}
	rng := rand.New(rand.NewPCG(1, 2))
	err := GradCheck(brokenSquare, []*Tensor{leaf(rng, 3, 2)}, GradCheckOptions{})
	if err == nil || !strings.Contains(err.Error(), "central difference") {
		t.Fatalf("GradCheck of a broken rule: got %v, want a mismatch", err)
	}
}
