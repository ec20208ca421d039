//go:build amd64 && !purego

package cpu

import "math"

// actUseAsm reports whether the float32 SiLU, sigmoid and GELU use the
// kernels in act_amd64.s (tests switch it off to check the Go
// loops).
var actUseAsm = gemmUseAsm

// The kernels process n elements, n a multiple of 8; dst and src hold at
// least n.

//go:noescape
func siluKernel(dst, src *float32, n int)

//go:noescape
func sigmoidKernel(dst, src *float32, n int)

//go:noescape
func geluKernel(dst, src *float32, n int)

//go:noescape
func reluKernel(dst, src *float32, n int)

//go:noescape
func reluGradKernel(dx, x, dy *float32, n int)

//go:noescape
func siluGradKernel(dx, x, dy *float32, n int)

//go:noescape
func geluGradKernel(dx, x, dy *float32, n int)

// The AVX-512 twins of the kernels above take n a multiple of 16 and give
// the same bits.

//go:noescape
func siluKernel512(dst, src *float32, n int)

//go:noescape
func sigmoidKernel512(dst, src *float32, n int)

//go:noescape
func geluKernel512(dst, src *float32, n int)

//go:noescape
func siluGradKernel512(dx, x, dy *float32, n int)

//go:noescape
func geluGradKernel512(dx, x, dy *float32, n int)

// actUseAVX512 reports whether the activations run their sixteen-wide
// kernels where a row is long enough (tests switch it off to check the
// eight-wide ones).
var actUseAVX512 = gemmUseAVX512

// actKernels are an activation's eight- and sixteen-wide kernels.
type actKernels struct {
	k8, k16 func(dst, src *float32, n int)
}

// actGradKernels are an activation gradient's kernels.
type actGradKernels struct {
	k8, k16 func(dx, x, dy *float32, n int)
}

var (
	siluKernels     = actKernels{siluKernel, siluKernel512}
	sigmoidKernels  = actKernels{sigmoidKernel, sigmoidKernel512}
	geluKernels     = actKernels{geluKernel, geluKernel512}
	siluGradKernels = actGradKernels{siluGradKernel, siluGradKernel512}
	geluGradKernels = actGradKernels{geluGradKernel, geluGradKernel512}
)

// apply runs k over dst = f(src): the vector kernels on the leading
// multiple of 8 (of 16 first with AVX-512), the tail through a padded
// copy; the Go loop scalar when assembly is off.
func (k actKernels) apply(dst, src []float32, scalar func(dst, src []float32)) {
	if !actUseAsm {
		scalar(dst, src)
		return
	}
	n, i := actVecLen(dst, src), 0
	if actUseAVX512 {
		if i = n &^ 15; i > 0 {
			k.k16(&dst[0], &src[0], i)
		}
	}
	if i < n {
		k.k8(&dst[i], &src[i], n-i)
	}
	actTail(k.k8, dst[n:], src[n:])
}

// apply is actKernels.apply for dx = dy * f'(x).
func (k actGradKernels) apply(dx, x, dy []float32, scalar func(dx, x, dy []float32)) {
	if !actUseAsm {
		scalar(dx, x, dy)
		return
	}
	n, i := actVecLen(dx, dy), 0
	_ = x[:len(dy)]
	if actUseAVX512 {
		if i = n &^ 15; i > 0 {
			k.k16(&dx[0], &x[0], &dy[0], i)
		}
	}
	if i < n {
		k.k8(&dx[i], &x[i], &dy[i], n-i)
	}
	actGradTail(k.k8, dx[n:], x[n:], dy[n:])
}

// siluGradF32 sets dx[i] = dy[i] * SiLU'(x[i]) in assembly where
// the CPU has AVX2 and FMA (see actKernels.apply), in Go elsewhere.
func siluGradF32(dx, x, dy []float32) { siluGradKernels.apply(dx, x, dy, siluGradScalar) }

// geluGradF32 sets dx[i] = dy[i] * GELU'(x[i]) for the exact GELU, as
// siluGradF32.
func geluGradF32(dx, x, dy []float32) { geluGradKernels.apply(dx, x, dy, geluGradScalar) }

// reluF32 sets dst[i] = max(src[i], 0), NaN kept, 32 at a time in
// assembly where the CPU has AVX2, the rest in Go.
func reluF32(dst, src []float32) {
	n := 0
	if actUseAsm {
		n = len(src) &^ 31
		_ = dst[:len(src)]
	}
	if n > 0 {
		reluKernel(&dst[0], &src[0], n)
	}
	reluScalar(dst[n:], src[n:])
}

// reluGradF32 sets dx[i] = dy[i] where x[i] > 0, else 0, as reluF32.
func reluGradF32(dx, x, dy []float32) {
	n := 0
	if actUseAsm {
		n = len(dy) &^ 31
		_, _ = dx[:len(dy)], x[:len(dy)]
	}
	if n > 0 {
		reluGradKernel(&dx[0], &x[0], &dy[0], n)
	}
	reluGradScalar(dx[n:], x[n:], dy[n:])
}

// actVecLen returns how many leading elements of src the kernels take (a
// multiple of 8), checking that dst can hold src.
func actVecLen(dst, src []float32) int {
	if !actUseAsm {
		return 0
	}
	n := len(src) &^ 7
	_ = dst[:len(src)]
	return n
}

// siluF32 sets dst[i] = src[i] / (1 + e^-src[i]) in assembly where the
// CPU has AVX2 and FMA (see actKernels.apply), in Go elsewhere.
func siluF32(dst, src []float32) { siluKernels.apply(dst, src, siluScalar) }

// sigmoidF32 sets dst[i] = 1 / (1 + e^-src[i]), as siluF32.
func sigmoidF32(dst, src []float32) { sigmoidKernels.apply(dst, src, sigmoidScalar) }

// geluF32 sets dst[i] = 0.5*x*(1 + erf(x/sqrt2)) for x = src[i], with the
// erfFloat32 approximation, as siluF32.
func geluF32(dst, src []float32) { geluKernels.apply(dst, src, geluScalar) }

//go:noescape
func rowMaxKernel(src *float32, n int) float32

//go:noescape
func expShiftSumKernel(dst, src *float32, n int, m float32) float64

// softmaxRowF32 writes the softmax of one row in assembly where the CPU
// has AVX2 and FMA, reporting whether it ran. A row holding NaN or +Inf
// (whose exp the polynomial does not follow) goes to the Go loop.
func softmaxRowF32(y, x []float32) bool {
	n := len(x) &^ 7
	if !actUseAsm || n == 0 {
		return false
	}
	_ = y[:len(x)]
	m := rowMaxKernel(&x[0], n)
	for _, v := range x[n:] {
		m = max(m, v)
	}
	if m != m || m > math.MaxFloat32 || m < -math.MaxFloat32 {
		return false
	}
	s := expShiftSumKernel(&y[0], &x[0], n, m)
	for j := n; j < len(x); j++ {
		e := float32(math.Exp(float64(x[j] - m)))
		y[j] = e
		s += float64(e)
	}
	normAffineF32(y, y, float32(1/s), 0) // runs: actUseAsm is set
	return true
}

// actTail runs an eight-wide kernel on the last len(src) < 8 elements
// through a padded copy, so that short rows (a batch norm's 7x7 planes)
// do not fall to the scalar loop's float64 exp.
func actTail(kernel func(dst, src *float32, n int), dst, src []float32) {
	if len(src) == 0 {
		return
	}
	var in, out [8]float32
	k := copy(in[:], src)
	kernel(&out[0], &in[0], 8)
	copy(dst[:k], out[:k])
}

// actGradTail is actTail for the gradient kernels.
func actGradTail(kernel func(dx, x, dy *float32, n int), dx, x, dy []float32) {
	if len(dy) == 0 {
		return
	}
	var xin, gin, out [8]float32
	k := copy(gin[:], dy)
	copy(xin[:], x[:k])
	kernel(&out[0], &xin[0], &gin[0], 8)
	copy(dx[:k], out[:k])
}
