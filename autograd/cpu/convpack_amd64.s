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
