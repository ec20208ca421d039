//go:build !purego

package cpu

import "unsafe"

// convCopyRows16 copies n rows of nr floats (nr a multiple of 16) from
// src at the element offsets rows[:n] to consecutive rows of dst.
//
//go:noescape
func convCopyRows16(dst, src *float32, rows *int, n, nr int)

// convCopyRows sets dst[p*nr : (p+1)*nr] = src[start+rows[p]:][:nr] for
// every p; nr is a multiple of 16. The copies need AVX (every assembly
// kernel does); without it they run in Go.
func convCopyRows(src []float32, rows []int, start, nr int, dst []float32) {
	if len(rows) == 0 {
		return
	}
	if !gemmUseAsm {
		convCopyRowsGo(src, rows, start, nr, dst)
		return
	}
	// Bounds checks the assembly cannot do.
	_ = dst[len(rows)*nr-1]
	for _, r := range rows {
		if o := start + r; o < 0 || o+nr > len(src) {
			panic("cpu: convCopyRows out of range")
		}
	}
	convCopyRows16(&dst[0], (*float32)(unsafe.Add(unsafe.Pointer(&src[0]), start*4)), &rows[0], len(rows), nr)
}

//go:noescape
func convAddTo(dst, src *float32, n int)

// convAdd adds src to dst (len(dst) >= len(src)).
func convAdd[T Float](dst, src []T) {
	if len(src) == 0 {
		return
	}
	if gemmIsF32[T]() && gemmUseAsm {
		_ = dst[len(src)-1]
		convAddTo((*float32)(unsafe.Pointer(&dst[0])), (*float32)(unsafe.Pointer(&src[0])), len(src))
		return
	}
	convAddGo(dst, src)
}
