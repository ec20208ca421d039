//go:build !amd64 || purego

package cpu

// Without assembly every type uses the pure-Go micro-kernel.

var (
	gemmAsmBlocks    = gemmGoBlocks
	gemmAVX512Blocks = gemmGoBlocks
)

// gemmUseAsm and gemmUseAVX512 are always false here; they are variables
// only so that tests can switch them as they do on amd64.
var (
	gemmUseAsm    = false
	gemmUseAVX512 = false
)

func gemmMicroF32x512[T Float](kc int, a, b []T, alpha, beta T, c []T, ldc int) {
	gemmKernelGo(kc, a, b, alpha, beta, c, ldc)
}

func gemmMicroF32[T Float](kc int, a, b []T, alpha, beta T, c []T, ldc int) {
	gemmKernelGo(kc, a, b, alpha, beta, c, ldc)
}

// gemmMicroF32Strided computes the 6x16 tile C = alpha*A*B + beta*C from an
// unpacked A (k step p at a[p*lda:]) and a packed B, as the amd64 kernel
// does. Nothing calls it without assembly; it keeps the callers portable.
func gemmMicroF32Strided[T Float](kc int, a []T, lda int, b []T, alpha, beta T, c []T, ldc int) {
	for i := range 6 {
		for j := range 16 {
			var s T
			for p := range kc {
				s += a[p*lda+i] * b[p*16+j]
			}
			if beta == 0 {
				c[i*ldc+j] = alpha * s
			} else {
				c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
			}
		}
	}
}

// gemmPackTransposed has no kernel here; the callers' Go loops pack.
func gemmPackTransposed(dst []float32, ldd int, src []float32, lds, rows, kb int) bool { return false }

// gemmPeakFMA512 has nothing to measure without assembly.
func gemmPeakFMA512(n int) {}

// gemmPeakFMA256 has nothing to measure without assembly.
func gemmPeakFMA256(n int) {}

// conv3x3Use is conv3x3None here: dense 3x3 convolutions take the
// packed products. Tests set it to run the direct path on the Go tiles.
var conv3x3Use = conv3x3None

// conv3x3Tile32 is conv3x3TileGo without assembly.
func conv3x3Tile32(img []float32, a0, a1 int, b, c []float32, cn, chans, wq, kh0, kh1 int) {
	conv3x3TileGo(img, a0, a1, b, c, cn, chans, wq, kh0, kh1)
}

// conv3x3Tile6F32 is conv3x3Tile6Go without assembly.
func conv3x3Tile6F32(img []float32, offs *[conv3x3Positions6]int, b, c []float32, cn, chans, wq, kh0, kh1 int) {
	conv3x3Tile6Go(img, offs, b, c, cn, chans, wq, kh0, kh1)
}
