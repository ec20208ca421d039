package autograd

import (
	"fmt"
	"sync/atomic"
)

// node is one recorded op: its inputs and its backward rule, which maps
// the gradient of the output to one gradient per input (nil where an input
// needs none).
type node struct {
	op       string
	inputs   []*Tensor
	backward func(g *Tensor) []*Tensor
	freed    bool
}

// noGradDepth counts the active NoGrad scopes. Grad mode is process-wide,
// as torch.no_grad is per thread: record graphs from one goroutine at a time.
var noGradDepth atomic.Int32

// NoGrad runs fn without recording a graph: inside it, ops return tensors
// that do not require gradients. Use it for inference and for in-place
// parameter updates.
func NoGrad(fn func()) {
	noGradDepth.Add(1)
	defer noGradDepth.Add(-1)
	fn()
}

// GradEnabled reports whether ops record the graph (outside NoGrad).
func GradEnabled() bool { return noGradDepth.Load() == 0 }

// record attaches the op to out when gradients are enabled and some input
// requires them, and returns out.
func record(out *Tensor, op string, inputs []*Tensor, backward func(g *Tensor) []*Tensor) *Tensor {
	if !GradEnabled() {
		return out
	}
	for _, in := range inputs {
		if in != nil && in.requiresGrad {
			out.requiresGrad = true
			out.node = &node{op: op, inputs: inputs, backward: backward}
			return out
		}
	}
	return out
}

// needs reports whether the backward rule must produce a gradient for t.
func needs(t *Tensor) bool { return t != nil && t.requiresGrad }

// RequiresGrad reports whether gradients flow to (or through) t.
func (t *Tensor) RequiresGrad() bool { return t.requiresGrad }

// SetRequiresGrad marks a leaf tensor as a parameter whose gradient
// Backward accumulates in Grad. It returns t for chaining.
func (t *Tensor) SetRequiresGrad(on bool) *Tensor {
	if t.node != nil {
		panic("autograd: SetRequiresGrad on the result of an op (only leaves can be marked; use Detach first)")
	}
	t.requiresGrad = on
	return t
}

// RetainGrad keeps the gradient of a non-leaf tensor in Grad after Backward.
func (t *Tensor) RetainGrad() *Tensor { t.retainGrad = true; return t }

// IsLeaf reports whether t was not made by a recorded op.
func (t *Tensor) IsLeaf() bool { return t.node == nil }

// Grad is the gradient accumulated by Backward (nil before the first).
func (t *Tensor) Grad() *Tensor { return t.grad }

// SetGrad replaces the accumulated gradient (nil clears it).
func (t *Tensor) SetGrad(g *Tensor) { t.grad = g }

// ZeroGrad clears the accumulated gradient.
func (t *Tensor) ZeroGrad() { t.grad = nil }

// Detach returns a tensor sharing t's storage that is outside the graph.
func (t *Tensor) Detach() *Tensor { return adoptView(t, &Tensor{shape: t.shape, st: t.st}) }

// Backward computes the gradient of the scalar t with respect to every leaf
// that requires gradients, accumulating into their Grad, and frees the
// graph.
func (t *Tensor) Backward() {
	if t.Len() != 1 {
		panic(fmt.Sprintf("autograd: Backward of a tensor of shape %v needs an explicit gradient (BackwardWith)", t.shape))
	}
	t.BackwardWith(FullOn(t.Device(), t.DType(), 1, t.shape...))
}

// BackwardWith is Backward with an upstream gradient of t's shape:
// afterwards each leaf's Grad holds d sum(t*grad) / d leaf.
func (t *Tensor) BackwardWith(grad *Tensor) {
	if !t.requiresGrad {
		panic("autograd: Backward of a tensor that does not require gradients")
	}
	if t.node != nil && t.node.freed {
		panic("autograd: Backward through a graph that was already freed by an earlier Backward")
	}
	if !sameShape(grad.shape, t.shape) || grad.DType() != t.DType() {
		panic(fmt.Sprintf("autograd: BackwardWith: gradient %v %s for tensor %v %s", grad.shape, grad.DType(), t.shape, t.DType()))
	}
	order := topoOrder(t)
	grads := map[*Tensor]*Tensor{t: grad}
	NoGrad(func() {
		for i := len(order) - 1; i >= 0; i-- {
			v := order[i]
			g := grads[v]
			delete(grads, v)
			if v.node == nil || v.retainGrad {
				accumulate(v, g)
			}
			if v.node == nil || g == nil {
				continue
			}
			n := v.node
			if n.freed {
				panic("autograd: Backward through a graph that was already freed by an earlier Backward")
			}
			gs := n.backward(g)
			for j, in := range n.inputs {
				if j >= len(gs) || gs[j] == nil || !needs(in) {
					continue
				}
				if !sameShape(gs[j].shape, in.shape) {
					panic(fmt.Sprintf("autograd: backward of %s gave gradient %v for input %d of shape %v", n.op, gs[j].shape, j, in.shape))
				}
				if prev := grads[in]; prev != nil {
					grads[in] = Add(prev, gs[j])
				} else {
					grads[in] = gs[j]
				}
			}
			n.inputs, n.backward, n.freed = nil, nil, true
		}
	})
}

// accumulate adds g to v's own gradient buffer.
func accumulate(v, g *Tensor) {
	if g == nil {
		return
	}
	if v.grad == nil {
		v.grad = g.Clone() // own the buffer: g may be shared with other gradients
		return
	}
	v.Device().AddTo(v.grad.st, g.st)
}

// topoOrder lists the tensors reachable from t through recorded nodes so
// that every tensor comes after all of its inputs.
func topoOrder(t *Tensor) []*Tensor {
	var order []*Tensor
	seen := map[*Tensor]bool{t: true}
	type frame struct {
		v    *Tensor
		next int
	}
	stack := []frame{{t, 0}}
	for len(stack) > 0 {
		f := &stack[len(stack)-1]
		if f.v.node != nil && f.next < len(f.v.node.inputs) {
			in := f.v.node.inputs[f.next]
			f.next++
			if in != nil && in.requiresGrad && !seen[in] {
				seen[in] = true
				stack = append(stack, frame{in, 0})
			}
			continue
		}
		order = append(order, f.v)
		stack = stack[:len(stack)-1]
	}
	return order
}
