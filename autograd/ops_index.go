package autograd

import (
	"fmt"
	"math"
	"slices"
)

// indexStorage checks indices against n and uploads them to dev.
func indexStorage(op string, dev Device, idx []int, n int) Storage {
	v := make([]int32, len(idx))
	for i, k := range idx {
		if k < 0 || k >= n || k > math.MaxInt32 {
			panic(fmt.Sprintf("autograd: %s: index %d out of range [0, %d)", op, k, n))
		}
		v[i] = int32(k)
	}
	return dev.FromHost(v)
}

// IndexSelect picks the entries idx along axis, as torch.index_select:
// the result has len(idx) entries along axis. Repeated indices accumulate
// their gradients.
func IndexSelect(x *Tensor, axis int, idx []int) *Tensor {
	axis = x.axis("IndexSelect", axis)
	outer, n, inner := split3(x.shape, axis)
	dev := x.Device()
	is := indexStorage("IndexSelect", dev, idx, n)
	shape := slices.Clone(x.shape)
	shape[axis] = len(idx)
	y := x.empty(shape...)
	dev.IndexSelect(y.st, x.st, is, outer, n, inner)
	return record(y, "index_select", []*Tensor{x}, func(g *Tensor) []*Tensor {
		gx := Zeros(x.DType(), x.shape...).To(dev)
		dev.IndexAdd(gx.st, g.st, is, outer, n, inner)
		return []*Tensor{gx}
	})
}

// Embedding looks up rows of weight (num, dim): the result has shape
// (len(idx), dim), as torch.nn.functional.embedding on a flat index list.
func Embedding(weight *Tensor, idx []int) *Tensor {
	if weight.Rank() != 2 {
		panic(fmt.Sprintf("autograd: Embedding: weight %v must be 2-d", weight.shape))
	}
	return IndexSelect(weight, 0, idx)
}

// Gather picks one element along axis per output position, as
// torch.gather: index holds, in row-major order, an index into axis for
// every element of the result, whose shape is x's with shape[axis] = k,
// k = len(index) / (elements of x / x.shape[axis]).
func Gather(x *Tensor, axis int, index []int) *Tensor {
	axis = x.axis("Gather", axis)
	outer, n, inner := split3(x.shape, axis)
	if outer*inner == 0 || len(index)%(outer*inner) != 0 {
		panic(fmt.Sprintf("autograd: Gather: %d indices for shape %v along axis %d", len(index), x.shape, axis))
	}
	k := len(index) / (outer * inner)
	dev := x.Device()
	is := indexStorage("Gather", dev, index, n)
	shape := slices.Clone(x.shape)
	shape[axis] = k
	y := x.empty(shape...)
	dev.GatherAxis(y.st, x.st, is, outer, n, k, inner)
	return record(y, "gather", []*Tensor{x}, func(g *Tensor) []*Tensor {
		gx := Zeros(x.DType(), x.shape...).To(dev)
		dev.GatherAxisAdd(gx.st, g.st, is, outer, n, k, inner)
		return []*Tensor{gx}
	})
}
