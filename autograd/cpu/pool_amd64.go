//go:build amd64 && !purego

package cpu

//go:noescape
func windowMaxKernel(best *float32, arg *int32, x *float32, n, taps, step int, idx int32)

//go:noescape
func maxMergeKernel(best *float32, arg *int32, v *float32, varg *int32, n int)

// windowMaxF32 is windowMax's AVX2 body: it does the leading multiple of
// 8 window starts and returns how many.
func windowMaxF32(best []float32, arg []int32, x []float32, taps, step int, idx int32) int {
	n := len(best) &^ 7
	if !actUseAsm || n == 0 {
		return 0
	}
	_, _ = arg[:n], x[:n+(taps-1)*step]
	windowMaxKernel(&best[0], &arg[0], &x[0], n, taps, step, idx)
	return n
}

// maxMergeF32 is maxMerge's AVX2 body, as windowMaxF32.
func maxMergeF32(best []float32, arg []int32, v []float32, varg []int32) int {
	n := len(best) &^ 7
	if !actUseAsm || n == 0 {
		return 0
	}
	_, _, _ = arg[:n], v[:n], varg[:n]
	maxMergeKernel(&best[0], &arg[0], &v[0], &varg[0], n)
	return n
}
