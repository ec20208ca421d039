//go:build !purego

#include "textflag.h"

// func conv3x3Tile(a0, a1, b, c *float32, cn, chans, wq, kh0, kh1 int)
//
// One tile of a 3x3 stride-1 convolution read straight from its padded
// input (no im2col): 14 output positions, two runs of 7 consecutive ones
// whose top-left taps are at a0 and a1 in channel 0 of the padded image,
// by 32 output channels. b holds the weights as 9*cn steps of 32 output
// channels, step (c*3+kh)*3+kw; only tap rows [kh0, kh1) are read (the
// others see only padding for both runs). Channel c of the image is chans
// floats past channel c-1, a row wq floats past the one above. The tile
// goes to c as 14 rows of 32 (position-major). Z0-Z27 hold it, position j
// in Z(2j) and Z(2j+1); Z28-Z29 a step's weights, Z30-Z31 broadcasts.
// cn >= 1, kh1 > kh0.
// One position of a tap of conv3x3Tile: the input value at off(reg)
// broadcast into br and multiplied by the step's 32 weights (Z28, Z29)
// into the position's two accumulators.
#define POS32(off, reg, br, z0, z1) \
	VBROADCASTSS off(reg), br \
	VFMADD231PS  Z28, br, z0   \
	VFMADD231PS  Z29, br, z1

// Tap kw of a row of conv3x3Tile: the step's weights at 128*kw(AX), then
// the 7 positions of each run (SI, DI), one float further per kw.
#define TAP32(kw) \
	VMOVUPS 128*kw(AX), Z28                \
	VMOVUPS 128*kw+64(AX), Z29             \
	POS32(4*kw+0, SI, Z30, Z0, Z1)         \
	POS32(4*kw+4, SI, Z31, Z2, Z3)         \
	POS32(4*kw+8, SI, Z30, Z4, Z5)         \
	POS32(4*kw+12, SI, Z31, Z6, Z7)        \
	POS32(4*kw+16, SI, Z30, Z8, Z9)        \
	POS32(4*kw+20, SI, Z31, Z10, Z11)      \
	POS32(4*kw+24, SI, Z30, Z12, Z13)      \
	POS32(4*kw+0, DI, Z31, Z14, Z15)       \
	POS32(4*kw+4, DI, Z30, Z16, Z17)       \
	POS32(4*kw+8, DI, Z31, Z18, Z19)       \
	POS32(4*kw+12, DI, Z30, Z20, Z21)      \
	POS32(4*kw+16, DI, Z31, Z22, Z23)      \
	POS32(4*kw+20, DI, Z30, Z24, Z25)      \
	POS32(4*kw+24, DI, Z31, Z26, Z27)

// One position of a tap of conv3x3Tile6: the value at off(reg)(AX*4)
// broadcast into br, times the step's 16 weights (Y12, Y13).
#define POS16(off, reg, br, y0, y1) \
	VBROADCASTSS off(reg)(AX*4), br \
	VFMADD231PS  Y12, br, y0        \
	VFMADD231PS  Y13, br, y1

// Tap kw of a row of conv3x3Tile6: weights at 64*kw(BX), then the six
// positions, one float further per kw.
#define TAP16(kw) \
	VMOVUPS 64*kw(BX), Y12             \
	VMOVUPS 64*kw+32(BX), Y13          \
	POS16(4*kw, SI, Y14, Y0, Y1)       \
	POS16(4*kw, DI, Y15, Y2, Y3)       \
	POS16(4*kw, R8, Y14, Y4, Y5)       \
	POS16(4*kw, R9, Y15, Y6, Y7)       \
	POS16(4*kw, R10, Y14, Y8, Y9)      \
	POS16(4*kw, R11, Y15, Y10, Y11)

TEXT ·conv3x3Tile(SB), NOSPLIT, $0-72
	MOVQ a0+0(FP), R10
	MOVQ a1+8(FP), R11
	MOVQ b+16(FP), BX
	MOVQ cn+32(FP), CX
	MOVQ chans+40(FP), R9
	SHLQ $2, R9
	MOVQ wq+48(FP), R8
	SHLQ $2, R8
	MOVQ kh0+56(FP), AX
	MOVQ kh1+64(FP), R12
	SUBQ AX, R12
	MOVQ AX, DX
	IMULQ R8, DX
	ADDQ DX, R10
	ADDQ DX, R11
	IMULQ $384, AX
	ADDQ AX, BX

	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
	VPXORD Z24, Z24, Z24
	VPXORD Z25, Z25, Z25
	VPXORD Z26, Z26, Z26
	VPXORD Z27, Z27, Z27

chan:
	MOVQ R10, SI
	MOVQ R11, DI
	MOVQ BX, AX
	MOVQ R12, DX

row:
	TAP32(0)
	TAP32(1)
	TAP32(2)
	ADDQ $384, AX
	ADDQ R8, SI
	ADDQ R8, DI
	DECQ DX
	JNZ  row

	ADDQ $1152, BX
	ADDQ R9, R10
	ADDQ R9, R11
	DECQ CX
	JNZ  chan

	MOVQ c+24(FP), AX
	VMOVUPS Z0, 0(AX)
	VMOVUPS Z1, 64(AX)
	VMOVUPS Z2, 128(AX)
	VMOVUPS Z3, 192(AX)
	VMOVUPS Z4, 256(AX)
	VMOVUPS Z5, 320(AX)
	VMOVUPS Z6, 384(AX)
	VMOVUPS Z7, 448(AX)
	VMOVUPS Z8, 512(AX)
	VMOVUPS Z9, 576(AX)
	VMOVUPS Z10, 640(AX)
	VMOVUPS Z11, 704(AX)
	VMOVUPS Z12, 768(AX)
	VMOVUPS Z13, 832(AX)
	VMOVUPS Z14, 896(AX)
	VMOVUPS Z15, 960(AX)
	VMOVUPS Z16, 1024(AX)
	VMOVUPS Z17, 1088(AX)
	VMOVUPS Z18, 1152(AX)
	VMOVUPS Z19, 1216(AX)
	VMOVUPS Z20, 1280(AX)
	VMOVUPS Z21, 1344(AX)
	VMOVUPS Z22, 1408(AX)
	VMOVUPS Z23, 1472(AX)
	VMOVUPS Z24, 1536(AX)
	VMOVUPS Z25, 1600(AX)
	VMOVUPS Z26, 1664(AX)
	VMOVUPS Z27, 1728(AX)
	VZEROUPPER
	RET

// func conv3x3Tile6(img *float32, offs *[6]int, b, c *float32, cn, chans, wq, kh0, kh1 int)
//
// conv3x3Tile for AVX2: 6 output positions, each anywhere in the padded
// image (the top-left tap of position j is img[offs[j]]), by 16 output
// channels; b holds 9*cn steps of 16 weights, c gets 6 rows of 16. The
// positions share one running index (AX, in floats) into their windows.
// Y0-Y11 hold the tile, Y12-Y13 a step's weights, Y14-Y15 broadcasts.
// cn >= 1, kh1 > kh0.
TEXT ·conv3x3Tile6(SB), NOSPLIT, $16-72
	MOVQ img+0(FP), AX
	MOVQ offs+8(FP), BX
	MOVQ 0(BX), SI
	LEAQ (AX)(SI*4), SI
	MOVQ 8(BX), DI
	LEAQ (AX)(DI*4), DI
	MOVQ 16(BX), R8
	LEAQ (AX)(R8*4), R8
	MOVQ 24(BX), R9
	LEAQ (AX)(R9*4), R9
	MOVQ 32(BX), R10
	LEAQ (AX)(R10*4), R10
	MOVQ 40(BX), R11
	LEAQ (AX)(R11*4), R11
	MOVQ b+16(FP), BX
	MOVQ cn+32(FP), CX
	MOVQ wq+48(FP), R12
	MOVQ kh0+56(FP), AX
	MOVQ kh1+64(FP), DX
	SUBQ AX, DX
	MOVQ DX, rows-8(SP)
	// After a channel's rows, B skips the rows not read: (3-rows)*192 bytes.
	MOVQ $3, R13
	SUBQ DX, R13
	IMULQ $192, R13
	MOVQ R13, skip-16(SP)
	// Channel 0 starts at row kh0 of the windows and of the weights.
	MOVQ AX, R13
	IMULQ R12, R13
	IMULQ $192, AX
	ADDQ AX, BX

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

chan6:
	MOVQ R13, AX
	MOVQ rows-8(SP), DX

row6:
	TAP16(0)
	TAP16(1)
	TAP16(2)
	ADDQ $192, BX
	ADDQ R12, AX
	DECQ DX
	JNZ  row6

	ADDQ skip-16(SP), BX
	ADDQ chans+40(FP), R13
	DECQ CX
	JNZ  chan6

	MOVQ c+24(FP), AX
	VMOVUPS Y0, 0(AX)
	VMOVUPS Y1, 32(AX)
	VMOVUPS Y2, 64(AX)
	VMOVUPS Y3, 96(AX)
	VMOVUPS Y4, 128(AX)
	VMOVUPS Y5, 160(AX)
	VMOVUPS Y6, 192(AX)
	VMOVUPS Y7, 224(AX)
	VMOVUPS Y8, 256(AX)
	VMOVUPS Y9, 288(AX)
	VMOVUPS Y10, 320(AX)
	VMOVUPS Y11, 352(AX)
	VZEROUPPER
	RET
