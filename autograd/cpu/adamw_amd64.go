//go:build amd64 && !purego

package cpu

//go:noescape
func adamwKernel(p, gr, m, v *float32, n int, c *[8]float64)

// adamwF32 runs the float32 AdamW loop over p[lo:hi] in assembly where the
// CPU has AVX2, returning the index up to which it did.
func adamwF32(p, g, m, v []float32, c *[8]float64) int {
	n := len(p) &^ 3
	if !actUseAsm || n == 0 {
		return 0
	}
	_, _, _ = g[:len(p)], m[:len(p)], v[:len(p)]
	adamwKernel(&p[0], &g[0], &m[0], &v[0], n, c)
	return n
}
