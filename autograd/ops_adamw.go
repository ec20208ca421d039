package autograd

import (
	"fmt"

	"github.com/vertebra-ml/vertebra/autograd/kernel"
)

// AdamWUpdate applies one AdamW step (kernel.AdamW) in place, outside the
// graph, to parameter p and its moments m and v from gradient g, all of
// one shape, type and device: the fused update behind optim.AdamW.
func AdamWUpdate(p, g, m, v *Tensor, o kernel.AdamW) {
	for _, t := range []*Tensor{g, m, v} {
		if !sameShape(t.shape, p.shape) || t.DType() != p.DType() || t.Device() != p.Device() {
			panic(fmt.Sprintf("autograd: AdamWUpdate: %v %s on %s for parameter %v %s on %s", t.shape, t.DType(), t.Device().Name(), p.shape, p.DType(), p.Device().Name()))
		}
	}
	if o.Step < 1 {
		panic(fmt.Sprintf("autograd: AdamWUpdate: step %d, want >= 1", o.Step))
	}
	p.Device().AdamW(p.st, g.st, m.st, v.st, o)
}
