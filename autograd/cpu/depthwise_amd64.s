//go:build !purego

#include "textflag.h"

// The depthwise kernels walk a plane as 16-lane vectors, four to a block.
// Every tap is one offset into the input plane and one 16-bit lane mask
// per vector (masks[(blk*ntap+t)*4+i]): masked-out lanes neither add nor
// fault, so taps may reach past either end of the plane.

// func dwCorr16(y, x *float32, nblk int, offs *int, w *float32, ntap int, masks, ymask *uint16, b *float32)
//
// For each block: acc = y (b == nil) or *b in every lane, then acc +=
// w[t] * x[v+offs[t]] under the tap masks, and the lanes of ymask go back
// to y. Z0-Z3 hold the four output vectors.
TEXT ·dwCorr16(SB), NOSPLIT, $0-72
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ nblk+16(FP), CX
	MOVQ offs+24(FP), R8
	MOVQ w+32(FP), R9
	MOVQ ntap+40(FP), R10
	MOVQ masks+48(FP), R11
	MOVQ ymask+56(FP), R12
	MOVQ b+64(FP), R15

block:
	TESTQ R15, R15
	JZ    loady
	VBROADCASTSS (R15), Z0
	VMOVAPS Z0, Z1
	VMOVAPS Z0, Z2
	VMOVAPS Z0, Z3
	JMP   taps

loady:
	KMOVW 0(R12), K1
	KMOVW 2(R12), K2
	KMOVW 4(R12), K3
	KMOVW 6(R12), K4
	VMOVUPS.Z 0(DI), K1, Z0
	VMOVUPS.Z 64(DI), K2, Z1
	VMOVUPS.Z 128(DI), K3, Z2
	VMOVUPS.Z 192(DI), K4, Z3

taps:
	MOVQ R8, R13
	MOVQ R9, R14
	MOVQ R10, DX

tap:
	MOVQ (R13), AX
	VBROADCASTSS (R14), Z4
	KMOVW 0(R11), K5
	KMOVW 2(R11), K6
	KMOVW 4(R11), K7
	KMOVW 6(R11), K1
	VFMADD231PS 0(SI)(AX*4), Z4, K5, Z0
	VFMADD231PS 64(SI)(AX*4), Z4, K6, Z1
	VFMADD231PS 128(SI)(AX*4), Z4, K7, Z2
	VFMADD231PS 192(SI)(AX*4), Z4, K1, Z3
	ADDQ $8, R13
	ADDQ $4, R14
	ADDQ $8, R11
	DECQ DX
	JNZ  tap

	KMOVW 0(R12), K1
	KMOVW 2(R12), K2
	KMOVW 4(R12), K3
	KMOVW 6(R12), K4
	VMOVUPS Z0, K1, 0(DI)
	VMOVUPS Z1, K2, 64(DI)
	VMOVUPS Z2, K3, 128(DI)
	VMOVUPS Z3, K4, 192(DI)
	ADDQ $256, DI
	ADDQ $256, SI
	ADDQ $8, R12
	DECQ CX
	JNZ  block

	VZEROUPPER
	RET

// func dwDots16(dy, x *float32, nblk int, offs *int, ntap int, masks, ymask *uint16, nimg, dystride, xstride int, out *float32)
//
// out[t] += the sum over nimg image pairs (dy, x), dystride and xstride
// elements apart, of dot(dy[v], x[v+offs[t]]) under the tap masks. Z0-Z3
// accumulate one tap over the four vectors of a block.
TEXT ·dwDots16(SB), NOSPLIT, $0-88
	MOVQ ntap+32(FP), R10
	MOVQ R10, AX
	SHLQ $3, AX
	MOVQ AX, ntap+32(FP) // now the bytes of masks per block
	MOVQ offs+24(FP), R8
	MOVQ masks+40(FP), R11
	MOVQ dystride+64(FP), BX
	SHLQ $2, BX
	MOVQ xstride+72(FP), R14
	SHLQ $2, R14

tapd:
	MOVQ (R8), AX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	MOVQ dy+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ nimg+56(FP), R15

img:
	MOVQ DI, R13
	MOVQ SI, DX
	MOVQ R11, R12
	MOVQ ymask+48(FP), R9
	MOVQ nblk+16(FP), CX

blockd:
	KMOVW 0(R9), K1
	KMOVW 2(R9), K2
	KMOVW 4(R9), K3
	KMOVW 6(R9), K4
	VMOVUPS.Z 0(R13), K1, Z4
	VMOVUPS.Z 64(R13), K2, Z5
	VMOVUPS.Z 128(R13), K3, Z6
	VMOVUPS.Z 192(R13), K4, Z7
	KMOVW 0(R12), K5
	KMOVW 2(R12), K6
	KMOVW 4(R12), K7
	KMOVW 6(R12), K1
	VFMADD231PS 0(DX)(AX*4), Z4, K5, Z0
	VFMADD231PS 64(DX)(AX*4), Z5, K6, Z1
	VFMADD231PS 128(DX)(AX*4), Z6, K7, Z2
	VFMADD231PS 192(DX)(AX*4), Z7, K1, Z3
	ADDQ $256, R13
	ADDQ $256, DX
	ADDQ $8, R9
	ADDQ ntap+32(FP), R12
	DECQ CX
	JNZ  blockd

	ADDQ BX, DI
	ADDQ R14, SI
	DECQ R15
	JNZ  img

	VADDPS Z1, Z0, Z0
	VADDPS Z3, Z2, Z2
	VADDPS Z2, Z0, Z0
	VEXTRACTF32X8 $1, Z0, Y1
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	MOVQ out+80(FP), R9
	VADDSS (R9), X0, X0
	VMOVSS X0, (R9)
	ADDQ $4, R9
	MOVQ R9, out+80(FP)

	ADDQ $8, R8
	ADDQ $8, R11
	DECQ R10
	JNZ  tapd

	VZEROUPPER
	RET
