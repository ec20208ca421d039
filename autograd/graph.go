package autograd

import (
	"fmt"
	"sync/atomic"
)

// node is one recorded op: how to reach its inputs and its backward rule,
// which maps the gradient of the output to one gradient per input (nil
// where an input needs none). A node holds its inputs' nodes, not the
// tensors: an input's storage lives only as long as some backward rule
// captured it (or the program holds it), as PyTorch's saved tensors do.
type node struct {
	op       string
	inputs   []edge
	backward func(g *Tensor) []*Tensor
	freed    bool
	retained *Tensor // the output, once RetainGrad asked for its gradient
}

// edge leads from a node to one of its inputs: the node that made it, or
// the input itself when it is a leaf that requires gradients. The zero
// edge is an input that needs no gradient.
type edge struct {
	node  *node
	leaf  *Tensor
	shape []int
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
	var edges []edge
	for i, in := range inputs {
		if in == nil || !in.requiresGrad {
			continue
		}
		if edges == nil {
			edges = make([]edge, len(inputs))
		}
		edges[i] = edge{node: in.node, shape: in.shape}
		if in.node == nil {
			edges[i].leaf = in
		}
	}
	if edges != nil {
		out.requiresGrad = true
		out.node = &node{op: op, inputs: edges, backward: backward}
	}
	return out
}

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
func (t *Tensor) RetainGrad() *Tensor {
	t.retainGrad = true
	if t.node != nil {
		t.node.retained = t
	}
	return t
}

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
	if t.node == nil {
		accumulate(t, grad)
		return
	}
	pass := newBackwardPass()
	defer pass.end()
	order, leafUses := topoOrder(t.node)
	grads := map[*node]*Tensor{t.node: grad}
	leafGrads := map[*Tensor]*Tensor{}
	pass.hold(grad)
	NoGrad(func() {
		for i := len(order) - 1; i >= 0; i-- {
			n := order[i]
			if n.freed {
				panic("autograd: Backward through a graph that was already freed by an earlier Backward")
			}
			g := grads[n]
			delete(grads, n)
			if n.retained != nil {
				accumulate(n.retained, g)
			}
			var gs []*Tensor
			if g != nil {
				gs = n.backward(g)
			}
			for j, e := range n.inputs {
				if e.node == nil && e.leaf == nil {
					continue
				}
				var gj *Tensor
				if j < len(gs) {
					gj = gs[j]
				}
				if gj != nil {
					if !sameShape(gj.shape, e.shape) {
						panic(fmt.Sprintf("autograd: backward of %s gave gradient %v for input %d of shape %v", n.op, gj.shape, j, e.shape))
					}
					pass.hold(gj)
				}
				if e.node != nil {
					grads[e.node] = pass.sum(grads[e.node], gj)
					continue
				}
				leafGrads[e.leaf] = pass.sum(leafGrads[e.leaf], gj)
				if leafUses[e.leaf]--; leafUses[e.leaf] == 0 {
					if lg := leafGrads[e.leaf]; lg != nil {
						if e.leaf.grad == nil && pass.sole(lg) {
							e.leaf.grad = pass.keep(lg)
						} else {
							accumulate(e.leaf, lg)
						}
						pass.drop(lg)
					}
					delete(leafGrads, e.leaf)
				}
			}
			pass.drop(g)
			n.inputs, n.backward, n.freed = nil, nil, true
		}
	})
}

// backwardPass hands a gradient's buffer back to its device as soon as the
// gradient has been consumed, instead of at the end of the Scope: it counts
// the references to each storage from the gradients in flight, and
// releases a storage when its count drops to zero, if the pass itself
// allocated it (a backward rule's result, never an activation, a parameter
// or the caller's gradient).
type backwardPass struct {
	owned map[Storage]bool
	refs  map[Storage]int
	prev  *backwardPass
}

// activePass is the backward pass running, if any; op results allocated
// while it runs are its own. Like grad mode it is process-wide.
var activePass *backwardPass

func newBackwardPass() *backwardPass {
	p := &backwardPass{owned: map[Storage]bool{}, refs: map[Storage]int{}, prev: activePass}
	activePass = p
	return p
}

func (p *backwardPass) end() { activePass = p.prev }

// own marks a storage allocated during the pass.
func (p *backwardPass) own(st Storage) { p.owned[st] = true }

func (p *backwardPass) hold(t *Tensor) {
	if t != nil {
		p.refs[t.st]++
	}
}

func (p *backwardPass) drop(t *Tensor) {
	if t == nil {
		return
	}
	if p.refs[t.st]--; p.refs[t.st] > 0 {
		return
	}
	delete(p.refs, t.st)
	if p.owned[t.st] {
		delete(p.owned, t.st)
		t.st.Device().Release(t.st)
	}
}

// sole reports whether t's storage is the pass's own and referenced by t
// alone, so that it can become a leaf's gradient without a copy.
func (p *backwardPass) sole(t *Tensor) bool { return p.owned[t.st] && p.refs[t.st] == 1 }

// keep hands a sole gradient's storage over to the caller: neither the
// pass nor the Scope that adopted it will release it.
func (p *backwardPass) keep(t *Tensor) *Tensor {
	delete(p.owned, t.st)
	if t.scope != nil {
		t.scope.keep(t.st)
	}
	return &Tensor{shape: t.shape, st: t.st}
}

// sum adds the held gradient g into acc (either may be nil) and returns
// the held total.
func (p *backwardPass) sum(acc, g *Tensor) *Tensor {
	switch {
	case g == nil:
		return acc
	case acc == nil:
		return g
	}
	s := Add(acc, g)
	p.hold(s)
	p.drop(acc)
	p.drop(g)
	return s
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

// topoOrder lists the nodes reachable from root so that every node comes
// after the nodes of its inputs, and counts the edges into each leaf.
func topoOrder(root *node) ([]*node, map[*Tensor]int) {
	var order []*node
	leafUses := map[*Tensor]int{}
	seen := map[*node]bool{root: true}
	type frame struct {
		n    *node
		next int
	}
	stack := []frame{{root, 0}}
	for len(stack) > 0 {
		f := &stack[len(stack)-1]
		if f.next < len(f.n.inputs) {
			e := f.n.inputs[f.next]
			f.next++
			switch {
			case e.leaf != nil:
				leafUses[e.leaf]++
			case e.node != nil && !seen[e.node]:
				seen[e.node] = true
				stack = append(stack, frame{e.node, 0})
			}
			continue
		}
		order = append(order, f.n)
		stack = stack[:len(stack)-1]
	}
	return order, leafUses
}

// GraphOps counts, by op name, the recorded ops that a Backward from t
// would run: the graph between t and the tensors that require gradients
// (a frozen layer whose inputs need none records nothing).
func (t *Tensor) GraphOps() map[string]int {
	ops := map[string]int{}
	if t.node == nil {
		return ops
	}
	order, _ := topoOrder(t.node)
	for _, n := range order {
		ops[n.op]++
	}
	return ops
}
