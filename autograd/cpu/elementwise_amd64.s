//go:build amd64 && !purego

#include "textflag.h"

// func binaryVVKernel(d, xs, ys *float32, n, op int)
//
// d = xs op ys element by element, op 0..3 = add, sub, mul, div; 32
// elements per iteration (n a multiple of 32).
TEXT ·binaryVVKernel(SB), NOSPLIT, $0-40
	MOVQ d+0(FP), DI
	MOVQ xs+8(FP), SI
	MOVQ ys+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ op+32(FP), AX
	SHRQ $5, CX
	JZ   vvDone

vvLoop:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	CMPQ    AX, $1
	JEQ     vvSub
	CMPQ    AX, $2
	JEQ     vvMul
	CMPQ    AX, $3
	JEQ     vvDiv
	VADDPS  (DX), Y0, Y0
	VADDPS  32(DX), Y1, Y1
	VADDPS  64(DX), Y2, Y2
	VADDPS  96(DX), Y3, Y3
	JMP     vvStore

vvSub:
	VSUBPS (DX), Y0, Y0
	VSUBPS 32(DX), Y1, Y1
	VSUBPS 64(DX), Y2, Y2
	VSUBPS 96(DX), Y3, Y3
	JMP    vvStore

vvMul:
	VMULPS (DX), Y0, Y0
	VMULPS 32(DX), Y1, Y1
	VMULPS 64(DX), Y2, Y2
	VMULPS 96(DX), Y3, Y3
	JMP    vvStore

vvDiv:
	VDIVPS (DX), Y0, Y0
	VDIVPS 32(DX), Y1, Y1
	VDIVPS 64(DX), Y2, Y2
	VDIVPS 96(DX), Y3, Y3

vvStore:
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ    $128, SI
	ADDQ    $128, DX
	ADDQ    $128, DI
	DECQ    CX
	JNZ     vvLoop

vvDone:
	VZEROUPPER
	RET

// func binaryVSKernel(d, xs *float32, n int, y float32, op int)
//
// d = xs op y for one scalar y, op 0..3 = add, sub, mul, div; 32 elements
// per iteration (n a multiple of 32).
TEXT ·binaryVSKernel(SB), NOSPLIT, $0-40
	MOVQ         d+0(FP), DI
	MOVQ         xs+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS y+24(FP), Y8
	MOVQ         op+32(FP), AX
	SHRQ         $5, CX
	JZ           vsDone

vsLoop:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	CMPQ    AX, $1
	JEQ     vsSub
	CMPQ    AX, $2
	JEQ     vsMul
	CMPQ    AX, $3
	JEQ     vsDiv
	VADDPS  Y8, Y0, Y0
	VADDPS  Y8, Y1, Y1
	VADDPS  Y8, Y2, Y2
	VADDPS  Y8, Y3, Y3
	JMP     vsStore

vsSub:
	VSUBPS Y8, Y0, Y0
	VSUBPS Y8, Y1, Y1
	VSUBPS Y8, Y2, Y2
	VSUBPS Y8, Y3, Y3
	JMP    vsStore

vsMul:
	VMULPS Y8, Y0, Y0
	VMULPS Y8, Y1, Y1
	VMULPS Y8, Y2, Y2
	VMULPS Y8, Y3, Y3
	JMP    vsStore

vsDiv:
	VDIVPS Y8, Y0, Y0
	VDIVPS Y8, Y1, Y1
	VDIVPS Y8, Y2, Y2
	VDIVPS Y8, Y3, Y3

vsStore:
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ    $128, SI
	ADDQ    $128, DI
	DECQ    CX
	JNZ     vsLoop

vsDone:
	VZEROUPPER
	RET
