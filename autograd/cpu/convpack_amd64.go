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

//go:noescape
func convTrans8(dst, src *float32, offs *int, l, nr int)

// convPackRunsT8 does convPackRunsT's work for columns [jj, jj+8) with
// the assembly transpose; it reports false (and does nothing) without it.
func convPackRunsT8(x []float32, rows []int, runs []convRun, nr, jj int, dst []float32) bool {
	if !gemmUseAsm || nr%8 != 0 {
		return false
	}
	var offs [8]int
	copy(offs[:], rows[jj:jj+8])
	for _, rn := range runs {
		// Bounds checks the assembly cannot do.
		for _, o := range offs {
			if s := rn.start + o; s < 0 || s+rn.l > len(x) {
				panic("cpu: convPackRunsT8 out of range")
			}
		}
		d := dst[rn.q*nr:]
		_ = d[(rn.l-1)*nr+jj+7]
		l8 := rn.l &^ 7
		if l8 > 0 {
			convTrans8(&d[jj], &x[rn.start], &offs[0], l8, nr)
		}
		for c, o := range offs {
			for q, v := range x[rn.start+o+l8 : rn.start+o+rn.l] {
				d[(l8+q)*nr+jj+c] = v
			}
		}
	}
	return true
}

//go:noescape
func convGather16(dst, src *float32, rows *int, n, nr int, plan *convGatherPlan16)

// convGatherRows sets dst[p*nr+l] = x[rows[p]+offs[l]] for every row p
// and lane l < nr = len(offs), a multiple of 16, where each half of every
// 16 lanes is at most two runs of consecutive elements; lo and hi bound
// rows. It reports false, having written nothing, where the lanes are not
// such runs, the 8-wide loads would leave x, or there is no assembly.
func convGatherRows(x []float32, rows []int, lo, hi int, offs []int, dst []float32) bool {
	nr := len(offs)
	if !gemmUseAsm || nr%16 != 0 || len(rows) == 0 {
		return false
	}
	var plans [convMaxNR / 16]convGatherPlan16
	for b := range nr / 16 {
		pl, ok := planGather16(offs[16*b : 16*b+16])
		if !ok {
			return false
		}
		for _, o := range pl.off {
			if o+lo < 0 || o+hi+8 > len(x) {
				return false
			}
		}
		plans[b] = pl
	}
	_ = dst[len(rows)*nr-1]
	for b := range nr / 16 {
		convGather16(&dst[16*b], &x[0], &rows[0], len(rows), nr, &plans[b])
	}
	return true
}
