//go:build !amd64 || purego

package cpu

// Without assembly every type uses the pure-Go micro-kernel.

var gemmAsmBlocks = gemmGoBlocks

// gemmUseAsm is always false here; it is a variable only so that tests can
// switch it as they do on amd64.
var gemmUseAsm = false

func gemmMicroF32[T Float](kc int, a, b []T, alpha, beta T, c []T, ldc int) {
	gemmKernelGo(kc, a, b, alpha, beta, c, ldc)
}
