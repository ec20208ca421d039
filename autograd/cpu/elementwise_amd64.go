//go:build amd64 && !purego

package cpu

//go:noescape
func binaryVVKernel(d, xs, ys *float32, n, op int)

// binaryVVF32 writes d = x op y over equal-length float32 slices in
// assembly where the CPU has AVX2, returning how many leading elements it
// did (a multiple of 32; the caller does the rest).
func binaryVVF32(op BinaryOp, d, x, y []float32) int {
	n := len(d) &^ 31
	if !actUseAsm || n == 0 || op < Add || op > Div {
		return 0
	}
	_, _ = x[:len(d)], y[:len(d)]
	binaryVVKernel(&d[0], &x[0], &y[0], n, int(op-Add))
	return n
}

//go:noescape
func binaryVSKernel(d, xs *float32, n int, y float32, op int)

// binaryVSF32 writes d = x op y for one scalar y, as binaryVVF32.
func binaryVSF32(op BinaryOp, d, x []float32, y float32) int {
	n := len(d) &^ 31
	if !actUseAsm || n == 0 || op < Add || op > Div {
		return 0
	}
	_ = x[:len(d)]
	binaryVSKernel(&d[0], &x[0], n, y, int(op-Add))
	return n
}
