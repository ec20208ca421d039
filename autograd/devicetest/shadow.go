package devicetest

import (
	"fmt"
	"sync/atomic"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/autograd/kernel"
)

// Shadow is a second device for tests of the code above the seam: it runs
// the CPU's kernels on storage of its own, so a tensor left behind on the
// CPU (a model half moved, a mask built on the host) makes a kernel panic
// naming both devices, and it counts the copies between host and device,
// so a test can check that a forward or backward pass makes none.
type Shadow struct {
	cpu              ag.Device
	toDevice, toHost atomic.Int64
}

// NewShadow returns a fresh shadow device.
func NewShadow() *Shadow { return &Shadow{cpu: ag.CPU} }

// shadowStorage is CPU storage that belongs to a Shadow.
type shadowStorage struct {
	ag.Storage
	dev *Shadow
}

func (s shadowStorage) Device() ag.Device { return s.dev }

// Transfers returns the number of FromHost and ToHost calls so far.
func (d *Shadow) Transfers() (toDevice, toHost int64) { return d.toDevice.Load(), d.toHost.Load() }

// Name is "shadow".
func (d *Shadow) Name() string { return "shadow" }

func (d *Shadow) wrap(s ag.Storage, err error) (ag.Storage, error) {
	if err != nil {
		return nil, err
	}
	return shadowStorage{s, d}, nil
}

func (d *Shadow) Alloc(dt ag.DType, n int) (ag.Storage, error) { return d.wrap(d.cpu.Alloc(dt, n)) }
func (d *Shadow) Release(s ag.Storage)                         { d.cpu.Release(u(s)) }
func (d *Shadow) FromHost(data any) (ag.Storage, error) {
	d.toDevice.Add(1)
	return d.wrap(d.cpu.FromHost(data))
}
func (d *Shadow) ToHost(s ag.Storage) (any, error) {
	d.toHost.Add(1)
	return d.cpu.ToHost(u(s))
}
func (d *Shadow) Synchronize() error { return nil }

// u unwraps a shadow storage for the CPU's kernels (nil stays nil).
func u(s ag.Storage) ag.Storage {
	if s == nil {
		return nil
	}
	sh, ok := s.(shadowStorage)
	if !ok {
		panic(fmt.Sprintf("devicetest: shadow kernel given %s storage (%s x %d): a tensor was left on another device", s.Device().Name(), s.DType(), s.Len()))
	}
	return sh.Storage
}

func (d *Shadow) Fill(dst ag.Storage, v float64)       { d.cpu.Fill(u(dst), v) }
func (d *Shadow) Copy(dst ag.Storage, src ag.Storage)  { d.cpu.Copy(u(dst), u(src)) }
func (d *Shadow) AddTo(dst ag.Storage, src ag.Storage) { d.cpu.AddTo(u(dst), u(src)) }
func (d *Shadow) Unary(op kernel.UnaryOp, dst ag.Storage, x ag.Storage, alpha float64) {
	d.cpu.Unary(op, u(dst), u(x), alpha)
}
func (d *Shadow) UnaryGrad(op kernel.UnaryOp, dx ag.Storage, x ag.Storage, y ag.Storage, dy ag.Storage, alpha float64) {
	d.cpu.UnaryGrad(op, u(dx), u(x), u(y), u(dy), alpha)
}
func (d *Shadow) Binary(op kernel.BinaryOp, dst ag.Storage, a ag.Storage, b ag.Storage, shape []int, strideA []int, strideB []int) {
	d.cpu.Binary(op, u(dst), u(a), u(b), shape, strideA, strideB)
}
func (d *Shadow) SumAxis(dst ag.Storage, src ag.Storage, outer int, n int, inner int, scale float64) {
	d.cpu.SumAxis(u(dst), u(src), outer, n, inner, scale)
}
func (d *Shadow) MaxAxis(dst ag.Storage, arg ag.Storage, src ag.Storage, outer int, n int, inner int) {
	d.cpu.MaxAxis(u(dst), u(arg), u(src), outer, n, inner)
}
func (d *Shadow) MaxAxisGrad(dx ag.Storage, dy ag.Storage, arg ag.Storage, outer int, n int, inner int) {
	d.cpu.MaxAxisGrad(u(dx), u(dy), u(arg), outer, n, inner)
}
func (d *Shadow) Softmax(dst ag.Storage, src ag.Storage, outer int, n int, inner int, log bool) {
	d.cpu.Softmax(u(dst), u(src), outer, n, inner, log)
}
func (d *Shadow) SoftmaxGrad(dx ag.Storage, y ag.Storage, dy ag.Storage, outer int, n int, inner int, log bool) {
	d.cpu.SoftmaxGrad(u(dx), u(y), u(dy), outer, n, inner, log)
}
func (d *Shadow) Gather(dst ag.Storage, src ag.Storage, shape []int, strides []int, offset int) {
	d.cpu.Gather(u(dst), u(src), shape, strides, offset)
}
func (d *Shadow) Scatter(dst ag.Storage, src ag.Storage, shape []int, strides []int, offset int, add bool) {
	d.cpu.Scatter(u(dst), u(src), shape, strides, offset, add)
}
func (d *Shadow) IndexSelect(dst ag.Storage, src ag.Storage, idx ag.Storage, outer int, n int, inner int) {
	d.cpu.IndexSelect(u(dst), u(src), u(idx), outer, n, inner)
}
func (d *Shadow) IndexAdd(dx ag.Storage, dy ag.Storage, idx ag.Storage, outer int, n int, inner int) {
	d.cpu.IndexAdd(u(dx), u(dy), u(idx), outer, n, inner)
}
func (d *Shadow) GatherAxis(dst ag.Storage, src ag.Storage, idx ag.Storage, outer int, n int, k int, inner int) {
	d.cpu.GatherAxis(u(dst), u(src), u(idx), outer, n, k, inner)
}
func (d *Shadow) GatherAxisAdd(dx ag.Storage, dy ag.Storage, idx ag.Storage, outer int, n int, k int, inner int) {
	d.cpu.GatherAxisAdd(u(dx), u(dy), u(idx), outer, n, k, inner)
}
func (d *Shadow) Gemm(transA bool, transB bool, batch int, m int, n int, k int, alpha float64, a ag.Storage, strideA int, b ag.Storage, strideB int, beta float64, c ag.Storage) {
	d.cpu.Gemm(transA, transB, batch, m, n, k, alpha, u(a), strideA, u(b), strideB, beta, u(c))
}
func (d *Shadow) Conv2d(s kernel.ConvShape, x ag.Storage, w ag.Storage, b ag.Storage, y ag.Storage) {
	d.cpu.Conv2d(s, u(x), u(w), u(b), u(y))
}
func (d *Shadow) Conv2dBackwardData(s kernel.ConvShape, dy ag.Storage, w ag.Storage, dx ag.Storage) {
	d.cpu.Conv2dBackwardData(s, u(dy), u(w), u(dx))
}
func (d *Shadow) Conv2dBackwardWeight(s kernel.ConvShape, x ag.Storage, dy ag.Storage, dw ag.Storage) {
	d.cpu.Conv2dBackwardWeight(s, u(x), u(dy), u(dw))
}
func (d *Shadow) Conv2dBackwardBias(s kernel.ConvShape, dy ag.Storage, db ag.Storage) {
	d.cpu.Conv2dBackwardBias(s, u(dy), u(db))
}
func (d *Shadow) LayerNorm(y ag.Storage, x ag.Storage, w ag.Storage, b ag.Storage, mean ag.Storage, rstd ag.Storage, outer int, n int, inner int, eps float64) {
	d.cpu.LayerNorm(u(y), u(x), u(w), u(b), u(mean), u(rstd), outer, n, inner, eps)
}
func (d *Shadow) LayerNormGrad(dx ag.Storage, dw ag.Storage, db ag.Storage, x ag.Storage, w ag.Storage, dy ag.Storage, mean ag.Storage, rstd ag.Storage, outer int, n int, inner int) {
	d.cpu.LayerNormGrad(u(dx), u(dw), u(db), u(x), u(w), u(dy), u(mean), u(rstd), outer, n, inner)
}
func (d *Shadow) BatchNorm(y ag.Storage, x ag.Storage, w ag.Storage, b ag.Storage, res ag.Storage, runMean ag.Storage, runVar ag.Storage, mean ag.Storage, rstd ag.Storage, outer int, n int, inner int, training bool, momentum float64, eps float64, act kernel.Activation) {
	d.cpu.BatchNorm(u(y), u(x), u(w), u(b), u(res), u(runMean), u(runVar), u(mean), u(rstd), outer, n, inner, training, momentum, eps, act)
}
func (d *Shadow) BatchNormGrad(dx ag.Storage, dw ag.Storage, db ag.Storage, x ag.Storage, w ag.Storage, b ag.Storage, dy ag.Storage, mean ag.Storage, rstd ag.Storage, outer int, n int, inner int, training bool, act kernel.Activation) {
	d.cpu.BatchNormGrad(u(dx), u(dw), u(db), u(x), u(w), u(b), u(dy), u(mean), u(rstd), outer, n, inner, training, act)
}
func (d *Shadow) Conv2dBatchNorm(s kernel.ConvShape, x, w, b, y, bnW, bnB, res, runMean, runVar ag.Storage, eps float64, act kernel.Activation) {
	d.cpu.Conv2dBatchNorm(s, u(x), u(w), u(b), u(y), u(bnW), u(bnB), u(res), u(runMean), u(runVar), eps, act)
}
func (d *Shadow) MaxPool2d(s kernel.PoolShape, y ag.Storage, arg ag.Storage, x ag.Storage) {
	d.cpu.MaxPool2d(s, u(y), u(arg), u(x))
}
func (d *Shadow) MaxPool2dGrad(s kernel.PoolShape, dx ag.Storage, dy ag.Storage, arg ag.Storage) {
	d.cpu.MaxPool2dGrad(s, u(dx), u(dy), u(arg))
}
func (d *Shadow) AdaptiveAvgPool2d(s kernel.PoolShape, y ag.Storage, x ag.Storage) {
	d.cpu.AdaptiveAvgPool2d(s, u(y), u(x))
}
func (d *Shadow) AdaptiveAvgPool2dGrad(s kernel.PoolShape, dx ag.Storage, dy ag.Storage) {
	d.cpu.AdaptiveAvgPool2dGrad(s, u(dx), u(dy))
}
func (d *Shadow) Bilinear(s kernel.PoolShape, y ag.Storage, x ag.Storage, alignCorners bool) {
	d.cpu.Bilinear(s, u(y), u(x), alignCorners)
}
func (d *Shadow) BilinearGrad(s kernel.PoolShape, dx ag.Storage, dy ag.Storage, alignCorners bool) {
	d.cpu.BilinearGrad(s, u(dx), u(dy), alignCorners)
}
func (d *Shadow) Bernoulli(dst ag.Storage, seed uint64, offset uint64, p float64, value float64) {
	d.cpu.Bernoulli(u(dst), seed, offset, p, value)
}
func (d *Shadow) AdamW(p ag.Storage, g ag.Storage, m ag.Storage, v ag.Storage, o kernel.AdamW) {
	d.cpu.AdamW(u(p), u(g), u(m), u(v), o)
}
