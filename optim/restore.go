package optim

import (
	"fmt"
	"slices"

	ag "github.com/vertebra-ml/vertebra/autograd"
)

// Restore sets the optimizer's state to one saved from Steps and State:
// the step count and, per parameter, the first and second moments (nil
// for a parameter not updated yet). The moments are copied.
func (a *AdamW) Restore(steps int, expAvg, expAvgSq []*ag.Tensor) error {
	if steps < 0 {
		return fmt.Errorf("optim: AdamW.Restore: %d steps", steps)
	}
	if len(expAvg) != len(a.params) || len(expAvgSq) != len(a.params) {
		return fmt.Errorf("optim: AdamW.Restore: %d and %d moments for %d parameters", len(expAvg), len(expAvgSq), len(a.params))
	}
	m := make([]*ag.Tensor, len(a.params))
	v := make([]*ag.Tensor, len(a.params))
	for i, p := range a.params {
		if (expAvg[i] == nil) != (expAvgSq[i] == nil) {
			return fmt.Errorf("optim: AdamW.Restore: parameter %d has only one of its two moments", i)
		}
		if expAvg[i] == nil {
			continue
		}
		for _, t := range []*ag.Tensor{expAvg[i], expAvgSq[i]} {
			if !slices.Equal(t.Shape(), p.Shape()) {
				return fmt.Errorf("optim: AdamW.Restore: parameter %d has shape %v, its moment %v", i, p.Shape(), t.Shape())
			}
		}
		m[i] = ag.Zeros(p.DType(), p.Shape()...).To(p.Device())
		v[i] = ag.Zeros(p.DType(), p.Shape()...).To(p.Device())
		m[i].CopyFrom(expAvg[i].AsType(p.DType()))
		v[i].CopyFrom(expAvgSq[i].AsType(p.DType()))
	}
	a.steps, a.m, a.v = steps, m, v
	return nil
}
