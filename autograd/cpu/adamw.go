package cpu

import (
	"math"

	"github.com/vertebra-ml/vertebra/autograd/kernel"
)

// AdamW applies one kernel.AdamW step to p, m and v in place, element by
// element in float64.
func AdamW[T Float](p, g, m, v []T, o kernel.AdamW) {
	checkLen("AdamW", len(p), len(g))
	checkLen("AdamW", len(p), len(m))
	checkLen("AdamW", len(p), len(v))
	decay := 1 - o.LR*o.WeightDecay
	step := o.LR / (1 - math.Pow(o.Beta1, float64(o.Step)))
	rbc2 := 1 / math.Sqrt(1-math.Pow(o.Beta2, float64(o.Step)))
	b1, b2 := o.Beta1, o.Beta2
	c := [8]float64{b1, 1 - b1, b2, 1 - b2, decay, step, rbc2, o.Eps}
	ParallelFor(len(p), 16, func(lo, hi int) {
		if p32, ok := any(p).([]float32); ok {
			lo += adamwF32(p32[lo:hi], any(g).([]float32)[lo:hi], any(m).([]float32)[lo:hi], any(v).([]float32)[lo:hi], &c)
		}
		for i := lo; i < hi; i++ {
			gi := float64(g[i])
			mi := b1*float64(m[i]) + (1-b1)*gi
			vi := b2*float64(v[i]) + (1-b2)*gi*gi
			m[i], v[i] = T(mi), T(vi)
			p[i] = T(float64(p[i])*decay - step*mi/(math.Sqrt(vi)*rbc2+o.Eps))
		}
	})
}
