//go:build amd64 && !purego

#include "textflag.h"

// Max pooling's two scans, eight lanes at a time: where v > best or v is
// NaN, v replaces best and its index replaces arg. The mask is the OR of
// an ordered greater-than and an unordered self-compare, and both rows are
// blended with it, so no lane takes a branch. n is a multiple of 8.

DATA poolIota<>+0(SB)/4, $0
DATA poolIota<>+4(SB)/4, $1
DATA poolIota<>+8(SB)/4, $2
DATA poolIota<>+12(SB)/4, $3
DATA poolIota<>+16(SB)/4, $4
DATA poolIota<>+20(SB)/4, $5
DATA poolIota<>+24(SB)/4, $6
DATA poolIota<>+28(SB)/4, $7
GLOBL poolIota<>(SB), RODATA|NOPTR, $32

// func windowMaxKernel(best *float32, arg *int32, x *float32, n, taps, step int, idx int32)
// Lane i of a group at c scans x[c+i + k*step], k = 0..taps-1, with index
// idx + c+i + k*step; the group's best and arg are stored once.
TEXT ·windowMaxKernel(SB), NOSPLIT, $0-52
	MOVQ         best+0(FP), DI
	MOVQ         arg+8(FP), SI
	MOVQ         x+16(FP), DX
	MOVQ         n+24(FP), CX
	MOVQ         taps+32(FP), R8
	MOVQ         step+40(FP), R9
	MOVL         idx+48(FP), AX
	VMOVD        AX, X5
	VPBROADCASTD X5, Y5
	VPADDD       poolIota<>(SB), Y5, Y5 // lane indices of the first tap
	MOVL         $8, AX
	VMOVD        AX, X6
	VPBROADCASTD X6, Y6
	VMOVD        R9, X7
	VPBROADCASTD X7, Y7                 // step, as an index increment
	SHLQ         $2, R9                 // step in bytes
	SHRQ         $3, CX

group:
	VMOVUPS (DX), Y1
	VMOVDQA Y5, Y4
	VMOVDQA Y5, Y8
	MOVQ    DX, R10
	MOVQ    R8, R11
	DECQ    R11
	JZ      store

tap:
	ADDQ      R9, R10
	VPADDD    Y7, Y8, Y8
	VMOVUPS   (R10), Y0
	VCMPPS    $0x1e, Y1, Y0, Y2 // v > best, false for NaN
	VCMPPS    $3, Y0, Y0, Y3    // v is NaN
	VORPS     Y3, Y2, Y2
	VBLENDVPS Y2, Y0, Y1, Y1
	VBLENDVPS Y2, Y8, Y4, Y4
	DECQ      R11
	JNZ       tap

store:
	VMOVUPS Y1, (DI)
	VMOVDQU Y4, (SI)
	VPADDD  Y6, Y5, Y5
	ADDQ    $32, DI
	ADDQ    $32, SI
	ADDQ    $32, DX
	DECQ    CX
	JNZ     group
	VZEROUPPER
	RET

// func maxMergeKernel(best *float32, arg *int32, v *float32, varg *int32, n int)
TEXT ·maxMergeKernel(SB), NOSPLIT, $0-40
	MOVQ best+0(FP), DI
	MOVQ arg+8(FP), SI
	MOVQ v+16(FP), DX
	MOVQ varg+24(FP), BX
	MOVQ n+32(FP), CX
	SHRQ $3, CX

mergeloop:
	VMOVUPS   (DX), Y0
	VMOVUPS   (DI), Y1
	VCMPPS    $0x1e, Y1, Y0, Y2
	VCMPPS    $3, Y0, Y0, Y3
	VORPS     Y3, Y2, Y2
	VBLENDVPS Y2, Y0, Y1, Y1
	VMOVUPS   Y1, (DI)
	VMOVDQU   (SI), Y4
	VMOVDQU   (BX), Y5
	VBLENDVPS Y2, Y5, Y4, Y4
	VMOVDQU   Y4, (SI)
	ADDQ      $32, DI
	ADDQ      $32, SI
	ADDQ      $32, DX
	ADDQ      $32, BX
	DECQ      CX
	JNZ       mergeloop
	VZEROUPPER
	RET
