package autograd

import (
	"slices"
	"strings"
	"testing"
)

func TestGradientsAccumulateIntoLeaves(t *testing.T) {
	w := FromFloat64([]float64{1, 2, 3}, 3).SetRequiresGrad(true)
	for range 2 {
		Sum(Mul(w, w), nil, false).Backward() // d/dw = 2w, twice
	}
	if got, want := w.Grad().Float64s(), []float64{4, 8, 12}; !slices.Equal(got, want) {
		t.Errorf("accumulated grad %v, want %v", got, want)
	}
	w.ZeroGrad()
	if w.Grad() != nil {
		t.Error("ZeroGrad left a gradient")
	}
}

func TestSharedSubgraphGradient(t *testing.T) {
	// y = x*x + x uses x three times through two paths.
	x := FromFloat64([]float64{3}, 1).SetRequiresGrad(true)
	sq := Mul(x, x).RetainGrad()
	Sum(Add(sq, x), nil, false).Backward()
	if g := x.Grad().Item(); g != 7 {
		t.Errorf("dy/dx = %g, want 7", g)
	}
	if g := sq.Grad().Item(); g != 1 {
		t.Errorf("retained dy/dsq = %g, want 1", g)
	}
}

func TestNoGradAndDetach(t *testing.T) {
	w := FromFloat64([]float64{1}, 1).SetRequiresGrad(true)
	var y *Tensor
	NoGrad(func() { y = Mul(w, w) })
	if y.RequiresGrad() || !y.IsLeaf() {
		t.Error("an op inside NoGrad recorded a graph")
	}
	if !GradEnabled() {
		t.Error("grad mode not restored after NoGrad")
	}
	d := Mul(w, w).Detach()
	if d.RequiresGrad() {
		t.Error("Detach kept the graph")
	}
	z := Mul(Mul(w, w), d) // gradient flows through the first factor only
	Sum(z, nil, false).Backward()
	if g := w.Grad().Item(); g != 2 {
		t.Errorf("grad through a detached factor = %g, want 2", g)
	}
}

func TestBackwardTwicePanics(t *testing.T) {
	w := FromFloat64([]float64{1, 2}, 2).SetRequiresGrad(true)
	loss := Sum(Exp(w), nil, false)
	loss.Backward()
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(r.(string), "already freed") {
			t.Errorf("second Backward: %v, want a panic about the freed graph", r)
		}
	}()
	loss.Backward()
}

func TestShapeErrorsNameOpAndShapes(t *testing.T) {
	defer func() {
		r := recover()
		msg, _ := r.(string)
		if !strings.Contains(msg, "MatMul") || !strings.Contains(msg, "[2 3]") || !strings.Contains(msg, "[4 5]") {
			t.Errorf("panic %q should name the op and both shapes", msg)
		}
	}()
	MatMul(Zeros(Float32, 2, 3), Zeros(Float32, 4, 5))
}
