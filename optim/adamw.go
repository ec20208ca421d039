// Package optim holds the optimizers that update a model's trainable
// parameters from their accumulated gradients.
//
// It is not for gradients themselves (package autograd) or for choosing
// which parameters train (nn.Store's Freeze and UnfreezeLast).
package optim

import (
	"fmt"
	"math"

	ag "github.com/vertebra-ml/vertebra/autograd"
)

// AdamWOptions are torch.optim.AdamW's hyper-parameters; zero Betas and
// Eps take PyTorch's defaults (0.9, 0.999) and 1e-8.
type AdamWOptions struct {
	LR          float64
	Betas       [2]float64
	Eps         float64
	WeightDecay float64
}

// AdamW is torch.optim.AdamW (amsgrad off): decoupled weight decay
// p *= 1 - lr*wd, then the Adam update with bias correction.
type AdamW struct {
	Options AdamWOptions
	params  []*ag.Tensor
	m, v    []*ag.Tensor
	steps   int
}

// NewAdamW returns an optimizer over params, which must be leaves.
func NewAdamW(params []*ag.Tensor, o AdamWOptions) *AdamW {
	if o.Betas == [2]float64{} {
		o.Betas = [2]float64{0.9, 0.999}
	}
	if o.Eps == 0 {
		o.Eps = 1e-8
	}
	return &AdamW{Options: o, params: params, m: make([]*ag.Tensor, len(params)), v: make([]*ag.Tensor, len(params))}
}

// Validate reports hyper-parameters PyTorch would refuse.
func (o AdamWOptions) Validate() error {
	switch {
	case o.LR < 0 || math.IsNaN(o.LR):
		return fmt.Errorf("optim: AdamW learning rate %g must be >= 0", o.LR)
	case o.Betas[0] < 0 || o.Betas[0] >= 1 || o.Betas[1] < 0 || o.Betas[1] >= 1:
		return fmt.Errorf("optim: AdamW betas %v must be in [0, 1)", o.Betas)
	case o.Eps < 0:
		return fmt.Errorf("optim: AdamW eps %g must be >= 0", o.Eps)
	case o.WeightDecay < 0:
		return fmt.Errorf("optim: AdamW weight decay %g must be >= 0", o.WeightDecay)
	}
	return nil
}

// Steps is the number of steps taken.
func (a *AdamW) Steps() int { return a.steps }

// Step updates every parameter that has a gradient; parameters without one
// (frozen, or unused this step) are left alone, as PyTorch does.
func (a *AdamW) Step() {
	a.steps++
	o := a.Options
	b1, b2 := o.Betas[0], o.Betas[1]
	bc1 := 1 - math.Pow(b1, float64(a.steps))
	bc2 := 1 - math.Pow(b2, float64(a.steps))
	ag.NoGrad(func() {
		for i, p := range a.params {
			g := p.Grad()
			if g == nil {
				continue
			}
			if a.m[i] == nil {
				a.m[i] = ag.FullOn(p.Device(), p.DType(), 0, p.Shape()...)
				a.v[i] = ag.FullOn(p.Device(), p.DType(), 0, p.Shape()...)
			}
			m := ag.Add(ag.MulScalar(a.m[i], b1), ag.MulScalar(g, 1-b1))
			v := ag.Add(ag.MulScalar(a.v[i], b2), ag.MulScalar(ag.Mul(g, g), 1-b2))
			a.m[i].CopyFrom(m)
			a.v[i].CopyFrom(v)
			denom := ag.AddScalar(ag.MulScalar(ag.Sqrt(v), 1/math.Sqrt(bc2)), o.Eps)
			upd := ag.MulScalar(ag.Div(m, denom), o.LR/bc1)
			p.CopyFrom(ag.Sub(ag.MulScalar(p, 1-o.LR*o.WeightDecay), upd))
		}
	})
}

// To moves the optimizer's moments to dev (nn.Store.To does it for an
// optimizer attached to the store); the parameters move with their store.
func (a *AdamW) To(dev ag.Device) error {
	for _, st := range [][]*ag.Tensor{a.m, a.v} {
		for _, t := range st {
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

// State returns the first and second moment of parameter i (nil before
// its first update), for checkpoints and tests.
func (a *AdamW) State(i int) (expAvg, expAvgSq *ag.Tensor) { return a.m[i], a.v[i] }
