//go:build !purego

package cpu

import "unsafe"

// The AVX2 float32 micro-kernel is 6x16 in AVX2 with FMA: twelve 8-wide
// accumulators, two registers for a row of B and two for broadcasts of A
// use all sixteen Y registers. Its B strip (kc*16 floats, 16 KiB) stays in
// L1 and the A block (mc*kc, 168 KiB) in L2; nc*kc (4 MiB) is a share of L3.
var gemmAsmBlocks = gemmBlocks{mr: 6, nr: 16, mc: 168, kc: 256, nc: 4080, small: 1 << 8, kernel: gemmAVX2}

// The AVX-512 micro-kernel is 12x32: 24 accumulators, two registers for a
// row of B and six for broadcasts of A, of the 32 Z registers. The A block
// (mc*kc, 288 KiB) and the B strip (kc*32, 64 KiB) stay in L2, which feeds
// them faster than the multiply-adds consume them; the long k blocks
// spend less on loading and storing C (on a 2-core Zen 5, kc 512 ran at
// 150-180 GFLOP/s on one core at 1024-2048, kc 192 at 105-145).
var gemmAVX512Blocks = gemmBlocks{mr: 12, nr: 32, mc: 144, kc: 512, nc: 4096, small: 1 << 8, kernel: gemmAVX512}

// gemmUseAsm reports whether float32 products use an assembly kernel, and
// gemmUseAVX512 whether that is the AVX-512 one. They are set once from
// the CPU features and MaxISA (tests switch them to check every kernel).
var (
	gemmUseAsm    = gemmHasAVX2FMA() && MaxISA != "go"
	gemmUseAVX512 = gemmUseAsm && gemmHasAVX512() && MaxISA != "avx2"
)

//go:noescape
func gemmKernel6x16(kc int, a *float32, lda int, b, c *float32, ldc int, alpha, beta float32)

// gemmPeakFMA512 runs n iterations of 12 independent 16-wide FMAs (384
// flops); benchmarks measure the FMA peak with it.
func gemmPeakFMA512(n int)

// gemmPeakFMA256 is gemmPeakFMA512 with 8-wide FMAs (192 flops), for
// AVX2 machines.
func gemmPeakFMA256(n int)

//go:noescape
func gemmKernel12x32(kc int, a *float32, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func gemmPackT16(dst *float32, ldd int, src *float32, lds, rows, n16 int)

// gemmPackTransposed sets dst[p*ldd+i] = src[i*lds+p] for i < rows (12 or
// 16) and p < kb, sixteen values of p at a time in AVX-512 registers,
// reporting whether it ran: it does not without AVX-512 or with kb < 16,
// where the callers' Go loops do as well.
func gemmPackTransposed(dst []float32, ldd int, src []float32, lds, rows, kb int) bool {
	if !gemmUseAVX512 || kb < 16 || rows != 12 && rows != 16 || ldd < rows {
		return false
	}
	n := kb &^ 15
	_, _ = src[(rows-1)*lds+kb-1], dst[(kb-1)*ldd+rows-1]
	gemmPackT16(&dst[0], ldd, &src[0], lds, rows, n/16)
	for p := n; p < kb; p++ {
		for i := range rows {
			dst[p*ldd+i] = src[i*lds+p]
		}
	}
	return true
}

func gemmCPUID(leaf, sub uint32) (eax, ebx, ecx, edx uint32)

func gemmXGETBV() (eax uint32)

// gemmHasAVX2FMA reports whether the CPU and OS support AVX2 and FMA, as
// internal/cpu decides it.
func gemmHasAVX2FMA() bool {
	maxLeaf, _, _, _ := gemmCPUID(0, 0)
	if maxLeaf < 7 {
		return false
	}
	_, _, ecx1, _ := gemmCPUID(1, 0)
	const fma, osxsave, avx = 1 << 12, 1 << 27, 1 << 28
	if ecx1&(fma|osxsave|avx) != fma|osxsave|avx {
		return false
	}
	// The OS must save the XMM and YMM state.
	if gemmXGETBV()&6 != 6 {
		return false
	}
	_, ebx7, _, _ := gemmCPUID(7, 0)
	const avx2 = 1 << 5
	return ebx7&avx2 != 0
}

// gemmHasAVX512 reports whether the CPU and OS support AVX-512 F: the
// opmask and all 32 Z registers saved by the OS, as internal/cpu decides it.
func gemmHasAVX512() bool {
	if maxLeaf, _, _, _ := gemmCPUID(0, 0); maxLeaf < 7 {
		return false
	}
	if _, _, ecx1, _ := gemmCPUID(1, 0); ecx1&(1<<27) == 0 { // OSXSAVE
		return false
	}
	const opmask, zmmHi256, hi16ZMM = 1 << 5, 1 << 6, 1 << 7
	if x := gemmXGETBV(); x&(6|opmask|zmmHi256|hi16ZMM) != 6|opmask|zmmHi256|hi16ZMM {
		return false
	}
	_, ebx7, _, _ := gemmCPUID(7, 0)
	const avx512f = 1 << 16
	return ebx7&avx512f != 0
}

// gemmMicroF32x512 runs the AVX-512 kernel on a float32 tile.
func gemmMicroF32x512[T Float](kc int, a, b []T, alpha, beta T, c []T, ldc int) {
	_ = a[12*kc-1]
	_ = b[32*kc-1]
	_ = c[11*ldc+31]
	gemmKernel12x32(kc, (*float32)(unsafe.Pointer(&a[0])), (*float32)(unsafe.Pointer(&b[0])),
		(*float32)(unsafe.Pointer(&c[0])), ldc, float32(alpha), float32(beta))
}

// gemmMicroF32 runs the assembly kernel on a float32 tile; T is float32
// (or a type defined on it) whenever gemmUseAsm leads here.
func gemmMicroF32[T Float](kc int, a, b []T, alpha, beta T, c []T, ldc int) {
	gemmMicroF32Strided(kc, a, 6, b, alpha, beta, c, ldc)
}

// gemmMicroF32Strided is gemmMicroF32 with an unpacked A: k step p of the
// A strip is a[p*lda : p*lda+6].
func gemmMicroF32Strided[T Float](kc int, a []T, lda int, b []T, alpha, beta T, c []T, ldc int) {
	// Bounds checks the assembly cannot do.
	_ = a[(kc-1)*lda+5]
	_ = b[16*kc-1]
	_ = c[5*ldc+15]
	gemmKernel6x16(kc, (*float32)(unsafe.Pointer(&a[0])), lda, (*float32)(unsafe.Pointer(&b[0])),
		(*float32)(unsafe.Pointer(&c[0])), ldc, float32(alpha), float32(beta))
}

// conv3x3Use is the direct 3x3 kernel that dense 3x3 convolutions run:
// conv3x3Tile on AVX-512 machines, conv3x3Tile6 on AVX2 ones (tests
// switch it to compare; the tiles fall back to Go where the CPU lacks
// the kernel's instructions).
var conv3x3Use = conv3x3Default()

func conv3x3Default() conv3x3Kernel {
	switch {
	case gemmUseAVX512:
		return conv3x3Wide
	case gemmUseAsm:
		return conv3x3Narrow
	}
	return conv3x3None
}

//go:noescape
func conv3x3Tile(a0, a1, b, c *float32, cn, chans, wq, kh0, kh1 int)

//go:noescape
func conv3x3Tile6(img *float32, offs *[conv3x3Positions6]int, b, c *float32, cn, chans, wq, kh0, kh1 int)

// conv3x3Tile32 runs conv3x3Tile on slices, after checking that the
// kernel stays inside them (conv3x3TileGo without AVX-512).
func conv3x3Tile32(img []float32, a0, a1 int, b, c []float32, cn, chans, wq, kh0, kh1 int) {
	if !gemmUseAVX512 {
		conv3x3TileGo(img, a0, a1, b, c, cn, chans, wq, kh0, kh1)
		return
	}
	last := (cn-1)*chans + (kh1-1)*wq + conv3x3Run + 1
	_, _ = img[a0+last], img[a1+last]
	_ = b[9*cn*conv3x3Channels-1]
	_ = c[conv3x3Positions*conv3x3Channels-1]
	conv3x3Tile(&img[a0], &img[a1], &b[0], &c[0], cn, chans, wq, kh0, kh1)
}

// conv3x3Tile6F32 runs conv3x3Tile6 on slices, after checking that the
// kernel stays inside them (conv3x3Tile6Go without AVX2).
func conv3x3Tile6F32(img []float32, offs *[conv3x3Positions6]int, b, c []float32, cn, chans, wq, kh0, kh1 int) {
	if !gemmUseAsm {
		conv3x3Tile6Go(img, offs, b, c, cn, chans, wq, kh0, kh1)
		return
	}
	last := (cn-1)*chans + (kh1-1)*wq + 2
	for _, a := range offs {
		_ = img[a+last]
	}
	_ = b[9*cn*conv3x3Channels6-1]
	_ = c[conv3x3Positions6*conv3x3Channels6-1]
	conv3x3Tile6(&img[0], offs, &b[0], &c[0], cn, chans, wq, kh0, kh1)
}
