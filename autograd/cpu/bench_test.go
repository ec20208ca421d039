package cpu

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/vertebra-ml/vertebra/autograd/kernel"
)

// BenchmarkSgemm measures square float32 products on one and two workers
// with each micro-kernel this machine runs (go: the pure-Go one).
func BenchmarkSgemm(b *testing.B) {
	kernels := []struct {
		name string
		k    gemmKernel
	}{{"avx512", gemmAVX512}, {"avx2", gemmAVX2}, {"go", gemmGo}}
	for _, n := range []int{256, 1024, 2048} {
		for _, w := range []int{1, 2} {
			for _, kn := range kernels {
				b.Run(fmt.Sprintf("%d/w%d/%s", n, w, kn.name), func(b *testing.B) {
					restore, ok := gemmWithKernel(kn.k)
					if !ok {
						b.Skip("kernel not on this machine or build")
					}
					defer restore()
					if kn.k == gemmGo && n > 1024 {
						b.Skip("the pure-Go kernel takes seconds at this size")
					}
					r := rand.New(rand.NewPCG(1, 1))
					x, y := gemmRandSlice[float32](r, n*n), gemmRandSlice[float32](r, n*n)
					z := make([]float32, n*n)
					gemmWithWorkers(w, func() {
						b.ResetTimer()
						for range b.N {
							Gemm(false, false, n, n, n, 1, x, n, y, n, 0, z, n)
						}
					})
					gemmReportFlops(b, 2*float64(n)*float64(n)*float64(n))
				})
			}
		}
	}
}

// BenchmarkSgemmTransposed measures the products of the backward passes
// at a Linear layer's size (768 features, 1576 tokens: ViT-B/16's batch of
// 8): the weight gradient dW = dY^T X (transposed A) and the data gradient
// dX = dY W (as the forward, with W transposed: transposed B).
func BenchmarkSgemmTransposed(b *testing.B) {
	const m, n, k = 768, 768, 1576
	for _, tc := range []struct {
		name           string
		transA, transB bool
	}{{"NN", false, false}, {"TN", true, false}, {"NT", false, true}} {
		b.Run(tc.name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 1))
			x, y := gemmRandSlice[float32](r, m*k), gemmRandSlice[float32](r, k*n)
			z := make([]float32, m*n)
			lda, ldb := k, n
			if tc.transA {
				lda = m
			}
			if tc.transB {
				ldb = k
			}
			for range b.N {
				Gemm(tc.transA, tc.transB, m, n, k, 1, x, lda, y, ldb, 0, z, n)
			}
			gemmReportFlops(b, 2*float64(m)*float64(n)*float64(k))
		})
	}
}

// BenchmarkSgemmLinear measures the forward products y = x W^T of
// ViT-B/16's Linear layers at batch 8 (1576 tokens): the attention's qkv
// (768 -> 2304) and the MLP's two (768 -> 3072, 3072 -> 768).
func BenchmarkSgemmLinear(b *testing.B) {
	const m = 1576
	for _, tc := range []struct {
		name string
		k, n int
	}{{"qkv", 768, 2304}, {"fc1", 768, 3072}, {"fc2", 3072, 768}} {
		b.Run(tc.name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 1))
			x, w := gemmRandSlice[float32](r, m*tc.k), gemmRandSlice[float32](r, tc.n*tc.k)
			y := make([]float32, m*tc.n)
			for range b.N {
				Gemm(false, true, m, tc.n, tc.k, 1, x, tc.k, w, tc.k, 0, y, tc.n)
			}
			gemmReportFlops(b, 2*float64(m)*float64(tc.n)*float64(tc.k))
		})
	}
}

// BenchmarkFMAPeak measures the FMA peak on one and two cores: twelve
// independent multiply-adds an iteration, 16 wide where the CPU has
// AVX-512 and 8 wide (avx2) everywhere with AVX2 and FMA.
func BenchmarkFMAPeak(b *testing.B) {
	if !gemmUseAsm {
		b.Skip("no assembly kernels on this machine or build")
	}
	const iters = 1 << 20
	kernels := []struct {
		name  string
		run   func(int)
		flops float64
		ok    bool
	}{{"avx512", gemmPeakFMA512, 384, gemmUseAVX512}, {"avx2", gemmPeakFMA256, 192, true}}
	for _, k := range kernels {
		if !k.ok {
			continue
		}
		for _, w := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/w%d", k.name, w), func(b *testing.B) {
				for range b.N {
					ParallelFor(w, 1<<30, func(lo, hi int) {
						for range hi - lo {
							k.run(iters)
						}
					})
				}
				gemmReportFlops(b, float64(w)*iters*k.flops)
			})
		}
	}
}

// gemmReportFlops reports the rate of flops floating-point operations per
// iteration.
func gemmReportFlops(b *testing.B, flops float64) {
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkConv2d measures float32 convolutions of each backbone family,
// batch 8, forward and both backward passes: ResNet's 3x3 and 1x1 at
// 14x14 (and 1x1 256->1024), 3x3 at 56x56 and 7x7 (and stride 2 to 28x28), 1x1 at 7x7 and
// 56x56 and its 7x7 stem, EfficientNetV2's depthwise 3x3 at 14x14 and
// fused 3x3 at 56x56, ConvNeXt's depthwise 7x7 at 56x56, and the patch
// embeddings of ViT (16x16 stride 16) and Swin (4x4 stride 4). The
// depthwise cases add EfficientNetV2-M's 3x3 at 7x7 (stages 6-7) and its
// stride-2 3x3 from 28x28 (stage 4), and ConvNeXt's 7x7 at 14x14 (stage 3).
// Shapes that the direct 3x3 kernel takes run again as <name>/packed,
// through the packed product.
func BenchmarkConv2d(b *testing.B) {
	for _, tc := range convBenchCases() {
		convBench(b, tc.name, tc.s)
		d := dimsOf(tc.s)
		if conv3x3Fits[float32](tc.s, &d) {
			// The same forward through the packed product, for comparison
			// with the direct 3x3 kernel that it runs above.
			k := conv3x3Use
			conv3x3Use = conv3x3None
			convBench(b, tc.name+"/packed", tc.s)
			conv3x3Use = k
		}
	}
}

// BenchmarkConv2dDepthwise runs the depthwise cases of BenchmarkConv2d on
// each depthwise kernel this machine runs (go: the Go loops).
func BenchmarkConv2dDepthwise(b *testing.B) {
	old2, old512 := dwUseAVX2, dwUseAVX512
	defer func() { dwUseAVX2, dwUseAVX512 = old2, old512 }()
	for _, tc := range convBenchCases() {
		if !tc.s.Depthwise() {
			continue
		}
		for _, k := range []struct {
			name         string
			avx2, avx512 bool
		}{{"go", false, false}, {"avx2", true, false}, {"avx512", false, true}} {
			if k.avx2 && !old2 || k.avx512 && !old512 {
				continue
			}
			dwUseAVX2, dwUseAVX512 = k.avx2, k.avx512
			convBench(b, tc.name+"/"+k.name, tc.s)
		}
	}
}

// convBenchCases returns the shapes of BenchmarkConv2d.
func convBenchCases() []struct {
	name string
	s    ConvShape
} {
	conv := func(c, h, o, k, stride, pad, groups int) ConvShape {
		return ConvShape{N: 8, C: c, H: h, W: h, O: o, KH: k, KW: k, SH: stride, SW: stride, PH: pad, PW: pad, DH: 1, DW: 1, Groups: groups}
	}
	cases := []struct {
		name string
		s    ConvShape
	}{
		{"resnet3x3", conv(256, 14, 256, 3, 1, 1, 1)},
		{"resnet1x1", conv(1024, 14, 256, 1, 1, 0, 1)},
		{"resnet1x1_expand", conv(256, 14, 1024, 1, 1, 0, 1)},
		{"resnet_stem7x7", conv(3, 224, 64, 7, 2, 3, 1)},
		{"resnet3x3_56", conv(64, 56, 64, 3, 1, 1, 1)},
		{"resnet3x3_7", conv(512, 7, 512, 3, 1, 1, 1)},
		{"resnet3x3s2_28", conv(128, 56, 128, 3, 2, 1, 1)},
		{"resnet1x1_7", conv(2048, 7, 512, 1, 1, 0, 1)},
		{"resnet1x1_56", conv(64, 56, 256, 1, 1, 0, 1)},
		{"efficientnet_dw3x3", conv(960, 14, 960, 3, 1, 1, 960)},
		{"efficientnet_dw3x3_7x7", conv(1824, 7, 1824, 3, 1, 1, 1824)},
		{"efficientnet_dw3x3s2", conv(320, 28, 320, 3, 2, 1, 320)},
		{"efficientnet_fused3x3", conv(48, 56, 192, 3, 1, 1, 1)},
		{"convnext_dw7x7", conv(128, 56, 128, 7, 1, 3, 128)},
		{"convnext_dw7x7_14x14", conv(512, 14, 512, 7, 1, 3, 512)},
		{"vit_patch16", conv(3, 224, 768, 16, 16, 0, 1)},
		{"swin_patch4", conv(3, 224, 128, 4, 4, 0, 1)},
	}
	return cases
}

// convBench runs the three passes of s as sub-benchmarks of name.
func convBench(b *testing.B, name string, s ConvShape) {
	oh, ow := s.OutHW()
	flops := 2 * float64(s.N*s.O*oh*ow*s.C/s.Groups*s.KH*s.KW)
	r := rand.New(rand.NewPCG(1, 1))
	x := gemmRandSlice[float32](r, s.N*s.C*s.H*s.W)
	w := gemmRandSlice[float32](r, s.O*s.C/s.Groups*s.KH*s.KW)
	bias := gemmRandSlice[float32](r, s.O)
	y := make([]float32, s.N*s.O*oh*ow)
	dy := gemmRandSlice[float32](r, len(y))
	dx, dw := make([]float32, len(x)), make([]float32, len(w))
	passes := []struct {
		name string
		f    func()
	}{
		{"forward", func() { Conv2dForward(s, x, w, bias, y) }},
		{"backward_data", func() { Conv2dBackwardData(s, dy, w, dx) }},
		{"backward_weight", func() { Conv2dBackwardWeight(s, x, dy, dw) }},
	}
	for _, p := range passes {
		b.Run(name+"/"+p.name, func(b *testing.B) {
			for range b.N {
				p.f()
			}
			gemmReportFlops(b, flops)
		})
	}
}

// benchPasses runs each pass as a sub-benchmark, first with the assembly
// kernels (actUseAsm) and then with the Go loops, reporting bytes per op.
func benchPasses(b *testing.B, passes []benchPass) {
	saved := actUseAsm
	defer func() { actUseAsm = saved }()
	for _, asm := range []bool{true, false} {
		for _, p := range passes {
			b.Run(p.name+"/"+map[bool]string{true: "asm", false: "go"}[asm], func(b *testing.B) {
				actUseAsm = asm && saved
				for i := range b.N {
					p.run(i)
				}
				b.SetBytes(p.bytes)
			})
		}
	}
}

// benchPass is one kernel call of benchPasses; i counts the calls.
type benchPass struct {
	name  string
	bytes int64
	run   func(i int)
}

// BenchmarkBatchNorm measures a training batch norm and its gradient,
// batch 8, on a ResNet stage-1 activation (256 channels at 56x56, fused
// ReLU) and on an EfficientNetV2-M stage-6 one (1824 channels at 7x7,
// fused SiLU: short rows), with the assembly loops and with the Go ones.
func BenchmarkBatchNorm(b *testing.B) {
	for _, tc := range []struct {
		name            string
		outer, n, inner int
		act             Activation
	}{{"resnet56", 8, 256, 56 * 56, ActReLU}, {"effnet7-silu", 8, 1824, 7 * 7, ActSiLU}} {
		outer, n, inner, act := tc.outer, tc.n, tc.inner, tc.act
		r := rand.New(rand.NewPCG(1, 1))
		x, dy := gemmRandSlice[float32](r, outer*n*inner), gemmRandSlice[float32](r, outer*n*inner)
		y, dx := make([]float32, len(x)), make([]float32, len(x))
		w, bias := gemmRandSlice[float32](r, n), gemmRandSlice[float32](r, n)
		mean, rstd, dw, db := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
		benchPasses(b, []benchPass{
			{tc.name + "/forward", int64(8 * len(x)), func(int) {
				BatchNorm(y, x, w, bias, nil, nil, nil, mean, rstd, outer, n, inner, true, 0.1, 1e-5, act)
			}},
			{tc.name + "/backward", int64(12 * len(x)), func(int) {
				BatchNormGrad(dx, dw, db, x, w, bias, dy, mean, rstd, outer, n, inner, true, act)
			}},
		})
	}
}

// BenchmarkLayerNorm measures a layer norm and its gradient over ViT-B/16's
// tokens at batch 8 (1576 rows of 768), with the assembly row kernels and
// with the Go loops.
func BenchmarkLayerNorm(b *testing.B) {
	const rows, n = 1576, 768
	r := rand.New(rand.NewPCG(1, 1))
	x, dy := gemmRandSlice[float32](r, rows*n), gemmRandSlice[float32](r, rows*n)
	w, bias := gemmRandSlice[float32](r, n), gemmRandSlice[float32](r, n)
	y, dx := make([]float32, len(x)), make([]float32, len(x))
	mean, rstd, dw, db := make([]float32, rows), make([]float32, rows), make([]float32, n), make([]float32, n)
	benchPasses(b, []benchPass{
		{"forward", int64(8 * len(x)), func(int) { LayerNorm(y, x, w, bias, mean, rstd, rows, n, 1, 1e-6) }},
		{"backward", int64(12 * len(x)), func(int) { LayerNormGrad(dx, dw, db, x, w, dy, mean, rstd, rows, n, 1) }},
	})
}

// BenchmarkSoftmax measures the attention softmax of ViT-B/16 at batch 8
// (8*12*197 rows of 197) and its gradient, with the assembly kernels and
// with the Go loops.
func BenchmarkSoftmax(b *testing.B) {
	const rows, n = 8 * 12 * 197, 197
	r := rand.New(rand.NewPCG(1, 1))
	x, dy := gemmRandSlice[float32](r, rows*n), gemmRandSlice[float32](r, rows*n)
	y, dx := make([]float32, len(x)), make([]float32, len(x))
	benchPasses(b, []benchPass{
		{"forward", int64(8 * len(x)), func(int) { Softmax(y, x, rows, n, 1, false) }},
		{"backward", int64(12 * len(x)), func(int) { SoftmaxGrad(dx, y, dy, rows, n, 1, false) }},
	})
}

// BenchmarkAdamW measures one float32 AdamW step over 8M parameters, with
// the assembly loop and with the Go one.
func BenchmarkAdamW(b *testing.B) {
	const n = 8 << 20
	r := rand.New(rand.NewPCG(1, 1))
	p, g, m, v := gemmRandSlice[float32](r, n), gemmRandSlice[float32](r, n), make([]float32, n), make([]float32, n)
	benchPasses(b, []benchPass{{"step", 16 * n, func(i int) {
		AdamW(p, g, m, v, kernel.AdamW{LR: 1e-4, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.02, Step: i + 1})
	}}})
}
