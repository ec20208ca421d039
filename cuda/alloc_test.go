package cuda

import (
	"errors"
	"testing"
)

func TestBlockClass(t *testing.T) {
	for _, c := range []struct{ in, want int64 }{
		{1, 512}, {512, 512}, {513, 640}, {1000, 1024}, {1025, 1280}, {3 << 20, 3 << 20},
		{(64 << 20) - 1, 64 << 20}, {64 << 20, 64 << 20}, {(64 << 20) + 1, 66 << 20},
	} {
		if got := blockClass(c.in); got != c.want {
			t.Errorf("blockClass(%d) = %d, want %d", c.in, got, c.want)
		}
		if got := blockClass(c.in); got < c.in || (c.in > 512 && c.in < 64<<20 && float64(got) > 1.25*float64(c.in)+1) {
			t.Errorf("blockClass(%d) = %d wastes too much", c.in, got)
		}
	}
}

// fakeMemory stands in for the driver: a budget of bytes and a count of
// live blocks.
type fakeMemory struct {
	budget, used int64
	next         uintptr
	sizes        map[uintptr]int64
	frees        int
}

func (f *fakeMemory) alloc(b int64) (uintptr, error) {
	if f.used+b > f.budget {
		return 0, errOutOfMemory
	}
	f.next += 4096
	f.sizes[f.next] = b
	f.used += b
	return f.next, nil
}

func (f *fakeMemory) free(p uintptr) error {
	f.used -= f.sizes[p]
	delete(f.sizes, p)
	f.frees++
	return nil
}

func TestAllocatorReusesAndBounds(t *testing.T) {
	f := &fakeMemory{budget: 1 << 20, sizes: map[uintptr]int64{}}
	a := newAllocator(f.alloc, f.free, 1<<20)
	p, class, err := a.alloc(1000)
	if err != nil || class != 1024 {
		t.Fatalf("alloc: %v class %d", err, class)
	}
	if err := a.release(p, class); err != nil {
		t.Fatal(err)
	}
	q, _, _ := a.alloc(900) // same class: served from the cache
	if q != p {
		t.Errorf("second allocation %x did not reuse %x", q, p)
	}
	s := a.memStats()
	if s.Hits != 1 || s.Misses != 1 || s.InUse != 1024 || s.Cached != 0 {
		t.Errorf("stats %+v", s)
	}
	a.release(q, 1024)

	// Out of memory: the cache is flushed and the allocation retried.
	big, bc, err := a.alloc(1 << 20)
	if err != nil {
		t.Fatalf("allocation after flushing the cache: %v", err)
	}
	if f.frees != 1 {
		t.Errorf("%d frees, want the cached block freed", f.frees)
	}
	if _, _, err := a.alloc(1 << 10); !errors.Is(err, errOutOfMemory) {
		t.Errorf("allocation beyond the budget: %v", err)
	}
	a.release(big, bc)

	// A limit of 0 turns caching off.
	a.setLimit(0)
	if s := a.memStats(); s.Cached != 0 || f.used != 0 {
		t.Errorf("after setLimit(0): %+v, driver holds %d", s, f.used)
	}
}
