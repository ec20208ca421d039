//go:build amd64 && !purego

#include "textflag.h"

// func normAffineKernel(dst, src *float32, n int, scale, shift float32)
//
// dst = src*scale + shift (one fused multiply-add), 32 elements per
// iteration (n a multiple of 32).
TEXT ·normAffineKernel(SB), NOSPLIT, $0-32
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS scale+24(FP), Y14
	VBROADCASTSS shift+28(FP), Y15
	SHRQ         $5, CX
	JZ           affineDone

affineLoop:
	VMOVUPS     (SI), Y0
	VMOVUPS     32(SI), Y1
	VMOVUPS     64(SI), Y2
	VMOVUPS     96(SI), Y3
	VFMADD213PS Y15, Y14, Y0
	VFMADD213PS Y15, Y14, Y1
	VFMADD213PS Y15, Y14, Y2
	VFMADD213PS Y15, Y14, Y3
	VMOVUPS     Y0, (DI)
	VMOVUPS     Y1, 32(DI)
	VMOVUPS     Y2, 64(DI)
	VMOVUPS     Y3, 96(DI)
	ADDQ        $128, SI
	ADDQ        $128, DI
	DECQ        CX
	JNZ         affineLoop

affineDone:
	VZEROUPPER
	RET

// func normGradKernel(out, grad, in *float32, n int, ca, cb, cm, cc float32)
//
// out = ca*grad + (cb*(in - cm) + cc), the centring first so that nothing cancels,
// 16 elements per iteration (n a multiple of 16).
TEXT ·normGradKernel(SB), NOSPLIT, $0-48
	MOVQ         out+0(FP), DI
	MOVQ         grad+8(FP), SI
	MOVQ         in+16(FP), DX
	MOVQ         n+24(FP), CX
	VBROADCASTSS ca+32(FP), Y12
	VBROADCASTSS cb+36(FP), Y13
	VBROADCASTSS cm+40(FP), Y14
	VBROADCASTSS cc+44(FP), Y15
	SHRQ         $4, CX
	JZ           gradDone

gradLoop:
	VMOVUPS     (DX), Y0
	VMOVUPS     32(DX), Y1
	VSUBPS      Y14, Y0, Y0
	VSUBPS      Y14, Y1, Y1
	VFMADD213PS Y15, Y13, Y0
	VFMADD213PS Y15, Y13, Y1
	VMOVUPS     (SI), Y2
	VMOVUPS     32(SI), Y3
	VFMADD231PS Y12, Y2, Y0
	VFMADD231PS Y12, Y3, Y1
	VMOVUPS     Y0, (DI)
	VMOVUPS     Y1, 32(DI)
	ADDQ        $64, SI
	ADDQ        $64, DX
	ADDQ        $64, DI
	DECQ        CX
	JNZ         gradLoop

gradDone:
	VZEROUPPER
	RET
