package autograd

import (
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// TestTrainingLoopMemoryIsFlat runs a small conv net's training steps and
// checks that the live heap does not grow with the steps and that the
// buffer pool serves the later steps' allocations.
func TestTrainingLoopMemoryIsFlat(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	w1 := MulScalar(RandN(rng, Float32, 8, 3, 3, 3), 0.2).Detach().SetRequiresGrad(true)
	w2 := MulScalar(RandN(rng, Float32, 4, 8), 0.2).Detach().SetRequiresGrad(true)
	x := RandN(rng, Float32, 4, 3, 32, 32)
	targets := []int{0, 1, 2, 3}
	step := func() {
		h := ReLU(Conv2d(x, w1, nil, Conv2dOptions{Padding: [2]int{1, 1}}))
		f := Flatten(AdaptiveAvgPool2d(h, 1, 1), 1)
		loss := CrossEntropy(Linear(f, w2, nil), targets, CrossEntropyOptions{})
		loss.Backward()
		NoGrad(func() {
			for _, w := range []*Tensor{w1, w2} {
				w.CopyFrom(Sub(w, MulScalar(w.Grad(), 0.1)))
				w.ZeroGrad()
			}
		})
	}
	settle := func() uint64 {
		for range 3 {
			runtime.GC()
			time.Sleep(time.Millisecond) // cleanups run on their own goroutine
		}
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	for range 5 {
		step()
	}
	base := settle()
	_, missBefore := PoolStats()
	for range 30 {
		step()
		settle()
	}
	after := settle()
	hits, missAfter := PoolStats()
	if after > base+base/5+(1<<20) {
		t.Errorf("live heap grew from %d to %d bytes over 30 steps", base, after)
	}
	if hits == 0 {
		t.Errorf("the buffer pool served no allocation")
	}
	if grown := missAfter - missBefore; grown > 30 {
		t.Errorf("the pool missed %d allocations over 30 warm steps; buffers are not reused", grown)
	}
	t.Logf("heap %d -> %d bytes; pool hits %d, misses %d -> %d", base, after, hits, missBefore, missAfter)
}
