package cuda

import (
	"errors"
	"math/bits"
	"sync"
)

// allocator is a caching allocator of device memory: sizes are rounded up
// to size classes, released blocks wait in per-class free lists for the
// next allocation of their class, and the driver is asked for memory only
// on a miss. With one stream per device a released block can be handed out
// again at once: any later kernel that uses it runs after the earlier ones.
// When the driver is out of memory, the cached blocks are freed and the
// allocation is tried again. The free lists hold at most limit bytes.
type allocator struct {
	mu    sync.Mutex
	raw   func(bytes int64) (uintptr, error) // cuMemAlloc
	free  func(ptr uintptr) error            // cuMemFree
	lists map[int64][]uintptr
	limit int64
	stats MemStats
}

// MemStats are a device's memory statistics.
type MemStats struct {
	Hits, Misses int   // allocations served from the cache, and from the driver
	InUse        int64 // bytes handed out and not released
	Cached       int64 // bytes waiting in the free lists
	Peak         int64 // the most bytes ever in use plus cached
	Limit        int64 // the bound on Cached
}

func newAllocator(raw func(int64) (uintptr, error), free func(uintptr) error, limit int64) *allocator {
	return &allocator{raw: raw, free: free, lists: map[int64][]uintptr{}, limit: limit}
}

// blockClass rounds a request up to its size class: 512 bytes at least,
// then four classes per power of two (under a quarter wasted), and 2 MiB
// steps from 64 MiB on.
func blockClass(bytes int64) int64 {
	const small, large, step = 512, 64 << 20, 2 << 20
	switch {
	case bytes <= small:
		return small
	case bytes >= large:
		return (bytes + step - 1) / step * step
	}
	q := int64(1) << (bits.Len64(uint64(bytes-1)) - 3)
	return (bytes + q - 1) / q * q
}

// errOutOfMemory is what raw returns when the driver has no memory left.
var errOutOfMemory = errors.New("out of device memory")

// alloc returns a block of at least bytes and its class size.
func (a *allocator) alloc(bytes int64) (uintptr, int64, error) {
	class := blockClass(bytes)
	a.mu.Lock()
	defer a.mu.Unlock()
	if l := a.lists[class]; len(l) > 0 {
		p := l[len(l)-1]
		a.lists[class] = l[:len(l)-1]
		a.stats.Cached -= class
		a.stats.InUse += class
		a.stats.Hits++
		return p, class, nil
	}
	p, err := a.raw(class)
	if err != nil && errors.Is(err, errOutOfMemory) && a.stats.Cached > 0 {
		a.flushLocked(0)
		p, err = a.raw(class)
	}
	if err != nil {
		return 0, 0, err
	}
	a.stats.Misses++
	a.stats.InUse += class
	a.stats.Peak = max(a.stats.Peak, a.stats.InUse+a.stats.Cached)
	return p, class, nil
}

// release takes back a block of the given class.
func (a *allocator) release(p uintptr, class int64) error {
	if p == 0 {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stats.InUse -= class
	if a.stats.Cached+class > a.limit {
		return a.free(p)
	}
	a.lists[class] = append(a.lists[class], p)
	a.stats.Cached += class
	return nil
}

// flushLocked frees cached blocks until at most keep bytes stay cached.
func (a *allocator) flushLocked(keep int64) {
	for class, l := range a.lists {
		for len(l) > 0 && a.stats.Cached > keep {
			_ = a.free(l[len(l)-1])
			l = l[:len(l)-1]
			a.stats.Cached -= class
		}
		a.lists[class] = l
	}
}

// setLimit bounds the cached bytes and returns the old bound.
func (a *allocator) setLimit(bytes int64) int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	old := a.limit
	a.limit = bytes
	a.flushLocked(bytes)
	return old
}

func (a *allocator) memStats() MemStats {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.stats
	s.Limit = a.limit
	return s
}
