//go:build amd64 && !purego

package cpu

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
	siluScalar(dst[n:], src[n:])
}

// sigmoidAVX2 sets dst[i] = 1 / (1 + e^-src[i]), as siluAVX2.
func sigmoidAVX2(dst, src []float32) {
	n := actVecLen(dst, src)
	if n > 0 {
		sigmoidKernel(&dst[0], &src[0], n)
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
	geluScalar(dst[n:], src[n:])
}
