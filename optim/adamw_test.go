package optim

import (
	"math"
	"testing"

	ag "github.com/vertebra-ml/vertebra/autograd"
)

// TestAdamWFirstStep checks one step by hand: with zero moments, the
// update is lr * g / (|g| + eps) after the decoupled decay.
func TestAdamWFirstStep(t *testing.T) {
	p := ag.FromFloat64([]float64{1, -2}, 2).SetRequiresGrad(true)
	frozen := ag.FromFloat64([]float64{5}, 1)
	p.SetGrad(ag.FromFloat64([]float64{0.5, -4}, 2))
	o := NewAdamW([]*ag.Tensor{p, frozen}, AdamWOptions{LR: 0.1, WeightDecay: 0.01})
	o.Step()
	got := p.Float64s()
	for i, w := range []float64{1 * (1 - 0.001), -2 * (1 - 0.001)} {
		g := []float64{0.5, -4}[i]
		w -= 0.1 * g / (math.Abs(g) + 1e-8)
		if math.Abs(got[i]-w) > 1e-12 {
			t.Errorf("param %d = %.15g, want %.15g", i, got[i], w)
		}
	}
	if frozen.Float64s()[0] != 5 {
		t.Error("a parameter without a gradient moved")
	}
	if o.Steps() != 1 {
		t.Errorf("Steps = %d", o.Steps())
	}
}

func TestAdamWOptionsValidate(t *testing.T) {
	bad := []AdamWOptions{
		{LR: -1, Betas: [2]float64{0.9, 0.999}},
		{LR: 1e-3, Betas: [2]float64{1, 0.999}},
		{LR: 1e-3, Betas: [2]float64{0.9, 0.999}, Eps: -1},
		{LR: 1e-3, Betas: [2]float64{0.9, 0.999}, WeightDecay: -0.1},
	}
	for _, o := range bad {
		if o.Validate() == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	if err := (AdamWOptions{LR: 1e-4, Betas: [2]float64{0.9, 0.999}, WeightDecay: 0.02}).Validate(); err != nil {
		t.Errorf("the study's options rejected: %v", err)
	}
}
