//go:build amd64 && !purego

#include "textflag.h"

// AVX2+FMA kernels for the float32 SiLU, sigmoid and exact GELU, eight
// elements per iteration. Each takes (dst, src *float32, n int) with n a
// multiple of 8; act_amd64.go checks the bounds and does the tail.
//
// actConst holds each constant replicated eight times (32 bytes a row):
// see the comments on the DATA rows below for the offsets.

// ONE_PLUS_EXPNEG sets Y3 = 1 + e^-x for x in Y0 with the Cephes expf:
// t = clamp(-x, -87.3, 88.0) keeps e^t finite and normal, n = round(t *
// log2(e)), r = t - n*C1 - n*C2 (C1 + C2 = ln 2 in two parts), e^r from a
// degree-5 polynomial, and 2^n by placing n+127 in the exponent bits.
// The clamp takes the value as its second source, which MAXPS and MINPS
// return when either is NaN, so NaN propagates as in PyTorch.
// Clobbers Y1, Y2, Y4 and Y5; Y13 and Y14 must hold the clamp's bounds
// (actConst+64, +96) and Y15 1.0.
#define ONE_PLUS_EXPNEG \
	VXORPS       actConst<>+0(SB), Y0, Y1; \
	VMAXPS       Y1, Y13, Y1; \
	VMINPS       Y1, Y14, Y1; \
	VMULPS       actConst<>+128(SB), Y1, Y2; \
	VROUNDPS     $0, Y2, Y2; \
	VFNMADD231PS actConst<>+160(SB), Y2, Y1; \
	VFNMADD231PS actConst<>+192(SB), Y2, Y1; \
	VMOVUPS      actConst<>+224(SB), Y3; \
	VFMADD213PS  actConst<>+256(SB), Y1, Y3; \
	VFMADD213PS  actConst<>+288(SB), Y1, Y3; \
	VFMADD213PS  actConst<>+320(SB), Y1, Y3; \
	VFMADD213PS  actConst<>+352(SB), Y1, Y3; \
	VFMADD213PS  actConst<>+384(SB), Y1, Y3; \
	VMULPS       Y1, Y1, Y4; \
	VFMADD213PS  Y1, Y4, Y3; \
	VADDPS       Y15, Y3, Y3; \
	VCVTPS2DQ    Y2, Y5; \
	VPADDD       actConst<>+416(SB), Y5, Y5; \
	VPSLLD       $23, Y5, Y5; \
	VMULPS       Y5, Y3, Y3; \
	VADDPS       Y15, Y3, Y3

// func siluKernel(dst, src *float32, n int)
TEXT ·siluKernel(SB), NOSPLIT, $0-24
	MOVQ    dst+0(FP), DI
	MOVQ    src+8(FP), SI
	MOVQ    n+16(FP), CX
	SHRQ    $3, CX
	JZ      siluDone
	VMOVUPS actConst<>+32(SB), Y15
	VMOVUPS actConst<>+64(SB), Y13
	VMOVUPS actConst<>+96(SB), Y14

siluLoop:
	VMOVUPS (SI), Y0
	ONE_PLUS_EXPNEG
	// Below x = -88, where the clamp holds e^-x at e^88, the numerator
	// is clamped too: the result is then -88/(1+e^88) = -5e-37 rather
	// than x/e^88, which grows with |x| (-2 at -MaxFloat32, -Inf at
	// -Inf). The true value there rounds to -0 or a denormal.
	VMAXPS  actConst<>+960(SB), Y0, Y0
	VDIVPS  Y3, Y0, Y0 // x / (1 + e^-x)
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     siluLoop

siluDone:
	VZEROUPPER
	RET

// func sigmoidKernel(dst, src *float32, n int)
TEXT ·sigmoidKernel(SB), NOSPLIT, $0-24
	MOVQ    dst+0(FP), DI
	MOVQ    src+8(FP), SI
	MOVQ    n+16(FP), CX
	SHRQ    $3, CX
	JZ      sigmoidDone
	VMOVUPS actConst<>+32(SB), Y15
	VMOVUPS actConst<>+64(SB), Y13
	VMOVUPS actConst<>+96(SB), Y14

sigmoidLoop:
	VMOVUPS (SI), Y0
	ONE_PLUS_EXPNEG
	VDIVPS  Y3, Y15, Y0 // 1 / (1 + e^-x)
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     sigmoidLoop

sigmoidDone:
	VZEROUPPER
	RET

// func geluKernel(dst, src *float32, n int)
//
// 0.5*x*(1 + erf(x/sqrt2)) with erfFloat32's formula: z clamped to
// [-4, 4], erf = z*P(z²)/Q(z²).
TEXT ·geluKernel(SB), NOSPLIT, $0-24
	MOVQ    dst+0(FP), DI
	MOVQ    src+8(FP), SI
	MOVQ    n+16(FP), CX
	SHRQ    $3, CX
	JZ      geluDone
	VMOVUPS actConst<>+32(SB), Y15

geluLoop:
	VMOVUPS      (SI), Y0
	VMULPS       actConst<>+480(SB), Y0, Y1 // z = x/sqrt2
	VMAXPS       actConst<>+512(SB), Y1, Y1
	VMINPS       actConst<>+544(SB), Y1, Y1
	VMULPS       Y1, Y1, Y2                 // z²
	VMOVUPS      actConst<>+576(SB), Y3     // P
	VFMADD213PS  actConst<>+608(SB), Y2, Y3
	VFMADD213PS  actConst<>+640(SB), Y2, Y3
	VFMADD213PS  actConst<>+672(SB), Y2, Y3
	VFMADD213PS  actConst<>+704(SB), Y2, Y3
	VFMADD213PS  actConst<>+736(SB), Y2, Y3
	VFMADD213PS  actConst<>+768(SB), Y2, Y3
	VMOVUPS      actConst<>+800(SB), Y4     // Q
	VFMADD213PS  actConst<>+832(SB), Y2, Y4
	VFMADD213PS  actConst<>+864(SB), Y2, Y4
	VFMADD213PS  actConst<>+896(SB), Y2, Y4
	VFMADD213PS  actConst<>+928(SB), Y2, Y4
	VMULPS       Y1, Y3, Y3                 // z*P
	VDIVPS       Y4, Y3, Y3                 // erf = z*P/Q
	VADDPS       Y15, Y3, Y3                // 1 + erf
	VMULPS       actConst<>+448(SB), Y0, Y0 // 0.5*x
	VMULPS       Y3, Y0, Y0
	VMOVUPS      Y0, (DI)
	ADDQ         $32, SI
	ADDQ         $32, DI
	DECQ         CX
	JNZ          geluLoop

geluDone:
	VZEROUPPER
	RET

// 0 (offset 0): sign mask
DATA actConst<>+0(SB)/8, $0x8000000080000000
DATA actConst<>+8(SB)/8, $0x8000000080000000
DATA actConst<>+16(SB)/8, $0x8000000080000000
DATA actConst<>+24(SB)/8, $0x8000000080000000
// 1 (offset 32): 1
DATA actConst<>+32(SB)/8, $0x3f8000003f800000
DATA actConst<>+40(SB)/8, $0x3f8000003f800000
DATA actConst<>+48(SB)/8, $0x3f8000003f800000
DATA actConst<>+56(SB)/8, $0x3f8000003f800000
// 2 (offset 64): exp clamp low -87.3
DATA actConst<>+64(SB)/8, $0xc2ae999ac2ae999a
DATA actConst<>+72(SB)/8, $0xc2ae999ac2ae999a
DATA actConst<>+80(SB)/8, $0xc2ae999ac2ae999a
DATA actConst<>+88(SB)/8, $0xc2ae999ac2ae999a
// 3 (offset 96): exp clamp high 88.0
DATA actConst<>+96(SB)/8, $0x42b0000042b00000
DATA actConst<>+104(SB)/8, $0x42b0000042b00000
DATA actConst<>+112(SB)/8, $0x42b0000042b00000
DATA actConst<>+120(SB)/8, $0x42b0000042b00000
// 4 (offset 128): log2(e)
DATA actConst<>+128(SB)/8, $0x3fb8aa3b3fb8aa3b
DATA actConst<>+136(SB)/8, $0x3fb8aa3b3fb8aa3b
DATA actConst<>+144(SB)/8, $0x3fb8aa3b3fb8aa3b
DATA actConst<>+152(SB)/8, $0x3fb8aa3b3fb8aa3b
// 5 (offset 160): C1 0.693359375
DATA actConst<>+160(SB)/8, $0x3f3180003f318000
DATA actConst<>+168(SB)/8, $0x3f3180003f318000
DATA actConst<>+176(SB)/8, $0x3f3180003f318000
DATA actConst<>+184(SB)/8, $0x3f3180003f318000
// 6 (offset 192): C2 -2.12194440e-4
DATA actConst<>+192(SB)/8, $0xb95e8083b95e8083
DATA actConst<>+200(SB)/8, $0xb95e8083b95e8083
DATA actConst<>+208(SB)/8, $0xb95e8083b95e8083
DATA actConst<>+216(SB)/8, $0xb95e8083b95e8083
// 7 (offset 224): P0 1.9875691500e-4
DATA actConst<>+224(SB)/8, $0x3950696739506967
DATA actConst<>+232(SB)/8, $0x3950696739506967
DATA actConst<>+240(SB)/8, $0x3950696739506967
DATA actConst<>+248(SB)/8, $0x3950696739506967
// 8 (offset 256): P1 1.3981999507e-3
DATA actConst<>+256(SB)/8, $0x3ab743ce3ab743ce
DATA actConst<>+264(SB)/8, $0x3ab743ce3ab743ce
DATA actConst<>+272(SB)/8, $0x3ab743ce3ab743ce
DATA actConst<>+280(SB)/8, $0x3ab743ce3ab743ce
// 9 (offset 288): P2 8.3334519073e-3
DATA actConst<>+288(SB)/8, $0x3c0889083c088908
DATA actConst<>+296(SB)/8, $0x3c0889083c088908
DATA actConst<>+304(SB)/8, $0x3c0889083c088908
DATA actConst<>+312(SB)/8, $0x3c0889083c088908
// 10 (offset 320): P3 4.1665795894e-2
DATA actConst<>+320(SB)/8, $0x3d2aa9c13d2aa9c1
DATA actConst<>+328(SB)/8, $0x3d2aa9c13d2aa9c1
DATA actConst<>+336(SB)/8, $0x3d2aa9c13d2aa9c1
DATA actConst<>+344(SB)/8, $0x3d2aa9c13d2aa9c1
// 11 (offset 352): P4 1.6666665459e-1
DATA actConst<>+352(SB)/8, $0x3e2aaaaa3e2aaaaa
DATA actConst<>+360(SB)/8, $0x3e2aaaaa3e2aaaaa
DATA actConst<>+368(SB)/8, $0x3e2aaaaa3e2aaaaa
DATA actConst<>+376(SB)/8, $0x3e2aaaaa3e2aaaaa
// 12 (offset 384): P5 5.0000001201e-1
DATA actConst<>+384(SB)/8, $0x3f0000003f000000
DATA actConst<>+392(SB)/8, $0x3f0000003f000000
DATA actConst<>+400(SB)/8, $0x3f0000003f000000
DATA actConst<>+408(SB)/8, $0x3f0000003f000000
// 13 (offset 416): int32 127 (exponent bias)
DATA actConst<>+416(SB)/8, $0x0000007f0000007f
DATA actConst<>+424(SB)/8, $0x0000007f0000007f
DATA actConst<>+432(SB)/8, $0x0000007f0000007f
DATA actConst<>+440(SB)/8, $0x0000007f0000007f
// 14 (offset 448): 0.5
DATA actConst<>+448(SB)/8, $0x3f0000003f000000
DATA actConst<>+456(SB)/8, $0x3f0000003f000000
DATA actConst<>+464(SB)/8, $0x3f0000003f000000
DATA actConst<>+472(SB)/8, $0x3f0000003f000000
// 15 (offset 480): 1/sqrt(2)
DATA actConst<>+480(SB)/8, $0x3f3504f33f3504f3
DATA actConst<>+488(SB)/8, $0x3f3504f33f3504f3
DATA actConst<>+496(SB)/8, $0x3f3504f33f3504f3
DATA actConst<>+504(SB)/8, $0x3f3504f33f3504f3
// 16 (offset 512): erf clamp low -4
DATA actConst<>+512(SB)/8, $0xc0800000c0800000
DATA actConst<>+520(SB)/8, $0xc0800000c0800000
DATA actConst<>+528(SB)/8, $0xc0800000c0800000
DATA actConst<>+536(SB)/8, $0xc0800000c0800000
// 17 (offset 544): erf clamp high 4
DATA actConst<>+544(SB)/8, $0x4080000040800000
DATA actConst<>+552(SB)/8, $0x4080000040800000
DATA actConst<>+560(SB)/8, $0x4080000040800000
DATA actConst<>+568(SB)/8, $0x4080000040800000
// 18 (offset 576): erf P alpha 0 -2.72614225801306e-10
DATA actConst<>+576(SB)/8, $0xaf95df0baf95df0b
DATA actConst<>+584(SB)/8, $0xaf95df0baf95df0b
DATA actConst<>+592(SB)/8, $0xaf95df0baf95df0b
DATA actConst<>+600(SB)/8, $0xaf95df0baf95df0b
// 19 (offset 608): erf P alpha 1 2.77068142495902e-08
DATA actConst<>+608(SB)/8, $0x32edffee32edffee
DATA actConst<>+616(SB)/8, $0x32edffee32edffee
DATA actConst<>+624(SB)/8, $0x32edffee32edffee
DATA actConst<>+632(SB)/8, $0x32edffee32edffee
// 20 (offset 640): erf P alpha 2 -2.10102402082508e-06
DATA actConst<>+640(SB)/8, $0xb60cff51b60cff51
DATA actConst<>+648(SB)/8, $0xb60cff51b60cff51
DATA actConst<>+656(SB)/8, $0xb60cff51b60cff51
DATA actConst<>+664(SB)/8, $0xb60cff51b60cff51
// 21 (offset 672): erf P alpha 3 -5.69250639462346e-05
DATA actConst<>+672(SB)/8, $0xb86ec2d2b86ec2d2
DATA actConst<>+680(SB)/8, $0xb86ec2d2b86ec2d2
DATA actConst<>+688(SB)/8, $0xb86ec2d2b86ec2d2
DATA actConst<>+696(SB)/8, $0xb86ec2d2b86ec2d2
// 22 (offset 704): erf P alpha 4 -7.34990630326855e-04
DATA actConst<>+704(SB)/8, $0xba40ac63ba40ac63
DATA actConst<>+712(SB)/8, $0xba40ac63ba40ac63
DATA actConst<>+720(SB)/8, $0xba40ac63ba40ac63
DATA actConst<>+728(SB)/8, $0xba40ac63ba40ac63
// 23 (offset 736): erf P alpha 5 -2.95459980854025e-03
DATA actConst<>+736(SB)/8, $0xbb41a1f6bb41a1f6
DATA actConst<>+744(SB)/8, $0xbb41a1f6bb41a1f6
DATA actConst<>+752(SB)/8, $0xbb41a1f6bb41a1f6
DATA actConst<>+760(SB)/8, $0xbb41a1f6bb41a1f6
// 24 (offset 768): erf P alpha 6 -1.60960333262415e-02
DATA actConst<>+768(SB)/8, $0xbc83dbd4bc83dbd4
DATA actConst<>+776(SB)/8, $0xbc83dbd4bc83dbd4
DATA actConst<>+784(SB)/8, $0xbc83dbd4bc83dbd4
DATA actConst<>+792(SB)/8, $0xbc83dbd4bc83dbd4
// 25 (offset 800): erf Q beta 0 -1.45660718464996e-05
DATA actConst<>+800(SB)/8, $0xb77460cdb77460cd
DATA actConst<>+808(SB)/8, $0xb77460cdb77460cd
DATA actConst<>+816(SB)/8, $0xb77460cdb77460cd
DATA actConst<>+824(SB)/8, $0xb77460cdb77460cd
// 26 (offset 832): erf Q beta 1 -2.13374055278905e-04
DATA actConst<>+832(SB)/8, $0xb95fbd29b95fbd29
DATA actConst<>+840(SB)/8, $0xb95fbd29b95fbd29
DATA actConst<>+848(SB)/8, $0xb95fbd29b95fbd29
DATA actConst<>+856(SB)/8, $0xb95fbd29b95fbd29
// 27 (offset 864): erf Q beta 2 -1.68282697438203e-03
DATA actConst<>+864(SB)/8, $0xbadc924ebadc924e
DATA actConst<>+872(SB)/8, $0xbadc924ebadc924e
DATA actConst<>+880(SB)/8, $0xbadc924ebadc924e
DATA actConst<>+888(SB)/8, $0xbadc924ebadc924e
// 28 (offset 896): erf Q beta 3 -7.37332916720468e-03
DATA actConst<>+896(SB)/8, $0xbbf19bf8bbf19bf8
DATA actConst<>+904(SB)/8, $0xbbf19bf8bbf19bf8
DATA actConst<>+912(SB)/8, $0xbbf19bf8bbf19bf8
DATA actConst<>+920(SB)/8, $0xbbf19bf8bbf19bf8
// 29 (offset 928): erf Q beta 4 -1.42647390514189e-02
DATA actConst<>+928(SB)/8, $0xbc69b6a7bc69b6a7
DATA actConst<>+936(SB)/8, $0xbc69b6a7bc69b6a7
DATA actConst<>+944(SB)/8, $0xbc69b6a7bc69b6a7
DATA actConst<>+952(SB)/8, $0xbc69b6a7bc69b6a7
// 30 (offset 960): SiLU numerator clamp -88.0
DATA actConst<>+960(SB)/8, $0xc2b00000c2b00000
DATA actConst<>+968(SB)/8, $0xc2b00000c2b00000
DATA actConst<>+976(SB)/8, $0xc2b00000c2b00000
DATA actConst<>+984(SB)/8, $0xc2b00000c2b00000
// 31 (offset 992): 1/sqrt(2*pi)
DATA actConst<>+992(SB)/8, $0x3ecc422a3ecc422a
DATA actConst<>+1000(SB)/8, $0x3ecc422a3ecc422a
DATA actConst<>+1008(SB)/8, $0x3ecc422a3ecc422a
DATA actConst<>+1016(SB)/8, $0x3ecc422a3ecc422a
GLOBL actConst<>(SB), RODATA|NOPTR, $1024

// func siluGradKernel(dx, x, dy *float32, n int)
//
// dx = dy * s*(1 + x*(1 - s)) with s = sigmoid(x), eight elements per
// iteration (n a multiple of 8).
TEXT ·siluGradKernel(SB), NOSPLIT, $0-32
	MOVQ    dx+0(FP), DI
	MOVQ    x+8(FP), SI
	MOVQ    dy+16(FP), DX
	MOVQ    n+24(FP), CX
	SHRQ    $3, CX
	JZ      siluGradDone
	VMOVUPS actConst<>+32(SB), Y15
	VMOVUPS actConst<>+64(SB), Y13
	VMOVUPS actConst<>+96(SB), Y14

siluGradLoop:
	VMOVUPS     (SI), Y0
	ONE_PLUS_EXPNEG
	// As in siluKernel, x is clamped at -88 where e^-x is: below it the
	// derivative is s*(1 + x) with s ~ e^x, which underflows to 0, not
	// the x*e^88 the unclamped product gives (NaN still comes through s).
	VMAXPS      actConst<>+960(SB), Y0, Y0
	VDIVPS      Y3, Y15, Y6 // s
	VSUBPS      Y6, Y15, Y7 // 1 - s
	VFMADD213PS Y15, Y0, Y7 // 1 + x*(1 - s)
	VMULPS      Y6, Y7, Y7
	VMULPS      (DX), Y7, Y7
	VMOVUPS     Y7, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DX
	ADDQ        $32, DI
	DECQ        CX
	JNZ         siluGradLoop

siluGradDone:
	VZEROUPPER
	RET

// func geluGradKernel(dx, x, dy *float32, n int)
//
// dx = dy * (Phi(x) + x*phi(x)) for the exact GELU: Phi(x) = 0.5*(1 +
// erf(x/sqrt2)) with geluKernel's erf, phi(x) = e^(-x²/2)/sqrt(2*pi) with
// ONE_PLUS_EXPNEG's exp. Eight elements per iteration (n a multiple of 8).
TEXT ·geluGradKernel(SB), NOSPLIT, $0-32
	MOVQ    dx+0(FP), DI
	MOVQ    x+8(FP), SI
	MOVQ    dy+16(FP), DX
	MOVQ    n+24(FP), CX
	SHRQ    $3, CX
	JZ      geluGradDone
	VMOVUPS actConst<>+32(SB), Y15
	VMOVUPS actConst<>+64(SB), Y13
	VMOVUPS actConst<>+96(SB), Y14

geluGradLoop:
	VMOVUPS      (SI), Y6
	VMULPS       Y6, Y6, Y0
	VMULPS       actConst<>+448(SB), Y0, Y0 // x²/2
	ONE_PLUS_EXPNEG
	VSUBPS       Y15, Y3, Y7                // e^(-x²/2)
	VMULPS       actConst<>+992(SB), Y7, Y7
	VMULPS       Y6, Y7, Y7                 // x*phi(x)
	VMULPS       actConst<>+480(SB), Y6, Y1 // z = x/sqrt2
	VMAXPS       actConst<>+512(SB), Y1, Y1
	VMINPS       actConst<>+544(SB), Y1, Y1
	VMULPS       Y1, Y1, Y2                 // z²
	VMOVUPS      actConst<>+576(SB), Y3     // P
	VFMADD213PS  actConst<>+608(SB), Y2, Y3
	VFMADD213PS  actConst<>+640(SB), Y2, Y3
	VFMADD213PS  actConst<>+672(SB), Y2, Y3
	VFMADD213PS  actConst<>+704(SB), Y2, Y3
	VFMADD213PS  actConst<>+736(SB), Y2, Y3
	VFMADD213PS  actConst<>+768(SB), Y2, Y3
	VMOVUPS      actConst<>+800(SB), Y4     // Q
	VFMADD213PS  actConst<>+832(SB), Y2, Y4
	VFMADD213PS  actConst<>+864(SB), Y2, Y4
	VFMADD213PS  actConst<>+896(SB), Y2, Y4
	VFMADD213PS  actConst<>+928(SB), Y2, Y4
	VMULPS       Y1, Y3, Y3                 // z*P
	VDIVPS       Y4, Y3, Y3                 // erf
	VADDPS       Y15, Y3, Y3                // 1 + erf
	VFMADD132PS  actConst<>+448(SB), Y7, Y3 // 0.5*(1 + erf) + x*phi(x)
	VMULPS       (DX), Y3, Y3
	VMOVUPS      Y3, (DI)
	ADDQ         $32, SI
	ADDQ         $32, DX
	ADDQ         $32, DI
	DECQ         CX
	JNZ          geluGradLoop

geluGradDone:
	VZEROUPPER
	RET

// func reluKernel(dst, src *float32, n int)
//
// dst = max(x, 0), 32 elements per iteration (n a multiple of 32). MAXPS
// returns its second source, x, when x is NaN, as PyTorch's relu does.
TEXT ·reluKernel(SB), NOSPLIT, $0-24
	MOVQ   dst+0(FP), DI
	MOVQ   src+8(FP), SI
	MOVQ   n+16(FP), CX
	SHRQ   $5, CX
	JZ     reluDone
	VXORPS Y15, Y15, Y15

reluLoop:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VMAXPS  Y0, Y15, Y0
	VMAXPS  Y1, Y15, Y1
	VMAXPS  Y2, Y15, Y2
	VMAXPS  Y3, Y15, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ    $128, SI
	ADDQ    $128, DI
	DECQ    CX
	JNZ     reluLoop

reluDone:
	VZEROUPPER
	RET

// func reluGradKernel(dx, x, dy *float32, n int)
//
// dx = dy where x > 0, else 0 (NaN x gives 0, as PyTorch's
// threshold_backward), 32 elements per iteration (n a multiple of 32).
TEXT ·reluGradKernel(SB), NOSPLIT, $0-32
	MOVQ   dx+0(FP), DI
	MOVQ   x+8(FP), SI
	MOVQ   dy+16(FP), DX
	MOVQ   n+24(FP), CX
	SHRQ   $5, CX
	JZ     reluGradDone
	VXORPS Y15, Y15, Y15

reluGradLoop:
	// 0 < x: predicate 0x11, less than, ordered, quiet.
	VCMPPS  $0x11, (SI), Y15, Y0
	VCMPPS  $0x11, 32(SI), Y15, Y1
	VCMPPS  $0x11, 64(SI), Y15, Y2
	VCMPPS  $0x11, 96(SI), Y15, Y3
	VANDPS  (DX), Y0, Y0
	VANDPS  32(DX), Y1, Y1
	VANDPS  64(DX), Y2, Y2
	VANDPS  96(DX), Y3, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ    $128, SI
	ADDQ    $128, DX
	ADDQ    $128, DI
	DECQ    CX
	JNZ     reluGradLoop

reluGradDone:
	VZEROUPPER
	RET

// func rowMaxKernel(src *float32, n int) float32
//
// The maximum of n values (n a multiple of 8, at least 8); NaN-free input
// assumed by the caller, which checks the result.
TEXT ·rowMaxKernel(SB), NOSPLIT, $0-20
	MOVQ    src+0(FP), SI
	MOVQ    n+8(FP), CX
	VMOVUPS (SI), Y0
	VMOVUPS Y0, Y1
	ADDQ    $32, SI
	SHRQ    $3, CX
	DECQ    CX
	JZ      rowMaxDone

rowMaxLoop:
	VMAXPS (SI), Y0, Y0
	ADDQ   $32, SI
	DECQ   CX
	JNZ    rowMaxLoop

rowMaxDone:
	VEXTRACTF128 $1, Y0, X1
	VMAXPS       X1, X0, X0
	VPERMILPS    $0x4e, X0, X1
	VMAXPS       X1, X0, X0
	VPERMILPS    $0xb1, X0, X1
	VMAXPS       X1, X0, X0
	VZEROUPPER
	MOVSS        X0, ret+16(FP)
	RET

// func expShiftSumKernel(dst, src *float32, n int, m float32) float64
//
// dst = e^(src - m) with ONE_PLUS_EXPNEG's Cephes exp (without its +1),
// and the float64 sum of dst; n a multiple of 8.
TEXT ·expShiftSumKernel(SB), NOSPLIT, $0-40
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS m+24(FP), Y12
	VMOVUPS      actConst<>+32(SB), Y15
	VMOVUPS      actConst<>+64(SB), Y13
	VMOVUPS      actConst<>+96(SB), Y14
	VXORPD       Y10, Y10, Y10
	VXORPD       Y11, Y11, Y11
	SHRQ         $3, CX
	JZ           expSumDone

expSumLoop:
	VMOVUPS      (SI), Y1
	VSUBPS       Y12, Y1, Y1
	VCMPPS       $5, Y13, Y1, Y8 // t >= -87.3 or NaN: below it e^t is 0
	VMAXPS       Y1, Y13, Y1
	VMINPS       Y1, Y14, Y1
	VMULPS       actConst<>+128(SB), Y1, Y2
	VROUNDPS     $0, Y2, Y2
	VFNMADD231PS actConst<>+160(SB), Y2, Y1
	VFNMADD231PS actConst<>+192(SB), Y2, Y1
	VMOVUPS      actConst<>+224(SB), Y3
	VFMADD213PS  actConst<>+256(SB), Y1, Y3
	VFMADD213PS  actConst<>+288(SB), Y1, Y3
	VFMADD213PS  actConst<>+320(SB), Y1, Y3
	VFMADD213PS  actConst<>+352(SB), Y1, Y3
	VFMADD213PS  actConst<>+384(SB), Y1, Y3
	VMULPS       Y1, Y1, Y4
	VFMADD213PS  Y1, Y4, Y3
	VADDPS       Y15, Y3, Y3
	VCVTPS2DQ    Y2, Y5
	VPADDD       actConst<>+416(SB), Y5, Y5
	VPSLLD       $23, Y5, Y5
	VMULPS       Y5, Y3, Y3
	VANDPS       Y8, Y3, Y3
	VMOVUPS      Y3, (DI)
	VCVTPS2PD    X3, Y6
	VEXTRACTF128 $1, Y3, X7
	VCVTPS2PD    X7, Y7
	VADDPD       Y6, Y10, Y10
	VADDPD       Y7, Y11, Y11
	ADDQ         $32, SI
	ADDQ         $32, DI
	DECQ         CX
	JNZ          expSumLoop

expSumDone:
	VADDPD       Y11, Y10, Y10
	VEXTRACTF128 $1, Y10, X11
	VADDPD       X11, X10, X10
	VHADDPD      X10, X10, X10
	VZEROUPPER
	MOVSD        X10, ret+32(FP)
	RET

// The AVX-512 twins of siluKernel, sigmoidKernel, geluKernel and their
// gradients: the same instructions in the same order on sixteen lanes
// (the results are bit for bit the eight-wide ones), n a multiple of 16,
// each constant broadcast from the first lane of its actConst row.

// ONE_PLUS_EXPNEG512 is ONE_PLUS_EXPNEG on Z0..Z5, with Z13, Z14 and Z15
// holding the clamp's bounds and 1.0.
#define ONE_PLUS_EXPNEG512 \
	VPXORD.BCST       actConst<>+0(SB), Z0, Z1; \
	VMAXPS            Z1, Z13, Z1; \
	VMINPS            Z1, Z14, Z1; \
	VMULPS.BCST       actConst<>+128(SB), Z1, Z2; \
	VRNDSCALEPS       $0, Z2, Z2; \
	VFNMADD231PS.BCST actConst<>+160(SB), Z2, Z1; \
	VFNMADD231PS.BCST actConst<>+192(SB), Z2, Z1; \
	VBROADCASTSS      actConst<>+224(SB), Z3; \
	VFMADD213PS.BCST  actConst<>+256(SB), Z1, Z3; \
	VFMADD213PS.BCST  actConst<>+288(SB), Z1, Z3; \
	VFMADD213PS.BCST  actConst<>+320(SB), Z1, Z3; \
	VFMADD213PS.BCST  actConst<>+352(SB), Z1, Z3; \
	VFMADD213PS.BCST  actConst<>+384(SB), Z1, Z3; \
	VMULPS            Z1, Z1, Z4; \
	VFMADD213PS       Z1, Z4, Z3; \
	VADDPS            Z15, Z3, Z3; \
	VCVTPS2DQ         Z2, Z5; \
	VPADDD.BCST       actConst<>+416(SB), Z5, Z5; \
	VPSLLD            $23, Z5, Z5; \
	VMULPS            Z5, Z3, Z3; \
	VADDPS            Z15, Z3, Z3

#define ACT512_CONSTS \
	VBROADCASTSS actConst<>+32(SB), Z15; \
	VBROADCASTSS actConst<>+64(SB), Z13; \
	VBROADCASTSS actConst<>+96(SB), Z14

// ERF512 sets Z3 = 1 + erf(Z1) for Z1 = x/sqrt2 with geluKernel's
// formula; clobbers Z1, Z2 and Z4.
#define ERF512 \
	VMAXPS.BCST      actConst<>+512(SB), Z1, Z1; \
	VMINPS.BCST      actConst<>+544(SB), Z1, Z1; \
	VMULPS           Z1, Z1, Z2; \
	VBROADCASTSS     actConst<>+576(SB), Z3; \
	VFMADD213PS.BCST actConst<>+608(SB), Z2, Z3; \
	VFMADD213PS.BCST actConst<>+640(SB), Z2, Z3; \
	VFMADD213PS.BCST actConst<>+672(SB), Z2, Z3; \
	VFMADD213PS.BCST actConst<>+704(SB), Z2, Z3; \
	VFMADD213PS.BCST actConst<>+736(SB), Z2, Z3; \
	VFMADD213PS.BCST actConst<>+768(SB), Z2, Z3; \
	VBROADCASTSS     actConst<>+800(SB), Z4; \
	VFMADD213PS.BCST actConst<>+832(SB), Z2, Z4; \
	VFMADD213PS.BCST actConst<>+864(SB), Z2, Z4; \
	VFMADD213PS.BCST actConst<>+896(SB), Z2, Z4; \
	VFMADD213PS.BCST actConst<>+928(SB), Z2, Z4; \
	VMULPS           Z1, Z3, Z3; \
	VDIVPS           Z4, Z3, Z3; \
	VADDPS           Z15, Z3, Z3

// func siluKernel512(dst, src *float32, n int)
TEXT ·siluKernel512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $4, CX
	JZ   silu512Done
	ACT512_CONSTS

silu512Loop:
	VMOVUPS     (SI), Z0
	ONE_PLUS_EXPNEG512
	VMAXPS.BCST actConst<>+960(SB), Z0, Z0
	VDIVPS      Z3, Z0, Z0
	VMOVUPS     Z0, (DI)
	ADDQ        $64, SI
	ADDQ        $64, DI
	DECQ        CX
	JNZ         silu512Loop

silu512Done:
	VZEROUPPER
	RET

// func sigmoidKernel512(dst, src *float32, n int)
TEXT ·sigmoidKernel512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $4, CX
	JZ   sigmoid512Done
	ACT512_CONSTS

sigmoid512Loop:
	VMOVUPS (SI), Z0
	ONE_PLUS_EXPNEG512
	VDIVPS  Z3, Z15, Z0
	VMOVUPS Z0, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	DECQ    CX
	JNZ     sigmoid512Loop

sigmoid512Done:
	VZEROUPPER
	RET

// func geluKernel512(dst, src *float32, n int)
TEXT ·geluKernel512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $4, CX
	JZ   gelu512Done
	VBROADCASTSS actConst<>+32(SB), Z15

gelu512Loop:
	VMOVUPS     (SI), Z0
	VMULPS.BCST actConst<>+480(SB), Z0, Z1
	ERF512
	VMULPS.BCST actConst<>+448(SB), Z0, Z0
	VMULPS      Z3, Z0, Z0
	VMOVUPS     Z0, (DI)
	ADDQ        $64, SI
	ADDQ        $64, DI
	DECQ        CX
	JNZ         gelu512Loop

gelu512Done:
	VZEROUPPER
	RET

// func siluGradKernel512(dx, x, dy *float32, n int)
TEXT ·siluGradKernel512(SB), NOSPLIT, $0-32
	MOVQ dx+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ dy+16(FP), DX
	MOVQ n+24(FP), CX
	SHRQ $4, CX
	JZ   siluGrad512Done
	ACT512_CONSTS

siluGrad512Loop:
	VMOVUPS     (SI), Z0
	ONE_PLUS_EXPNEG512
	VMAXPS.BCST actConst<>+960(SB), Z0, Z0
	VDIVPS      Z3, Z15, Z6
	VSUBPS      Z6, Z15, Z7
	VFMADD213PS Z15, Z0, Z7
	VMULPS      Z6, Z7, Z7
	VMULPS      (DX), Z7, Z7
	VMOVUPS     Z7, (DI)
	ADDQ        $64, SI
	ADDQ        $64, DX
	ADDQ        $64, DI
	DECQ        CX
	JNZ         siluGrad512Loop

siluGrad512Done:
	VZEROUPPER
	RET

// func geluGradKernel512(dx, x, dy *float32, n int)
TEXT ·geluGradKernel512(SB), NOSPLIT, $0-32
	MOVQ dx+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ dy+16(FP), DX
	MOVQ n+24(FP), CX
	SHRQ $4, CX
	JZ   geluGrad512Done
	ACT512_CONSTS

geluGrad512Loop:
	VMOVUPS          (SI), Z6
	VMULPS           Z6, Z6, Z0
	VMULPS.BCST      actConst<>+448(SB), Z0, Z0
	ONE_PLUS_EXPNEG512
	VSUBPS           Z15, Z3, Z7
	VMULPS.BCST      actConst<>+992(SB), Z7, Z7
	VMULPS           Z6, Z7, Z7
	VMULPS.BCST      actConst<>+480(SB), Z6, Z1
	ERF512
	VFMADD132PS.BCST actConst<>+448(SB), Z7, Z3
	VMULPS           (DX), Z3, Z3
	VMOVUPS          Z3, (DI)
	ADDQ             $64, SI
	ADDQ             $64, DX
	ADDQ             $64, DI
	DECQ             CX
	JNZ              geluGrad512Loop

geluGrad512Done:
	VZEROUPPER
	RET
