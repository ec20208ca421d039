package cuda

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/ebitengine/purego"

	ag "github.com/vertebra-ml/vertebra/autograd"
)

// Kernel arguments. cuLaunchKernel takes an array of pointers, one to each
// argument's value; argBuf holds the values (one 8-byte word each, structs
// in consecutive words) and the pointers, in memory that stays put.
type argBuf struct {
	words [96]uint64
	ptrs  [32]uintptr
	nw    int
	np    int
}

// The argument kinds, by C type.
type (
	cInt  int32 // int
	cLong int64 // long long
	cU32  uint32
	cU64  uint64
)

// maxDims is MAXD of common.cuh.
const maxDims = 8

// stridedArg is common.cuh's Strided.
type stridedArg struct {
	nd        int32
	shape, sa [maxDims]int32
	sb        [maxDims]int32
}

// convArg is conv.cu's Conv.
type convArg struct {
	N, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, G, OH, OW int32
}

// poolArg is pool.cu's Pool.
type poolArg struct {
	planes, H, W, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW int32
}

func (a *argBuf) reset() { a.nw, a.np = 0, 0 }

func (a *argBuf) word(v uint64) {
	a.words[a.nw] = v
	a.ptrs[a.np] = uintptr(unsafe.Pointer(&a.words[a.nw]))
	a.nw++
	a.np++
}

// blob adds a struct argument of b's bytes.
func (a *argBuf) blob(b []byte) {
	n := (len(b) + 7) / 8
	dst := unsafe.Slice((*byte)(unsafe.Pointer(&a.words[a.nw])), n*8)
	copy(dst, b)
	a.ptrs[a.np] = uintptr(unsafe.Pointer(&a.words[a.nw]))
	a.nw += n
	a.np++
}

func structBytes[T any](v *T) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(v)), unsafe.Sizeof(*v))
}

// add appends one argument: *storage (its device address; nil is a null
// pointer), uintptr, cInt, cLong, cU32, cU64, float64 (a double) or one of
// the struct types.
func (a *argBuf) add(v any) {
	switch x := v.(type) {
	case *storage:
		if x == nil {
			a.word(0)
		} else {
			a.word(uint64(x.ptr))
		}
	case uintptr:
		a.word(uint64(x))
	case cInt:
		a.word(uint64(uint32(x)))
	case cU32:
		a.word(uint64(x))
	case cLong:
		a.word(uint64(x))
	case cU64:
		a.word(uint64(x))
	case float64:
		a.word(math.Float64bits(x))
	case stridedArg:
		a.blob(structBytes(&x))
	case convArg:
		a.blob(structBytes(&x))
	case poolArg:
		a.blob(structBytes(&x))
	default:
		panic(fmt.Sprintf("cuda: kernel argument of type %T", v))
	}
}

// suffix is the kernel-name suffix of a float type.
func suffix(dt ag.DType) string {
	if dt == ag.Float64 {
		return "_f64"
	}
	return "_f32"
}

// threads is the block size of element loops and block reductions.
const threads = 256

// blocksFor is the grid of an element loop over n: enough blocks to fill
// the GPU several times; the loops stride over the grid for the rest.
func (d *Device) blocksFor(n int64) int {
	b := (n + threads - 1) / threads
	return int(min(b, int64(max(d.info.sms, 1)*32)))
}

// launch runs kernel name on a grid of gx x gy blocks of bx threads, with
// the arguments args. The caller holds the device lock. Nothing runs after
// a failure; the failure waits for the next ToHost or Synchronize.
func (d *Device) launch(name string, gx, gy, bx int, args ...any) {
	if d.err != nil || gx == 0 || gy == 0 {
		return
	}
	f, err := d.fn(name)
	if err != nil {
		d.failLocked(err)
		return
	}
	a := d.args
	a.reset()
	for _, v := range args {
		a.add(v)
	}
	r, _, _ := purego.SyscallN(d.drv.cuLaunchKernel, f, uintptr(gx), uintptr(gy), 1, uintptr(bx), 1, 1, 0, d.stream,
		uintptr(unsafe.Pointer(&a.ptrs[0])), 0)
	if r != 0 {
		d.failLocked(d.drv.errorOf("cuLaunchKernel("+name+")", int(r)))
	}
}

// elementwise launches an element loop of n iterations.
func (d *Device) elementwise(name string, n int64, args ...any) {
	if n <= 0 {
		return
	}
	d.launch(name, d.blocksFor(n), 1, threads, args...)
}

// memset32 fills n 32-bit words at p with bits.
func (d *Device) memset32(p uintptr, bits uint32, n int) {
	if d.err != nil || n == 0 {
		return
	}
	if err := d.drv.call("cuMemsetD32Async", d.drv.cuMemsetD32Async, p, uintptr(bits), uintptr(n), d.stream); err != nil {
		d.failLocked(err)
	}
}

// zero clears s.
func (d *Device) zero(s *storage) {
	d.memset32(s.ptr, 0, s.n*s.dt.Size()/4)
}

// strided builds the view descriptor of shape with two operands' strides,
// merging dimensions that are contiguous in both (and dropping size-1
// ones), so that ranks above maxDims fit when they can.
func strided(shape, sa, sb []int) (stridedArg, error) {
	var s stridedArg
	type dim struct{ n, a, b int }
	var dims []dim
	for i, n := range shape {
		if n == 1 {
			continue
		}
		b := 0
		if sb != nil {
			b = sb[i]
		}
		if k := len(dims) - 1; k >= 0 && dims[k].a == sa[i]*n && dims[k].b == b*n {
			dims[k] = dim{dims[k].n * n, sa[i], b}
			continue
		}
		dims = append(dims, dim{n, sa[i], b})
	}
	if len(dims) > maxDims {
		return s, fmt.Errorf("cuda: a strided view of %d dimensions that do not merge (at most %d): shape %v", len(dims), maxDims, shape)
	}
	s.nd = int32(len(dims))
	for i, d := range dims {
		s.shape[i], s.sa[i], s.sb[i] = int32(d.n), int32(d.a), int32(d.b)
	}
	return s, nil
}
