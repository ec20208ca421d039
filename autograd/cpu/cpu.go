// Package cpu holds the pure-Go kernels behind the autograd ops: plain
// functions over slices and shapes, generic over float32 and float64, that
// fan work out over the machine's cores.
//
// The package knows nothing about tensors or graphs; package autograd calls
// it through its CPU device. It is not for end users, who work with
// autograd.Tensor, but every kernel is exported so that a benchmark or a
// different front end can call it directly.
package cpu

import (
	"runtime"
	"sync"
)

// Float is the element type of the kernels: float32 for training and
// inference, float64 for gradient checks.
type Float interface{ ~float32 | ~float64 }

// minGrain is the amount of scalar work below which a loop is not worth
// handing to another goroutine.
const minGrain = 1 << 14

// Workers is the number of goroutines a kernel fans out to. It defaults to
// GOMAXPROCS at start-up; set it before running kernels (1 makes every
// kernel single-threaded, which benchmarks use to measure one core).
var Workers = runtime.GOMAXPROCS(0)

// ParallelFor splits [0, n) into contiguous chunks and calls body(lo, hi) on
// up to Workers goroutines. cost is the approximate scalar work per index;
// small loops run on the calling goroutine.
func ParallelFor(n, cost int, body func(lo, hi int)) {
	if n <= 0 {
		return
	}
	w := Workers
	if cost < 1 {
		cost = 1
	}
	if byWork := n * cost / minGrain; byWork < w {
		w = byWork
	}
	if w > n {
		w = n
	}
	if w <= 1 {
		body(0, n)
		return
	}
	var wg sync.WaitGroup
	chunk := (n + w - 1) / w
	for lo := chunk; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			body(lo, hi)
		}()
	}
	body(0, min(chunk, n))
	wg.Wait()
}
