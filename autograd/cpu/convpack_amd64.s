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

// func convTrans8(dst, src *float32, offs *int, l, nr int)
//
// For q < l&^7 and c < 8: dst[q*nr+c] = src[offs[c]+q]: eight rows of src
// are read eight values at a time, transposed in registers and written as
// eight k steps of a packed strip (nr floats apart).
TEXT ·convTrans8(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), R13
	MOVQ offs+16(FP), SI
	MOVQ 0(SI), AX
	LEAQ (R13)(AX*4), AX
	MOVQ 8(SI), BX
	LEAQ (R13)(BX*4), BX
	MOVQ 16(SI), DX
	LEAQ (R13)(DX*4), DX
	MOVQ 24(SI), R8
	LEAQ (R13)(R8*4), R8
	MOVQ 32(SI), R9
	LEAQ (R13)(R9*4), R9
	MOVQ 40(SI), R10
	LEAQ (R13)(R10*4), R10
	MOVQ 48(SI), R11
	LEAQ (R13)(R11*4), R11
	MOVQ 56(SI), R12
	LEAQ (R13)(R12*4), R12
	MOVQ l+24(FP), CX
	SHRQ $3, CX
	JZ   done
	MOVQ nr+32(FP), SI
	SHLQ $2, SI

loop:
	VMOVUPS (AX), Y0
	VMOVUPS (BX), Y1
	VMOVUPS (DX), Y2
	VMOVUPS (R8), Y3
	VMOVUPS (R9), Y4
	VMOVUPS (R10), Y5
	VMOVUPS (R11), Y6
	VMOVUPS (R12), Y7

	// Pairs of rows interleaved, then quads, then the 128-bit halves.
	VUNPCKLPS Y1, Y0, Y8
	VUNPCKHPS Y1, Y0, Y9
	VUNPCKLPS Y3, Y2, Y10
	VUNPCKHPS Y3, Y2, Y11
	VUNPCKLPS Y5, Y4, Y12
	VUNPCKHPS Y5, Y4, Y13
	VUNPCKLPS Y7, Y6, Y14
	VUNPCKHPS Y7, Y6, Y15

	VSHUFPS $0x44, Y10, Y8, Y0
	VSHUFPS $0xEE, Y10, Y8, Y1
	VSHUFPS $0x44, Y11, Y9, Y2
	VSHUFPS $0xEE, Y11, Y9, Y3
	VSHUFPS $0x44, Y14, Y12, Y4
	VSHUFPS $0xEE, Y14, Y12, Y5
	VSHUFPS $0x44, Y15, Y13, Y6
	VSHUFPS $0xEE, Y15, Y13, Y7

	VPERM2F128 $0x20, Y4, Y0, Y8
	VPERM2F128 $0x20, Y5, Y1, Y9
	VPERM2F128 $0x20, Y6, Y2, Y10
	VPERM2F128 $0x20, Y7, Y3, Y11
	VPERM2F128 $0x31, Y4, Y0, Y12
	VPERM2F128 $0x31, Y5, Y1, Y13
	VPERM2F128 $0x31, Y6, Y2, Y14
	VPERM2F128 $0x31, Y7, Y3, Y15

	MOVQ    DI, R13
	VMOVUPS Y8, (R13)
	ADDQ    SI, R13
	VMOVUPS Y9, (R13)
	ADDQ    SI, R13
	VMOVUPS Y10, (R13)
	ADDQ    SI, R13
	VMOVUPS Y11, (R13)
	ADDQ    SI, R13
	VMOVUPS Y12, (R13)
	ADDQ    SI, R13
	VMOVUPS Y13, (R13)
	ADDQ    SI, R13
	VMOVUPS Y14, (R13)
	ADDQ    SI, R13
	VMOVUPS Y15, (R13)

	ADDQ $32, AX
	ADDQ $32, BX
	ADDQ $32, DX
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $32, R11
	ADDQ $32, R12
	LEAQ (DI)(SI*8), DI
	DECQ CX
	JNZ  loop

done:
	VZEROUPPER
	RET

// func convGather16(dst, src *float32, rows *int, n, nr int, plan *convGatherPlan16)
//
// For p < n and each half h of 16 lanes: dst[p*nr + 8h : +8] = the 8
// floats at src[rows[p]+plan.off[2h]], with the lanes whose plan.mask is
// negative taken from the 8 at src[rows[p]+plan.off[2h+1]]. n >= 1.
TEXT ·convGather16(SB), NOSPLIT, $0-48
	MOVQ    dst+0(FP), DI
	MOVQ    src+8(FP), SI
	MOVQ    rows+16(FP), BX
	MOVQ    n+24(FP), CX
	MOVQ    nr+32(FP), DX
	SHLQ    $2, DX
	MOVQ    plan+40(FP), AX
	MOVQ    0(AX), R8
	MOVQ    8(AX), R9
	MOVQ    16(AX), R10
	MOVQ    24(AX), R11
	SHLQ    $2, R8
	SHLQ    $2, R9
	SHLQ    $2, R10
	SHLQ    $2, R11
	VMOVDQU 32(AX), Y6
	VMOVDQU 64(AX), Y7

gatherrow:
	MOVQ      (BX), AX
	LEAQ      (SI)(AX*4), R12
	VMOVUPS   (R12)(R8*1), Y0
	VMOVUPS   (R12)(R9*1), Y1
	VBLENDVPS Y6, Y1, Y0, Y0
	VMOVUPS   (R12)(R10*1), Y2
	VMOVUPS   (R12)(R11*1), Y3
	VBLENDVPS Y7, Y3, Y2, Y2
	VMOVUPS   Y0, (DI)
	VMOVUPS   Y2, 32(DI)
	ADDQ      DX, DI
	ADDQ      $8, BX
	DECQ      CX
	JNZ       gatherrow
	VZEROUPPER
	RET
