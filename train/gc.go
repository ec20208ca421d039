package train

import (
	"os"
	"runtime/debug"
)

// TrainingGCPercent is the collector's target that TuneGC sets: the heap
// may grow 20% past what is live before a collection, instead of Go's
// default 100%. A training step's live heap is mostly activations and
// optimizer state held in large pointer-free buffers, which the collector
// marks almost for free, so collecting more often costs little time
// while the default doubling would double the peak resident memory
// (ResNet-152 full training at batch 4: 3.9 GB at 100, 3.4 at 25, 3.0 at
// 10).
const TrainingGCPercent = 20

// TuneGC sets the garbage collector's percentage to TrainingGCPercent for
// a training program, unless the user set GOGC, and returns a function
// that restores the previous setting. It changes process-wide state: call
// it from main, not from a library.
func TuneGC() (restore func()) {
	if _, set := os.LookupEnv("GOGC"); set {
		return func() {}
	}
	old := debug.SetGCPercent(TrainingGCPercent)
	return func() { debug.SetGCPercent(old) }
}
