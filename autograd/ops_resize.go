package autograd

import (
	"fmt"
	"sync"

	"github.com/vertebra-ml/vertebra/autograd/kernel"
)

// InterpolateBilinearAA resizes the last two dimensions to oh x ow with
// antialiased bilinear interpolation, as torch.nn.functional.interpolate(
// mode="bilinear", antialias=True) with the given align_corners: when
// shrinking, the triangle filter widens by the scale, so every input pixel
// contributes (the resize PIL and torchvision use); when enlarging it is
// plain bilinear.
//
// The filter is separable, so the op is two matrix products, y = Wh x Ww^T,
// with per-axis weight matrices (out, in); the gradient is that of the
// products. The matrices depend only on the sizes and are built once per
// (in, out, align_corners, type, device) and kept.
func InterpolateBilinearAA(x *Tensor, oh, ow int, alignCorners bool) *Tensor {
	if x.Rank() < 2 {
		panic(fmt.Sprintf("autograd: InterpolateBilinearAA: input %v needs (..., H, W)", x.shape))
	}
	h, w := x.Dim(-2), x.Dim(-1)
	if oh < 1 || ow < 1 || h < 1 || w < 1 {
		panic(fmt.Sprintf("autograd: InterpolateBilinearAA: %v to %dx%d (every size must be at least 1)", x.shape, oh, ow))
	}
	wh := aaWeights(h, oh, alignCorners, x.DType(), x.Device())
	ww := aaWeights(w, ow, alignCorners, x.DType(), x.Device())
	return MatMulT(MatMul(wh, x), ww, false, true)
}

type aaKey struct {
	in, out      int
	alignCorners bool
	dt           DType
	dev          Device
}

// aaWeights returns the (out, in) matrix whose row i holds the taps of
// output i (kernel.AntialiasTaps).
func aaWeights(in, out int, alignCorners bool, dt DType, dev Device) *Tensor {
	return constant(aaKey{in, out, alignCorners, dt, dev}, func() *Tensor {
		first, weights := kernel.AntialiasTaps(in, out, alignCorners)
		m := make([]float64, out*in)
		for i, ws := range weights {
			copy(m[i*in+first[i]:], ws)
		}
		return FromFloat64(m, out, in).AsType(dt).To(dev)
	})
}

// constants holds the tensors that ops derive from sizes alone (resize
// weights, pooling divisors), keyed by a comparable struct naming the
// sizes, type and device. They carry no gradient and live outside any
// Scope, so a model at a few fixed sizes uploads a few, once.
var constants sync.Map

// constant returns the tensor kept under key, building it the first time.
func constant(key any, build func() *Tensor) *Tensor {
	if t, ok := constants.Load(key); ok {
		return t.(*Tensor)
	}
	got, _ := constants.LoadOrStore(key, build())
	return got.(*Tensor)
}
