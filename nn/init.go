package nn

import (
	"math"
	"math/rand/v2"
)

// Init returns the initial values of a tensor of the given shape, drawing
// from rng. The initialisers follow torch.nn.init.
type Init func(rng *rand.Rand, shape []int) []float64

// Constant fills with v.
func Constant(v float64) Init {
	return func(_ *rand.Rand, shape []int) []float64 {
		out := make([]float64, numel(shape))
		for i := range out {
			out[i] = v
		}
		return out
	}
}

// Zeros fills with 0.
func Zeros() Init { return Constant(0) }

// Ones fills with 1.
func Ones() Init { return Constant(1) }

// Uniform draws from U(lo, hi).
func Uniform(lo, hi float64) Init {
	return func(rng *rand.Rand, shape []int) []float64 {
		out := make([]float64, numel(shape))
		for i := range out {
			out[i] = lo + (hi-lo)*rng.Float64()
		}
		return out
	}
}

// Normal draws from N(0, std^2).
func Normal(std float64) Init {
	return func(rng *rand.Rand, shape []int) []float64 {
		out := make([]float64, numel(shape))
		for i := range out {
			out[i] = std * rng.NormFloat64()
		}
		return out
	}
}

// TruncNormal draws from N(0, std^2) restricted to [-2, 2] (absolute
// bounds, as torch.nn.init.trunc_normal_'s defaults), by rejection.
func TruncNormal(std float64) Init {
	return func(rng *rand.Rand, shape []int) []float64 {
		out := make([]float64, numel(shape))
		for i := range out {
			for {
				v := std * rng.NormFloat64()
				if v >= -2 && v <= 2 {
					out[i] = v
					break
				}
			}
		}
		return out
	}
}

// KaimingUniform is PyTorch's default for Linear and Conv weights and
// biases: kaiming_uniform_ with a = sqrt(5), which is U(-b, b) with
// b = 1/sqrt(fanIn).
func KaimingUniform(fanIn int) Init {
	b := 1 / math.Sqrt(float64(max(fanIn, 1)))
	return Uniform(-b, b)
}

// KaimingNormalFanOut is kaiming_normal_(mode="fan_out",
// nonlinearity="relu"), torchvision's ResNet and EfficientNet conv init:
// N(0, 2/fanOut).
func KaimingNormalFanOut(fanOut int) Init {
	return Normal(math.Sqrt(2 / float64(max(fanOut, 1))))
}

func sqrt(x float64) float64 { return math.Sqrt(x) }
