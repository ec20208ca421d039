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
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
)

// Float is the element type of the kernels: float32 for training and
// inference, float64 for gradient checks.
type Float interface{ ~float32 | ~float64 }

// minGrain is the amount of scalar work below which a loop is not worth
// handing to another goroutine.
const minGrain = 1 << 14

// MaxISA caps the instruction sets the kernels choose from, from the
// environment variable VERTEBRA_CPU_ISA at start-up, as ONEDNN_MAX_CPU_ISA
// caps oneDNN: "avx2" leaves AVX-512 unused, "go" runs the Go loops only
// (what -tags purego builds), "" (unset) uses what the CPU has. It is for
// measuring on one machine what a lesser one runs.
var MaxISA = maxISA()

func maxISA() string {
	v := os.Getenv("VERTEBRA_CPU_ISA")
	switch v {
	case "", "avx512", "avx2", "go":
		return v
	}
	fmt.Fprintf(os.Stderr, "vertebra: ignoring VERTEBRA_CPU_ISA=%q: want avx512, avx2 or go\n", v)
	return ""
}

// Workers is the number of goroutines a kernel fans out to. It defaults to
// GOMAXPROCS at start-up; set it before running kernels (1 makes every
// kernel single-threaded, which benchmarks use to measure one core).
var Workers = runtime.GOMAXPROCS(0)

// ParallelFor splits [0, n) into contiguous chunks and calls body(lo, hi) on
// up to Workers goroutines. cost is the approximate scalar work per index;
// small loops run on the calling goroutine.
func ParallelFor(n, cost int, body func(lo, hi int)) {
	parallelForWorkers(n, cost, func(_, lo, hi int) { body(lo, hi) })
}

// chunksPerWorker is how many chunks each worker's share is cut into. The
// workers take chunks in turn until none is left, so that a worker whose
// core is busy with another program hands its share to the others instead
// of holding everyone up at the end.
const chunksPerWorker = 4

// parallelForWorkers is ParallelFor with the index (in [0, w), w <=
// Workers) of the goroutine running each chunk; chunks with the same
// index never run at the same time, so a body may keep per-worker state.
func parallelForWorkers(n, cost int, body func(worker, lo, hi int)) {
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
		body(0, 0, n)
		return
	}
	chunks := min(n, w*chunksPerWorker)
	if byWork := n * cost / minGrain; byWork < chunks {
		chunks = max(byWork, w)
	}
	var next atomic.Int64
	run := func(worker int) {
		for {
			c := int(next.Add(1) - 1)
			if c >= chunks {
				return
			}
			body(worker, c*n/chunks, (c+1)*n/chunks)
		}
	}
	var wg sync.WaitGroup
	for i := 1; i < w; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run(i)
		}()
	}
	run(0)
	wg.Wait()
}
