package datasets

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
)

// BadImage is a sample whose image cannot be decoded.
type BadImage struct {
	Index int    // in the data set
	Path  string // the image file; empty for generated samples
	Err   error
}

func (b BadImage) Error() string {
	if b.Path == "" {
		return fmt.Sprintf("sample %d: %v", b.Index, b.Err)
	}
	if strings.Contains(b.Err.Error(), b.Path) {
		return b.Err.Error()
	}
	return fmt.Sprintf("%s: %v", b.Path, b.Err)
}

// Preflight decodes every sample's image once, on up to workers goroutines
// (0: GOMAXPROCS), and returns the samples that fail, in index order, so
// that a run can stop, or skip them, before its first step rather than
// in the middle of an epoch. A panic in a decoder counts as a failure.
func Preflight(ds Dataset, workers int) []BadImage {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	n := ds.Len()
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, max(n, 1)) {
		wg.Go(func() {
			for i := range next {
				errs[i] = decodeOnce(ds, i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	var bad []BadImage
	for i, err := range errs {
		if err != nil {
			bad = append(bad, BadImage{Index: i, Path: ds.Sample(i).ImagePath, Err: err})
		}
	}
	return bad
}

func decodeOnce(ds Dataset, i int) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("decoder panic: %v", r)
		}
	}()
	m, err := ds.Image(i)
	if err != nil {
		return err
	}
	return m.Check()
}

// Without returns ds without the samples at the given bad images' indices.
func Without(ds Dataset, bad []BadImage) Subset {
	drop := map[int]bool{}
	for _, b := range bad {
		drop[b.Index] = true
	}
	s := Subset{Data: ds}
	for i := range ds.Len() {
		if !drop[i] {
			s.Indices = append(s.Indices, i)
		}
	}
	return s
}
