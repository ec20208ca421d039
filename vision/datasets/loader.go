package datasets

import (
	"fmt"
	"iter"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/vertebra-ml/vertebra/data"
	"github.com/vertebra-ml/vertebra/vision/transforms"
)

// LoaderConfig configures a [Loader].
type LoaderConfig struct {
	// BatchSize is the number of samples per batch (> 0).
	BatchSize int
	// Shuffle draws a new order each epoch from (Seed, epoch); otherwise
	// samples come in index order.
	Shuffle bool
	// Seed fixes the orders and every sample's augmentation.
	Seed uint64
	// Workers is the number of decoding goroutines; 0 means GOMAXPROCS.
	Workers int
	// Prefetch is how many batches may be built or waiting ahead of the
	// one the consumer holds; 0 means 2.
	Prefetch int
	// DropLast drops a last batch smaller than BatchSize.
	DropLast bool
	// Transform turns each decoded slice into the model's input; every
	// output must have the same shape. nil means transforms.Eval with
	// transforms.DefaultConfig (3 x 224 x 224).
	Transform transforms.Transform
}

// Batch is a batch of transformed samples, ready to become a tensor.
type Batch struct {
	// Images holds N images of C x H x W values, NCHW row-major.
	Images     []float32
	N, C, H, W int
	// Levels and Labels are each sample's level (0..4) and grade (0..2).
	Levels, Labels []int
	// Indices are the samples' indices in the data set.
	Indices []int
}

// Loader yields batches of a data set, decoding and transforming samples
// on worker goroutines ahead of the consumer. An epoch's order depends
// only on (Seed, epoch), and each sample's random source only on (Seed,
// epoch, index), so the batches are the same whatever Workers is.
type Loader struct {
	ds  Dataset
	cfg LoaderConfig
}

// NewLoader checks cfg and returns a loader over ds.
func NewLoader(ds Dataset, cfg LoaderConfig) (*Loader, error) {
	switch {
	case ds == nil:
		return nil, fmt.Errorf("datasets: NewLoader: nil data set")
	case cfg.BatchSize <= 0:
		return nil, fmt.Errorf("datasets: NewLoader: BatchSize %d, want > 0", cfg.BatchSize)
	case cfg.Workers < 0:
		return nil, fmt.Errorf("datasets: NewLoader: Workers %d, want >= 0 (0: GOMAXPROCS)", cfg.Workers)
	case cfg.Prefetch < 0:
		return nil, fmt.Errorf("datasets: NewLoader: Prefetch %d, want >= 0 (0: 2)", cfg.Prefetch)
	}
	if cfg.Workers == 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.Prefetch == 0 {
		cfg.Prefetch = 2
	}
	if cfg.Transform == nil {
		t, err := transforms.Eval(transforms.DefaultConfig())
		if err != nil {
			return nil, err
		}
		cfg.Transform = t
	}
	return &Loader{ds: ds, cfg: cfg}, nil
}

// Sampler is the loader's batching: its batch size, shuffle, seed and
// drop_last, as the general data.Sampler.
func (l *Loader) Sampler() data.Sampler {
	return data.Sampler{BatchSize: l.cfg.BatchSize, Shuffle: l.cfg.Shuffle, Seed: l.cfg.Seed, DropLast: l.cfg.DropLast}
}

// Len returns the number of batches per epoch.
func (l *Loader) Len() int { return l.Sampler().Len(l.ds.Len()) }

// Order returns the sample indices of the epoch in the order they are
// batched.
func (l *Loader) Order(epoch int) []int { return l.Sampler().Order(l.ds.Len(), epoch) }

// sampleRand is the random source of one sample's transform.
func (l *Loader) sampleRand(epoch, index int) *rand.Rand {
	return rand.New(rand.NewPCG(mix(l.cfg.Seed, uint64(epoch)), mix(uint64(index), 0xa06)))
}

// Epoch returns the batches of one epoch. Ranging over it starts the
// workers; breaking out of the loop stops them and waits for them to
// exit. A sample that fails to decode or transform ends the epoch with an
// error naming the sample and its file, yielded once with an empty batch.
func (l *Loader) Epoch(epoch int) iter.Seq2[Batch, error] { return l.EpochFrom(epoch, 0) }

// EpochFrom returns the batches of one epoch from batch first on, the same
// batches Epoch gives from there: where an interrupted epoch resumes.
func (l *Loader) EpochFrom(epoch, first int) iter.Seq2[Batch, error] {
	return func(yield func(Batch, error) bool) {
		if nb := l.Len(); nb == 0 || first >= nb {
			return
		}
		done := make(chan struct{})
		jobs := make(chan job)
		// queue holds the batches handed to the workers, in order; its
		// capacity bounds how far the workers run ahead.
		queue := make(chan *pending, l.cfg.Prefetch)
		var wg sync.WaitGroup
		defer func() {
			close(done)
			wg.Wait()
		}()
		for range l.cfg.Workers {
			wg.Go(func() {
				for {
					select {
					case <-done:
						return
					case j, ok := <-jobs:
						if !ok {
							return
						}
						l.work(epoch, j)
					}
				}
			})
		}
		wg.Go(func() {
			defer close(queue)
			defer close(jobs)
			for idx := range l.Sampler().Batches(l.ds.Len(), epoch, first) {
				p := &pending{indices: idx, items: make([]transforms.Image, len(idx)), ready: make(chan struct{})}
				p.left.Store(int64(len(idx)))
				select {
				case queue <- p:
				case <-done:
					return
				}
				for slot := range idx {
					select {
					case jobs <- job{p, slot}:
					case <-done:
						return
					}
				}
			}
		})
		for p := range queue {
			<-p.ready
			if p.err != nil {
				yield(Batch{}, p.err)
				return
			}
			if !yield(p.batch, nil) {
				return
			}
		}
	}
}

// pending is a batch being built by the workers.
type pending struct {
	indices []int
	items   []transforms.Image
	left    atomic.Int64  // samples still to do
	ready   chan struct{} // closed when batch or err is set
	mu      sync.Mutex
	err     error // the first sample error, in slot order
	errSlot int
	batch   Batch
}

type job struct {
	p    *pending
	slot int
}

// work transforms one sample; the worker finishing a batch assembles it.
func (l *Loader) work(epoch int, j job) {
	p := j.p
	idx := p.indices[j.slot]
	m, err := l.load(epoch, idx)
	if err != nil {
		p.mu.Lock()
		if p.err == nil || j.slot < p.errSlot {
			p.err, p.errSlot = err, j.slot
		}
		p.mu.Unlock()
	} else {
		p.items[j.slot] = m
	}
	if p.left.Add(-1) == 0 {
		if p.err == nil {
			p.batch, p.err = l.assemble(p)
		}
		p.items = nil
		close(p.ready)
	}
}

// load decodes and transforms sample idx, turning panics into errors.
func (l *Loader) load(epoch, idx int) (m transforms.Image, err error) {
	s := l.ds.Sample(idx)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("datasets: %s: panic: %v", describe(idx, s), r)
		}
	}()
	m, err = l.ds.Image(idx)
	if err != nil {
		return m, fmt.Errorf("datasets: %s: %w", describe(idx, s), err)
	}
	m, err = l.cfg.Transform(m, transforms.Context{X: s.X, Y: s.Y, Rand: l.sampleRand(epoch, idx)})
	if err != nil {
		return m, fmt.Errorf("datasets: %s: transform: %w", describe(idx, s), err)
	}
	if err := m.Check(); err != nil {
		return m, fmt.Errorf("datasets: %s: transform output: %w", describe(idx, s), err)
	}
	return m, nil
}

// assemble copies a complete batch's images into one NCHW slice.
func (l *Loader) assemble(p *pending) (Batch, error) {
	first := p.items[0]
	n, size := len(p.items), len(first.Pix)
	b := Batch{
		Images: make([]float32, n*size), N: n, C: first.C, H: first.H, W: first.W,
		Levels: make([]int, n), Labels: make([]int, n), Indices: append([]int(nil), p.indices...),
	}
	for k, m := range p.items {
		idx := p.indices[k]
		if m.C != b.C || m.H != b.H || m.W != b.W {
			return Batch{}, fmt.Errorf("datasets: %s: transformed to %v, but sample %d of the batch is %v; the transform must give one shape",
				describe(idx, l.ds.Sample(idx)), m, p.indices[0], first)
		}
		copy(b.Images[k*size:], m.Pix)
		s := l.ds.Sample(idx)
		b.Levels[k], b.Labels[k] = s.Level, s.Grade
	}
	return b, nil
}

// describe names a sample for errors: index, study, level and file.
func describe(idx int, s Sample) string {
	d := fmt.Sprintf("sample %d (study %d %s", idx, s.StudyID, LevelName(s.Level))
	if s.ImagePath != "" {
		d += ", " + s.ImagePath
	}
	return d + ")"
}
