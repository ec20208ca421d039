package datasets

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vertebra-ml/vertebra/vision/transforms"
)

// toyData is a cheap data set: sample i is a 1 x 6 x 8 image filled with
// i, at level i%5 and grade i%3. Image fails for the indices in bad and
// counts its calls.
type toyData struct {
	n     int
	bad   map[int]bool
	calls atomic.Int64
	mu    sync.Mutex
	seen  []int
}

func (d *toyData) Len() int { return d.n }

func (d *toyData) Sample(i int) Sample {
	return Sample{StudyID: int64(i / 5), Level: i % 5, Grade: i % 3, X: 3, Y: 2, ImagePath: fmt.Sprintf("toy/%d.dcm", i)}
}

func (d *toyData) Image(i int) (transforms.Image, error) {
	d.calls.Add(1)
	d.mu.Lock()
	d.seen = append(d.seen, i)
	d.mu.Unlock()
	if d.bad[i] {
		return transforms.Image{}, errors.New("corrupt pixel data")
	}
	m := transforms.NewImage(1, 6, 8)
	for k := range m.Pix {
		m.Pix[k] = float32(i) + float32(k)/100
	}
	return m, nil
}

func smallTrain(t testing.TB) transforms.Transform {
	cfg := transforms.DefaultConfig()
	cfg.Size = 16
	tr, err := transforms.Train(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func collect(t *testing.T, l *Loader, epoch int) []Batch {
	t.Helper()
	var out []Batch
	for b, err := range l.Epoch(epoch) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func TestLoaderSameForAnyWorkers(t *testing.T) {
	ds := &toyData{n: 23}
	var runs [][]Batch
	for _, workers := range []int{1, 4} {
		l, err := NewLoader(ds, LoaderConfig{BatchSize: 5, Shuffle: true, Seed: 3, Workers: workers, Transform: smallTrain(t)})
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, collect(t, l, 2))
	}
	if len(runs[0]) != 5 || runs[0][4].N != 3 {
		t.Fatalf("%d batches, last of %d; want 5, the last of 3", len(runs[0]), runs[0][len(runs[0])-1].N)
	}
	for k := range runs[0] {
		a, b := runs[0][k], runs[1][k]
		if !slices.Equal(a.Indices, b.Indices) || !slices.Equal(a.Images, b.Images) || !slices.Equal(a.Labels, b.Labels) {
			t.Fatalf("batch %d differs between 1 and 4 workers", k)
		}
		if a.C != 3 || a.H != 16 || a.W != 16 || len(a.Images) != a.N*3*16*16 {
			t.Fatalf("batch %d shape %d x %d x %d x %d with %d values", k, a.N, a.C, a.H, a.W, len(a.Images))
		}
		for j, i := range a.Indices {
			s := ds.Sample(i)
			if a.Levels[j] != s.Level || a.Labels[j] != s.Grade {
				t.Fatalf("batch %d item %d: level %d grade %d, want %d %d", k, j, a.Levels[j], a.Labels[j], s.Level, s.Grade)
			}
		}
	}
}

func TestLoaderEpochs(t *testing.T) {
	ds := &toyData{n: 40}
	l, err := NewLoader(ds, LoaderConfig{BatchSize: 6, Shuffle: true, Seed: 1, Workers: 3, Transform: smallTrain(t)})
	if err != nil {
		t.Fatal(err)
	}
	order := func(bs []Batch) []int {
		var o []int
		for _, b := range bs {
			o = append(o, b.Indices...)
		}
		return o
	}
	e0, e1, e0again := order(collect(t, l, 0)), order(collect(t, l, 1)), order(collect(t, l, 0))
	if slices.Equal(e0, e1) {
		t.Error("epochs 0 and 1 have the same order")
	}
	if !slices.Equal(e0, e0again) || !slices.Equal(e0, l.Order(0)) {
		t.Error("epoch 0's order is not reproducible")
	}
	for _, o := range [][]int{e0, e1} {
		s := slices.Sorted(slices.Values(o))
		for i, v := range s {
			if v != i {
				t.Fatalf("an epoch does not see every sample once: %v", s)
			}
		}
	}
	// Without shuffling, index order; DropLast drops the short batch.
	l2, _ := NewLoader(ds, LoaderConfig{BatchSize: 6, DropLast: true, Transform: smallTrain(t)})
	got := collect(t, l2, 5)
	if len(got) != 6 || l2.Len() != 6 || got[0].Indices[0] != 0 || got[5].Indices[5] != 35 {
		t.Errorf("DropLast: %d batches (Len %d), want 6 in index order", len(got), l2.Len())
	}
}

func TestLoaderError(t *testing.T) {
	ds := &toyData{n: 30, bad: map[int]bool{17: true}}
	for _, workers := range []int{1, 4} {
		l, _ := NewLoader(ds, LoaderConfig{BatchSize: 4, Workers: workers, Transform: smallTrain(t)})
		var batches int
		var got error
		for _, err := range l.Epoch(0) {
			if err != nil {
				got = err
				continue
			}
			batches++
		}
		if got == nil || !strings.Contains(got.Error(), "toy/17.dcm") || !strings.Contains(got.Error(), "corrupt pixel data") {
			t.Errorf("workers %d: error %v, want one naming toy/17.dcm", workers, got)
		}
		if batches != 4 {
			t.Errorf("workers %d: %d batches before the error, want 4", workers, batches)
		}
	}
	// A transform whose output shape varies is an error, not a panic.
	odd := func(m transforms.Image, ctx transforms.Context) (transforms.Image, error) {
		if m.Pix[0] >= 2 {
			return transforms.NewImage(1, 2, 2), nil
		}
		return transforms.NewImage(1, 3, 3), nil
	}
	l, _ := NewLoader(&toyData{n: 4}, LoaderConfig{BatchSize: 4, Transform: odd})
	for _, err := range l.Epoch(0) {
		if err == nil || !strings.Contains(err.Error(), "one shape") {
			t.Errorf("mixed shapes: error %v", err)
		}
	}
	// A panicking transform becomes an error.
	boom := func(transforms.Image, transforms.Context) (transforms.Image, error) { panic("boom") }
	l, _ = NewLoader(&toyData{n: 4}, LoaderConfig{BatchSize: 2, Transform: boom})
	for _, err := range l.Epoch(0) {
		if err == nil || !strings.Contains(err.Error(), "panic: boom") {
			t.Errorf("panicking transform: error %v", err)
		}
	}
}

func TestLoaderEarlyStopAndPrefetch(t *testing.T) {
	before := runtime.NumGoroutine()
	ds := &toyData{n: 200}
	const prefetch = 2
	l, _ := NewLoader(ds, LoaderConfig{BatchSize: 5, Shuffle: true, Workers: 4, Prefetch: prefetch, Transform: smallTrain(t)})
	k := 0
	for _, err := range l.Epoch(0) {
		if err != nil {
			t.Fatal(err)
		}
		k++
		// While the consumer holds batch k, workers may run at most
		// prefetch batches ahead.
		time.Sleep(20 * time.Millisecond)
		if n := int(ds.calls.Load()); n > (k+prefetch)*5 {
			t.Errorf("after %d batches, %d samples decoded: more than %d batches ahead", k, n, prefetch)
		}
		if k == 3 {
			break
		}
	}
	// Epoch returns only after its goroutines have exited.
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after breaking out of the epoch, %d before", n, before)
	}
}

func TestLoaderConfigErrors(t *testing.T) {
	ds := &toyData{n: 3}
	for _, cfg := range []LoaderConfig{{}, {BatchSize: -1}, {BatchSize: 1, Workers: -1}, {BatchSize: 1, Prefetch: -2}} {
		if _, err := NewLoader(ds, cfg); err == nil {
			t.Errorf("NewLoader(%+v): no error", cfg)
		}
	}
	if _, err := NewLoader(nil, LoaderConfig{BatchSize: 1}); err == nil {
		t.Error("nil data set: no error")
	}
}

func TestLoaderSynthetic(t *testing.T) {
	d := newSynth(t, SyntheticConfig{Studies: 2, Seed: 4, MaxSize: 224})
	tr, err := transforms.Train(transforms.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLoader(d, LoaderConfig{BatchSize: 4, Shuffle: true, Seed: 8, Workers: 2, Transform: tr})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for b, err := range l.Epoch(0) {
		if err != nil {
			t.Fatal(err)
		}
		if b.C != 3 || b.H != 224 || b.W != 224 || len(b.Images) != b.N*3*224*224 {
			t.Fatalf("batch shape %d x %d x %d x %d", b.N, b.C, b.H, b.W)
		}
		n += b.N
	}
	if n != d.Len() {
		t.Errorf("%d samples in the epoch, want %d", n, d.Len())
	}
}
