//go:build !purego

#include "textflag.h"

// func convCopyRows16(dst, src *float32, rows *int, n, nr int)
//
// For p < n: dst[p*nr : (p+1)*nr] = src[rows[p] : rows[p]+nr], nr a
// positive multiple of 16, 64 bytes a step in AVX registers. n >= 1.
TEXT ·convCopyRows16(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ rows+16(FP), BX
	MOVQ n+24(FP), CX
	MOVQ nr+32(FP), DX
	SHRQ $4, DX

row:
	MOVQ (BX), AX
	LEAQ (SI)(AX*4), R8
	MOVQ DX, R9

chunk:
	VMOVUPS (R8), Y0
	VMOVUPS 32(R8), Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ    $64, R8
	ADDQ    $64, DI
	DECQ    R9
	JNZ     chunk

	ADDQ $8, BX
	DECQ CX
	JNZ  row
	VZEROUPPER
	RET

// func convAddTo(dst, src *float32, n int)
//
// dst[i] += src[i] for i < n, eight at a time in AVX registers. n >= 0.
TEXT ·convAddTo(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	CMPQ CX, $32
	JLT  eight

thirtytwo:
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	VMOVUPS 64(DI), Y2
	VMOVUPS 96(DI), Y3
	VADDPS  (SI), Y0, Y0
	VADDPS  32(SI), Y1, Y1
	VADDPS  64(SI), Y2, Y2
	VADDPS  96(SI), Y3, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ    $128, DI
	ADDQ    $128, SI
	SUBQ    $32, CX
	CMPQ    CX, $32
	JGE     thirtytwo

eight:
	CMPQ CX, $8
	JLT  one
	VMOVUPS (DI), Y0
	VADDPS  (SI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	ADDQ    $32, SI
	SUBQ    $8, CX
	JMP     eight

one:
	TESTQ CX, CX
	JZ    done
	VMOVSS (DI), X0
	VADDSS (SI), X0, X0
	VMOVSS X0, (DI)
	ADDQ   $4, DI
	ADDQ   $4, SI
	DECQ   CX
	JMP    one

done:
	VZEROUPPER
	RET
