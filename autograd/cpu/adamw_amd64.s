//go:build amd64 && !purego

#include "textflag.h"

// func adamwKernel(p, gr, m, v *float32, n int, c *[8]float64)
//
// One AdamW step over n float32 parameters (n a multiple of 4), in float64
// with the Go loop's operations in its order and no fused multiply-adds,
// so the results are the Go loop's bit for bit. c holds beta1, 1-beta1,
// beta2, 1-beta2, decay, step, rbc2 and eps (see AdamW).
TEXT ·adamwKernel(SB), NOSPLIT, $0-48
	MOVQ         p+0(FP), DI
	MOVQ         gr+8(FP), SI
	MOVQ         m+16(FP), R8
	MOVQ         v+24(FP), R9
	MOVQ         n+32(FP), CX
	MOVQ         c+40(FP), AX
	VBROADCASTSD 0(AX), Y8   // beta1
	VBROADCASTSD 8(AX), Y9   // 1-beta1
	VBROADCASTSD 16(AX), Y10 // beta2
	VBROADCASTSD 24(AX), Y11 // 1-beta2
	VBROADCASTSD 32(AX), Y12 // decay
	VBROADCASTSD 40(AX), Y13 // step
	VBROADCASTSD 48(AX), Y14 // rbc2
	VBROADCASTSD 56(AX), Y15 // eps
	SHRQ         $2, CX
	JZ           adamwDone

adamwLoop:
	VCVTPS2PD (SI), Y0 // g
	VCVTPS2PD (R8), Y1 // m
	VCVTPS2PD (R9), Y2 // v
	VCVTPS2PD (DI), Y3 // p
	VMULPD    Y8, Y1, Y1
	VMULPD    Y9, Y0, Y4
	VADDPD    Y4, Y1, Y1 // mi = beta1*m + (1-beta1)*g
	VMULPD    Y10, Y2, Y2
	VMULPD    Y11, Y0, Y5
	VMULPD    Y0, Y5, Y5
	VADDPD    Y5, Y2, Y2 // vi = beta2*v + (1-beta2)*g*g
	VCVTPD2PSY Y1, X6
	VMOVUPS   X6, (R8)
	VCVTPD2PSY Y2, X7
	VMOVUPS   X7, (R9)
	VSQRTPD   Y2, Y2
	VMULPD    Y14, Y2, Y2
	VADDPD    Y15, Y2, Y2 // sqrt(vi)*rbc2 + eps
	VMULPD    Y13, Y1, Y1
	VDIVPD    Y2, Y1, Y1  // step*mi / (...)
	VMULPD    Y12, Y3, Y3
	VSUBPD    Y1, Y3, Y3  // p*decay - ...
	VCVTPD2PSY Y3, X3
	VMOVUPS   X3, (DI)
	ADDQ      $16, SI
	ADDQ      $16, DI
	ADDQ      $16, R8
	ADDQ      $16, R9
	DECQ      CX
	JNZ       adamwLoop

adamwDone:
	VZEROUPPER
	RET
