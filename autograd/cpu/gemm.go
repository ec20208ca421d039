package cpu

import (
	"fmt"
	"math/bits"
	"sync"
	"unsafe"
)

// The matrix product follows the BLIS structure: op(B) is packed into a
// kc x nc panel of nr-wide column strips (kept in L3), op(A) into an mc x kc
// block of mr-tall row strips (kept in L2), and a register-blocked
// micro-kernel multiplies one A strip by one B strip (kept in L1) into an
// mr x nr tile of C. Partial strips are padded with zeros so that the
// micro-kernel always runs at full size; partial tiles go through a scratch
// tile on the stack.

// gemmBlocks holds the blocking parameters of one micro-kernel.
type gemmBlocks struct {
	mr, nr     int // micro-tile
	mc, kc, nc int // cache blocks; mc is a multiple of mr and nc of nr
	small      int // m*n*k below which packing costs more than it saves
	kernel     gemmKernel
}

// gemmKernel names a micro-kernel.
type gemmKernel int

const (
	gemmGo     gemmKernel = iota // gemmKernelGo, 2x3, any type
	gemmAVX2                     // float32 6x16, AVX2 and FMA
	gemmAVX512                   // float32 12x32, AVX-512 F
)

// Pure-Go micro-kernel. Go's register allocator spills larger tiles (the
// scheduler issues every product before the first add), which puts a store
// and a load in the accumulator chains; 2x3 unrolled twice over k keeps all
// live values in the 15 usable X registers.
const (
	gemmGoMR = 2
	gemmGoNR = 3

	// gemmMaxTile bounds mr*nr over all micro-kernels (scratch tile size).
	gemmMaxTile = 12 * 32
)

var gemmGoBlocks = gemmBlocks{mr: gemmGoMR, nr: gemmGoNR, mc: 128, kc: 256, nc: 3072, small: 1 << 11}

// gemmIsF32 reports whether T is (a type whose underlying type is) float32.
func gemmIsF32[T Float]() bool {
	var z T
	return unsafe.Sizeof(z) == 4
}

// gemmBlocking returns the blocking parameters of the micro-kernel that
// gemmMicro uses for T.
func gemmBlocking[T Float]() *gemmBlocks {
	if gemmIsF32[T]() && gemmUseAsm {
		if gemmUseAVX512 {
			return &gemmAVX512Blocks
		}
		return &gemmAsmBlocks
	}
	return &gemmGoBlocks
}

// Gemm computes C = alpha*op(A)*op(B) + beta*C, op(X) = X or X^T; A is m x k
// after op, B is k x n after op, C is m x n; lda/ldb/ldc are row strides
// (row-major), as in BLAS with row-major layout.
//
// A is stored as m x k (k x m when transA), B as k x n (n x k when transB).
// When beta is zero C is only written, never read, so it may hold anything,
// NaN included. Gemm panics if a slice is too short or a stride too small
// for the given sizes. It runs on up to Workers goroutines.
func Gemm[T Float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	gemmCheck("Gemm", transA, transB, 1, m, n, k, len(a), lda, 0, len(b), ldb, 0, len(c), ldc, 0)
	gemmRun(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, Workers)
}

// GemmBatched runs batch independent products with element strides between
// consecutive matrices (strideA/B/C; a stride of 0 broadcasts that operand),
// parallel over the batch when matrices are small and inside each product
// when they are large.
//
// Product i computes C_i = alpha*op(A_i)*op(B_i) + beta*C_i where X_i starts
// at x[i*strideX], with the same layout rules as Gemm. A strideC of 0 makes
// every product update the same C in order (with beta 1 this sums the
// products); the batch then runs sequentially, each product in parallel.
func GemmBatched[T Float](transA, transB bool, batch, m, n, k int, alpha T, a []T, lda, strideA int, b []T, ldb, strideB int, beta T, c []T, ldc, strideC int) {
	gemmCheck("GemmBatched", transA, transB, batch, m, n, k, len(a), lda, strideA, len(b), ldb, strideB, len(c), ldc, strideC)
	if batch == 0 || m == 0 || n == 0 {
		return
	}
	work := m * n * max(k, 1)
	if strideC == 0 || !gemmSplitBatch(batch, work) {
		for i := range batch {
			gemmRun(transA, transB, m, n, k, alpha, a[i*strideA:], lda, b[i*strideB:], ldb, beta, c[i*strideC:], ldc, Workers)
		}
		return
	}
	gemmBatchParallel(transA, transB, batch, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC, work)
}

// gemmSplitBatch reports whether batch independent jobs of the given work
// (in multiply-adds) each should be spread over the workers whole, rather
// than run one after the other with each job split between the workers.
// Whole jobs need no synchronisation and no redundant packing, so they win
// unless they leave workers idle at the end on large jobs.
func gemmSplitBatch(batch, work int) bool {
	w := Workers
	if w <= 1 || batch <= 1 {
		return false
	}
	return batch%w == 0 || batch >= 4*w || work < gemmParallelWork
}

// gemmParallelWork is the m*n*k of a product worth splitting between
// workers: about 170µs on one core with the assembly kernel. Waking a
// second worker costs tens of microseconds, and splitting a 256^3 product
// (a third of this) gains only 10% on the two-core development machine.
const gemmParallelWork = 1 << 23

func gemmBatchParallel[T Float](transA, transB bool, batch, m, n, k int, alpha T, a []T, lda, strideA int, b []T, ldb, strideB int, beta T, c []T, ldc, strideC int, work int) {
	ParallelFor(batch, work, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			gemmRun(transA, transB, m, n, k, alpha, a[i*strideA:], lda, b[i*strideB:], ldb, beta, c[i*strideC:], ldc, 1)
		}
	})
}

// gemmCheck panics unless the slices and strides hold batch matrices of the
// given sizes. It is the only validation; everything below trusts it.
func gemmCheck(fn string, transA, transB bool, batch, m, n, k, la, lda, sa, lb, ldb, sb, lc, ldc, sc int) {
	if batch < 0 || m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("cpu.%s: negative size batch=%d m=%d n=%d k=%d", fn, batch, m, n, k))
	}
	if sa < 0 || sb < 0 || sc < 0 {
		panic(fmt.Sprintf("cpu.%s: negative stride strideA=%d strideB=%d strideC=%d", fn, sa, sb, sc))
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	gemmCheckMat(fn, "a", batch, ar, ac, la, lda, sa)
	gemmCheckMat(fn, "b", batch, br, bc, lb, ldb, sb)
	gemmCheckMat(fn, "c", batch, m, n, lc, ldc, sc)
}

func gemmCheckMat(fn, name string, batch, rows, cols, l, ld, stride int) {
	if ld < cols {
		panic(fmt.Sprintf("cpu.%s: ld%s=%d < %d for %s of %dx%d", fn, name, ld, cols, name, rows, cols))
	}
	if batch == 0 || rows == 0 || cols == 0 {
		return
	}
	if need := (batch-1)*stride + (rows-1)*ld + cols; l < need {
		panic(fmt.Sprintf("cpu.%s: len(%s)=%d < %d for %d matrices of %dx%d, ld%s=%d", fn, name, l, need, batch, rows, cols, name, ld))
	}
}

// gemmRun computes one product on up to workers goroutines. It splits C
// into a grid of workers tiles; each tile is an independent serial product
// with its own packing buffers, which costs some redundant packing but no
// synchronisation inside the product.
func gemmRun[T Float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int, workers int) {
	gemmRunPre(nil, nil, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, workers)
}

// gemmBPacker packs rows [p0, p0+kb) x columns [j0, j0+nb) of an op(B)
// that is not stored as a matrix (a convolution's im2col matrix, read from
// the image) into nr-wide strips, as gemmPackB does.
type gemmBPacker[T Float] func(p0, j0, kb, nb, nr int, dst []T)

// gemmRunPre is gemmRun with op(A) taken from pre when pre is not nil (a
// and transA are then unused), and op(B) packed by packB when packB is not
// nil (b, ldb and transB are then unused).
func gemmRunPre[T Float](pre *gemmPrepacked[T], packB gemmBPacker[T], transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int, workers int) {
	if m == 0 || n == 0 {
		return
	}
	if workers <= 1 || m*n*k < gemmParallelWork {
		gemmSerialPre(pre, packB, 0, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	bl := gemmBlocking[T]()
	// Choose the grid pr x pc (pr*pc == workers) that minimises the data
	// each worker packs, m/pr*k + k*n/pc, among grids whose tiles are at
	// least one micro-tile.
	pr, pc := 1, 1
	best := -1
	for r := 1; r <= workers; r++ {
		if workers%r != 0 {
			continue
		}
		q := workers / r
		if m < r*bl.mr && r > 1 || n < q*bl.nr && q > 1 {
			continue
		}
		if cost := (m/r + 1) + (n/q + 1); best < 0 || cost < best {
			pr, pc, best = r, q, cost
		}
	}
	if pr*pc == 1 {
		gemmSerialPre(pre, packB, 0, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	// More column tiles than workers, taken in turn, so that a worker on a
	// core shared with another program does not hold the product up. Each
	// tile streams all of its rows of A, so tiles are kept wide unless A is
	// a convolution's weights, prepacked by the caller and small.
	minWidth := 512
	if pre != nil {
		minWidth = 4 * bl.nr
	}
	// Column tiles pack disjoint parts of B, but each would pack all of
	// its rows of A: with several, A is packed once for all of them (in
	// parallel), unless it is too big to hold twice.
	if pre == nil && pc > 1 && m*k <= gemmPrepackMax {
		pre = gemmPrepackA(transA, m, k, a, lda)
		defer pre.release()
	}
	for f := chunksPerWorker; f > 1; f-- {
		if n/(pc*f) >= minWidth {
			pc *= f
			break
		}
	}
	gemmParallel(pre, packB, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, pr, pc, bl.mr, bl.nr)
}

// gemmPrepackMax is the most elements of op(A) that gemmRunPre packs once
// for all of a product's column tiles (32 MiB of float32).
const gemmPrepackMax = 1 << 23

// gemmParallel runs the pr x pc grid of tiles of C through ParallelFor.
// Tile edges fall on micro-tile boundaries so that only the last tile has
// partial micro-tiles.
func gemmParallel[T Float](pre *gemmPrepacked[T], packB gemmBPacker[T], transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int, pr, pc, mr, nr int) {
	th := (m + mr*pr - 1) / (mr * pr) * mr
	tw := (n + nr*pc - 1) / (nr * pc) * nr
	ParallelFor(pr*pc, th*tw*k, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			i0, j0 := t/pc*th, t%pc*tw
			if i0 >= m || j0 >= n {
				continue
			}
			mb, nb := min(th, m-i0), min(tw, n-j0)
			ai, bj := i0*lda, j0
			if transA {
				ai = i0
			}
			if transB {
				bj = j0 * ldb
			}
			if pre != nil {
				ai = 0
			}
			tb, tpack := b, packB
			if packB != nil {
				tpack = func(p0, j, kb, nb, nr int, dst []T) { packB(p0, j0+j, kb, nb, nr, dst) }
			} else {
				tb = b[bj:]
			}
			gemmSerialPre(pre, tpack, i0, transA, transB, mb, nb, k, alpha, a[ai:], lda, tb, ldb, beta, c[i0*ldc+j0:], ldc)
		}
	})
}

// gemmSerial computes one product on the calling goroutine.
func gemmSerial[T Float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	gemmSerialPre(nil, nil, 0, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// gemmSerialPre is gemmSerial with op(A) taken from rows [i0, i0+m) of
// pre when pre is not nil and op(B) packed by packB when it is not nil.
func gemmSerialPre[T Float](pre *gemmPrepacked[T], packB gemmBPacker[T], i0 int, transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		gemmScale(m, n, beta, c, ldc)
		return
	}
	if pre == nil && packB == nil && (m*n*k < gemmBlocking[T]().small || m == 1 || n == 1) {
		gemmDirect(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	gemmPackedPre(pre, packB, i0, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// gemmKC returns the k block for a product of inner size k > 0: equal
// blocks of at most bl.kc (576 = 2*288 rather than 512+64), so that no
// pass over C is spent on a sliver of k.
func gemmKC(bl *gemmBlocks, k int) int {
	nk := (k + bl.kc - 1) / bl.kc
	return (k + nk - 1) / nk
}

// gemmPrepacked is op(A) packed once, in gemmPacked's blocks, for several
// products that share it (a convolution's weights over a batch of
// images). Rows are padded to whole strips: k block [pc, pc+kb) starts at
// pc*mp and its strip of rows [i, i+mr) at pc*mp + i*kb.
type gemmPrepacked[T Float] struct {
	m, k, kc, mp int
	buf          *[]T
}

// gemmPrepackA packs op(A) (m x k, k > 0) for gemmRunPre.
func gemmPrepackA[T Float](transA bool, m, k int, a []T, lda int) *gemmPrepacked[T] {
	bl := gemmBlocking[T]()
	p := &gemmPrepacked[T]{m: m, k: k, kc: gemmKC(bl, k), mp: (m + bl.mr - 1) / bl.mr * bl.mr}
	p.buf = gemmGetBuf[T](p.mp * k)
	// The blocks are independent; packing them in parallel matters because
	// a convolution packs its weights on every call. One worker calls
	// packBlocks itself: ParallelFor's closure would allocate.
	blocks := (k + p.kc - 1) / p.kc * ((m + bl.mc - 1) / bl.mc)
	if Workers < 2 || blocks < 2 {
		p.packBlocks(bl, transA, a, lda, 0, blocks)
		return p
	}
	ParallelFor(blocks, bl.mc*p.kc, func(lo, hi int) { p.packBlocks(bl, transA, a, lda, lo, hi) })
	return p
}

// packBlocks packs blocks [lo, hi) of op(A), counted along m first.
func (p *gemmPrepacked[T]) packBlocks(bl *gemmBlocks, transA bool, a []T, lda, lo, hi int) {
	mblocks := (p.m + bl.mc - 1) / bl.mc
	for b := lo; b < hi; b++ {
		pc, ic := b/mblocks*p.kc, b%mblocks*bl.mc
		kb := min(p.kc, p.k-pc)
		gemmPackA(transA, a, lda, ic, pc, min(bl.mc, p.m-ic), kb, bl.mr, (*p.buf)[pc*p.mp+ic*kb:])
	}
}

// release returns the packed data to the pool.
func (p *gemmPrepacked[T]) release() { gemmPutBuf(p.buf) }

// gemmPacked computes a product with k > 0 through packed blocks.
func gemmPacked[T Float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	gemmPackedPre(nil, nil, 0, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// gemmPackedPre is gemmPacked with op(A) taken from rows [i0, i0+m) of
// pre when pre is not nil and op(B) packed by packB when it is not nil.
func gemmPackedPre[T Float](pre *gemmPrepacked[T], packB gemmBPacker[T], i0 int, transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	bl := gemmBlocking[T]()
	mr, nr := bl.mr, bl.nr
	kc := gemmKC(bl, k)
	kcMax := kc
	mcMax := min(bl.mc, (m+mr-1)/mr*mr)
	ncMax := min(bl.nc, (n+nr-1)/nr*nr)
	var pa *[]T
	if pre == nil {
		pa = gemmGetBuf[T](mcMax * kcMax)
		defer gemmPutBuf(pa)
	} else if pre.k != k || pre.kc != kc || i0%mr != 0 || i0+m > pre.m {
		panic(fmt.Sprintf("cpu: prepacked A of %dx%d (k block %d) used for rows %d..%d, k %d", pre.m, pre.k, pre.kc, i0, i0+m, k))
	}
	pb := gemmGetBuf[T](kcMax * ncMax)
	defer gemmPutBuf(pb)
	for jc := 0; jc < n; jc += bl.nc {
		nb := min(bl.nc, n-jc)
		for pc := 0; pc < k; pc += kc {
			kb := min(kc, k-pc)
			be := beta
			if pc > 0 {
				be = 1
			}
			if packB != nil {
				packB(pc, jc, kb, nb, nr, *pb)
			} else {
				gemmPackB(transB, b, ldb, pc, jc, kb, nb, nr, *pb)
			}
			for ic := 0; ic < m; ic += bl.mc {
				mb := min(bl.mc, m-ic)
				var ab []T
				if pre != nil {
					ab = (*pre.buf)[pc*pre.mp+(i0+ic)*kb:]
				} else {
					ab = *pa
					gemmPackA(transA, a, lda, ic, pc, mb, kb, mr, ab)
				}
				gemmMacro(bl, mb, nb, kb, alpha, ab, *pb, be, c[ic*ldc+jc:], ldc)
			}
		}
	}
}

// gemmMacro multiplies a packed mb x kb block of A by a packed kb x nb
// panel of B into C, one micro-tile at a time: each strip of A (the
// kernel's broadcast operand, in L1) runs across gemmMacroPanel bytes of B
// strips (in L2), as BLIS holds its broadcast micro-panel.
func gemmMacro[T Float](bl *gemmBlocks, mb, nb, kb int, alpha T, pa, pb []T, beta T, c []T, ldc int) {
	mr, nr := bl.mr, bl.nr
	var tile [gemmMaxTile]T
	size := 8
	if gemmIsF32[T]() {
		size = 4
	}
	nl := max(nr, gemmMacroPanel/(kb*size)/nr*nr)
	for jl := 0; jl < nb; jl += nl {
		je := min(nb, jl+nl)
		for ir := 0; ir < mb; ir += mr {
			mrr := min(mr, mb-ir)
			as := pa[ir*kb : (ir+mr)*kb]
			for jr := jl; jr < je; jr += nr {
				nrr := min(nr, nb-jr)
				bs := pb[jr*kb : (jr+nr)*kb]
				if mrr == mr && nrr == nr {
					gemmMicro(bl, kb, as, bs, alpha, beta, c[ir*ldc+jr:], ldc)
					continue
				}
				gemmMicro(bl, kb, as, bs, 1, 0, tile[:], nr)
				for i := range mrr {
					ci := c[(ir+i)*ldc+jr : (ir+i)*ldc+jr+nrr]
					ti := tile[i*nr : i*nr+nrr]
					if beta == 0 {
						for j, t := range ti {
							ci[j] = alpha * t
						}
					} else {
						for j, t := range ti {
							ci[j] = alpha*t + beta*ci[j]
						}
					}
				}
			}
		}
	}
}

// gemmMacroPanel is the bytes of packed B that gemmMacro sweeps with each
// strip of A: they stay in L2 while the strip stays in L1. Against B strips
// held while A strips streamed (the order before), 512 KiB took 3-10 %
// less CPU time over the sgemm and ResNet convolution benchmarks on the
// Intel Xeon; 256 KiB and 1 MiB were in between.
const gemmMacroPanel = 512 << 10

// gemmMicro computes the mr x nr tile C = alpha*A*B + beta*C from a packed
// kc x mr strip of A and a kc x nr strip of B, with the micro-kernel that
// bl (from gemmBlocking, once per product) describes.
func gemmMicro[T Float](bl *gemmBlocks, kc int, a, b []T, alpha, beta T, c []T, ldc int) {
	switch bl.kernel {
	case gemmAVX512:
		gemmMicroF32x512(kc, a, b, alpha, beta, c, ldc)
	case gemmAVX2:
		gemmMicroF32(kc, a, b, alpha, beta, c, ldc)
	default:
		gemmKernelGo(kc, a, b, alpha, beta, c, ldc)
	}
}

// gemmKernelGo is the pure-Go 2x3 micro-kernel.
func gemmKernelGo[T Float](kc int, a, b []T, alpha, beta T, c []T, ldc int) {
	var c00, c01, c02, c10, c11, c12 T
	a = a[:2*kc]
	b = b[:3*kc]
	p := 0
	for ; p+2 <= kc; p += 2 {
		aa := a[2*p : 2*p+4 : 2*p+4]
		bb := b[3*p : 3*p+6 : 3*p+6]
		a0, a1 := aa[0], aa[1]
		b0, b1, b2 := bb[0], bb[1], bb[2]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		a0, a1 = aa[2], aa[3]
		b0, b1, b2 = bb[3], bb[4], bb[5]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
	}
	if p < kc {
		aa := a[2*p : 2*p+2 : 2*p+2]
		bb := b[3*p : 3*p+3 : 3*p+3]
		a0, a1 := aa[0], aa[1]
		c00 += a0 * bb[0]
		c01 += a0 * bb[1]
		c02 += a0 * bb[2]
		c10 += a1 * bb[0]
		c11 += a1 * bb[1]
		c12 += a1 * bb[2]
	}
	r0 := c[0:3:3]
	r1 := c[ldc : ldc+3 : ldc+3]
	if beta == 0 {
		r0[0], r0[1], r0[2] = alpha*c00, alpha*c01, alpha*c02
		r1[0], r1[1], r1[2] = alpha*c10, alpha*c11, alpha*c12
		return
	}
	r0[0] = alpha*c00 + beta*r0[0]
	r0[1] = alpha*c01 + beta*r0[1]
	r0[2] = alpha*c02 + beta*r0[2]
	r1[0] = alpha*c10 + beta*r1[0]
	r1[1] = alpha*c11 + beta*r1[1]
	r1[2] = alpha*c12 + beta*r1[2]
}

// gemmPackA packs rows [i0, i0+mb) x columns [p0, p0+kb) of op(A) into
// mr-tall strips: strip s holds element (s*mr+r, p) at s*mr*kb + p*mr + r.
// Rows past mb are zero.
func gemmPackA[T Float](transA bool, a []T, lda, i0, p0, mb, kb, mr int, dst []T) {
	s := 0
	if mr%6 == 0 && gemmIsF32[T]() {
		// Whole strips of the float32 assembly kernels, six rows a pass.
		s = mb / mr * mr
		for t := 0; t < s; t += mr {
			if !transA && gemmPackTransposed(gemmF32(dst[t*kb:]), mr, gemmF32(a[(i0+t)*lda+p0:]), lda, mr, kb) {
				continue
			}
			for q := 0; q < mr; q += 6 {
				gemmPackA6(transA, gemmF32(a), lda, i0+t+q, p0, mr, kb, mr, gemmF32(dst[t*kb+q:]))
			}
		}
	}
	for ; s < mb; s += mr {
		d := dst[s*kb : (s+mr)*kb]
		rows := min(mr, mb-s)
		if transA {
			// op(A)(i, p) = a[p*lda + i]: each k step is contiguous.
			for p := range kb {
				src := a[(p0+p)*lda+i0+s:]
				dp := d[p*mr : p*mr+mr]
				copy(dp, src[:rows])
				clear(dp[rows:])
			}
			continue
		}
		for r := range rows {
			src := a[(i0+s+r)*lda+p0 : (i0+s+r)*lda+p0+kb]
			for p, v := range src {
				d[p*mr+r] = v
			}
		}
		for r := rows; r < mr; r++ {
			for p := range kb {
				d[p*mr+r] = 0
			}
		}
	}
}

// gemmPackB packs rows [p0, p0+kb) x columns [j0, j0+nb) of op(B) into
// nr-wide strips: strip s holds element (p, s*nr+j) at s*nr*kb + p*nr + j.
// Columns past nb are zero.
func gemmPackB[T Float](transB bool, b []T, ldb, p0, j0, kb, nb, nr int, dst []T) {
	if !transB && nr%16 == 0 && gemmIsF32[T]() {
		// The float32 assembly kernels' strips, the bulk of all packing.
		full := nb / nr * nr
		gemmPackB16(gemmF32(b), ldb, p0, j0, kb, full, nr, gemmF32(dst))
		if full < nb {
			gemmPackBStrips(b, ldb, p0, j0+full, kb, nb-full, nr, dst[full*kb:])
		}
		return
	}
	s := 0
	if transB && nr%16 == 0 && gemmIsF32[T]() {
		s = nb / nr * nr
		gemmPackBT16(gemmF32(b), ldb, p0, j0, kb, s, nr, gemmF32(dst))
	}
	for ; s < nb; s += nr {
		d := dst[s*kb : (s+nr)*kb]
		cols := min(nr, nb-s)
		if !transB {
			gemmPackBStrips(b, ldb, p0, j0+s, kb, cols, nr, d)
			continue
		}
		for j := range cols {
			src := b[(j0+s+j)*ldb+p0 : (j0+s+j)*ldb+p0+kb]
			for p, v := range src {
				d[p*nr+j] = v
			}
		}
		for j := cols; j < nr; j++ {
			for p := range kb {
				d[p*nr+j] = 0
			}
		}
	}
}

// gemmPackB16 packs rows [p0, p0+kb) x columns [j0, j0+nb) of an
// untransposed float32 B into nr-wide strips, nr a multiple of 16 and nb
// of nr. (Go 1.26 compiles its 64-byte copies to calls to memmove;
// copying strip by strip with convCopyRows ran slower on 1024^2 products.)
func gemmPackB16(b []float32, ldb, p0, j0, kb, nb, nr int, dst []float32) {
	for p := range kb {
		src := b[(p0+p)*ldb+j0:][:nb]
		d := dst[p*nr:]
		for s := 0; s+nr <= len(src); s += nr {
			ds := d[s*kb:]
			for q := 0; q < nr; q += 16 {
				*(*[16]float32)(ds[q:]) = *(*[16]float32)(src[s+q:])
			}
		}
	}
}

// gemmPackBT16 is gemmPackB16 for a transposed B: column j of op(B) is
// row j of b. Sixteen rows at a time go through gemmPackTransposed;
// without it, four rows at a time fill four values of each packed row.
func gemmPackBT16(b []float32, ldb, p0, j0, kb, nb, nr int, dst []float32) {
	for s := 0; s < nb; s += nr {
		d := dst[s*kb : (s+nr)*kb]
		for g := 0; g < nr; g += 16 {
			if gemmPackTransposed(d[g:], nr, b[(j0+s+g)*ldb+p0:], ldb, 16, kb) {
				continue
			}
			for q := g; q < g+16; q += 4 {
				row := (j0+s+q)*ldb + p0
				r0 := b[row:][:kb]
				r1 := b[row+ldb:][:kb]
				r2 := b[row+2*ldb:][:kb]
				r3 := b[row+3*ldb:][:kb]
				for p := range r0 {
					dp := d[p*nr+q : p*nr+q+4 : p*nr+q+4]
					dp[0], dp[1], dp[2], dp[3] = r0[p], r1[p], r2[p], r3[p]
				}
			}
		}
	}
}

// gemmPackA6 packs six of every mr rows of op(A): for each mr-tall strip
// of rows [i0, i0+mb) (mb a multiple of mr), the strip's first six rows x
// columns [p0, p0+kb) go to the first six values of each of its k steps.
// dst starts where those six values go in the first strip.
func gemmPackA6(transA bool, a []float32, lda, i0, p0, mb, kb, mr int, dst []float32) {
	for s := 0; s < mb; s += mr {
		d := dst[s*kb:]
		if transA {
			// Six scalar moves: an array assignment of this size is a
			// call to memmove, which cost more than the copy.
			for p := range kb {
				src := a[(p0+p)*lda+i0+s:][:6:6]
				dp := d[p*mr:][:6:6]
				dp[0], dp[1], dp[2], dp[3], dp[4], dp[5] = src[0], src[1], src[2], src[3], src[4], src[5]
			}
			continue
		}
		row := (i0+s)*lda + p0
		r0 := a[row:][:kb]
		r1 := a[row+lda:][:kb]
		r2 := a[row+2*lda:][:kb]
		r3 := a[row+3*lda:][:kb]
		r4 := a[row+4*lda:][:kb]
		r5 := a[row+5*lda:][:kb]
		for p := range r0 {
			dp := d[p*mr : p*mr+6 : p*mr+6]
			dp[0], dp[1], dp[2], dp[3], dp[4], dp[5] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p]
		}
	}
}

// gemmF32 reinterprets a slice of a float32-shaped T as []float32.
func gemmF32[T Float](s []T) []float32 {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&s[0])), len(s))
}

// gemmPackBStrips packs rows [p0, p0+kb) x columns [j0, j0+nb) of an
// untransposed B into nr-wide strips, zero-padding the last one.
func gemmPackBStrips[T Float](b []T, ldb, p0, j0, kb, nb, nr int, dst []T) {
	for s := 0; s < nb; s += nr {
		d := dst[s*kb : (s+nr)*kb]
		cols := min(nr, nb-s)
		for p := range kb {
			src := b[(p0+p)*ldb+j0+s:][:cols]
			dp := d[p*nr : p*nr+nr]
			copy(dp, src)
			if cols < nr {
				clear(dp[cols:])
			}
		}
	}
}

// gemmScale sets C = beta*C, writing zeros when beta is zero.
func gemmScale[T Float](m, n int, beta T, c []T, ldc int) {
	for i := range m {
		ci := c[i*ldc : i*ldc+n]
		switch beta {
		case 0:
			clear(ci)
		case 1:
		default:
			for j := range ci {
				ci[j] *= beta
			}
		}
	}
}

// gemmDirect computes the product with plain loops, for sizes where packing
// does not pay: tiny products and matrix-vector shapes.
func gemmDirect[T Float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	// op(A)(i, p) = a[i*sai + p*sap].
	sai, sap := lda, 1
	if transA {
		sai, sap = 1, lda
	}
	for i := range m {
		ci := c[i*ldc : i*ldc+n]
		if transB {
			// C(i, j) is a dot product of row i of op(A) with row j of b.
			for j := range ci {
				bj := b[j*ldb : j*ldb+k]
				var s T
				if sap == 1 {
					s = gemmDot(a[i*sai:i*sai+k], bj)
				} else {
					for p, v := range bj {
						s += a[i*sai+p*sap] * v
					}
				}
				if beta == 0 {
					ci[j] = alpha * s
				} else {
					ci[j] = alpha*s + beta*ci[j]
				}
			}
			continue
		}
		// Row i of C accumulates rows of B scaled by op(A)(i, p).
		if beta != 1 {
			if beta == 0 {
				clear(ci)
			} else {
				for j := range ci {
					ci[j] *= beta
				}
			}
		}
		for p := range k {
			gemmAxpy(alpha*a[i*sai+p*sap], b[p*ldb:p*ldb+n], ci)
		}
	}
}

// gemmDot returns the dot product of x and y (len(y) >= len(x)), with four
// partial sums to break the add latency chain.
func gemmDot[T Float](x, y []T) T {
	y = y[:len(x)]
	var s0, s1, s2, s3 T
	i := 0
	for ; i+4 <= len(x); i += 4 {
		xx, yy := x[i:i+4:i+4], y[i:i+4:i+4]
		s0 += xx[0] * yy[0]
		s1 += xx[1] * yy[1]
		s2 += xx[2] * yy[2]
		s3 += xx[3] * yy[3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// gemmAxpy adds s*x to y (len(y) >= len(x)), four elements a step.
func gemmAxpy[T Float](s T, x, y []T) {
	y = y[:len(x)]
	i := 0
	for ; i+4 <= len(x); i += 4 {
		xx, yy := x[i:i+4:i+4], y[i:i+4:i+4]
		yy[0] += s * xx[0]
		yy[1] += s * xx[1]
		yy[2] += s * xx[2]
		yy[3] += s * xx[3]
	}
	for ; i < len(x); i++ {
		y[i] += s * x[i]
	}
}

// Packing and scratch buffers are kept by element size and capacity: a
// class holds buffers of exactly 1<<i elements, so that any buffer of
// class i fits any request of more than 1<<(i-1) elements and buffers of
// different uses do not evict one another. Unlike a sync.Pool, the cache
// survives garbage collections, which a training or inference loop runs
// dozens of times a step: a buffer dropped by one would come back as new
// memory, zeroed by the runtime and faulted in by the kernel. It holds at
// most gemmCacheLimit bytes; buffers past that go to the collector.
var gemmCache struct {
	mu     sync.Mutex
	free32 [48][]*[]float32
	free64 [48][]*[]float64
	bytes  int64
}

// gemmCacheLimit bounds the bytes of idle scratch buffers kept.
const gemmCacheLimit = 256 << 20

// gemmClass returns the cache class of n elements: ceil(log2(n)).
func gemmClass(n int) int {
	return bits.Len(uint(max(n, 1) - 1))
}

// gemmGetBuf returns a cached slice of length n; its contents are garbage.
func gemmGetBuf[T Float](n int) *[]T {
	c := gemmClass(n)
	size := int64(unsafe.Sizeof(T(0))) << c
	var p *[]T
	gemmCache.mu.Lock()
	if gemmIsF32[T]() {
		if l := gemmCache.free32[c]; len(l) > 0 {
			p = (*[]T)(unsafe.Pointer(l[len(l)-1]))
			l[len(l)-1] = nil
			gemmCache.free32[c] = l[:len(l)-1]
		}
	} else if l := gemmCache.free64[c]; len(l) > 0 {
		p = (*[]T)(unsafe.Pointer(l[len(l)-1]))
		l[len(l)-1] = nil
		gemmCache.free64[c] = l[:len(l)-1]
	}
	if p != nil {
		gemmCache.bytes -= size
	}
	gemmCache.mu.Unlock()
	if p == nil {
		s := make([]T, n, 1<<c)
		return &s
	}
	*p = (*p)[:n]
	return p
}

// gemmPutBuf returns a slice obtained from gemmGetBuf to the cache.
func gemmPutBuf[T Float](p *[]T) {
	c := gemmClass(cap(*p))
	size := int64(unsafe.Sizeof(T(0))) << c
	gemmCache.mu.Lock()
	defer gemmCache.mu.Unlock()
	if gemmCache.bytes+size > gemmCacheLimit {
		return
	}
	gemmCache.bytes += size
	if gemmIsF32[T]() {
		gemmCache.free32[c] = append(gemmCache.free32[c], (*[]float32)(unsafe.Pointer(p)))
	} else {
		gemmCache.free64[c] = append(gemmCache.free64[c], (*[]float64)(unsafe.Pointer(p)))
	}
}
