package autograd

import "github.com/vertebra-ml/vertebra/autograd/cpu"

// Storage is a device's buffer of Len elements of one DType. Only the
// device that made it interprets it.
type Storage interface {
	Device() Device
	DType() DType
	Len() int
}

// Device allocates storage and runs the kernels behind the ops. The CPU
// device is the reference; package cuda implements the same interface for
// NVIDIA GPUs. Kernels receive storage and plain shape numbers, never
// tensors, so that the ops (and their backward rules) are written once.
//
// Kernel arguments are checked by the ops; a device may assume them valid.
// Unless a method says it accumulates, it overwrites its destination.
type Device interface {
	// Name identifies the device ("cpu", "cuda:0").
	Name() string
	// Alloc returns storage of n elements with undefined contents; it may
	// reuse storage handed back by Release.
	Alloc(dt DType, n int) Storage
	// Release hands back storage that nothing references any more (a
	// Scope's tensors when it ends) for Alloc to reuse.
	Release(s Storage)
	// FromHost copies a host slice ([]float32, []float64 or []int32) to new storage.
	FromHost(data any) Storage
	// ToHost copies storage to a new host slice of its own type.
	ToHost(s Storage) any

	Fill(dst Storage, v float64)
	Copy(dst, src Storage)
	AddTo(dst, src Storage)
	Unary(op cpu.UnaryOp, dst, x Storage, alpha float64)
	UnaryGrad(op cpu.UnaryOp, dx, x, y, dy Storage, alpha float64)
	Binary(op cpu.BinaryOp, dst, a, b Storage, shape, strideA, strideB []int)
	SumAxis(dst, src Storage, outer, n, inner int, scale float64)
	MaxAxis(dst, arg, src Storage, outer, n, inner int)
	MaxAxisGrad(dx, dy, arg Storage, outer, n, inner int)
	Softmax(dst, src Storage, outer, n, inner int, log bool)
	SoftmaxGrad(dx, y, dy Storage, outer, n, inner int, log bool)
	Gather(dst, src Storage, shape, strides []int, offset int)
	Scatter(dst, src Storage, shape, strides []int, offset int, add bool)
	IndexSelect(dst, src, idx Storage, outer, n, inner int)
	IndexAdd(dx, dy, idx Storage, outer, n, inner int)
	GatherAxis(dst, src, idx Storage, outer, n, k, inner int)
	GatherAxisAdd(dx, dy, idx Storage, outer, n, k, inner int)
	Gemm(transA, transB bool, batch, m, n, k int, alpha float64, a Storage, strideA int, b Storage, strideB int, beta float64, c Storage)
	Conv2d(s cpu.ConvShape, x, w, b, y Storage)
	Conv2dBackwardData(s cpu.ConvShape, dy, w, dx Storage)
	Conv2dBackwardWeight(s cpu.ConvShape, x, dy, dw Storage)
	Conv2dBackwardBias(s cpu.ConvShape, dy, db Storage)
	LayerNorm(y, x, w, b, mean, rstd Storage, outer, n, inner int, eps float64)
	LayerNormGrad(dx, dw, db, x, w, dy, mean, rstd Storage, outer, n, inner int)
	BatchNorm(y, x, w, b, runMean, runVar, mean, rstd Storage, outer, n, inner int, training bool, momentum, eps float64)
	BatchNormGrad(dx, dw, db, x, w, dy, mean, rstd Storage, outer, n, inner int, training bool)
	MaxPool2d(s cpu.PoolShape, y, arg, x Storage)
	MaxPool2dGrad(s cpu.PoolShape, dx, dy, arg Storage)
	AdaptiveAvgPool2d(s cpu.PoolShape, y, x Storage)
	AdaptiveAvgPool2dGrad(s cpu.PoolShape, dx, dy Storage)
	Bilinear(s cpu.PoolShape, y, x Storage, alignCorners bool)
	BilinearGrad(s cpu.PoolShape, dx, dy Storage, alignCorners bool)
}
