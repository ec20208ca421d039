package cuda

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"

	ag "github.com/vertebra-ml/vertebra/autograd"
)

// Options tune a Device.
type Options struct {
	// TF32 lets cuBLAS multiply float32 matrices on tensor cores in TF32
	// (10-bit mantissa inputs, float32 accumulation): several times faster
	// on Ampere and later GPUs, and about 1e-3 relative error instead of
	// float32's 1e-6. Off by default, so results match the CPU's.
	TF32 bool
	// CacheLimit bounds the bytes of released device memory kept for reuse;
	// 0 means the GPU's whole memory (cached blocks are freed anyway when
	// an allocation would fail).
	CacheLimit int64
}

// Device is one NVIDIA GPU as an autograd.Device. Its kernels run in
// order on one stream, asynchronously to the host: a failure inside a
// kernel is reported by the next ToHost or Synchronize, and a device that
// has failed fails every later call (CUDA errors are sticky).
type Device struct {
	mu     sync.Mutex
	drv    *driverAPI
	blas   *cublasAPI
	nvrtc  *nvrtcAPI
	info   deviceInfo
	opts   Options
	target target
	cached bool // the kernels came from the disk cache

	ctx, stream, handle uintptr // CUcontext, CUstream, cublasHandle_t
	modules             []uintptr
	funcs               map[string]uintptr
	alloc               *allocator
	stage               *staging
	args                *argBuf
	flag                uintptr // device int32: set by kernels that meet a bad index
	err                 error   // the first failure; sticky
}

// storage is device memory holding n elements of dt.
type storage struct {
	dev *Device
	dt  ag.DType
	n   int
	ptr uintptr // CUdeviceptr; 0 for n == 0 and after Release
	blk *block  // the allocation, for Release or, unreleased, the garbage collector
}

// block is one allocation of the caching allocator. Storage that becomes
// garbage without Release hands its block back through a cleanup, as the
// CPU device's buffers go back to the garbage collector.
type block struct {
	ptr   uintptr // 0 once handed back
	class int64   // the allocator's block size
}

func (s *storage) Device() ag.Device { return s.dev }
func (s *storage) DType() ag.DType   { return s.dt }
func (s *storage) Len() int          { return s.n }

// Open opens GPU ordinal (0 is the first), compiling the kernels for it or
// loading them from the disk cache. Without a driver, a GPU or the
// libraries, the error says what is missing and where it was looked for.
func Open(ordinal int, o Options) (*Device, error) {
	drv, err := loadDriver()
	if err != nil {
		return nil, err
	}
	count, err := drv.deviceCount()
	if err != nil {
		return nil, err
	}
	if ordinal < 0 || ordinal >= count {
		return nil, fmt.Errorf("cuda: no GPU %d: the driver (%s, CUDA %s) sees %d", ordinal, drv.lib.path, versionString(drv.version), count)
	}
	info, err := drv.device(ordinal)
	if err != nil {
		return nil, err
	}
	maxMajor := drv.version / 1000
	blas, err := loadCUBLAS(maxMajor)
	if err != nil {
		return nil, err
	}
	nv, err := loadNVRTC(maxMajor)
	if err != nil {
		return nil, err
	}
	d := &Device{drv: drv, blas: blas, nvrtc: nv, info: info, opts: o, funcs: map[string]uintptr{}, args: new(argBuf)}
	if err := d.init(); err != nil {
		return nil, fmt.Errorf("cuda: opening GPU %d (%s): %w", ordinal, info.name, err)
	}
	return d, nil
}

func (d *Device) init() error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	drv := d.drv
	if err := drv.call("cuDevicePrimaryCtxRetain", drv.cuDevicePrimaryCtxRetain, uintptr(unsafe.Pointer(&d.ctx)), uintptr(d.info.handle)); err != nil {
		return err
	}
	if err := drv.call("cuCtxSetCurrent", drv.cuCtxSetCurrent, d.ctx); err != nil {
		return err
	}
	const nonBlocking = 1 // CU_STREAM_NON_BLOCKING: no implicit sync with stream 0
	if err := drv.call("cuStreamCreate", drv.cuStreamCreate, uintptr(unsafe.Pointer(&d.stream)), nonBlocking); err != nil {
		return err
	}
	limit := d.opts.CacheLimit
	if limit <= 0 {
		limit = d.info.totalMem
	}
	d.alloc = newAllocator(d.rawAlloc, d.rawFree, limit)
	d.stage = &staging{dev: d}
	b := d.blas
	if err := b.call("cublasCreate_v2", b.cublasCreate, uintptr(unsafe.Pointer(&d.handle))); err != nil {
		return err
	}
	if err := b.call("cublasSetStream_v2", b.cublasSetStream, d.handle, d.stream); err != nil {
		return err
	}
	mode := uintptr(cublasDefaultMath)
	if d.opts.TF32 {
		mode = cublasTF32TensorMath
	}
	if err := b.call("cublasSetMathMode", b.cublasSetMathMode, d.handle, mode); err != nil {
		return err
	}
	if err := d.loadKernels(); err != nil {
		return err
	}
	p, _, err := d.alloc.alloc(4)
	if err != nil {
		return err
	}
	d.flag = p
	return drv.call("cuMemsetD32Async", drv.cuMemsetD32Async, d.flag, 0, 1, d.stream)
}

// loadKernels compiles (or takes from the cache) every kernel source for
// this GPU and loads the modules.
func (d *Device) loadKernels() error {
	t, err := d.nvrtc.targetFor(10*d.info.major + d.info.minor)
	if err != nil {
		return err
	}
	d.target, d.cached = t, true
	for _, src := range kernelSources() {
		image, fromCache, err := d.nvrtc.compileCached(src.name, src.text, t)
		if err != nil {
			return err
		}
		d.cached = d.cached && fromCache
		if !t.cubin && (len(image) == 0 || image[len(image)-1] != 0) {
			image = append(image, 0) // the driver reads PTX as a C string
		}
		mod, err := d.loadModule(src.name, image)
		if err != nil {
			return err
		}
		d.modules = append(d.modules, mod)
	}
	return nil
}

// loadModule loads one image, with the JIT's error log in the error.
func (d *Device) loadModule(name string, image []byte) (uintptr, error) {
	const (
		jitErrorLog     = 5 // CU_JIT_ERROR_LOG_BUFFER
		jitErrorLogSize = 6 // CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES
	)
	logBuf := make([]byte, 8192)
	opts := []int32{jitErrorLog, jitErrorLogSize}
	vals := []uintptr{uintptr(unsafe.Pointer(&logBuf[0])), uintptr(len(logBuf))}
	var mod uintptr
	err := d.drv.call("cuModuleLoadDataEx", d.drv.cuModuleLoadDataEx, uintptr(unsafe.Pointer(&mod)),
		uintptr(unsafe.Pointer(&image[0])), uintptr(len(opts)), uintptr(unsafe.Pointer(&opts[0])), uintptr(unsafe.Pointer(&vals[0])))
	runtime.KeepAlive(logBuf)
	runtime.KeepAlive(image)
	if err != nil {
		return 0, fmt.Errorf("loading %s compiled for %s by NVRTC %s: %w %s", name, d.target, d.nvrtc.version(), err, strings.TrimSpace(cString(&logBuf[0])))
	}
	return mod, nil
}

// fn returns the kernel called name.
func (d *Device) fn(name string) (uintptr, error) {
	if f, ok := d.funcs[name]; ok {
		return f, nil
	}
	cname := cStr(name)
	for _, m := range d.modules {
		var f uintptr
		r, _, _ := purego.SyscallN(d.drv.cuModuleGetFunction, uintptr(unsafe.Pointer(&f)), m, uintptr(unsafe.Pointer(&cname[0])))
		if r == 0 {
			d.funcs[name] = f
			return f, nil
		}
	}
	return 0, fmt.Errorf("cuda: no kernel %s in the compiled sources", name)
}

// Name is "cuda:N".
func (d *Device) Name() string { return fmt.Sprintf("cuda:%d", d.info.ordinal) }

// String describes the GPU and the libraries in use, for a program's
// start-up line.
func (d *Device) String() string {
	kernels := "compiled now"
	if d.cached {
		kernels = "from the cache"
	}
	math := "float32 products"
	if d.opts.TF32 {
		math = "TF32 products"
	}
	return fmt.Sprintf("%s: %s (compute %d.%d, %d SMs, %.1f GiB); driver CUDA %s (%s); cuBLAS %s (%s), %s; NVRTC %s (%s); kernels for %s %s in %s",
		d.Name(), d.info.name, d.info.major, d.info.minor, d.info.sms, float64(d.info.totalMem)/(1<<30),
		versionString(d.drv.version), d.drv.lib.path, d.blas.version(), d.blas.lib.path, math,
		d.nvrtc.version(), d.nvrtc.lib.path, d.target, kernels, cacheDir())
}

// MemStats reports the device allocator's statistics.
func (d *Device) MemStats() MemStats { return d.alloc.memStats() }

// SetCacheLimit bounds the bytes of released memory kept for reuse (0
// turns caching off) and returns the old bound.
func (d *Device) SetCacheLimit(bytes int64) int64 {
	d.lock()
	defer d.unlock()
	return d.alloc.setLimit(bytes)
}

// lock takes the device and makes its context current on this goroutine's
// thread, which it holds until unlock: the driver keeps the current
// context per OS thread, and goroutines move between threads.
func (d *Device) lock() {
	d.mu.Lock()
	runtime.LockOSThread()
	if err := d.drv.call("cuCtxSetCurrent", d.drv.cuCtxSetCurrent, d.ctx); err != nil {
		d.failLocked(err)
	}
}

func (d *Device) unlock() {
	runtime.UnlockOSThread()
	d.mu.Unlock()
}

// failLocked records the first failure.
func (d *Device) failLocked(err error) {
	if d.err == nil && err != nil {
		d.err = err
	}
}

func (d *Device) rawAlloc(bytes int64) (uintptr, error) {
	var p uintptr
	err := d.drv.call("cuMemAlloc_v2", d.drv.cuMemAlloc, uintptr(unsafe.Pointer(&p)), uintptr(bytes))
	var ce *Error
	if errors.As(err, &ce) && ce.Code == 2 { // CUDA_ERROR_OUT_OF_MEMORY
		return 0, fmt.Errorf("%w: %d bytes: %v", errOutOfMemory, bytes, err)
	}
	return p, err
}

// rawFree returns a block to the driver, after the queued kernels, which
// may still use it: a released block can be in flight (see Release).
func (d *Device) rawFree(p uintptr) error {
	if err := d.drv.call("cuStreamSynchronize", d.drv.cuStreamSynchronize, d.stream); err != nil {
		return err
	}
	return d.drv.call("cuMemFree_v2", d.drv.cuMemFree, p)
}

// Alloc returns storage of n elements from the caching allocator.
func (d *Device) Alloc(dt ag.DType, n int) (ag.Storage, error) {
	d.lock()
	defer d.unlock()
	return d.allocLocked(dt, n)
}

func (d *Device) allocLocked(dt ag.DType, n int) (*storage, error) {
	if d.err != nil {
		return nil, d.err
	}
	if n < 0 || int64(n) > 1<<31-1 {
		return nil, fmt.Errorf("cuda: %d elements: want 0 to 2^31-1", n)
	}
	s := &storage{dev: d, dt: dt, n: n}
	if n == 0 {
		return s, nil
	}
	p, class, err := d.alloc.alloc(int64(n) * int64(dt.Size()))
	if err != nil {
		return nil, err
	}
	s.ptr, s.blk = p, &block{p, class}
	runtime.AddCleanup(s, d.collect, s.blk)
	return s, nil
}

// Release hands the storage's memory back to the allocator. Kernels
// already queued that read it run before any later use of the memory,
// since all of them share one stream.
func (d *Device) Release(st ag.Storage) {
	s := d.own(st)
	d.lock()
	defer d.unlock()
	d.releaseLocked(s)
}

func (d *Device) releaseLocked(s *storage) {
	if s == nil || s.blk == nil {
		return
	}
	d.releaseBlockLocked(s.blk)
	s.ptr, s.n = 0, 0
}

func (d *Device) releaseBlockLocked(b *block) {
	if b.ptr == 0 {
		return
	}
	if err := d.alloc.release(b.ptr, b.class); err != nil {
		d.failLocked(err)
	}
	b.ptr = 0
}

// collect hands back the block of storage the garbage collector found
// unreachable without a Release. Kernels queued before it became garbage
// run before any later use of the memory (one stream).
func (d *Device) collect(b *block) {
	d.lock()
	defer d.unlock()
	d.releaseBlockLocked(b)
}

// own returns st as this device's storage, panicking on another device's.
func (d *Device) own(st ag.Storage) *storage {
	if st == nil {
		return nil
	}
	s, ok := st.(*storage)
	if !ok || s.dev != d {
		panic(fmt.Sprintf("cuda: %s kernel given %s storage", d.Name(), st.Device().Name()))
	}
	return s
}

// Synchronize waits for every queued kernel and reports the first failure.
func (d *Device) Synchronize() error {
	d.lock()
	defer d.unlock()
	return d.syncLocked()
}

// syncLocked waits for the stream and checks the index-error flag.
func (d *Device) syncLocked() error {
	if d.err != nil {
		return d.err
	}
	if err := d.drv.call("cuStreamSynchronize", d.drv.cuStreamSynchronize, d.stream); err != nil {
		d.failLocked(err)
		return d.err
	}
	var flag int32
	if err := d.drv.call("cuMemcpyDtoHAsync_v2", d.drv.cuMemcpyDtoHAsync, uintptr(unsafe.Pointer(&flag)), d.flag, 4, d.stream); err != nil {
		d.failLocked(err)
		return d.err
	}
	if err := d.drv.call("cuStreamSynchronize", d.drv.cuStreamSynchronize, d.stream); err != nil {
		d.failLocked(err)
		return d.err
	}
	if flag != 0 {
		d.failLocked(fmt.Errorf("cuda: %s: an index kernel (IndexSelect, IndexAdd, GatherAxis or GatherAxisAdd) met an index outside [0, n) and skipped it", d.Name()))
		return d.err
	}
	return nil
}

// FromHost copies a []float32, []float64 or []int32 to new storage
// through the pinned staging buffers.
func (d *Device) FromHost(data any) (ag.Storage, error) {
	var dt ag.DType
	var n int
	var src []byte
	switch v := data.(type) {
	case []float32:
		dt, n, src = ag.Float32, len(v), bytesOf(v)
	case []float64:
		dt, n, src = ag.Float64, len(v), bytesOf(v)
	case []int32:
		dt, n, src = ag.Int32, len(v), bytesOf(v)
	default:
		return nil, fmt.Errorf("cuda: FromHost: unsupported host type %T (want []float32, []float64 or []int32)", data)
	}
	d.lock()
	defer d.unlock()
	s, err := d.allocLocked(dt, n)
	if err != nil {
		return nil, err
	}
	if err := d.stage.upload(s.ptr, src); err != nil {
		d.failLocked(err)
		d.releaseLocked(s)
		return nil, err
	}
	runtime.KeepAlive(data)
	return s, nil
}

// ToHost waits for the kernels writing s and copies it to a new slice.
func (d *Device) ToHost(st ag.Storage) (any, error) {
	s := d.own(st)
	d.lock()
	defer d.unlock()
	if err := d.syncLocked(); err != nil {
		return nil, err
	}
	var out any
	var dst []byte
	switch s.dt {
	case ag.Float32:
		v := make([]float32, s.n)
		out, dst = v, bytesOf(v)
	case ag.Float64:
		v := make([]float64, s.n)
		out, dst = v, bytesOf(v)
	default:
		v := make([]int32, s.n)
		out, dst = v, bytesOf(v)
	}
	if err := d.stage.download(dst, s.ptr); err != nil {
		d.failLocked(err)
		return nil, err
	}
	return out, nil
}

// bytesOf views a numeric slice as bytes.
func bytesOf[T float32 | float64 | int32](v []T) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), len(v)*int(unsafe.Sizeof(v[0])))
}
