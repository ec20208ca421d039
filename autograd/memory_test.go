package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"
	"weak"
)

func weakPointer(t *Tensor) weak.Pointer[Tensor] { return weak.Make(t) }

// TestTrainingLoopMemoryIsFlat runs a small conv net's training steps, each
// in a Scope, and checks that after the first steps every pooled buffer is
// reused (no new pool misses) and that the bytes allocated per step do not
// grow. The net has a LayerNorm2d and a max pooling, whose saved
// statistics and argmax positions (4096 and 8192 elements, pooled sizes)
// the scope must release like any op result.
func TestTrainingLoopMemoryIsFlat(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	w1 := MulScalar(RandN(rng, Float32, 8, 3, 3, 3), 0.2).Detach().SetRequiresGrad(true)
	w2 := MulScalar(RandN(rng, Float32, 4, 8), 0.2).Detach().SetRequiresGrad(true)
	x := RandN(rng, Float32, 4, 3, 32, 32)
	targets := []int{0, 1, 2, 3}
	var losses []float64
	step := func() {
		Scope(func() {
			h := ReLU(Conv2d(x, w1, nil, Conv2dOptions{Padding: [2]int{1, 1}}))
			h = MaxPool2d(LayerNorm2d(h, nil, nil, 1e-6), MaxPool2dOptions{Kernel: [2]int{2, 2}})
			f := Flatten(AdaptiveAvgPool2d(h, 1, 1), 1)
			loss := CrossEntropy(Linear(f, w2, nil), targets, CrossEntropyOptions{})
			loss.Backward()
			NoGrad(func() {
				for _, w := range []*Tensor{w1, w2} {
					w.CopyFrom(Sub(w, MulScalar(w.Grad(), 0.1)))
					w.ZeroGrad()
				}
			})
			losses = append(losses, loss.Item())
		})
	}
	for range 3 {
		step()
	}
	// A collection during a step frees tensors that became garbage before
	// the scope ended (that is the point of holding them weakly), and their
	// buffers then miss the pool; measure the reuse with the collector off.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	_, missBefore := PoolStats()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for range 30 {
		step()
	}
	runtime.ReadMemStats(&m1)
	hits, missAfter := PoolStats()
	if grown := missAfter - missBefore; grown != 0 {
		t.Errorf("the pool missed %d allocations over 30 warm steps; buffers are not reused", grown)
	}
	perStep := (m1.TotalAlloc - m0.TotalAlloc) / 30
	// The conv activations alone are 4*8*32*32*4 = 128 KiB; a step that
	// reuses them allocates only shapes, nodes and closures.
	if perStep > 64<<10 && !raceEnabled {
		t.Errorf("%d bytes allocated per warm step; buffers are not reused", perStep)
	}
	if losses[len(losses)-1] >= losses[0] {
		t.Errorf("loss did not decrease: %v", losses)
	}
	t.Logf("%d bytes allocated per warm step; pool hits %d, misses %d", perStep, hits, missAfter)
}

func TestScopeReleasesAndKeeps(t *testing.T) {
	w := FromFloat32([]float32{1, 2, 3}, 3).SetRequiresGrad(true)
	var y, view, kept *Tensor
	Scope(func() {
		y = Mul(w, w)
		view = Reshape(y, 3, 1)
		kept = y.Clone()
		Sum(y, nil, false).Backward()
	})
	if got := kept.Float32s(); got[2] != 9 {
		t.Errorf("Clone made in the scope: %v", got)
	}
	if g := w.Grad().Float32s(); g[1] != 4 {
		t.Errorf("parameter gradient after the scope: %v", g)
	}
	for name, x := range map[string]*Tensor{"result": y, "view": view} {
		func() {
			defer func() {
				r := recover()
				if msg, _ := r.(string); !strings.Contains(msg, "after the Scope") {
					t.Errorf("%s used after its scope: %v, want a panic naming the scope", name, r)
				}
			}()
			x.Float32s()
		}()
	}
}

// TestGraphKeepsOnlySavedTensors records a residual block (conv, batch
// norm, ReLU, add, ReLU) and checks that the tensors no backward rule
// reads (the batch norm's output, which ReLU's rule does not need, and the
// sum) are collected while the graph is alive, as PyTorch frees what no
// saved tensor holds, and that the gradients are still those of a graph
// that kept everything.
func TestGraphKeepsOnlySavedTensors(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	x := RandN(rng, Float64, 2, 4, 6, 6).SetRequiresGrad(true)
	w := RandN(rng, Float64, 4, 4, 3, 3).SetRequiresGrad(true)
	gamma := RandN(rng, Float64, 4).SetRequiresGrad(true)
	beta := RandN(rng, Float64, 4).SetRequiresGrad(true)
	params := []*Tensor{x, w, gamma, beta}
	block := func(keep func(*Tensor)) *Tensor {
		c := Conv2d(x, w, nil, Conv2dOptions{Padding: [2]int{1, 1}})
		n := BatchNorm(c, gamma, beta, nil, nil, BatchNormOptions{Training: true, Eps: 1e-5})
		keep(n)
		r := ReLU(n)
		s := Add(r, x)
		keep(s)
		return Sum(Mul(ReLU(s), ReLU(s)), nil, false)
	}
	grads := func() [][]float64 {
		var out [][]float64
		for _, p := range params {
			out = append(out, p.Grad().Float64s())
			p.ZeroGrad()
		}
		return out
	}
	var held []*Tensor
	block(func(t *Tensor) { held = append(held, t) }).Backward()
	want := grads()

	var refs []weak.Pointer[Tensor]
	loss := block(func(t *Tensor) { refs = append(refs, weakPointer(t)) })
	runtime.GC()
	runtime.GC()
	for i, p := range refs {
		if p.Value() != nil {
			t.Errorf("intermediate %d is still reachable from the graph; no backward rule reads it", i)
		}
	}
	loss.Backward()
	got := grads()
	for i := range want {
		for j := range want[i] {
			if got[i][j] != want[i][j] {
				t.Fatalf("gradient %d[%d] = %g, want %g (graph that kept everything)", i, j, got[i][j], want[i][j])
			}
		}
	}
	runtime.KeepAlive(held)
}

// TestBackwardReleasesConsumedGradients checks that a backward pass hands
// each intermediate gradient back to the pool once it is consumed, so a
// deep chain reuses a few buffers instead of one per op.
func TestBackwardReleasesConsumedGradients(t *testing.T) {
	w := Full(Float32, 0.5, 64, 64).SetRequiresGrad(true)
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	Scope(func() {
		h := w
		for range 20 {
			h = Tanh(h)
		}
		loss := Sum(h, nil, false)
		hits0, misses0 := PoolStats()
		loss.Backward()
		hits1, misses1 := PoolStats()
		// 20 gradients of 4096 elements: with release, after the first two
		// each is served from the buffer the previous one gave back.
		if m := misses1 - misses0; m > 4 {
			t.Errorf("backward through 20 ops missed the pool %d times (hits %d); consumed gradients are not released", m, hits1-hits0)
		}
	})
	if g := w.Grad().Float32s(); g[0] == 0 || g[0] != g[0] {
		t.Errorf("gradient %v", g[0])
	}
}

// TestParameterGradientSurvivesItsScope checks that a leaf's first
// gradient, which takes over the backward pass's buffer instead of copying
// it, is not released with the Scope the pass ran in.
func TestParameterGradientSurvivesItsScope(t *testing.T) {
	w := Full(Float32, 2, 4096).SetRequiresGrad(true)
	var g0 Storage
	Scope(func() {
		y := Mul(Tanh(w), Full(Float32, 3, 4096))
		loss := Sum(y, nil, false)
		loss.Backward()
		g0 = w.Grad().st
		w2 := w.Grad().Float32s()
		want := float32(3 * (1 - math.Pow(math.Tanh(2), 2)))
		if math.Abs(float64(w2[0]-want)) > 1e-6 {
			t.Errorf("grad %v, want %v", w2[0], want)
		}
	})
	if w.Grad().st != g0 {
		t.Error("the gradient changed storage when the scope ended")
	}
	if v := w.Grad().Float32s()[4095]; math.Abs(float64(v)-3*(1-math.Pow(math.Tanh(2), 2))) > 1e-6 {
		t.Errorf("gradient after the scope = %v (released with the scope?)", v)
	}
	// A second backward accumulates into it.
	Sum(Mul(w, w), nil, false).Backward()
	if v := w.Grad().Float32s()[0]; math.Abs(float64(v)-(3*(1-math.Pow(math.Tanh(2), 2))+4)) > 1e-5 {
		t.Errorf("accumulated gradient = %v", v)
	}
}

// TestBatchNormActivationIsTheComposition checks that BatchNorm with a
// fused activation, and with a residual added before it, gives the values
// and gradients of the activation applied to BatchNorm's output (plus the
// residual), in float64, in both modes, with and without affine
// parameters.
func TestBatchNormActivationIsTheComposition(t *testing.T) {
	identity := func(x *Tensor) *Tensor { return x }
	cases := []struct {
		act      Activation
		f        func(*Tensor) *Tensor
		residual bool
	}{{ActReLU, ReLU, false}, {ActSiLU, SiLU, false}, {ActReLU, ReLU, true}, {NoActivation, identity, true}}
	// 5x2 planes are finished in spans, 16x17 ones row by row.
	for _, hw := range [][2]int{{5, 2}, {16, 17}} {
		for _, a := range cases {
			for _, training := range []bool{true, false} {
				for _, affine := range []bool{true, false} {
					rng := rand.New(rand.NewPCG(5, 6))
					x := RandN(rng, Float64, 3, 4, hw[0], hw[1]).SetRequiresGrad(true)
					var w, b, r *Tensor
					if affine {
						w = RandN(rng, Float64, 4).SetRequiresGrad(true)
						b = RandN(rng, Float64, 4).SetRequiresGrad(true)
					}
					if a.residual {
						r = RandN(rng, Float64, 3, 4, hw[0], hw[1]).SetRequiresGrad(true)
					}
					up := RandN(rng, Float64, 3, 4, hw[0], hw[1])
					run := func(fused bool) [][]float64 {
						rm, rv := FromFloat64([]float64{0.1, -0.2, 0.3, 0}, 4), FromFloat64([]float64{0.5, 1.5, 2, 1}, 4)
						o := BatchNormOptions{Training: training, Momentum: 0.1, Eps: 1e-5}
						var y *Tensor
						switch {
						case fused:
							o.Activation, o.Residual = a.act, r
							y = BatchNorm(x, w, b, rm, rv, o)
						case r != nil:
							y = a.f(Add(BatchNorm(x, w, b, rm, rv, o), r))
						default:
							y = a.f(BatchNorm(x, w, b, rm, rv, o))
						}
						Sum(Mul(y, up), nil, false).Backward()
						out := [][]float64{y.Float64s(), rm.Float64s(), rv.Float64s()}
						for _, p := range []*Tensor{x, w, b, r} {
							if p != nil {
								out = append(out, p.Grad().Float64s())
								p.ZeroGrad()
							}
						}
						return out
					}
					want, got := run(false), run(true)
					for i := range want {
						for j := range want[i] {
							if d := math.Abs(got[i][j] - want[i][j]); d > 1e-12*(1+math.Abs(want[i][j])) {
								t.Fatalf("%dx%d %v residual=%v training=%v affine=%v: output %d[%d] = %g, composition %g", hw[0], hw[1], a.act, a.residual, training, affine, i, j, got[i][j], want[i][j])
							}
						}
					}
				}
			}
		}
	}
}

// TestBatchNormResidualRoundsAsTheComposition checks that in float32 the
// fused residual and activation give ReLU(BatchNorm(x) + r) and
// SiLU(BatchNorm(x)) bit for bit, on short rows (finished in spans, with
// vector tails) and on rows long enough to be finished one by one.
func TestBatchNormResidualRoundsAsTheComposition(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, hw := range [][2]int{{7, 11}, {17, 17}} {
		for _, training := range []bool{true, false} {
			x, r := RandN(rng, Float32, 2, 3, hw[0], hw[1]), RandN(rng, Float32, 2, 3, hw[0], hw[1])
			w, b := RandN(rng, Float32, 3), RandN(rng, Float32, 3)
			rm, rv := FromFloat32([]float32{0.1, -0.2, 0.3}, 3), FromFloat32([]float32{0.5, 1.5, 2}, 3)
			o := BatchNormOptions{Training: training, Momentum: 0.1, Eps: 1e-5}
			for _, tc := range []struct {
				name string
				act  Activation
				res  *Tensor
				want *Tensor
			}{
				{"add-relu", ActReLU, r, ReLU(Add(BatchNorm(x, w, b, rm, rv, o), r))},
				{"add", NoActivation, r, Add(BatchNorm(x, w, b, rm, rv, o), r)},
				{"silu", ActSiLU, nil, SiLU(BatchNorm(x, w, b, rm, rv, o))},
			} {
				f := o
				f.Activation, f.Residual = tc.act, tc.res
				got, want := BatchNorm(x, w, b, rm, rv, f).Float32s(), tc.want.Float32s()
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("%dx%d training=%v %s: element %d = %v, composition %v", hw[0], hw[1], training, tc.name, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// TestBatchNormResidualChecksItsArguments checks the panics for a residual
// of another shape and for an activation that does not fuse with one.
func TestBatchNormResidualChecksItsArguments(t *testing.T) {
	x := Zeros(Float32, 2, 3, 4)
	for _, c := range []struct {
		name string
		o    BatchNormOptions
		want string
	}{
		{"shape", BatchNormOptions{Training: true, Residual: Zeros(Float32, 2, 3, 5)}, "residual [2 3 5]"},
		{"dtype", BatchNormOptions{Training: true, Residual: Zeros(Float64, 2, 3, 4)}, "residual [2 3 4] float64"},
		{"silu", BatchNormOptions{Training: true, Residual: Zeros(Float32, 2, 3, 4), Activation: ActSiLU}, "not silu"},
	} {
		func() {
			defer func() {
				msg := fmt.Sprint(recover())
				if !strings.Contains(msg, c.want) {
					t.Errorf("%s: panic %q, want it to mention %q", c.name, msg, c.want)
				}
			}()
			BatchNorm(x, nil, nil, nil, nil, c.o)
		}()
	}
}

// waitCollections runs collections until the pool has seen n more of them,
// so that the finalizers of the buffers that were garbage have run.
func waitCollections(t *testing.T, n uint64) {
	t.Helper()
	d := CPU.(*cpuDevice)
	d.mu.Lock()
	want := d.collections + n
	d.mu.Unlock()
	for range 1000 {
		runtime.GC()
		d.mu.Lock()
		seen := d.collections
		d.mu.Unlock()
		if seen >= want {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("the pool saw fewer than %d collections", n)
}

// TestGarbageBuffersReturnToThePool drops an op result without a Scope, as
// a no-grad forward pass drops its activations, and checks that its buffer
// serves the next allocation of its size instead of new memory.
func TestGarbageBuffersReturnToThePool(t *testing.T) {
	const n = 3 << 14 // a pooled size of its own, which no other test uses
	x := Full(Float32, 1, n)
	NoGrad(func() { _ = AddScalar(x, 1) })
	waitCollections(t, 1)
	hits0, misses0 := PoolStats()
	var y *Tensor
	NoGrad(func() { y = AddScalar(x, 2) })
	hits1, misses1 := PoolStats()
	if hits1 != hits0+1 || misses1 != misses0 {
		t.Errorf("pool hits %d -> %d, misses %d -> %d; want the garbage buffer reused", hits0, hits1, misses0, misses1)
	}
	if got := y.Float32s()[n-1]; got != 3 {
		t.Errorf("reused buffer holds %v, want 3", got)
	}
}

// TestRecycledBuffersNeverAlias keeps some op results alive and drops the
// rest, over many collections, and checks that every kept tensor still
// holds its own values: a buffer goes back to the pool only when no slice
// of it is left.
func TestRecycledBuffersNeverAlias(t *testing.T) {
	const n = 5 << 12
	base := Full(Float32, 0, n)
	var kept []*Tensor
	var views []*Tensor
	for i := range 200 {
		var v *Tensor
		NoGrad(func() { v = AddScalar(base, float64(i)) })
		switch i % 4 {
		case 0:
			kept = append(kept, v)
		case 1:
			// Only a view survives: its storage must stay out of the pool.
			views = append(views, Reshape(v, n/4, 4))
		}
		if i%25 == 0 {
			runtime.GC()
		}
	}
	waitCollections(t, 2)
	for i, v := range kept {
		if got := v.Float32s(); got[0] != float32(4*i) || got[n-1] != float32(4*i) {
			t.Fatalf("kept tensor %d holds %v..%v, want %d", i, got[0], got[n-1], 4*i)
		}
	}
	for i, v := range views {
		if got := v.Float32s(); got[0] != float32(4*i+1) || got[n-1] != float32(4*i+1) {
			t.Fatalf("view %d holds %v..%v, want %d", i, got[0], got[n-1], 4*i+1)
		}
	}
}

// TestPoolLetsIdleBuffersGo checks that buffers no allocation takes leave
// the pool after two collections, so that a program's pooled memory follows
// what it uses now.
func TestPoolLetsIdleBuffersGo(t *testing.T) {
	const n = 7 << 13 // a pooled size of its own
	d := CPU.(*cpuDevice)
	key := poolKey{Float32, sizeClass(n)}
	x := Full(Float32, 0, n)
	for range 3 {
		NoGrad(func() { _ = AddScalar(x, 1) })
	}
	Scope(func() { _ = AddScalar(x, 1) })
	d.mu.Lock()
	pooled := len(d.free[key])
	d.mu.Unlock()
	if pooled == 0 {
		t.Fatalf("no buffer of %d elements pooled after the scope ended", n)
	}
	waitCollections(t, 3)
	d.mu.Lock()
	left := len(d.free[key])
	d.mu.Unlock()
	if left != 0 {
		t.Errorf("%d idle buffers of %d elements still pooled after three collections", left, n)
	}
}

// TestLocalReleasesIntermediates runs a block in Local without gradients
// and checks that its intermediates are released at once (their buffers
// serve the next block), that the result and a view of it survive until
// the enclosing Scope ends, and that using an intermediate panics.
func TestLocalReleasesIntermediates(t *testing.T) {
	const n = 7 << 12 // a pooled size of its own
	x := Full(Float32, 1, n)
	var inner, out, view *Tensor
	block := func() *Tensor {
		inner = AddScalar(x, 1)    // 2
		return MulScalar(inner, 3) // 6
	}
	Scope(func() {
		NoGrad(func() {
			out = Local(block)
			view = Reshape(out, n/4, 4)
			hits0, misses0 := PoolStats()
			again := Local(block) // reuses the first block's intermediate
			hits1, misses1 := PoolStats()
			if hits1-hits0 < 1 || misses1-misses0 > 1 {
				t.Errorf("second block: pool hits %d -> %d, misses %d -> %d; want the first block's intermediate reused", hits0, hits1, misses0, misses1)
			}
			if got := again.Float32s()[n-1]; got != 6 {
				t.Errorf("second block's result %v, want 6", got)
			}
		})
		if got := view.Float32s()[0]; got != 6 {
			t.Errorf("view of the result %v, want 6", got)
		}
		func() {
			defer func() {
				if msg, _ := recover().(string); !strings.Contains(msg, "after the Scope") {
					t.Errorf("intermediate used after Local: %q, want a panic", msg)
				}
			}()
			inner.Float32s()
		}()
	})
	func() {
		defer func() {
			if msg, _ := recover().(string); !strings.Contains(msg, "after the Scope") {
				t.Errorf("Local's result used after the enclosing Scope: %q, want a panic", msg)
			}
		}()
		out.Float32s()
	}()
}

// TestLocalKeepsWhatTheGraphNeeds runs a block that records a graph in
// Local and checks that nothing is released: the backward pass reads the
// intermediates its rules saved.
func TestLocalKeepsWhatTheGraphNeeds(t *testing.T) {
	w := FromFloat64([]float64{1, 2, 3}, 3).SetRequiresGrad(true)
	var inner *Tensor
	y := Local(func() *Tensor {
		inner = Mul(w, w)
		return Tanh(inner)
	})
	Sum(y, nil, false).Backward()
	if got := inner.Float64s()[2]; got != 9 {
		t.Errorf("intermediate after Local with a graph: %v, want 9", got)
	}
	for i, g := range w.Grad().Float64s() {
		v := float64(i + 1)
		if want := 2 * v * (1 - math.Pow(math.Tanh(v*v), 2)); math.Abs(g-want) > 1e-12 {
			t.Errorf("grad[%d] = %v, want %v", i, g, want)
		}
	}
}

// TestPoolAgesByTheRuntimesCollections checks that collections the pool
// starts itself (past its reuse pace) do not expire a released buffer,
// and that the runtime's own ones do.
func TestPoolAgesByTheRuntimesCollections(t *testing.T) {
	const n = 9 << 12 // a pooled size of its own
	d := CPU.(*cpuDevice)
	release := func() { Scope(func() { NoGrad(func() { _ = AddScalar(Full(Float32, 1, n), 1) }) }) }
	hitAfter := func(started bool, collections uint64) bool {
		release()
		for range collections {
			if started {
				d.mu.Lock()
				d.collecting = true
				d.mu.Unlock()
			}
			waitCollections(t, 1)
		}
		_, misses0 := PoolStats()
		NoGrad(func() { _ = AddScalar(Full(Float32, 1, n), 1) })
		_, misses1 := PoolStats()
		return misses1 == misses0
	}
	if !hitAfter(true, 5) {
		t.Error("a released buffer expired over collections the pool started")
	}
	if hitAfter(false, 3) {
		t.Error("a released buffer outlived three collections of the runtime's")
	}
}

// TestPoolServesFromTheNextClasses pools a buffer in a device of its own
// and checks which requests take it: those of its size class and of the
// smaller classes whose double reaches it, not those smaller still.
func TestPoolServesFromTheNextClasses(t *testing.T) {
	const class = 1 << 20
	for _, tc := range []struct {
		n    int
		want bool
	}{{class, true}, {3 << 18, true}, {1<<19 + 1, true}, {7 << 16, false}, {1 << 19, true}, {class + 1, false}} {
		d := newCPUDevice()
		d.mu.Lock()
		d.put(make([]float32, 0, class), 2)
		d.mu.Unlock()
		st := d.alloc(Float32, tc.n)
		if got := cap(st.f32) == class; got != tc.want {
			t.Errorf("%d values with a pooled buffer of %d: took it %v, want %v", tc.n, class, got, tc.want)
		}
		if len(st.f32) != tc.n {
			t.Errorf("%d values: got %d", tc.n, len(st.f32))
		}
	}
}
