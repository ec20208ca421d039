//go:build amd64 && !purego

#include "textflag.h"

// func normAffineKernel(dst, src *float32, n int, scale, shift float32)
//
// dst = src*scale + shift (one fused multiply-add), 32 elements per
// iteration, then 8 (n a multiple of 8).
TEXT ·normAffineKernel(SB), NOSPLIT, $0-32
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS scale+24(FP), Y14
	VBROADCASTSS shift+28(FP), Y15
	MOVQ         CX, DX
	ANDQ         $31, DX
	SHRQ         $5, CX
	JZ           affine8

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

affine8:
	SHRQ $3, DX
	JZ   affineDone

affine8Loop:
	VMOVUPS     (SI), Y0
	VFMADD213PS Y15, Y14, Y0
	VMOVUPS     Y0, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DI
	DECQ        DX
	JNZ         affine8Loop

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

// func normSumKernel(s *float32, n int) float64
//
// The float64 sum of n float32 values (n a multiple of 16), four partial
// sums of four lanes each.
TEXT ·normSumKernel(SB), NOSPLIT, $0-24
	MOVQ   s+0(FP), SI
	MOVQ   n+8(FP), CX
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	SHRQ   $4, CX
	JZ     sumDone

sumLoop:
	VCVTPS2PD (SI), Y4
	VCVTPS2PD 16(SI), Y5
	VCVTPS2PD 32(SI), Y6
	VCVTPS2PD 48(SI), Y7
	VADDPD    Y4, Y0, Y0
	VADDPD    Y5, Y1, Y1
	VADDPD    Y6, Y2, Y2
	VADDPD    Y7, Y3, Y3
	ADDQ      $64, SI
	DECQ      CX
	JNZ       sumLoop

sumDone:
	VADDPD       Y1, Y0, Y0
	VADDPD       Y3, Y2, Y2
	VADDPD       Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPD       X1, X0, X0
	VHADDPD      X0, X0, X0
	VZEROUPPER
	MOVSD        X0, ret+16(FP)
	RET

// func normSqDevKernel(s *float32, n int, m float64) float64
//
// The float64 sum of (s[i] - m)^2 (n a multiple of 16).
TEXT ·normSqDevKernel(SB), NOSPLIT, $0-32
	MOVQ         s+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSD m+16(FP), Y8
	VXORPD       Y0, Y0, Y0
	VXORPD       Y1, Y1, Y1
	VXORPD       Y2, Y2, Y2
	VXORPD       Y3, Y3, Y3
	SHRQ         $4, CX
	JZ           sqDone

sqLoop:
	VCVTPS2PD   (SI), Y4
	VCVTPS2PD   16(SI), Y5
	VCVTPS2PD   32(SI), Y6
	VCVTPS2PD   48(SI), Y7
	VSUBPD      Y8, Y4, Y4
	VSUBPD      Y8, Y5, Y5
	VSUBPD      Y8, Y6, Y6
	VSUBPD      Y8, Y7, Y7
	VFMADD231PD Y4, Y4, Y0
	VFMADD231PD Y5, Y5, Y1
	VFMADD231PD Y6, Y6, Y2
	VFMADD231PD Y7, Y7, Y3
	ADDQ        $64, SI
	DECQ        CX
	JNZ         sqLoop

sqDone:
	VADDPD       Y1, Y0, Y0
	VADDPD       Y3, Y2, Y2
	VADDPD       Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPD       X1, X0, X0
	VHADDPD      X0, X0, X0
	VZEROUPPER
	MOVSD        X0, ret+24(FP)
	RET

// func normSumDotKernel(gs, xs *float32, n int, m float64) (sg, sgx float64)
//
// The float64 sums of g[i] and of g[i]*(x[i] - m) (n a multiple of 8).
TEXT ·normSumDotKernel(SB), NOSPLIT, $0-48
	MOVQ         gs+0(FP), SI
	MOVQ         xs+8(FP), DX
	MOVQ         n+16(FP), CX
	VBROADCASTSD m+24(FP), Y8
	VXORPD       Y0, Y0, Y0
	VXORPD       Y1, Y1, Y1
	VXORPD       Y2, Y2, Y2
	VXORPD       Y3, Y3, Y3
	SHRQ         $3, CX
	JZ           dotDone

dotLoop:
	VCVTPS2PD   (SI), Y4
	VCVTPS2PD   16(SI), Y5
	VCVTPS2PD   (DX), Y6
	VCVTPS2PD   16(DX), Y7
	VADDPD      Y4, Y0, Y0
	VADDPD      Y5, Y1, Y1
	VSUBPD      Y8, Y6, Y6
	VSUBPD      Y8, Y7, Y7
	VFMADD231PD Y4, Y6, Y2
	VFMADD231PD Y5, Y7, Y3
	ADDQ        $32, SI
	ADDQ        $32, DX
	DECQ        CX
	JNZ         dotLoop

dotDone:
	VADDPD       Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPD       X1, X0, X0
	VHADDPD      X0, X0, X0
	VMOVSD        X0, sg+32(FP)
	VADDPD       Y3, Y2, Y2
	VEXTRACTF128 $1, Y2, X3
	VADDPD       X3, X2, X2
	VHADDPD      X2, X2, X2
	VMOVSD        X2, sgx+40(FP)
	VZEROUPPER
	RET

// func lnApplyKernel(y, xs, w, b *float32, n int, m, r float32)
//
// y = (x - m)*r*w + b over a row (n a multiple of 16).
TEXT ·lnApplyKernel(SB), NOSPLIT, $0-48
	MOVQ         y+0(FP), DI
	MOVQ         xs+8(FP), SI
	MOVQ         w+16(FP), R8
	MOVQ         b+24(FP), R9
	MOVQ         n+32(FP), CX
	VBROADCASTSS m+40(FP), Y14
	VBROADCASTSS r+44(FP), Y15
	SHRQ         $4, CX
	JZ           lnApplyDone

lnApplyLoop:
	VMOVUPS     (SI), Y0
	VMOVUPS     32(SI), Y1
	VSUBPS      Y14, Y0, Y0
	VSUBPS      Y14, Y1, Y1
	VMULPS      Y15, Y0, Y0
	VMULPS      Y15, Y1, Y1
	VMOVUPS     (R9), Y2
	VMOVUPS     32(R9), Y3
	VFMADD132PS (R8), Y2, Y0
	VFMADD132PS 32(R8), Y3, Y1
	VMOVUPS     Y0, (DI)
	VMOVUPS     Y1, 32(DI)
	ADDQ        $64, SI
	ADDQ        $64, DI
	ADDQ        $64, R8
	ADDQ        $64, R9
	DECQ        CX
	JNZ         lnApplyLoop

lnApplyDone:
	VZEROUPPER
	RET

// func lnGradSumsKernel(dy, w, xs *float32, n int, m float64) (sg, sgx float64)
//
// The float64 sums of dy*w and of dy*w*(x - m) over a row (n a multiple
// of 8).
TEXT ·lnGradSumsKernel(SB), NOSPLIT, $0-56
	MOVQ         dy+0(FP), SI
	MOVQ         w+8(FP), R8
	MOVQ         xs+16(FP), DX
	MOVQ         n+24(FP), CX
	VBROADCASTSD m+32(FP), Y8
	VXORPD       Y0, Y0, Y0
	VXORPD       Y1, Y1, Y1
	VXORPD       Y2, Y2, Y2
	VXORPD       Y3, Y3, Y3
	SHRQ         $3, CX
	JZ           lnSumsDone

lnSumsLoop:
	VCVTPS2PD   (SI), Y4
	VCVTPS2PD   16(SI), Y5
	VCVTPS2PD   (R8), Y9
	VCVTPS2PD   16(R8), Y10
	VMULPD      Y9, Y4, Y4
	VMULPD      Y10, Y5, Y5
	VCVTPS2PD   (DX), Y6
	VCVTPS2PD   16(DX), Y7
	VADDPD      Y4, Y0, Y0
	VADDPD      Y5, Y1, Y1
	VSUBPD      Y8, Y6, Y6
	VSUBPD      Y8, Y7, Y7
	VFMADD231PD Y4, Y6, Y2
	VFMADD231PD Y5, Y7, Y3
	ADDQ        $32, SI
	ADDQ        $32, R8
	ADDQ        $32, DX
	DECQ        CX
	JNZ         lnSumsLoop

lnSumsDone:
	VADDPD       Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPD       X1, X0, X0
	VHADDPD      X0, X0, X0
	VMOVSD        X0, sg+40(FP)
	VADDPD       Y3, Y2, Y2
	VEXTRACTF128 $1, Y2, X3
	VADDPD       X3, X2, X2
	VHADDPD      X2, X2, X2
	VMOVSD        X2, sgx+48(FP)
	VZEROUPPER
	RET

// func lnGradApplyKernel(dx, dy, w, xs *float32, n int, ca, cb, cc, m float32)
//
// dx = ca*(dy*w) - (cb + cc*(x - m)) over a row (n a multiple of 8).
TEXT ·lnGradApplyKernel(SB), NOSPLIT, $0-56
	MOVQ         dx+0(FP), DI
	MOVQ         dy+8(FP), SI
	MOVQ         w+16(FP), R8
	MOVQ         xs+24(FP), DX
	MOVQ         n+32(FP), CX
	VBROADCASTSS ca+40(FP), Y12
	VBROADCASTSS cb+44(FP), Y13
	VBROADCASTSS cc+48(FP), Y14
	VBROADCASTSS m+52(FP), Y15
	SHRQ         $3, CX
	JZ           lnGradDone

lnGradLoop:
	VMOVUPS     (DX), Y0
	VSUBPS      Y15, Y0, Y0
	VFMADD132PS Y14, Y13, Y0
	VMOVUPS     (SI), Y1
	VMULPS      (R8), Y1, Y1
	VFMSUB132PS Y12, Y0, Y1
	VMOVUPS     Y1, (DI)
	ADDQ        $32, SI
	ADDQ        $32, R8
	ADDQ        $32, DX
	ADDQ        $32, DI
	DECQ        CX
	JNZ         lnGradLoop

lnGradDone:
	VZEROUPPER
	RET

// func lnParamAccKernel(accW, accB *float64, dy, xs *float32, n int, m, r float64)
//
// accW += dy*(x - m)*r and accB += dy over a row, in float64 (n a
// multiple of 4).
TEXT ·lnParamAccKernel(SB), NOSPLIT, $0-56
	MOVQ         accW+0(FP), DI
	MOVQ         accB+8(FP), R9
	MOVQ         dy+16(FP), SI
	MOVQ         xs+24(FP), DX
	MOVQ         n+32(FP), CX
	VBROADCASTSD m+40(FP), Y14
	VBROADCASTSD r+48(FP), Y15
	SHRQ         $2, CX
	JZ           lnAccDone

lnAccLoop:
	VCVTPS2PD   (SI), Y0
	VCVTPS2PD   (DX), Y1
	VADDPD      (R9), Y0, Y2
	VMOVUPD     Y2, (R9)
	VSUBPD      Y14, Y1, Y1
	VMULPD      Y15, Y1, Y1
	VMOVUPD     (DI), Y3
	VFMADD231PD Y1, Y0, Y3
	VMOVUPD     Y3, (DI)
	ADDQ        $16, SI
	ADDQ        $16, DX
	ADDQ        $32, DI
	ADDQ        $32, R9
	DECQ        CX
	JNZ         lnAccLoop

lnAccDone:
	VZEROUPPER
	RET
