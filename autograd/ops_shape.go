package autograd

import (
	"fmt"
	"slices"
)

// Reshape returns a view of x with a new shape of the same number of
// elements; one dimension may be -1 and is then inferred. The view shares
// x's storage (tensors are never written in place by ops, so this is safe).
func Reshape(x *Tensor, shape ...int) *Tensor {
	shape = slices.Clone(shape)
	infer, known := -1, 1
	for i, d := range shape {
		switch {
		case d == -1 && infer < 0:
			infer = i
		case d < 0:
			panic(fmt.Sprintf("autograd: Reshape: bad shape %v for %v", shape, x.shape))
		default:
			known *= d
		}
	}
	if infer >= 0 {
		if known == 0 || x.Len()%known != 0 {
			panic(fmt.Sprintf("autograd: Reshape: cannot infer -1 in %v for %v", shape, x.shape))
		}
		shape[infer] = x.Len() / known
	}
	if numel(shape) != x.Len() {
		panic(fmt.Sprintf("autograd: Reshape: shape %v does not hold the %d elements of %v", shape, x.Len(), x.shape))
	}
	if sameShape(shape, x.shape) {
		return x
	}
	y := adoptView(x, &Tensor{shape: shape, st: x.st})
	xshape := x.shape
	return record(y, "reshape", []*Tensor{x}, func(g *Tensor) []*Tensor {
		return []*Tensor{Reshape(g, xshape...)}
	})
}

// Flatten merges the dimensions from start (inclusive, may be negative) to
// the end into one.
func Flatten(x *Tensor, start int) *Tensor {
	if len(x.shape) == 0 {
		return Reshape(x, 1)
	}
	start = x.axis("Flatten", start)
	return Reshape(x, append(slices.Clone(x.shape[:start]), -1)...)
}

// Unsqueeze inserts a dimension of size 1 at axis (0..rank; negative counts
// from the end of the result).
func Unsqueeze(x *Tensor, axis int) *Tensor {
	r := len(x.shape) + 1
	if axis < 0 {
		axis += r
	}
	if axis < 0 || axis >= r {
		panic(fmt.Sprintf("autograd: Unsqueeze: axis %d for shape %v", axis, x.shape))
	}
	return Reshape(x, slices.Insert(slices.Clone(x.shape), axis, 1)...)
}

// Squeeze removes the dimension of size 1 at axis.
func Squeeze(x *Tensor, axis int) *Tensor {
	axis = x.axis("Squeeze", axis)
	if x.shape[axis] != 1 {
		panic(fmt.Sprintf("autograd: Squeeze: axis %d of %v is not 1", axis, x.shape))
	}
	return Reshape(x, slices.Delete(slices.Clone(x.shape), axis, axis+1)...)
}

// Permute reorders the dimensions: dimension i of the result is dimension
// perm[i] of x. The result is a contiguous copy.
func Permute(x *Tensor, perm ...int) *Tensor {
	if len(perm) != len(x.shape) {
		panic(fmt.Sprintf("autograd: Permute: permutation %v for shape %v", perm, x.shape))
	}
	src := contiguousStrides(x.shape)
	shape, strides := make([]int, len(perm)), make([]int, len(perm))
	inv := make([]int, len(perm))
	seen := make([]bool, len(perm))
	identity := true
	for i, p := range perm {
		p = x.axis("Permute", p)
		if seen[p] {
			panic(fmt.Sprintf("autograd: Permute: %v is not a permutation", perm))
		}
		seen[p] = true
		shape[i], strides[i], inv[p] = x.shape[p], src[p], i
		identity = identity && p == i
	}
	if identity {
		return x
	}
	y := x.empty(shape...)
	x.Device().Gather(y.st, x.st, shape, strides, 0)
	return record(y, "permute", []*Tensor{x}, func(g *Tensor) []*Tensor {
		return []*Tensor{Permute(g, inv...)}
	})
}

// Transpose swaps two dimensions (a contiguous copy).
func Transpose(x *Tensor, a, b int) *Tensor {
	perm := make([]int, len(x.shape))
	for i := range perm {
		perm[i] = i
	}
	a, b = x.axis("Transpose", a), x.axis("Transpose", b)
	perm[a], perm[b] = b, a
	return Permute(x, perm...)
}

// Slice returns the elements start, start+step, ... below end along axis
// (start and end may be negative, counting from the end; step >= 1).
func Slice(x *Tensor, axis, start, end, step int) *Tensor {
	axis = x.axis("Slice", axis)
	n := x.shape[axis]
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	start, end = max(0, min(start, n)), max(0, min(end, n))
	if step < 1 {
		panic(fmt.Sprintf("autograd: Slice: step %d", step))
	}
	if end < start {
		end = start
	}
	count := (end - start + step - 1) / step
	if start == 0 && count == n && step == 1 {
		return x
	}
	shape := slices.Clone(x.shape)
	shape[axis] = count
	strides := contiguousStrides(x.shape)
	offset := start * strides[axis]
	strides[axis] *= step
	y := x.empty(shape...)
	x.Device().Gather(y.st, x.st, shape, strides, offset)
	lx := likeOf(x)
	return record(y, "slice", []*Tensor{x}, func(g *Tensor) []*Tensor {
		dx := lx.zeros()
		lx.dev.Scatter(dx.st, g.st, shape, strides, offset, false)
		return []*Tensor{dx}
	})
}

// Concat joins tensors of equal shape but for axis along axis.
func Concat(axis int, xs ...*Tensor) *Tensor {
	if len(xs) == 0 {
		panic("autograd: Concat of no tensors")
	}
	first := xs[0]
	axis = first.axis("Concat", axis)
	shape := slices.Clone(first.shape)
	shape[axis] = 0
	for _, x := range xs {
		checkPair("Concat", first, x)
		if len(x.shape) != len(first.shape) {
			panic(fmt.Sprintf("autograd: Concat: shapes %v and %v", first.shape, x.shape))
		}
		for d := range x.shape {
			if d != axis && x.shape[d] != first.shape[d] {
				panic(fmt.Sprintf("autograd: Concat along %d: shapes %v and %v", axis, first.shape, x.shape))
			}
		}
		shape[axis] += x.shape[axis]
	}
	y := first.empty(shape...)
	strides := contiguousStrides(shape)
	offsets := make([]int, len(xs))
	off := 0
	for i, x := range xs {
		offsets[i] = off * strides[axis]
		first.Device().Scatter(y.st, x.st, x.shape, strides, offsets[i], false)
		off += x.shape[axis]
	}
	ls := make([]like, len(xs))
	for i, x := range xs {
		ls[i] = likeOf(x)
	}
	return record(y, "concat", xs, func(g *Tensor) []*Tensor {
		gs := make([]*Tensor, len(ls))
		for i, l := range ls {
			if l.needs {
				gx := l.empty()
				l.dev.Gather(gx.st, g.st, l.shape, strides, offsets[i])
				gs[i] = gx
			}
		}
		return gs
	})
}

// Split cuts x along axis into pieces of the given sizes, which must add
// up to the axis length.
func Split(x *Tensor, axis int, sizes ...int) []*Tensor {
	axis = x.axis("Split", axis)
	total := 0
	for _, s := range sizes {
		total += s
	}
	if total != x.shape[axis] {
		panic(fmt.Sprintf("autograd: Split: sizes %v along axis %d of %v", sizes, axis, x.shape))
	}
	out := make([]*Tensor, len(sizes))
	off := 0
	for i, s := range sizes {
		out[i] = Slice(x, axis, off, off+s, 1)
		off += s
	}
	return out
}

// Chunk splits x along axis into n equal pieces.
func Chunk(x *Tensor, axis, n int) []*Tensor {
	axis = x.axis("Chunk", axis)
	if n <= 0 || x.shape[axis]%n != 0 {
		panic(fmt.Sprintf("autograd: Chunk: %d pieces of axis %d of %v", n, axis, x.shape))
	}
	sizes := make([]int, n)
	for i := range sizes {
		sizes[i] = x.shape[axis] / n
	}
	return Split(x, axis, sizes...)
}

// Pad adds pads[i] = {before, after} elements of value around dimension i,
// one pair per dimension.
func Pad(x *Tensor, pads [][2]int, value float64) *Tensor {
	if len(pads) != len(x.shape) {
		panic(fmt.Sprintf("autograd: Pad: %d pad pairs for shape %v", len(pads), x.shape))
	}
	shape := slices.Clone(x.shape)
	for i, p := range pads {
		if p[0] < 0 || p[1] < 0 {
			panic(fmt.Sprintf("autograd: Pad: negative padding %v", pads))
		}
		shape[i] += p[0] + p[1]
	}
	strides := contiguousStrides(shape)
	offset := 0
	for i, p := range pads {
		offset += p[0] * strides[i]
	}
	y := x.empty(shape...)
	x.Device().Fill(y.st, value)
	x.Device().Scatter(y.st, x.st, x.shape, strides, offset, false)
	lx := likeOf(x)
	return record(y, "pad", []*Tensor{x}, func(g *Tensor) []*Tensor {
		dx := lx.empty()
		lx.dev.Gather(dx.st, g.st, lx.shape, strides, offset)
		return []*Tensor{dx}
	})
}

// Roll shifts elements along each of axes by the matching shift, wrapping
// around, as torch.roll: out[(i+shift) mod n] = x[i].
func Roll(x *Tensor, shifts, axes []int) *Tensor {
	if len(shifts) != len(axes) {
		panic(fmt.Sprintf("autograd: Roll: %d shifts for %d axes", len(shifts), len(axes)))
	}
	y := x
	for i, a := range axes {
		a = x.axis("Roll", a)
		n := x.shape[a]
		if n == 0 {
			continue
		}
		s := ((shifts[i] % n) + n) % n
		if s == 0 {
			continue
		}
		y = Concat(a, Slice(y, a, n-s, n, 1), Slice(y, a, 0, n-s, 1))
	}
	return y
}
