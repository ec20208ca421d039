package optim

import (
	"math"
	"strings"
	"testing"

	ag "github.com/vertebra-ml/vertebra/autograd"
)

// TestAdamWFirstStep checks one step by hand: with zero moments, the
// update is lr * g / (|g| + eps) after the decoupled decay.
func TestAdamWFirstStep(t *testing.T) {
	p := ag.FromFloat64([]float64{1, -2}, 2).SetRequiresGrad(true)
	frozen := ag.FromFloat64([]float64{5}, 1)
	p.SetGrad(ag.FromFloat64([]float64{0.5, -4}, 2))
	o := mustAdamW(t, []*ag.Tensor{p, frozen}, AdamWOptions{LR: 0.1, WeightDecay: 0.01})
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

// TestAdamWPerParameterStep is the reproduction: b first gets a
// gradient at the optimizer's second step, so its bias correction is that
// of its own first step and it moves by lr (0.1000), as in PyTorch, not by
// the 0.0744 a global step count gives.
func TestAdamWPerParameterStep(t *testing.T) {
	a := ag.FromFloat64([]float64{1}, 1).SetRequiresGrad(true)
	b := ag.FromFloat64([]float64{1}, 1).SetRequiresGrad(true)
	o := mustAdamW(t, []*ag.Tensor{a, b}, AdamWOptions{LR: 0.1, WeightDecay: Exactly(0)})
	a.SetGrad(ag.FromFloat64([]float64{1}, 1))
	o.Step()
	a.SetGrad(ag.FromFloat64([]float64{1}, 1))
	b.SetGrad(ag.FromFloat64([]float64{1}, 1))
	o.Step()
	if moved := 1 - b.Float64s()[0]; math.Abs(moved-0.1) > 1e-7 {
		t.Errorf("b moved by %.4f, want 0.1000", moved)
	}
	if s := o.State(0).Step; s != 2 {
		t.Errorf("a's step = %d, want 2", s)
	}
	if s := o.State(1).Step; s != 1 {
		t.Errorf("b's step = %d, want 1", s)
	}
}

// TestAdamWDefaults: the zero value is torch.optim.AdamW's defaults, and
// Exactly(0) asks for a real 0.
func TestAdamWDefaults(t *testing.T) {
	o := mustAdamW(t, nil, AdamWOptions{})
	want := AdamWOptions{LR: 1e-3, Betas: [2]float64{0.9, 0.999}, Eps: 1e-8, WeightDecay: 1e-2}
	if o.Options != want {
		t.Errorf("zero options = %+v, want %+v", o.Options, want)
	}
	o = mustAdamW(t, nil, AdamWOptions{LR: 0.5, Eps: Exactly(0), WeightDecay: Exactly(0)})
	if o.Options.LR != 0.5 || o.Options.Eps != 0 || o.Options.WeightDecay != 0 {
		t.Errorf("explicit options = %+v, want lr 0.5, eps 0, wd 0", o.Options)
	}
	// eps 0 really is 0 in the update: g/|g| exactly.
	p := ag.FromFloat64([]float64{0}, 1).SetRequiresGrad(true)
	p.SetGrad(ag.FromFloat64([]float64{1e-12}, 1))
	o = mustAdamW(t, []*ag.Tensor{p}, AdamWOptions{LR: 1, Eps: Exactly(0), WeightDecay: Exactly(0)})
	o.Step()
	if got := p.Float64s()[0]; math.Abs(got+1) > 1e-12 { // eps 1e-8 would give -1e-4
		t.Errorf("eps 0 step moved to %g, want -1", got)
	}
}

func TestAdamWRejects(t *testing.T) {
	for _, tc := range []struct {
		o    AdamWOptions
		want string
	}{
		{AdamWOptions{LR: -1}, "learning rate"},
		{AdamWOptions{LR: math.NaN()}, "learning rate"},
		{AdamWOptions{Betas: [2]float64{1, 0.999}}, "beta1"},
		{AdamWOptions{Betas: [2]float64{0.9, -0.1}}, "beta2"},
		{AdamWOptions{Eps: -1}, "eps"},
		{AdamWOptions{WeightDecay: -0.1}, "weight decay"},
	} {
		if _, err := NewAdamW(nil, tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want one naming %s", tc.o, err, tc.want)
		}
	}
	if _, err := NewAdamW(nil, AdamWOptions{LR: 1e-4, WeightDecay: 0.02}); err != nil {
		t.Errorf("the study's options rejected: %v", err)
	}
}

// TestAdamWStateDict: saving and loading the state mid-run gives the same
// trajectory as not stopping, step counts included.
func TestAdamWStateDict(t *testing.T) {
	newParams := func() []*ag.Tensor {
		return []*ag.Tensor{
			ag.FromFloat64([]float64{1, 2}, 2).SetRequiresGrad(true),
			ag.FromFloat64([]float64{3}, 1).SetRequiresGrad(true),
		}
	}
	grads := [][]float64{{0.5, -1}, {2}}
	step := func(o *AdamW, ps []*ag.Tensor, both bool) {
		ps[0].SetGrad(ag.FromFloat64(grads[0], 2))
		if both {
			ps[1].SetGrad(ag.FromFloat64(grads[1], 1))
		}
		o.Step()
		o.ZeroGrad()
	}
	ref := newParams()
	ro := mustAdamW(t, ref, AdamWOptions{LR: 0.1})
	for _, both := range []bool{false, true, true} {
		step(ro, ref, both)
	}

	ps := newParams()
	o := mustAdamW(t, ps, AdamWOptions{LR: 0.1})
	step(o, ps, false)
	d := o.StateDict()
	if len(d) != 3 || d["state.0.step"] == nil {
		t.Fatalf("state dict after one step has keys %v", keysOf(d))
	}
	// A fresh optimizer over float32 copies of the parameters resumes.
	ps2 := []*ag.Tensor{ps[0].Clone().SetRequiresGrad(true), ps[1].Clone().SetRequiresGrad(true)}
	o2 := mustAdamW(t, ps2, AdamWOptions{LR: 0.1})
	if err := o2.LoadStateDict(d); err != nil {
		t.Fatal(err)
	}
	step(o2, ps2, true)
	step(o2, ps2, true)
	for i := range ref {
		for j, w := range ref[i].Float64s() {
			if got := ps2[i].Float64s()[j]; math.Abs(got-w) > 1e-12 {
				t.Errorf("param %d[%d] = %.15g after resume, want %.15g", i, j, got, w)
			}
		}
	}
	bad := []map[string]*ag.Tensor{
		{"state.0.step": ag.Scalar(1)},
		{"state.7.step": ag.Scalar(1)},
		{"momentum": ag.Scalar(1)},
		{"state.1.step": ag.Scalar(1), "state.1.exp_avg": ag.Zeros(ag.Float64, 2), "state.1.exp_avg_sq": ag.Zeros(ag.Float64, 2)},
	}
	for _, d := range bad {
		if err := o2.LoadStateDict(d); err == nil {
			t.Errorf("LoadStateDict(%v) accepted", keysOf(d))
		}
	}
}

func keysOf(d map[string]*ag.Tensor) []string {
	var ks []string
	for k := range d {
		ks = append(ks, k)
	}
	return ks
}

func mustAdamW(t *testing.T, ps []*ag.Tensor, o AdamWOptions) *AdamW {
	t.Helper()
	a, err := NewAdamW(ps, o)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
