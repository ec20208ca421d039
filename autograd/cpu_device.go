package autograd

import (
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"runtime/metrics"
	"sync"
	"unsafe"

	"github.com/vertebra-ml/vertebra/autograd/cpu"
	"github.com/vertebra-ml/vertebra/autograd/kernel"
)

// CPU is the pure-Go device, the reference every other device is tested
// against. It is the default device of new tensors.
var CPU Device = newCPUDevice()

// hostStorage is the CPU device's storage: one of the slices is set.
type hostStorage struct {
	dt  DType
	f32 []float32
	f64 []float64
	i32 []int32
}

func (s *hostStorage) Device() Device { return CPU }
func (s *hostStorage) DType() DType   { return s.dt }
func (s *hostStorage) Len() int {
	switch s.dt {
	case Float32:
		return len(s.f32)
	case Float64:
		return len(s.f64)
	}
	return len(s.i32)
}

// cpuDevice keeps a pool of released buffers by element type and size
// class, so that a training loop whose steps run in a Scope reuses the
// previous step's buffers instead of asking the garbage collector for new
// ones, which the runtime would zero. Buffers that become garbage without
// being released come back too, through a finalizer on their array
// (recycleWhenUnreachable): a no-grad forward pass, whose activations die
// a layer later, reuses them as well. A pooled buffer that no allocation
// took while two garbage collections passed is handed to the collector,
// so the pool holds what the program is using again, not its history; and
// it never holds more than limit bytes.
type cpuDevice struct {
	mu          sync.Mutex
	free        map[poolKey][]pooledBuf
	pooled      int64 // bytes held in free
	limit       int64
	collections uint64 // garbage collections seen (watchCollections)
	// forced counts the collections the pool started (reused past pace).
	// Pooled buffers age by the others (clock), which the runtime paces
	// by new memory: a loop served from the pool runs so many of its own
	// that a buffer would expire between two uses a step apart.
	forced       uint64
	hits, misses int // pooled allocations served from the pool, and not
	// reused counts the bytes served from the pool since the last
	// collection. The collector paces itself by new memory only, which a
	// pool serving every allocation never asks for, so that the buffers
	// dying meanwhile would wait ever longer for the finalizer that
	// returns them; past pace bytes, the pool starts a collection itself.
	reused, pace int64
	collecting   bool
}

type poolKey struct {
	dt    DType
	class int
}

// pooledBuf is a buffer in the pool: a zero-length slice of its whole
// capacity, and the garbage collection at whose end it leaves the pool if
// no allocation took it by then.
type pooledBuf struct {
	buf     any
	expires uint64
}

func newCPUDevice() *cpuDevice {
	c := &cpuDevice{free: map[poolKey][]pooledBuf{}, limit: 2 << 30, pace: minPace}
	c.watchCollections()
	return c
}

// sizeClass rounds n up to one of four sizes per power of two, so a pooled
// buffer wastes at most a fifth of its capacity.
func sizeClass(n int) int {
	if n <= 64 {
		return n
	}
	step := 1 << (bits.Len(uint(n-1)) - 3) // an eighth of the next power of two
	return (n + step - 1) / step * step
}

// minPooled is the smallest buffer worth pooling; smaller ones are cheap for
// the allocator.
const minPooled = 1024

func (c *cpuDevice) Name() string { return "cpu" }

// Alloc never fails: the Go runtime ends the program when memory runs out.
func (c *cpuDevice) Alloc(dt DType, n int) (Storage, error) {
	return c.alloc(dt, n), nil
}

func (c *cpuDevice) alloc(dt DType, n int) *hostStorage {
	if n < minPooled {
		return newHost(dt, make32or64(dt, n, n))
	}
	class := sizeClass(n)
	c.mu.Lock()
	buf := c.take(dt, class)
	if buf != nil {
		c.hits++
		if c.reused > c.pace && !c.collecting {
			c.collecting = true
			go runtime.GC()
		}
	} else {
		c.misses++
	}
	c.mu.Unlock()
	if buf == nil {
		buf = make32or64(dt, n, class)
		c.recycleWhenUnreachable(buf)
	}
	return newHost(dt, reslice(buf, n))
}

// take removes from the pool a buffer of the given size class or, failing
// that, of one of the next classes up to twice its size, and returns it
// (nil if there is none); c.mu is held. A larger buffer serves while an
// exact one would be new memory beside it idle: a network's layers ask
// for many sizes, and the pool would hold several of each.
func (c *cpuDevice) take(dt DType, class int) any {
	for k := class; k <= 2*class; k = sizeClass(k + 1) {
		key := poolKey{dt, k}
		l := c.free[key]
		if len(l) == 0 {
			continue
		}
		buf := l[len(l)-1].buf
		l[len(l)-1] = pooledBuf{}
		c.free[key] = l[:len(l)-1]
		c.pooled -= int64(k * dt.Size())
		c.reused += int64(k * dt.Size())
		return buf
	}
	return nil
}

// Release puts the storage's buffer back in the pool, unless it is too
// small to pool or the pool is full.
func (c *cpuDevice) Release(st Storage) {
	h := host(st)
	var buf any
	switch h.dt {
	case Float32:
		buf = h.f32[:0]
	case Float64:
		buf = h.f64[:0]
	default:
		buf = h.i32[:0]
	}
	h.f32, h.f64, h.i32 = nil, nil, nil
	if capacity := bufCap(buf); capacity < minPooled || sizeClass(capacity) != capacity {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// A released buffer waits for two collections: a Scope releases a
	// whole step's activations at once, and the next step takes them back
	// over its length. One the pool has no room for keeps its finalizer,
	// which offers it again once it is garbage.
	c.put(buf, c.clock()+2)
}

// put adds buf to the pool until collection expires if there is room and
// reports whether it did; c.mu is held.
func (c *cpuDevice) put(buf any, expires uint64) bool {
	dt, capacity := bufType(buf), bufCap(buf)
	size := int64(capacity * dt.Size())
	if c.pooled+size > c.limit {
		return false
	}
	key := poolKey{dt, capacity}
	c.free[key] = append(c.free[key], pooledBuf{buf, expires})
	c.pooled += size
	return true
}

// recycleWhenUnreachable arranges for a pooled-size buffer that becomes
// garbage to be offered to the pool instead of to the collector. The
// finalizer sits on the buffer's array, not on the storage, so it fires
// only when no slice of the array is left anywhere, a kernel's argument
// included. It must not refer to the buffer, or the buffer would never
// become garbage; it rebuilds the slice from the pointer it is given.
func (c *cpuDevice) recycleWhenUnreachable(buf any) {
	switch b := buf.(type) {
	case []float32:
		n := cap(b)
		runtime.SetFinalizer(&b[:1][0], func(p *float32) { c.recycle(unsafe.Slice(p, n)[:0]) })
	case []float64:
		n := cap(b)
		runtime.SetFinalizer(&b[:1][0], func(p *float64) { c.recycle(unsafe.Slice(p, n)[:0]) })
	case []int32:
		n := cap(b)
		runtime.SetFinalizer(&b[:1][0], func(p *int32) { c.recycle(unsafe.Slice(p, n)[:0]) })
	}
}

// forget removes buf's finalizer, so that dropping it from the pool hands
// it to the collector for good.
func forget(buf any) {
	switch b := buf.(type) {
	case []float32:
		runtime.SetFinalizer(&b[:1][0], nil)
	case []float64:
		runtime.SetFinalizer(&b[:1][0], nil)
	case []int32:
		runtime.SetFinalizer(&b[:1][0], nil)
	}
}

// recycle is an unreachable buffer's finalizer: it pools the buffer and
// arms the finalizer again, or, with the pool full, lets it go. A buffer
// that died mid-pass serves the allocations until the next collection,
// which come from the same stretch of the network and want its size; after
// that it would only hold memory until the next step.
func (c *cpuDevice) recycle(buf any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.put(buf, c.clock()+1) {
		c.recycleWhenUnreachable(buf)
	}
}

// gcSentinel is garbage from birth; its finalizer tells the pool that a
// collection ran. It is larger than the runtime's 16-byte tiny blocks,
// whose finalizers need not run.
type gcSentinel struct{ _ [4]uint64 }

// watchCollections counts garbage collections: each one finalizes the
// current sentinel, whose finalizer trims the pool and sets a new one.
func (c *cpuDevice) watchCollections() {
	runtime.SetFinalizer(&gcSentinel{}, func(*gcSentinel) {
		c.collected()
		c.watchCollections()
	})
}

// collected drops from the pool the buffers whose time is up (put) and
// paces the next collection.
func (c *cpuDevice) collected() {
	live := heapLive()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.collections++
	if c.collecting {
		c.forced++
	}
	now := c.clock()
	c.reused, c.collecting = 0, false
	if pct := gcPercent(); pct < 0 {
		c.pace = math.MaxInt64
	} else {
		c.pace = max(minPace, (live-c.pooled)*pct/100)
	}
	for k, l := range c.free {
		kept := l[:0]
		for _, b := range l {
			if b.expires > now {
				kept = append(kept, b)
				continue
			}
			forget(b.buf)
			c.pooled -= int64(k.class * k.dt.Size())
		}
		if len(kept) == 0 {
			delete(c.free, k)
			continue
		}
		clear(l[len(kept):])
		c.free[k] = kept
	}
}

// minPace is the least reuse between collections the pool starts: below
// it a program's live heap is small enough for the collector's own pacing.
const minPace = 64 << 20

// clock is the number of collections completed that the pool did not
// start; c.mu is held. A collection the pool started counts until its
// end is seen (collected), which only makes a buffer pooled meanwhile
// stay one collection longer.
func (c *cpuDevice) clock() uint64 { return gcCycles() - c.forced }

// gcCycles is the number of garbage collections completed.
func gcCycles() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// heapLive is the heap the last collection found live, in bytes.
func heapLive() int64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(s[0].Value.Uint64())
}

// gcPercent is the collector's GOGC setting, -1 when it is off.
func gcPercent() int64 {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 100
	}
	if v := s[0].Value.Uint64(); v <= math.MaxInt32 {
		return int64(v)
	}
	return -1
}

// SetPoolLimit bounds the bytes of released CPU buffers kept for reuse
// (2 GiB by default; 0 turns pooling off) and returns the old limit.
func SetPoolLimit(bytes int64) int64 {
	d := CPU.(*cpuDevice)
	d.mu.Lock()
	defer d.mu.Unlock()
	old := d.limit
	d.limit = bytes
	for k, l := range d.free {
		for len(l) > 0 && d.pooled > d.limit {
			forget(l[len(l)-1].buf)
			l[len(l)-1] = pooledBuf{}
			l = l[:len(l)-1]
			d.pooled -= int64(k.class * k.dt.Size())
		}
		d.free[k] = l
	}
	return old
}

// PoolStats reports how many pooled CPU allocations were served from
// released buffers (hits) and how many needed new memory (misses).
func PoolStats() (hits, misses int) {
	d := CPU.(*cpuDevice)
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.hits, d.misses
}

// bufType and bufCap read a pooled buffer's element type and capacity.
func bufType(buf any) DType {
	switch buf.(type) {
	case []float32:
		return Float32
	case []float64:
		return Float64
	}
	return Int32
}

func bufCap(buf any) int {
	switch b := buf.(type) {
	case []float32:
		return cap(b)
	case []float64:
		return cap(b)
	case []int32:
		return cap(b)
	}
	return 0
}

func make32or64(dt DType, n, capacity int) any {
	switch dt {
	case Float32:
		return make([]float32, n, capacity)
	case Float64:
		return make([]float64, n, capacity)
	}
	return make([]int32, n, capacity)
}

func reslice(buf any, n int) any {
	switch b := buf.(type) {
	case []float32:
		return b[:n]
	case []float64:
		return b[:n]
	case []int32:
		return b[:n]
	}
	panic("unreachable")
}

func newHost(dt DType, buf any) *hostStorage {
	s := &hostStorage{dt: dt}
	switch b := buf.(type) {
	case []float32:
		s.f32 = b
	case []float64:
		s.f64 = b
	case []int32:
		s.i32 = b
	}
	return s
}

func (c *cpuDevice) FromHost(data any) (Storage, error) {
	switch d := data.(type) {
	case []float32:
		s := c.alloc(Float32, len(d))
		copy(s.f32, d)
		return s, nil
	case []float64:
		s := c.alloc(Float64, len(d))
		copy(s.f64, d)
		return s, nil
	case []int32:
		s := c.alloc(Int32, len(d))
		copy(s.i32, d)
		return s, nil
	}
	return nil, fmt.Errorf("autograd: FromHost: unsupported host type %T (want []float32, []float64 or []int32)", data)
}

func (c *cpuDevice) ToHost(s Storage) (any, error) {
	h := host(s)
	switch h.dt {
	case Float32:
		return append([]float32(nil), h.f32...), nil
	case Float64:
		return append([]float64(nil), h.f64...), nil
	}
	return append([]int32(nil), h.i32...), nil
}

// Synchronize has nothing to wait for: CPU kernels finish before they return.
func (c *cpuDevice) Synchronize() error { return nil }

func host(s Storage) *hostStorage {
	if s == nil {
		return nil
	}
	h, ok := s.(*hostStorage)
	if !ok {
		panic(fmt.Sprintf("autograd: cpu kernel given %s storage", s.Device().Name()))
	}
	return h
}

// f32 and f64 return the slice of possibly nil storage.
func f32(s Storage) []float32 {
	if s == nil {
		return nil
	}
	return host(s).f32
}

func f64(s Storage) []float64 {
	if s == nil {
		return nil
	}
	return host(s).f64
}

func i32(s Storage) []int32 {
	if s == nil {
		return nil
	}
	return host(s).i32
}

func is64(s Storage) bool { return host(s).dt == Float64 }

func (c *cpuDevice) Fill(dst Storage, v float64) {
	switch h := host(dst); h.dt {
	case Float64:
		cpu.Fill(h.f64, v)
	case Float32:
		cpu.Fill(h.f32, float32(v))
	default:
		for i := range h.i32 {
			h.i32[i] = int32(v)
		}
	}
}

func (c *cpuDevice) Copy(dst, src Storage) {
	d, s := host(dst), host(src)
	if d.dt == s.dt {
		switch d.dt {
		case Float64:
			copy(d.f64, s.f64)
		case Float32:
			copy(d.f32, s.f32)
		default:
			copy(d.i32, s.i32)
		}
		return
	}
	switch d.dt {
	case Float64:
		convert(d.f64, s)
	case Float32:
		convert(d.f32, s)
	default:
		convert(d.i32, s)
	}
}

// convert copies src, of another type, to dst.
func convert[T float32 | float64 | int32](dst []T, src *hostStorage) {
	switch src.dt {
	case Float64:
		for i, v := range src.f64 {
			dst[i] = T(v)
		}
	case Float32:
		for i, v := range src.f32 {
			dst[i] = T(v)
		}
	default:
		for i, v := range src.i32 {
			dst[i] = T(v)
		}
	}
}

func (c *cpuDevice) AddTo(dst, src Storage) {
	if is64(dst) {
		cpu.AddTo(f64(dst), f64(src))
	} else {
		cpu.AddTo(f32(dst), f32(src))
	}
}

func (c *cpuDevice) Unary(op kernel.UnaryOp, dst, x Storage, alpha float64) {
	if is64(dst) {
		cpu.Unary(op, f64(dst), f64(x), alpha)
	} else {
		cpu.Unary(op, f32(dst), f32(x), alpha)
	}
}

func (c *cpuDevice) UnaryGrad(op kernel.UnaryOp, dx, x, y, dy Storage, alpha float64) {
	if is64(dx) {
		cpu.UnaryGrad(op, f64(dx), f64(x), f64(y), f64(dy), alpha)
	} else {
		cpu.UnaryGrad(op, f32(dx), f32(x), f32(y), f32(dy), alpha)
	}
}

func (c *cpuDevice) Binary(op kernel.BinaryOp, dst, a, b Storage, shape, sa, sb []int) {
	if is64(dst) {
		cpu.Binary(op, f64(dst), f64(a), f64(b), shape, sa, sb)
	} else {
		cpu.Binary(op, f32(dst), f32(a), f32(b), shape, sa, sb)
	}
}

func (c *cpuDevice) SumAxis(dst, src Storage, outer, n, inner int, scale float64) {
	if is64(dst) {
		cpu.SumAxis(f64(dst), f64(src), outer, n, inner, scale)
	} else {
		cpu.SumAxis(f32(dst), f32(src), outer, n, inner, float32(scale))
	}
}

func (c *cpuDevice) MaxAxis(dst, arg, src Storage, outer, n, inner int) {
	if is64(dst) {
		cpu.MaxAxis(f64(dst), i32(arg), f64(src), outer, n, inner)
	} else {
		cpu.MaxAxis(f32(dst), i32(arg), f32(src), outer, n, inner)
	}
}

func (c *cpuDevice) MaxAxisGrad(dx, dy, arg Storage, outer, n, inner int) {
	if is64(dx) {
		cpu.MaxAxisGrad(f64(dx), f64(dy), i32(arg), outer, n, inner)
	} else {
		cpu.MaxAxisGrad(f32(dx), f32(dy), i32(arg), outer, n, inner)
	}
}

func (c *cpuDevice) Softmax(dst, src Storage, outer, n, inner int, log bool) {
	if is64(dst) {
		cpu.Softmax(f64(dst), f64(src), outer, n, inner, log)
	} else {
		cpu.Softmax(f32(dst), f32(src), outer, n, inner, log)
	}
}

func (c *cpuDevice) SoftmaxGrad(dx, y, dy Storage, outer, n, inner int, log bool) {
	if is64(dx) {
		cpu.SoftmaxGrad(f64(dx), f64(y), f64(dy), outer, n, inner, log)
	} else {
		cpu.SoftmaxGrad(f32(dx), f32(y), f32(dy), outer, n, inner, log)
	}
}

func (c *cpuDevice) Gather(dst, src Storage, shape, strides []int, offset int) {
	if is64(dst) {
		cpu.Gather(f64(dst), f64(src), shape, strides, offset)
	} else {
		cpu.Gather(f32(dst), f32(src), shape, strides, offset)
	}
}

func (c *cpuDevice) Scatter(dst, src Storage, shape, strides []int, offset int, add bool) {
	if is64(dst) {
		cpu.Scatter(f64(dst), f64(src), shape, strides, offset, add)
	} else {
		cpu.Scatter(f32(dst), f32(src), shape, strides, offset, add)
	}
}

func (c *cpuDevice) IndexSelect(dst, src, idx Storage, outer, n, inner int) {
	checkIndices("IndexSelect", i32(idx), n)
	if is64(dst) {
		cpu.IndexSelect(f64(dst), f64(src), i32(idx), outer, n, inner)
	} else {
		cpu.IndexSelect(f32(dst), f32(src), i32(idx), outer, n, inner)
	}
}

func (c *cpuDevice) IndexAdd(dx, dy, idx Storage, outer, n, inner int) {
	checkIndices("IndexAdd", i32(idx), n)
	if is64(dx) {
		cpu.IndexAdd(f64(dx), f64(dy), i32(idx), outer, n, inner)
	} else {
		cpu.IndexAdd(f32(dx), f32(dy), i32(idx), outer, n, inner)
	}
}

func (c *cpuDevice) GatherAxis(dst, src, idx Storage, outer, n, k, inner int) {
	checkIndices("GatherAxis", i32(idx), n)
	if is64(dst) {
		cpu.GatherAxis(f64(dst), f64(src), i32(idx), outer, n, k, inner)
	} else {
		cpu.GatherAxis(f32(dst), f32(src), i32(idx), outer, n, k, inner)
	}
}

func (c *cpuDevice) GatherAxisAdd(dx, dy, idx Storage, outer, n, k, inner int) {
	checkIndices("GatherAxisAdd", i32(idx), n)
	if is64(dx) {
		cpu.GatherAxisAdd(f64(dx), f64(dy), i32(idx), outer, n, k, inner)
	} else {
		cpu.GatherAxisAdd(f32(dx), f32(dy), i32(idx), outer, n, k, inner)
	}
}

func (c *cpuDevice) Gemm(ta, tb bool, batch, m, n, k int, alpha float64, a Storage, sa int, b Storage, sb int, beta float64, cs Storage) {
	lda, ldb := k, n
	if ta {
		lda = m
	}
	if tb {
		ldb = k
	}
	if is64(cs) {
		cpu.GemmBatched(ta, tb, batch, m, n, k, alpha, f64(a), lda, sa, f64(b), ldb, sb, beta, f64(cs), n, m*n)
	} else {
		cpu.GemmBatched(ta, tb, batch, m, n, k, float32(alpha), f32(a), lda, sa, f32(b), ldb, sb, float32(beta), f32(cs), n, m*n)
	}
}

func (c *cpuDevice) Conv2d(s kernel.ConvShape, x, w, b, y Storage) {
	if is64(y) {
		cpu.Conv2dForward(s, f64(x), f64(w), f64(b), f64(y))
	} else {
		cpu.Conv2dForward(s, f32(x), f32(w), f32(b), f32(y))
	}
}

func (c *cpuDevice) Conv2dBackwardData(s kernel.ConvShape, dy, w, dx Storage) {
	if is64(dx) {
		cpu.Conv2dBackwardData(s, f64(dy), f64(w), f64(dx))
	} else {
		cpu.Conv2dBackwardData(s, f32(dy), f32(w), f32(dx))
	}
}

func (c *cpuDevice) Conv2dBackwardWeight(s kernel.ConvShape, x, dy, dw Storage) {
	if is64(dw) {
		cpu.Conv2dBackwardWeight(s, f64(x), f64(dy), f64(dw))
	} else {
		cpu.Conv2dBackwardWeight(s, f32(x), f32(dy), f32(dw))
	}
}

func (c *cpuDevice) Conv2dBackwardBias(s kernel.ConvShape, dy, db Storage) {
	if is64(db) {
		cpu.Conv2dBackwardBias(s, f64(dy), f64(db))
	} else {
		cpu.Conv2dBackwardBias(s, f32(dy), f32(db))
	}
}

func (c *cpuDevice) LayerNorm(y, x, w, b, mean, rstd Storage, outer, n, inner int, eps float64) {
	if is64(y) {
		cpu.LayerNorm(f64(y), f64(x), f64(w), f64(b), f64(mean), f64(rstd), outer, n, inner, eps)
	} else {
		cpu.LayerNorm(f32(y), f32(x), f32(w), f32(b), f32(mean), f32(rstd), outer, n, inner, eps)
	}
}

func (c *cpuDevice) LayerNormGrad(dx, dw, db, x, w, dy, mean, rstd Storage, outer, n, inner int) {
	if is64(dx) {
		cpu.LayerNormGrad(f64(dx), f64(dw), f64(db), f64(x), f64(w), f64(dy), f64(mean), f64(rstd), outer, n, inner)
	} else {
		cpu.LayerNormGrad(f32(dx), f32(dw), f32(db), f32(x), f32(w), f32(dy), f32(mean), f32(rstd), outer, n, inner)
	}
}

func (c *cpuDevice) BatchNorm(y, x, w, b, res, rm, rv, mean, rstd Storage, outer, n, inner int, training bool, momentum, eps float64, act kernel.Activation) {
	if host(y).dt == Float64 {
		cpu.BatchNorm(f64(y), f64(x), f64(w), f64(b), f64(res), f64(rm), f64(rv), f64(mean), f64(rstd), outer, n, inner, training, momentum, eps, act)
	} else {
		cpu.BatchNorm(f32(y), f32(x), f32(w), f32(b), f32(res), f32(rm), f32(rv), f32(mean), f32(rstd), outer, n, inner, training, momentum, eps, act)
	}
}

func (c *cpuDevice) Conv2dBatchNorm(s kernel.ConvShape, x, w, b, y, bnW, bnB, res, rm, rv Storage, eps float64, act kernel.Activation) {
	if is64(y) {
		cpu.Conv2dBatchNorm(s, f64(x), f64(w), f64(b), f64(bnW), f64(bnB), f64(rm), f64(rv), f64(res), f64(y), eps, act)
	} else {
		cpu.Conv2dBatchNorm(s, f32(x), f32(w), f32(b), f32(bnW), f32(bnB), f32(rm), f32(rv), f32(res), f32(y), eps, act)
	}
}

func (c *cpuDevice) BatchNormGrad(dx, dw, db, x, w, b, dy, mean, rstd Storage, outer, n, inner int, training bool, act kernel.Activation) {
	if host(dx).dt == Float64 {
		cpu.BatchNormGrad(f64(dx), f64(dw), f64(db), f64(x), f64(w), f64(b), f64(dy), f64(mean), f64(rstd), outer, n, inner, training, act)
	} else {
		cpu.BatchNormGrad(f32(dx), f32(dw), f32(db), f32(x), f32(w), f32(b), f32(dy), f32(mean), f32(rstd), outer, n, inner, training, act)
	}
}

func (c *cpuDevice) MaxPool2d(s kernel.PoolShape, y, arg, x Storage) {
	if is64(y) {
		cpu.MaxPool2d(s, f64(y), i32(arg), f64(x))
	} else {
		cpu.MaxPool2d(s, f32(y), i32(arg), f32(x))
	}
}

func (c *cpuDevice) MaxPool2dGrad(s kernel.PoolShape, dx, dy, arg Storage) {
	if is64(dx) {
		cpu.MaxPool2dGrad(s, f64(dx), f64(dy), i32(arg))
	} else {
		cpu.MaxPool2dGrad(s, f32(dx), f32(dy), i32(arg))
	}
}

func (c *cpuDevice) AdaptiveAvgPool2d(s kernel.PoolShape, y, x Storage) {
	if is64(y) {
		cpu.AdaptiveAvgPool2d(s, f64(y), f64(x))
	} else {
		cpu.AdaptiveAvgPool2d(s, f32(y), f32(x))
	}
}

func (c *cpuDevice) AdaptiveAvgPool2dGrad(s kernel.PoolShape, dx, dy Storage) {
	if is64(dx) {
		cpu.AdaptiveAvgPool2dGrad(s, f64(dx), f64(dy))
	} else {
		cpu.AdaptiveAvgPool2dGrad(s, f32(dx), f32(dy))
	}
}

func (c *cpuDevice) Bilinear(s kernel.PoolShape, y, x Storage, alignCorners bool) {
	if is64(y) {
		cpu.Bilinear(s, f64(y), f64(x), alignCorners)
	} else {
		cpu.Bilinear(s, f32(y), f32(x), alignCorners)
	}
}

func (c *cpuDevice) BilinearGrad(s kernel.PoolShape, dx, dy Storage, alignCorners bool) {
	if is64(dx) {
		cpu.BilinearGrad(s, f64(dx), f64(dy), alignCorners)
	} else {
		cpu.BilinearGrad(s, f32(dx), f32(dy), alignCorners)
	}
}

func (c *cpuDevice) Bernoulli(dst Storage, seed, offset uint64, p, value float64) {
	if is64(dst) {
		cpu.Bernoulli(f64(dst), seed, offset, p, value)
	} else {
		cpu.Bernoulli(f32(dst), seed, offset, p, float32(value))
	}
}

// checkIndices panics unless every index is in [0, n): a wrong index
// would otherwise read another row, or past the storage.
func checkIndices(op string, idx []int32, n int) {
	for i, k := range idx {
		if k < 0 || int(k) >= n {
			panic(fmt.Sprintf("autograd: %s: index %d (position %d) out of range [0, %d)", op, k, i, n))
		}
	}
}

func (c *cpuDevice) AdamW(p, g, m, v Storage, o kernel.AdamW) {
	if is64(p) {
		cpu.AdamW(f64(p), f64(g), f64(m), f64(v), o)
	} else {
		cpu.AdamW(f32(p), f32(g), f32(m), f32(v), o)
	}
}
