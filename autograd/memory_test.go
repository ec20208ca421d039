package autograd

import (
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

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
