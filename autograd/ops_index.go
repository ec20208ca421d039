package autograd

import (
	"fmt"
	"slices"
)

// checkIndex panics unless idx is an int32 tensor on x's device.
func checkIndex(op string, x, idx *Tensor) {
	if idx.DType() != Int32 {
		panic(fmt.Sprintf("autograd: %s: index tensor %v is %s, want int32 (see Indices)", op, idx.shape, idx.DType()))
	}
	if idx.Device() != x.Device() {
		panic(fmt.Sprintf("autograd: %s: index tensor on %s for input on %s", op, idx.Device().Name(), x.Device().Name()))
	}
}

// IndexSelect picks the entries index (a []int, or a 1-d int32 tensor on
// x's device, see Indices) along axis, as torch.index_select: the result has idx.Len() entries along
// axis. Repeated indices accumulate their gradients. An index outside
// [0, x.Dim(axis)) is reported by the device (the CPU panics naming it).
func IndexSelect[I Index](x *Tensor, axis int, index I) *Tensor {
	axis = x.axis("IndexSelect", axis)
	idx := indexTensor("IndexSelect", "index", index, x.shape[axis], x.Device())
	checkIndex("IndexSelect", x, idx)
	if idx.Rank() != 1 {
		panic(fmt.Sprintf("autograd: IndexSelect: index tensor %v must be 1-d", idx.shape))
	}
	outer, n, inner := split3(x.shape, axis)
	dev := x.Device()
	shape := slices.Clone(x.shape)
	shape[axis] = idx.Len()
	y := x.empty(shape...)
	dev.IndexSelect(y.st, x.st, idx.st, outer, n, inner)
	lx := likeOf(x)
	return record(y, "index_select", []*Tensor{x}, func(g *Tensor) []*Tensor {
		gx := lx.zeros()
		dev.IndexAdd(gx.st, g.st, idx.st, outer, n, inner)
		return []*Tensor{gx}
	})
}

// Embedding looks up rows of weight (num, dim) for every index of idx (an
// int32 tensor of any shape): the result has shape idx.Shape() + (dim), as
// torch.nn.functional.embedding.
func Embedding(weight, idx *Tensor) *Tensor {
	if weight.Rank() != 2 {
		panic(fmt.Sprintf("autograd: Embedding: weight %v must be 2-d", weight.shape))
	}
	flat := idx
	if idx.Rank() != 1 {
		flat = Reshape(idx, idx.Len())
	}
	y := IndexSelect(weight, 0, flat)
	if idx.Rank() == 1 {
		return y
	}
	return Reshape(y, append(idx.Shape(), weight.shape[1])...)
}

// Gather picks one element along axis per output position, as
// torch.gather: index (an int32 tensor) has x's shape except along axis,
// where it has k entries, and holds for every element of the result an
// index into axis.
func Gather(x *Tensor, axis int, index *Tensor) *Tensor {
	axis = x.axis("Gather", axis)
	checkIndex("Gather", x, index)
	want := slices.Clone(x.shape)
	if index.Rank() == len(want) {
		want[axis] = index.shape[axis]
	}
	if !sameShape(index.shape, want) {
		panic(fmt.Sprintf("autograd: Gather: index %v for input %v along axis %d (sizes must match except along the axis)", index.shape, x.shape, axis))
	}
	outer, n, inner := split3(x.shape, axis)
	k := index.shape[axis]
	dev := x.Device()
	y := x.empty(index.shape...)
	dev.GatherAxis(y.st, x.st, index.st, outer, n, k, inner)
	lx := likeOf(x)
	return record(y, "gather", []*Tensor{x}, func(g *Tensor) []*Tensor {
		gx := lx.zeros()
		dev.GatherAxisAdd(gx.st, g.st, index.st, outer, n, k, inner)
		return []*Tensor{gx}
	})
}
