//go:build !amd64 || purego

package cpu

// convCopyRows sets dst[p*nr : (p+1)*nr] = src[start+rows[p]:][:nr] for
// every p.
func convCopyRows(src []float32, rows []int, start, nr int, dst []float32) {
	convCopyRowsGo(src, rows, start, nr, dst)
}

// convAdd adds src to dst (len(dst) >= len(src)).
func convAdd[T Float](dst, src []T) { convAddGo(dst, src) }

// convPackRunsT8 reports false: there is no assembly transpose.
func convPackRunsT8(x []float32, rows []int, runs []convRun, nr, jj int, dst []float32) bool {
	return false
}

// convGatherRows reports false: there is no assembly gather.
func convGatherRows(x []float32, rows []int, lo, hi int, offs []int, dst []float32) bool {
	return false
}
