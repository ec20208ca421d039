// Package data feeds models from data sets: a Sampler turns a data set's
// size into batches of sample indices (batch size, seeded shuffle,
// drop_last), as PyTorch's BatchSampler over a RandomSampler does, and
// TensorDataset with Loader are torch.utils.data.TensorDataset and
// DataLoader for data that fits in memory.
//
//	ds, err := data.NewTensorDataset(images, labels) // (N, C, H, W) float, (N) int32
//	loader, err := data.NewLoader(ds, data.Sampler{BatchSize: 32, Shuffle: true, Seed: 1})
//	for b := range loader.Epoch(epoch) {
//		x, y := b[0], b[1]
//		...
//	}
//
// It is not for decoding files or augmenting images: vision/datasets'
// loader does that on worker goroutines, batching with a Sampler.
package data

import (
	"fmt"
	"iter"
	"math/rand/v2"
)

// Sampler orders and batches the indices 0..n-1 of a data set.
type Sampler struct {
	// BatchSize is the number of samples per batch (> 0).
	BatchSize int
	// Shuffle draws a new order each epoch from (Seed, epoch); otherwise
	// samples come in index order.
	Shuffle bool
	Seed    uint64
	// DropLast drops a last batch smaller than BatchSize.
	DropLast bool
}

// Validate reports a batch size that is not positive.
func (s Sampler) Validate() error {
	if s.BatchSize <= 0 {
		return fmt.Errorf("data: BatchSize %d, want > 0", s.BatchSize)
	}
	return nil
}

// Len is the number of batches per epoch of a data set of n samples.
func (s Sampler) Len(n int) int {
	if s.DropLast {
		return n / s.BatchSize
	}
	return (n + s.BatchSize - 1) / s.BatchSize
}

// Order returns the indices of epoch in the order they are batched; with
// Shuffle it depends only on (Seed, epoch).
func (s Sampler) Order(n, epoch int) []int {
	if !s.Shuffle {
		order := make([]int, n)
		for i := range order {
			order[i] = i
		}
		return order
	}
	return rand.New(rand.NewPCG(Mix(s.Seed, 0x0de7), uint64(epoch))).Perm(n)
}

// Batches yields the index batches of epoch from batch first on (0 for
// the whole epoch; a later one resumes an interrupted epoch).
func (s Sampler) Batches(n, epoch, first int) iter.Seq[[]int] {
	return func(yield func([]int) bool) {
		order := s.Order(n, epoch)
		for b := max(first, 0); b < s.Len(n); b++ {
			if !yield(order[b*s.BatchSize : min((b+1)*s.BatchSize, n)]) {
				return
			}
		}
	}
}

// Mix combines two numbers into a well-spread 64-bit seed (SplitMix64's
// finaliser), so that nearby seeds give unrelated random streams.
func Mix(a, b uint64) uint64 {
	z := a*0x9e3779b97f4a7c15 + b + 0x632be59bd9b4e019
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
