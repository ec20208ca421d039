package autograd

import "github.com/vertebra-ml/vertebra/autograd/kernel"

// Storage is a device's buffer of Len elements of one DType. Only the
// device that made it interprets it.
type Storage interface {
	Device() Device
	DType() DType
	Len() int
}

// Device allocates storage and runs the kernels behind the ops. The CPU
// device is the reference; package cuda implements the same interface for
// NVIDIA GPUs, and autograd/devicetest checks any device against the CPU.
// Kernels receive storage and plain shape numbers in the vocabulary of
// package kernel, never tensors, so that the ops (and their backward rules)
// are written once.
//
// Kernel arguments are checked by the ops; a device may assume them valid.
// Unless a method says it accumulates, it overwrites its destination.
// Kernels may run asynchronously, in the order they were called; a failure
// inside one is reported by the next ToHost or Synchronize. The methods
// that can fail for reasons outside the program (memory, a lost device)
// return errors; the ops turn them into panics that carry the device's
// message (see DeviceError).
type Device interface {
	// Name identifies the device ("cpu", "cuda:0").
	Name() string
	// Alloc returns storage of n elements with undefined contents; it may
	// reuse storage handed back by Release.
	Alloc(dt DType, n int) (Storage, error)
	// Release hands back storage that nothing references any more (a
	// backward pass's consumed gradients, a Scope's tensors when it ends)
	// for Alloc to reuse. Releasing storage a second time does nothing:
	// a Scope may end after a backward pass released some of its tensors.
	Release(s Storage)
	// FromHost copies a host slice ([]float32, []float64 or []int32) to new
	// storage of the matching DType.
	FromHost(data any) (Storage, error)
	// ToHost waits for the kernels writing s and copies it to a new host
	// slice of its own type.
	ToHost(s Storage) (any, error)
	// Synchronize waits for every kernel called so far and reports the
	// first failure among them.
	Synchronize() error

	// Fill sets every element to v (converted to the storage's type).
	Fill(dst Storage, v float64)
	// Copy copies src to dst, of the same length; it converts when their
	// types differ (float to int32 truncates toward zero).
	Copy(dst, src Storage)
	// AddTo accumulates dst += src.
	AddTo(dst, src Storage)
	Unary(op kernel.UnaryOp, dst, x Storage, alpha float64)
	UnaryGrad(op kernel.UnaryOp, dx, x, y, dy Storage, alpha float64)
	Binary(op kernel.BinaryOp, dst, a, b Storage, shape, strideA, strideB []int)
	SumAxis(dst, src Storage, outer, n, inner int, scale float64)
	MaxAxis(dst, arg, src Storage, outer, n, inner int)
	MaxAxisGrad(dx, dy, arg Storage, outer, n, inner int)
	Softmax(dst, src Storage, outer, n, inner int, log bool)
	SoftmaxGrad(dx, y, dy Storage, outer, n, inner int, log bool)
	Gather(dst, src Storage, shape, strides []int, offset int)
	Scatter(dst, src Storage, shape, strides []int, offset int, add bool)
	// IndexSelect and the other index kernels read int32 indices in
	// [0, n); the ops check host indices, and a device reports an index
	// outside the range rather than reading past its storage.
	IndexSelect(dst, src, idx Storage, outer, n, inner int)
	IndexAdd(dx, dy, idx Storage, outer, n, inner int)
	GatherAxis(dst, src, idx Storage, outer, n, k, inner int)
	GatherAxisAdd(dx, dy, idx Storage, outer, n, k, inner int)
	Gemm(transA, transB bool, batch, m, n, k int, alpha float64, a Storage, strideA int, b Storage, strideB int, beta float64, c Storage)
	Conv2d(s kernel.ConvShape, x, w, b, y Storage)
	Conv2dBackwardData(s kernel.ConvShape, dy, w, dx Storage)
	Conv2dBackwardWeight(s kernel.ConvShape, x, dy, dw Storage)
	Conv2dBackwardBias(s kernel.ConvShape, dy, db Storage)
	LayerNorm(y, x, w, b, mean, rstd Storage, outer, n, inner int, eps float64)
	LayerNormGrad(dx, dw, db, x, w, dy, mean, rstd Storage, outer, n, inner int)
	// BatchNorm writes act(batch norm of x + res) to y, res (nil for none)
	// added after the normalised value is rounded to y's type, as a
	// separate addition would. BatchNormGrad's dy is the gradient of the
	// normalised value, or of act's output where act is not the identity
	// (and there was no res): it recomputes the pre-activation from x, w
	// and b.
	BatchNorm(y, x, w, b, res, runMean, runVar, mean, rstd Storage, outer, n, inner int, training bool, momentum, eps float64, act kernel.Activation)
	BatchNormGrad(dx, dw, db, x, w, b, dy, mean, rstd Storage, outer, n, inner int, training bool, act kernel.Activation)
	// Conv2dBatchNorm writes to y what Conv2d into a temporary followed
	// by an eval-mode BatchNorm of it (running statistics, none written)
	// would, bit for bit: act(batch norm of conv(x, w) + b, + res). A
	// device may run the two as they are; the CPU normalises the product
	// while it is in cache.
	Conv2dBatchNorm(s kernel.ConvShape, x, w, b, y, bnW, bnB, res, runMean, runVar Storage, eps float64, act kernel.Activation)
	MaxPool2d(s kernel.PoolShape, y, arg, x Storage)
	MaxPool2dGrad(s kernel.PoolShape, dx, dy, arg Storage)
	AdaptiveAvgPool2d(s kernel.PoolShape, y, x Storage)
	AdaptiveAvgPool2dGrad(s kernel.PoolShape, dx, dy Storage)
	Bilinear(s kernel.PoolShape, y, x Storage, alignCorners bool)
	BilinearGrad(s kernel.PoolShape, dx, dy Storage, alignCorners bool)

	// Bernoulli writes dst[i] = value where u_i < p and 0 elsewhere, u_i
	// being element i's number of the Philox4x32-10 stream (seed, offset):
	//
	//	key     = (uint32(seed), uint32(seed>>32))
	//	b       = offset + i/4 (a 128-bit sum)
	//	counter = (uint32(b), uint32(b>>32), uint32(b>>64), 0)
	//	w       = word i%4 of Philox4x32-10(counter, key)
	//	u_i     = float64(w>>8) * 2^-24, in [0, 1)
	//
	// the same words as cuRAND's curand(&s) after
	// curand_init(seed, 0, 4*offset+i, &s). The comparison is exact:
	// u_i < p if and only if w>>8 < ceil(p * 2^24). The stream spends
	// ceil(len/4) blocks, so the next call takes offset + ceil(len/4).
	// Every device gives the same bits; cpu.PhiloxUniform is the reference.
	Bernoulli(dst Storage, seed, offset uint64, p, value float64)

	// AdamW updates parameter p and its moments m and v in place from
	// gradient g by one step of o (see kernel.AdamW for the formula).
	AdamW(p, g, m, v Storage, o kernel.AdamW)
}
