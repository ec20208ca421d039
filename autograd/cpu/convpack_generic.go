//go:build !amd64 || purego

package cpu

// convCopyRows sets dst[p*nr : (p+1)*nr] = src[start+rows[p]:][:nr] for
// every p.
func convCopyRows(src []float32, rows []int, start, nr int, dst []float32) {
	convCopyRowsGo(src, rows, start, nr, dst)
}

// convAdd adds src to dst (len(dst) >= len(src)).
func convAdd[T Float](dst, src []T) { convAddGo(dst, src) }
