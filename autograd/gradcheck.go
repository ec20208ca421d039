package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// GradCheckOptions are the finite-difference step and the tolerances of
// GradCheck; zero values take torch.autograd.gradcheck's defaults
// (eps 1e-6, atol 1e-5, rtol 1e-3).
type GradCheckOptions struct {
	Eps, Atol, Rtol float64
	Seed            uint64 // seeds the random upstream gradient
}

// GradCheck compares the gradients that Backward computes for f with
// central differences. inputs must be float64 CPU leaves; those that
// require gradients are checked. f must be deterministic (reseed any
// generator it uses on every call). It returns an error naming the first
// input and element whose gradient is off.
func GradCheck(f func(in []*Tensor) *Tensor, inputs []*Tensor, o GradCheckOptions) error {
	if o.Eps == 0 {
		o.Eps = 1e-6
	}
	if o.Atol == 0 {
		o.Atol = 1e-5
	}
	if o.Rtol == 0 {
		o.Rtol = 1e-3
	}
	for i, in := range inputs {
		if in.DType() != Float64 || in.Device() != CPU {
			return fmt.Errorf("gradcheck: input %d is %s on %s, want float64 on cpu", i, in.DType(), in.Device().Name())
		}
		in.ZeroGrad()
	}
	y := f(inputs)
	if !y.RequiresGrad() {
		return fmt.Errorf("gradcheck: output does not require gradients")
	}
	rng := rand.New(rand.NewPCG(o.Seed, 1))
	dout := RandN(rng, Float64, y.shape...)
	douts := dout.Float64s()
	y.BackwardWith(dout)

	objective := func() float64 {
		var s float64
		NoGrad(func() {
			v := f(inputs).Float64s()
			for i := range v {
				s += v[i] * douts[i]
			}
		})
		return s
	}
	for i, in := range inputs {
		if !in.RequiresGrad() {
			continue
		}
		var analytic []float64
		if in.Grad() != nil {
			analytic = in.Grad().Float64s()
		} else {
			analytic = make([]float64, in.Len())
		}
		x := host(in.st).f64
		for j := range x {
			orig := x[j]
			x[j] = orig + o.Eps
			plus := objective()
			x[j] = orig - o.Eps
			minus := objective()
			x[j] = orig
			numeric := (plus - minus) / (2 * o.Eps)
			if d := math.Abs(analytic[j] - numeric); d > o.Atol+o.Rtol*math.Abs(numeric) || math.IsNaN(analytic[j]) {
				return fmt.Errorf("gradcheck: input %d %v element %d: backward gives %.8g, central difference %.8g", i, in.shape, j, analytic[j], numeric)
			}
		}
	}
	return nil
}
