// Package optim holds the optimizers that update a model's trainable
// parameters from their accumulated gradients.
//
// It is not for gradients themselves (package autograd) or for choosing
// which parameters train (nn.Store's Freeze and UnfreezeLast).
package optim

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/autograd/kernel"
)

// AdamWOptions are torch.optim.AdamW's hyper-parameters. The zero value of
// each field means PyTorch's default, so AdamWOptions{} is
// torch.optim.AdamW(params): lr 1e-3, betas (0.9, 0.999), eps 1e-8,
// weight decay 1e-2. To ask for an actual 0 (eps=0, weight_decay=0), write
// Exactly(0); pass values that come from a user through Exactly too, so
// that a 0 they typed stays 0.
type AdamWOptions struct {
	LR          float64
	Betas       [2]float64 // {0, 0} means {0.9, 0.999}
	Eps         float64
	WeightDecay float64
}

// Exactly returns x for an AdamWOptions field so that 0 means 0 rather
// than the default. It marks 0 as negative zero, which computes as 0.
func Exactly(x float64) float64 {
	if x == 0 {
		return math.Copysign(0, -1)
	}
	return x
}

// isUnset reports a field left at its zero value (not Exactly(0)).
func isUnset(x float64) bool { return x == 0 && !math.Signbit(x) }

// withDefaults fills the unset fields with PyTorch's defaults.
func (o AdamWOptions) withDefaults() AdamWOptions {
	def := func(x *float64, d float64) {
		if isUnset(*x) {
			*x = d
		}
	}
	def(&o.LR, 1e-3)
	if isUnset(o.Betas[0]) && isUnset(o.Betas[1]) {
		o.Betas = [2]float64{0.9, 0.999}
	}
	def(&o.Eps, 1e-8)
	def(&o.WeightDecay, 1e-2)
	return o
}

// Validate reports hyper-parameters torch.optim.AdamW refuses at
// construction, after the defaults are applied.
func (o AdamWOptions) Validate() error {
	o = o.withDefaults()
	bad := func(x float64) bool { return x < 0 || math.IsNaN(x) || math.IsInf(x, 0) }
	switch {
	case bad(o.LR):
		return fmt.Errorf("optim: AdamW learning rate %g must be >= 0", o.LR)
	case bad(o.Betas[0]) || o.Betas[0] >= 1:
		return fmt.Errorf("optim: AdamW beta1 %g must be in [0, 1)", o.Betas[0])
	case bad(o.Betas[1]) || o.Betas[1] >= 1:
		return fmt.Errorf("optim: AdamW beta2 %g must be in [0, 1)", o.Betas[1])
	case bad(o.Eps):
		return fmt.Errorf("optim: AdamW eps %g must be >= 0", o.Eps)
	case bad(o.WeightDecay):
		return fmt.Errorf("optim: AdamW weight decay %g must be >= 0", o.WeightDecay)
	}
	return nil
}

// AdamW is torch.optim.AdamW (amsgrad off): decoupled weight decay
// p *= 1 - lr*wd, then the Adam update with bias correction. As PyTorch,
// each parameter keeps its own step count, starting at its first gradient,
// so a parameter that joins late (unfrozen, or an unused branch) gets the
// bias correction of its own first step.
type AdamW struct {
	// Options are the hyper-parameters with the defaults filled in; they
	// may be changed between steps (a learning-rate schedule).
	Options AdamWOptions
	params  []*ag.Tensor
	state   []ParamState
	steps   int
}

// ParamState is one parameter's state, PyTorch's optimizer.state[p]: the
// number of updates it has had and its first and second moments (nil
// before its first update).
type ParamState struct {
	Step             int
	ExpAvg, ExpAvgSq *ag.Tensor
}

// NewAdamW returns an optimizer over params, which must be leaves, or an
// error naming the first hyper-parameter torch.optim.AdamW would refuse.
func NewAdamW(params []*ag.Tensor, o AdamWOptions) (*AdamW, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	return &AdamW{Options: o.withDefaults(), params: params, state: make([]ParamState, len(params))}, nil
}

// Steps is the number of times Step was called.
func (a *AdamW) Steps() int { return a.steps }

// Step updates every parameter that has a gradient; parameters without one
// (frozen, or unused this step) are left alone, as PyTorch does.
func (a *AdamW) Step() {
	a.steps++
	o := a.Options
	b1, b2 := o.Betas[0], o.Betas[1]
	ag.NoGrad(func() {
		for i, p := range a.params {
			g := p.Grad()
			if g == nil {
				continue
			}
			s := &a.state[i]
			if s.ExpAvg == nil {
				s.ExpAvg = ag.FullOn(p.Device(), p.DType(), 0, p.Shape()...)
				s.ExpAvgSq = ag.FullOn(p.Device(), p.DType(), 0, p.Shape()...)
			}
			s.Step++
			// One fused kernel on the parameter's device (kernel.AdamW has
			// the formula, PyTorch's).
			ag.AdamWUpdate(p, g, s.ExpAvg, s.ExpAvgSq, kernel.AdamW{LR: o.LR, Beta1: b1, Beta2: b2, Eps: o.Eps, WeightDecay: o.WeightDecay, Step: s.Step})
		}
	})
}

// To moves the optimizer's moments to dev (nn.Store.To does it for an
// optimizer attached to the store); the parameters move with their store.
func (a *AdamW) To(dev ag.Device) error {
	for i := range a.state {
		for _, t := range []*ag.Tensor{a.state[i].ExpAvg, a.state[i].ExpAvgSq} {
			if t != nil {
				if err := t.MoveTo(dev); err != nil {
					return fmt.Errorf("optim: moving AdamW state: %w", err)
				}
			}
		}
	}
	return nil
}

// ZeroGrad clears the gradients of every parameter.
func (a *AdamW) ZeroGrad() {
	for _, p := range a.params {
		p.ZeroGrad()
	}
}

// State returns parameter i's state (its tensors are the optimizer's own).
func (a *AdamW) State(i int) ParamState { return a.state[i] }

// StateDict returns the per-parameter state under the keys PyTorch's
// optimizer.state_dict()["state"] uses, flattened: "state.<i>.step" (a
// float32 scalar, as PyTorch keeps it), "state.<i>.exp_avg" and
// "state.<i>.exp_avg_sq", for parameters that have been updated. The
// tensors are the optimizer's own; write them out (safetensors) with the
// model to resume training exactly.
func (a *AdamW) StateDict() map[string]*ag.Tensor {
	d := map[string]*ag.Tensor{}
	for i, s := range a.state {
		if s.ExpAvg == nil {
			continue
		}
		k := "state." + strconv.Itoa(i) + "."
		d[k+"step"] = ag.Scalar(float64(s.Step))
		d[k+"exp_avg"] = s.ExpAvg
		d[k+"exp_avg_sq"] = s.ExpAvgSq
	}
	return d
}

// LoadStateDict restores what StateDict returned, copying the moments into
// tensors on each parameter's device; parameters absent from d start
// fresh. An unknown key, a parameter index out of range, a missing
// companion key or a moment whose shape differs from its parameter's is an
// error naming the key, and leaves the optimizer unchanged.
func (a *AdamW) LoadStateDict(d map[string]*ag.Tensor) error {
	state := make([]ParamState, len(a.params))
	seen := map[int]bool{}
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		rest, ok := strings.CutPrefix(k, "state.")
		idx, field, ok2 := strings.Cut(rest, ".")
		i, err := strconv.Atoi(idx)
		if !ok || !ok2 || err != nil || (field != "step" && field != "exp_avg" && field != "exp_avg_sq") {
			return fmt.Errorf("optim: AdamW state key %q: want state.<i>.step, .exp_avg or .exp_avg_sq", k)
		}
		if i < 0 || i >= len(a.params) {
			return fmt.Errorf("optim: AdamW state key %q: parameter %d out of range for %d parameters", k, i, len(a.params))
		}
		if seen[i] {
			continue
		}
		seen[i] = true
		p := a.params[i]
		pre := "state." + idx + "."
		step, m, v := d[pre+"step"], d[pre+"exp_avg"], d[pre+"exp_avg_sq"]
		if step == nil || m == nil || v == nil {
			return fmt.Errorf("optim: AdamW state for parameter %d: need all of %sstep, %sexp_avg, %sexp_avg_sq", i, pre, pre, pre)
		}
		if step.Len() != 1 || step.Float64s()[0] < 1 || step.Float64s()[0] != math.Trunc(step.Float64s()[0]) {
			return fmt.Errorf("optim: AdamW state key %q: want a positive whole number", pre+"step")
		}
		for _, t := range []struct {
			key string
			x   *ag.Tensor
		}{{pre + "exp_avg", m}, {pre + "exp_avg_sq", v}} {
			if !slices.Equal(t.x.Shape(), p.Shape()) {
				return fmt.Errorf("optim: AdamW state key %q: shape %v, parameter has %v", t.key, t.x.Shape(), p.Shape())
			}
		}
		state[i] = ParamState{
			Step:     int(step.Float64s()[0]),
			ExpAvg:   copyLike(m, p),
			ExpAvgSq: copyLike(v, p),
		}
	}
	a.state = state
	return nil
}

// copyLike returns a copy of x with p's dtype on p's device.
func copyLike(x, p *ag.Tensor) *ag.Tensor {
	return x.AsType(p.DType()).To(p.Device()).Clone()
}
