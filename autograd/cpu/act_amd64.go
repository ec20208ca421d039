//go:build amd64 && !purego

package cpu

import "math"

// actUseAsm reports whether the float32 SiLU, sigmoid and GELU use the
// AVX2+FMA kernels in act_amd64.s (tests switch it off to check the Go
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

// siluGradF32 sets dx[i] = dy[i] * SiLU'(x[i]), eight at a time in
// assembly where the CPU has AVX2 and FMA, the rest in Go.
func siluGradF32(dx, x, dy []float32) {
	n := actVecLen(dx, dy)
	_ = x[:len(dy)]
	if n > 0 {
		siluGradKernel(&dx[0], &x[0], &dy[0], n)
	}
	if actUseAsm {
		actGradTail(siluGradKernel, dx[n:], x[n:], dy[n:])
		return
	}
	siluGradScalar(dx[n:], x[n:], dy[n:])
}

// geluGradF32 sets dx[i] = dy[i] * GELU'(x[i]) for the exact GELU, as
// siluGradF32.
func geluGradF32(dx, x, dy []float32) {
	n := actVecLen(dx, dy)
	_ = x[:len(dy)]
	if n > 0 {
		geluGradKernel(&dx[0], &x[0], &dy[0], n)
	}
	if actUseAsm {
		actGradTail(geluGradKernel, dx[n:], x[n:], dy[n:])
		return
	}
	geluGradScalar(dx[n:], x[n:], dy[n:])
}

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

// siluAVX2 sets dst[i] = src[i] / (1 + e^-src[i]), eight at a time in
// assembly where the CPU has AVX2 and FMA, the rest in Go.
func siluAVX2(dst, src []float32) {
	n := actVecLen(dst, src)
	if n > 0 {
		siluKernel(&dst[0], &src[0], n)
	}
	if actUseAsm {
		actTail(siluKernel, dst[n:], src[n:])
		return
	}
	siluScalar(dst[n:], src[n:])
}

// sigmoidAVX2 sets dst[i] = 1 / (1 + e^-src[i]), as siluAVX2.
func sigmoidAVX2(dst, src []float32) {
	n := actVecLen(dst, src)
	if n > 0 {
		sigmoidKernel(&dst[0], &src[0], n)
	}
	if actUseAsm {
		actTail(sigmoidKernel, dst[n:], src[n:])
		return
	}
	sigmoidScalar(dst[n:], src[n:])
}

// geluAVX2 sets dst[i] = 0.5*x*(1 + erf(x/sqrt2)) for x = src[i], with the
// erfFloat32 approximation, as siluAVX2.
func geluAVX2(dst, src []float32) {
	n := actVecLen(dst, src)
	if n > 0 {
		geluKernel(&dst[0], &src[0], n)
	}
	if actUseAsm {
		actTail(geluKernel, dst[n:], src[n:])
		return
	}
	geluScalar(dst[n:], src[n:])
}

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
