//go:build amd64 && !purego

package cpu

//go:noescape
func normAffineKernel(dst, src *float32, n int, scale, shift float32)

//go:noescape
func normGradKernel(out, grad, in *float32, n int, ca, cb, cm, cc float32)

// normAffineF32 is normAffine's float32 loop, 32 at a time in assembly
// where the CPU has AVX2 and FMA; it reports whether it ran.
func normAffineF32(dst, src []float32, scale, shift float32) bool {
	if !actUseAsm {
		return false
	}
	n := len(src) &^ 31
	_ = dst[:len(src)]
	if n > 0 {
		normAffineKernel(&dst[0], &src[0], n, scale, shift)
	}
	for i := n; i < len(src); i++ {
		dst[i] = src[i]*scale + shift
	}
	return true
}

// normGradF32 is normGrad's float32 loop, 16 at a time in assembly where
// the CPU has AVX2 and FMA; it reports whether it ran.
func normGradF32(dx, g, x []float32, a, b, m, c float32) bool {
	if !actUseAsm {
		return false
	}
	n := len(g) &^ 15
	_, _ = dx[:len(g)], x[:len(g)]
	if n > 0 {
		normGradKernel(&dx[0], &g[0], &x[0], n, a, b, m, c)
	}
	for i := n; i < len(g); i++ {
		dx[i] = a*g[i] + (b*(x[i]-m) + c)
	}
	return true
}

//go:noescape
func normSumKernel(s *float32, n int) float64

//go:noescape
func normSqDevKernel(s *float32, n int, m float64) float64

//go:noescape
func normSumDotKernel(gs, xs *float32, n int, m float64) (sg, sgx float64)

// normSumF32 is normSum's float32 loop in assembly where the CPU has AVX2:
// the vectorised head's sum and the length it covered.
func normSumF32(s []float32) (float64, int) {
	n := len(s) &^ 15
	if !actUseAsm || n == 0 {
		return 0, 0
	}
	return normSumKernel(&s[0], n), n
}

// normSqDevF32 is normSqDev's, as normSumF32.
func normSqDevF32(s []float32, m float64) (float64, int) {
	n := len(s) &^ 15
	if !actUseAsm || n == 0 {
		return 0, 0
	}
	return normSqDevKernel(&s[0], n, m), n
}

// normSumDotF32 is normSumDot's, as normSumF32.
func normSumDotF32(g, x []float32, m float64) (sg, sgx float64, n int) {
	n = len(g) &^ 7
	if !actUseAsm || n == 0 {
		return 0, 0, 0
	}
	_ = x[:len(g)]
	sg, sgx = normSumDotKernel(&g[0], &x[0], n, m)
	return sg, sgx, n
}
