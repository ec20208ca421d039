//go:build !purego

#include "textflag.h"

// The depthwise kernels walk a plane as 16-lane vectors, four to a block.
// Every tap is one offset into the input plane and one 16-bit lane mask
// per vector (masks[(blk*ntap+t)*4+i]): masked-out lanes neither add nor
// fault, so taps may reach past either end of the plane. The four masks
// of a block load as one quadword and shift apart: on Zen 4 that runs
// several times faster than four KMOVW loads.

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
	KMOVQ 0(R12), K1
	KSHIFTRQ $16, K1, K2
	KSHIFTRQ $32, K1, K3
	KSHIFTRQ $48, K1, K4
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
	KMOVQ 0(R11), K5
	KSHIFTRQ $16, K5, K6
	KSHIFTRQ $32, K5, K7
	KSHIFTRQ $48, K5, K1
	VFMADD231PS 0(SI)(AX*4), Z4, K5, Z0
	VFMADD231PS 64(SI)(AX*4), Z4, K6, Z1
	VFMADD231PS 128(SI)(AX*4), Z4, K7, Z2
	VFMADD231PS 192(SI)(AX*4), Z4, K1, Z3
	ADDQ $8, R13
	ADDQ $4, R14
	ADDQ $8, R11
	DECQ DX
	JNZ  tap

	KMOVQ 0(R12), K1
	KSHIFTRQ $16, K1, K2
	KSHIFTRQ $32, K1, K3
	KSHIFTRQ $48, K1, K4
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
// elements apart, of dot(dy[v], x[v+offs[t]]) under the tap masks. Taps go
// in pairs that share the loads of dy: Z0-Z3 accumulate the first over
// the four vectors of a block, Z8-Z11 the second.
TEXT ·dwDots16(SB), NOSPLIT, $0-88
	MOVQ ntap+32(FP), R10
	MOVQ R10, AX
	SHLQ $3, AX
	MOVQ AX, ntap+32(FP) // now the bytes of masks per block
	MOVQ offs+24(FP), R8
	MOVQ masks+40(FP), R11
	MOVQ dystride+64(FP), AX
	SHLQ $2, AX
	MOVQ AX, dystride+64(FP)
	MOVQ xstride+72(FP), AX
	SHLQ $2, AX
	MOVQ AX, xstride+72(FP)

tapd:
	CMPQ R10, $2
	JLT  single
	MOVQ (R8), AX
	MOVQ 8(R8), BX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	MOVQ dy+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ nimg+56(FP), R15

img2:
	MOVQ DI, R13
	MOVQ SI, DX
	MOVQ R11, R12
	MOVQ ymask+48(FP), R9
	MOVQ nblk+16(FP), CX

block2:
	KMOVQ 0(R9), K1
	KSHIFTRQ $16, K1, K2
	KSHIFTRQ $32, K1, K3
	KSHIFTRQ $48, K1, K4
	VMOVUPS.Z 0(R13), K1, Z4
	VMOVUPS.Z 64(R13), K2, Z5
	VMOVUPS.Z 128(R13), K3, Z6
	VMOVUPS.Z 192(R13), K4, Z7
	KMOVQ 0(R12), K5
	KSHIFTRQ $16, K5, K6
	KSHIFTRQ $32, K5, K7
	KSHIFTRQ $48, K5, K1
	VFMADD231PS 0(DX)(AX*4), Z4, K5, Z0
	VFMADD231PS 64(DX)(AX*4), Z5, K6, Z1
	VFMADD231PS 128(DX)(AX*4), Z6, K7, Z2
	VFMADD231PS 192(DX)(AX*4), Z7, K1, Z3
	KMOVQ 8(R12), K2
	KSHIFTRQ $16, K2, K3
	KSHIFTRQ $32, K2, K4
	KSHIFTRQ $48, K2, K5
	VFMADD231PS 0(DX)(BX*4), Z4, K2, Z8
	VFMADD231PS 64(DX)(BX*4), Z5, K3, Z9
	VFMADD231PS 128(DX)(BX*4), Z6, K4, Z10
	VFMADD231PS 192(DX)(BX*4), Z7, K5, Z11
	ADDQ $256, R13
	ADDQ $256, DX
	ADDQ $8, R9
	ADDQ ntap+32(FP), R12
	DECQ CX
	JNZ  block2

	ADDQ dystride+64(FP), DI
	ADDQ xstride+72(FP), SI
	DECQ R15
	JNZ  img2

	MOVQ out+80(FP), R9
	VADDPS Z1, Z0, Z0
	VADDPS Z3, Z2, Z2
	VADDPS Z2, Z0, Z0
	VEXTRACTF32X8 $1, Z0, Y1
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VADDSS (R9), X0, X0
	VMOVSS X0, (R9)
	VADDPS Z9, Z8, Z8
	VADDPS Z11, Z10, Z10
	VADDPS Z10, Z8, Z8
	VEXTRACTF32X8 $1, Z8, Y9
	VADDPS Y9, Y8, Y8
	VEXTRACTF128 $1, Y8, X9
	VADDPS X9, X8, X8
	VHADDPS X8, X8, X8
	VHADDPS X8, X8, X8
	VADDSS 4(R9), X8, X8
	VMOVSS X8, 4(R9)
	ADDQ $8, R9
	MOVQ R9, out+80(FP)

	ADDQ $16, R8
	ADDQ $16, R11
	SUBQ $2, R10
	JNZ  tapd
	JMP  dotsdone

single:
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
	KMOVQ 0(R9), K1
	KSHIFTRQ $16, K1, K2
	KSHIFTRQ $32, K1, K3
	KSHIFTRQ $48, K1, K4
	VMOVUPS.Z 0(R13), K1, Z4
	VMOVUPS.Z 64(R13), K2, Z5
	VMOVUPS.Z 128(R13), K3, Z6
	VMOVUPS.Z 192(R13), K4, Z7
	KMOVQ 0(R12), K5
	KSHIFTRQ $16, K5, K6
	KSHIFTRQ $32, K5, K7
	KSHIFTRQ $48, K5, K1
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

	ADDQ dystride+64(FP), DI
	ADDQ xstride+72(FP), SI
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

dotsdone:
	VZEROUPPER
	RET

// func dwCorr8(y, x *float32, nblk int, offs *int, w *float32, ntap int, masks, ymask *uint16, b *float32, lut *uint32)
//
// dwCorr16 in AVX2: each 16-lane vector is two 8-lane halves, Y0-Y7 hold
// a block, and each byte of a mask selects a 32-byte lane mask from lut
// for VMASKMOVPS, whose masked-out lanes read as 0 and do not fault.
// Full halves of y store plainly: masked stores are slow on AMD cores.
TEXT ·dwCorr8(SB), NOSPLIT, $0-80
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ nblk+16(FP), CX
	MOVQ masks+48(FP), R11
	MOVQ ymask+56(FP), R12
	MOVQ b+64(FP), R15
	MOVQ lut+72(FP), BX

block8:
	TESTQ R15, R15
	JZ    loady8
	VBROADCASTSS (R15), Y0
	VMOVAPS Y0, Y1
	VMOVAPS Y0, Y2
	VMOVAPS Y0, Y3
	VMOVAPS Y0, Y4
	VMOVAPS Y0, Y5
	VMOVAPS Y0, Y6
	VMOVAPS Y0, Y7
	JMP   taps8

loady8:
	MOVBQZX 0(R12), R8
	SHLQ $5, R8
	VMOVDQU (BX)(R8*1), Y9
	VMASKMOVPS 0(DI), Y9, Y0
	MOVBQZX 1(R12), R8
	SHLQ $5, R8
	VMOVDQU (BX)(R8*1), Y9
	VMASKMOVPS 32(DI), Y9, Y1
	MOVBQZX 2(R12), R8
	SHLQ $5, R8
	VMOVDQU (BX)(R8*1), Y9
	VMASKMOVPS 64(DI), Y9, Y2
	MOVBQZX 3(R12), R8
	SHLQ $5, R8
	VMOVDQU (BX)(R8*1), Y9
	VMASKMOVPS 96(DI), Y9, Y3
	MOVBQZX 4(R12), R8
	SHLQ $5, R8
	VMOVDQU (BX)(R8*1), Y9
	VMASKMOVPS 128(DI), Y9, Y4
	MOVBQZX 5(R12), R8
	SHLQ $5, R8
	VMOVDQU (BX)(R8*1), Y9
	VMASKMOVPS 160(DI), Y9, Y5
	MOVBQZX 6(R12), R8
	SHLQ $5, R8
	VMOVDQU (BX)(R8*1), Y9
	VMASKMOVPS 192(DI), Y9, Y6
	MOVBQZX 7(R12), R8
	SHLQ $5, R8
	VMOVDQU (BX)(R8*1), Y9
	VMASKMOVPS 224(DI), Y9, Y7

taps8:
	MOVQ offs+24(FP), R13
	MOVQ w+32(FP), R14
	MOVQ ntap+40(FP), DX

tap8:
	MOVQ (R13), AX
	VBROADCASTSS (R14), Y8
	MOVBQZX 0(R11), R8
	SHLQ $5, R8
	VMOVDQU (BX)(R8*1), Y9
	VMASKMOVPS 0(SI)(AX*4), Y9, Y10
	VFMADD231PS Y10, Y8, Y0
	MOVBQZX 1(R11), R9
	SHLQ $5, R9
	VMOVDQU (BX)(R9*1), Y11
	VMASKMOVPS 32(SI)(AX*4), Y11, Y12
	VFMADD231PS Y12, Y8, Y1
	MOVBQZX 2(R11), R8
	SHLQ $5, R8
	VMOVDQU (BX)(R8*1), Y9
	VMASKMOVPS 64(SI)(AX*4), Y9, Y10
	VFMADD231PS Y10, Y8, Y2
	MOVBQZX 3(R11), R9
	SHLQ $5, R9
	VMOVDQU (BX)(R9*1), Y11
	VMASKMOVPS 96(SI)(AX*4), Y11, Y12
	VFMADD231PS Y12, Y8, Y3
	MOVBQZX 4(R11), R8
	SHLQ $5, R8
	VMOVDQU (BX)(R8*1), Y9
	VMASKMOVPS 128(SI)(AX*4), Y9, Y10
	VFMADD231PS Y10, Y8, Y4
	MOVBQZX 5(R11), R9
	SHLQ $5, R9
	VMOVDQU (BX)(R9*1), Y11
	VMASKMOVPS 160(SI)(AX*4), Y11, Y12
	VFMADD231PS Y12, Y8, Y5
	MOVBQZX 6(R11), R8
	SHLQ $5, R8
	VMOVDQU (BX)(R8*1), Y9
	VMASKMOVPS 192(SI)(AX*4), Y9, Y10
	VFMADD231PS Y10, Y8, Y6
	MOVBQZX 7(R11), R9
	SHLQ $5, R9
	VMOVDQU (BX)(R9*1), Y11
	VMASKMOVPS 224(SI)(AX*4), Y11, Y12
	VFMADD231PS Y12, Y8, Y7
	ADDQ $8, R13
	ADDQ $4, R14
	ADDQ $8, R11
	DECQ DX
	JNZ  tap8

	CMPB 0(R12), $0xff
	JNE  part8_0
	VMOVUPS Y0, 0(DI)
	JMP  done8_0
part8_0:
	MOVBQZX 0(R12), R8
	SHLQ $5, R8
	VMOVDQU (BX)(R8*1), Y9
	VMASKMOVPS Y0, Y9, 0(DI)
done8_0:
	CMPB 1(R12), $0xff
	JNE  part8_1
	VMOVUPS Y1, 32(DI)
	JMP  done8_1
part8_1:
	MOVBQZX 1(R12), R8
	SHLQ $5, R8
	VMOVDQU (BX)(R8*1), Y9
	VMASKMOVPS Y1, Y9, 32(DI)
done8_1:
	CMPB 2(R12), $0xff
	JNE  part8_2
	VMOVUPS Y2, 64(DI)
	JMP  done8_2
part8_2:
	MOVBQZX 2(R12), R8
	SHLQ $5, R8
	VMOVDQU (BX)(R8*1), Y9
	VMASKMOVPS Y2, Y9, 64(DI)
done8_2:
	CMPB 3(R12), $0xff
	JNE  part8_3
	VMOVUPS Y3, 96(DI)
	JMP  done8_3
part8_3:
	MOVBQZX 3(R12), R8
	SHLQ $5, R8
	VMOVDQU (BX)(R8*1), Y9
	VMASKMOVPS Y3, Y9, 96(DI)
done8_3:
	CMPB 4(R12), $0xff
	JNE  part8_4
	VMOVUPS Y4, 128(DI)
	JMP  done8_4
part8_4:
	MOVBQZX 4(R12), R8
	SHLQ $5, R8
	VMOVDQU (BX)(R8*1), Y9
	VMASKMOVPS Y4, Y9, 128(DI)
done8_4:
	CMPB 5(R12), $0xff
	JNE  part8_5
	VMOVUPS Y5, 160(DI)
	JMP  done8_5
part8_5:
	MOVBQZX 5(R12), R8
	SHLQ $5, R8
	VMOVDQU (BX)(R8*1), Y9
	VMASKMOVPS Y5, Y9, 160(DI)
done8_5:
	CMPB 6(R12), $0xff
	JNE  part8_6
	VMOVUPS Y6, 192(DI)
	JMP  done8_6
part8_6:
	MOVBQZX 6(R12), R8
	SHLQ $5, R8
	VMOVDQU (BX)(R8*1), Y9
	VMASKMOVPS Y6, Y9, 192(DI)
done8_6:
	CMPB 7(R12), $0xff
	JNE  part8_7
	VMOVUPS Y7, 224(DI)
	JMP  done8_7
part8_7:
	MOVBQZX 7(R12), R8
	SHLQ $5, R8
	VMOVDQU (BX)(R8*1), Y9
	VMASKMOVPS Y7, Y9, 224(DI)
done8_7:
	ADDQ $256, DI
	ADDQ $256, SI
	ADDQ $8, R12
	DECQ CX
	JNZ  block8

	VZEROUPPER
	RET

// func dwDots8(dy, x *float32, nblk int, offs *int, ntap int, masks *uint16, nimg, dystride, xstride int, out *float32, lut *uint32)
//
// dwDots16 in AVX2: both dy and x load under the tap's lane mask, so that
// neither reads past the plane; Y0-Y3 accumulate one tap.
TEXT ·dwDots8(SB), NOSPLIT, $0-88
	MOVQ ntap+32(FP), R10
	MOVQ R10, AX
	SHLQ $3, AX
	MOVQ AX, ntap+32(FP) // now the bytes of masks per block
	MOVQ offs+24(FP), R8
	MOVQ masks+40(FP), R11
	MOVQ dystride+56(FP), AX
	SHLQ $2, AX
	MOVQ AX, dystride+56(FP)
	MOVQ xstride+64(FP), AX
	SHLQ $2, AX
	MOVQ AX, xstride+64(FP)
	MOVQ lut+80(FP), BX

tapd8:
	MOVQ (R8), AX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ dy+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ nimg+48(FP), R15

img8:
	MOVQ DI, R13
	MOVQ SI, DX
	MOVQ R11, R12
	MOVQ nblk+16(FP), CX

blockd8:
	MOVBQZX 0(R12), R9
	SHLQ $5, R9
	VMOVDQU (BX)(R9*1), Y8
	VMASKMOVPS 0(R13), Y8, Y9
	VMASKMOVPS 0(DX)(AX*4), Y8, Y10
	VFMADD231PS Y10, Y9, Y0
	MOVBQZX 1(R12), R14
	SHLQ $5, R14
	VMOVDQU (BX)(R14*1), Y11
	VMASKMOVPS 32(R13), Y11, Y12
	VMASKMOVPS 32(DX)(AX*4), Y11, Y13
	VFMADD231PS Y13, Y12, Y1
	MOVBQZX 2(R12), R9
	SHLQ $5, R9
	VMOVDQU (BX)(R9*1), Y8
	VMASKMOVPS 64(R13), Y8, Y9
	VMASKMOVPS 64(DX)(AX*4), Y8, Y10
	VFMADD231PS Y10, Y9, Y2
	MOVBQZX 3(R12), R14
	SHLQ $5, R14
	VMOVDQU (BX)(R14*1), Y11
	VMASKMOVPS 96(R13), Y11, Y12
	VMASKMOVPS 96(DX)(AX*4), Y11, Y13
	VFMADD231PS Y13, Y12, Y3
	MOVBQZX 4(R12), R9
	SHLQ $5, R9
	VMOVDQU (BX)(R9*1), Y8
	VMASKMOVPS 128(R13), Y8, Y9
	VMASKMOVPS 128(DX)(AX*4), Y8, Y10
	VFMADD231PS Y10, Y9, Y0
	MOVBQZX 5(R12), R14
	SHLQ $5, R14
	VMOVDQU (BX)(R14*1), Y11
	VMASKMOVPS 160(R13), Y11, Y12
	VMASKMOVPS 160(DX)(AX*4), Y11, Y13
	VFMADD231PS Y13, Y12, Y1
	MOVBQZX 6(R12), R9
	SHLQ $5, R9
	VMOVDQU (BX)(R9*1), Y8
	VMASKMOVPS 192(R13), Y8, Y9
	VMASKMOVPS 192(DX)(AX*4), Y8, Y10
	VFMADD231PS Y10, Y9, Y2
	MOVBQZX 7(R12), R14
	SHLQ $5, R14
	VMOVDQU (BX)(R14*1), Y11
	VMASKMOVPS 224(R13), Y11, Y12
	VMASKMOVPS 224(DX)(AX*4), Y11, Y13
	VFMADD231PS Y13, Y12, Y3
	ADDQ $256, R13
	ADDQ $256, DX
	ADDQ ntap+32(FP), R12
	DECQ CX
	JNZ  blockd8

	ADDQ dystride+56(FP), DI
	ADDQ xstride+64(FP), SI
	DECQ R15
	JNZ  img8

	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	MOVQ out+72(FP), R9
	VADDSS (R9), X0, X0
	VMOVSS X0, (R9)
	ADDQ $4, R9
	MOVQ R9, out+72(FP)

	ADDQ $8, R8
	ADDQ $8, R11
	DECQ R10
	JNZ  tapd8

	VZEROUPPER
	RET

// Index vectors for VPERMI2PS over a pair of vectors (lanes 16-31 are the
// second): the even and odd lanes, and the two halves of their interleave.
DATA dwEvenIdx<>+0(SB)/4, $0
DATA dwEvenIdx<>+4(SB)/4, $2
DATA dwEvenIdx<>+8(SB)/4, $4
DATA dwEvenIdx<>+12(SB)/4, $6
DATA dwEvenIdx<>+16(SB)/4, $8
DATA dwEvenIdx<>+20(SB)/4, $10
DATA dwEvenIdx<>+24(SB)/4, $12
DATA dwEvenIdx<>+28(SB)/4, $14
DATA dwEvenIdx<>+32(SB)/4, $16
DATA dwEvenIdx<>+36(SB)/4, $18
DATA dwEvenIdx<>+40(SB)/4, $20
DATA dwEvenIdx<>+44(SB)/4, $22
DATA dwEvenIdx<>+48(SB)/4, $24
DATA dwEvenIdx<>+52(SB)/4, $26
DATA dwEvenIdx<>+56(SB)/4, $28
DATA dwEvenIdx<>+60(SB)/4, $30
GLOBL dwEvenIdx<>(SB), RODATA|NOPTR, $64
DATA dwOddIdx<>+0(SB)/4, $1
DATA dwOddIdx<>+4(SB)/4, $3
DATA dwOddIdx<>+8(SB)/4, $5
DATA dwOddIdx<>+12(SB)/4, $7
DATA dwOddIdx<>+16(SB)/4, $9
DATA dwOddIdx<>+20(SB)/4, $11
DATA dwOddIdx<>+24(SB)/4, $13
DATA dwOddIdx<>+28(SB)/4, $15
DATA dwOddIdx<>+32(SB)/4, $17
DATA dwOddIdx<>+36(SB)/4, $19
DATA dwOddIdx<>+40(SB)/4, $21
DATA dwOddIdx<>+44(SB)/4, $23
DATA dwOddIdx<>+48(SB)/4, $25
DATA dwOddIdx<>+52(SB)/4, $27
DATA dwOddIdx<>+56(SB)/4, $29
DATA dwOddIdx<>+60(SB)/4, $31
GLOBL dwOddIdx<>(SB), RODATA|NOPTR, $64
DATA dwZipLoIdx<>+0(SB)/4, $0
DATA dwZipLoIdx<>+4(SB)/4, $16
DATA dwZipLoIdx<>+8(SB)/4, $1
DATA dwZipLoIdx<>+12(SB)/4, $17
DATA dwZipLoIdx<>+16(SB)/4, $2
DATA dwZipLoIdx<>+20(SB)/4, $18
DATA dwZipLoIdx<>+24(SB)/4, $3
DATA dwZipLoIdx<>+28(SB)/4, $19
DATA dwZipLoIdx<>+32(SB)/4, $4
DATA dwZipLoIdx<>+36(SB)/4, $20
DATA dwZipLoIdx<>+40(SB)/4, $5
DATA dwZipLoIdx<>+44(SB)/4, $21
DATA dwZipLoIdx<>+48(SB)/4, $6
DATA dwZipLoIdx<>+52(SB)/4, $22
DATA dwZipLoIdx<>+56(SB)/4, $7
DATA dwZipLoIdx<>+60(SB)/4, $23
GLOBL dwZipLoIdx<>(SB), RODATA|NOPTR, $64
DATA dwZipHiIdx<>+0(SB)/4, $8
DATA dwZipHiIdx<>+4(SB)/4, $24
DATA dwZipHiIdx<>+8(SB)/4, $9
DATA dwZipHiIdx<>+12(SB)/4, $25
DATA dwZipHiIdx<>+16(SB)/4, $10
DATA dwZipHiIdx<>+20(SB)/4, $26
DATA dwZipHiIdx<>+24(SB)/4, $11
DATA dwZipHiIdx<>+28(SB)/4, $27
DATA dwZipHiIdx<>+32(SB)/4, $12
DATA dwZipHiIdx<>+36(SB)/4, $28
DATA dwZipHiIdx<>+40(SB)/4, $13
DATA dwZipHiIdx<>+44(SB)/4, $29
DATA dwZipHiIdx<>+48(SB)/4, $14
DATA dwZipHiIdx<>+52(SB)/4, $30
DATA dwZipHiIdx<>+56(SB)/4, $15
DATA dwZipHiIdx<>+60(SB)/4, $31
GLOBL dwZipHiIdx<>(SB), RODATA|NOPTR, $64

// func dwSplit2(even, odd, src *float32, n int)
//
// Writes the even elements of src[0:n] to even and the odd ones to odd,
// 32 source elements a step under lane masks from the count left.
TEXT ·dwSplit2(SB), NOSPLIT, $0-32
	MOVQ even+0(FP), DI
	MOVQ odd+8(FP), DX
	MOVQ src+16(FP), SI
	MOVQ n+24(FP), CX
	VMOVUPS dwEvenIdx<>(SB), Z6
	VMOVUPS dwOddIdx<>(SB), Z7
	MOVQ $0xffff, R8

split:
	TESTQ CX, CX
	JLE   splitdone
	// Source lanes: min(n, 16) and min(max(n-16, 0), 16).
	MOVQ CX, AX
	CMPQ AX, $16
	JLE  s1
	MOVQ $16, AX
s1:
	BZHIQ AX, R8, R9
	KMOVW R9, K1
	MOVQ CX, AX
	SUBQ $16, AX
	JGE  s2
	XORQ AX, AX
s2:
	CMPQ AX, $16
	JLE  s3
	MOVQ $16, AX
s3:
	BZHIQ AX, R8, R9
	KMOVW R9, K2
	// Outputs: ceil(n/2) evens and floor(n/2) odds, at most 16 each.
	MOVQ CX, AX
	INCQ AX
	SHRQ $1, AX
	CMPQ AX, $16
	JLE  s4
	MOVQ $16, AX
s4:
	BZHIQ AX, R8, R9
	KMOVW R9, K3
	MOVQ CX, AX
	SHRQ $1, AX
	CMPQ AX, $16
	JLE  s5
	MOVQ $16, AX
s5:
	BZHIQ AX, R8, R9
	KMOVW R9, K4
	VMOVUPS.Z 0(SI), K1, Z0
	VMOVUPS.Z 64(SI), K2, Z1
	VMOVAPS Z6, Z2
	VPERMI2PS Z1, Z0, Z2
	VMOVAPS Z7, Z3
	VPERMI2PS Z1, Z0, Z3
	VMOVUPS Z2, K3, 0(DI)
	VMOVUPS Z3, K4, 0(DX)
	ADDQ $128, SI
	ADDQ $64, DI
	ADDQ $64, DX
	SUBQ $32, CX
	JMP  split

splitdone:
	VZEROUPPER
	RET

// func dwMerge2(dst, even, odd *float32, n int)
//
// The inverse of dwSplit2: dst[0:n] interleaves even and odd.
TEXT ·dwMerge2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ even+8(FP), SI
	MOVQ odd+16(FP), DX
	MOVQ n+24(FP), CX
	VMOVUPS dwZipLoIdx<>(SB), Z6
	VMOVUPS dwZipHiIdx<>(SB), Z7
	MOVQ $0xffff, R8

merge:
	TESTQ CX, CX
	JLE   mergedone
	MOVQ CX, AX
	CMPQ AX, $16
	JLE  m1
	MOVQ $16, AX
m1:
	BZHIQ AX, R8, R9
	KMOVW R9, K1
	MOVQ CX, AX
	SUBQ $16, AX
	JGE  m2
	XORQ AX, AX
m2:
	CMPQ AX, $16
	JLE  m3
	MOVQ $16, AX
m3:
	BZHIQ AX, R8, R9
	KMOVW R9, K2
	MOVQ CX, AX
	INCQ AX
	SHRQ $1, AX
	CMPQ AX, $16
	JLE  m4
	MOVQ $16, AX
m4:
	BZHIQ AX, R8, R9
	KMOVW R9, K3
	MOVQ CX, AX
	SHRQ $1, AX
	CMPQ AX, $16
	JLE  m5
	MOVQ $16, AX
m5:
	BZHIQ AX, R8, R9
	KMOVW R9, K4
	VMOVUPS.Z 0(SI), K3, Z0
	VMOVUPS.Z 0(DX), K4, Z1
	VMOVAPS Z6, Z2
	VPERMI2PS Z1, Z0, Z2
	VMOVAPS Z7, Z3
	VPERMI2PS Z1, Z0, Z3
	VMOVUPS Z2, K1, 0(DI)
	VMOVUPS Z3, K2, 64(DI)
	ADDQ $128, DI
	ADDQ $64, SI
	ADDQ $64, DX
	SUBQ $32, CX
	JMP  merge

mergedone:
	VZEROUPPER
	RET
