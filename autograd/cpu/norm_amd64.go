//go:build amd64 && !purego

package cpu

//go:noescape
func normAffineKernel(dst, src *float32, n int, scale, shift float32)

//go:noescape
func normGradKernel(out, grad, in *float32, n int, ca, cb, cm, cc float32)

// normAffineF32 is normAffine's float32 loop, 32 and then 8 at a time in
// assembly where the CPU has AVX2 and FMA; it reports whether it ran.
func normAffineF32(dst, src []float32, scale, shift float32) bool {
	if !actUseAsm {
		return false
	}
	n := len(src) &^ 7
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

//go:noescape
func lnApplyKernel(y, xs, w, b *float32, n int, m, r float32)

//go:noescape
func lnGradSumsKernel(dy, w, xs *float32, n int, m float64) (sg, sgx float64)

//go:noescape
func lnGradApplyKernel(dx, dy, w, xs *float32, n int, ca, cb, cc, m float32)

//go:noescape
func lnParamAccKernel(accW, accB *float64, dy, xs *float32, n int, m, r float64)

// lnRowsAsm reports whether the float32 layer-norm row kernels run.
func lnRowsAsm() bool { return actUseAsm }

// lnApplyRow writes y = (x - m)*r*w + b over a row, as lnApplyKernel.
func lnApplyRow(y, x, w, b []float32, m, r float32) {
	n := len(x) &^ 15
	_, _, _ = y[:len(x)], w[:len(x)], b[:len(x)]
	if n > 0 {
		lnApplyKernel(&y[0], &x[0], &w[0], &b[0], n, m, r)
	}
	for j := n; j < len(x); j++ {
		y[j] = (x[j]-m)*r*w[j] + b[j]
	}
}

// lnGradSumsRow returns the float64 sums of dy*w and dy*w*(x - m).
func lnGradSumsRow(dy, w, x []float32, m float64) (sg, sgx float64) {
	n := len(dy) &^ 7
	_, _ = w[:len(dy)], x[:len(dy)]
	if n > 0 {
		sg, sgx = lnGradSumsKernel(&dy[0], &w[0], &x[0], n, m)
	}
	for j := n; j < len(dy); j++ {
		g := float64(dy[j]) * float64(w[j])
		sg += g
		sgx += g * (float64(x[j]) - m)
	}
	return sg, sgx
}

// lnGradApplyRow writes dx = ca*(dy*w) - (cb + cc*(x - m)).
func lnGradApplyRow(dx, dy, w, x []float32, ca, cb, cc, m float32) {
	n := len(dy) &^ 7
	_, _, _ = dx[:len(dy)], w[:len(dy)], x[:len(dy)]
	if n > 0 {
		lnGradApplyKernel(&dx[0], &dy[0], &w[0], &x[0], n, ca, cb, cc, m)
	}
	for j := n; j < len(dy); j++ {
		dx[j] = ca*(dy[j]*w[j]) - (cb + cc*(x[j]-m))
	}
}

// lnParamAccRow adds dy*(x - m)*r to accW and dy to accB.
func lnParamAccRow(accW, accB []float64, dy, x []float32, m, r float64) {
	n := len(dy) &^ 3
	_, _, _ = accW[:len(dy)], accB[:len(dy)], x[:len(dy)]
	if n > 0 {
		lnParamAccKernel(&accW[0], &accB[0], &dy[0], &x[0], n, m, r)
	}
	for j := n; j < len(dy); j++ {
		accW[j] += float64(dy[j]) * (float64(x[j]) - m) * r
		accB[j] += float64(dy[j])
	}
}
