package autograd

import "fmt"

// Argmax returns the index of the largest value along axis as an int32
// tensor (the first one where several are equal, as torch.argmax), with
// the axis removed or, with keepdim, kept as size 1. It records no
// gradient.
func Argmax(x *Tensor, axis int, keepdim bool) *Tensor {
	axis = x.axis("Argmax", axis)
	if x.DType() == Int32 {
		panic(fmt.Sprintf("autograd: Argmax: input %v is int32: want a float tensor", x.shape))
	}
	if x.shape[axis] == 0 {
		panic(fmt.Sprintf("autograd: Argmax: input %v: axis %d is empty", x.shape, axis))
	}
	outer, n, inner := split3(x.shape, axis)
	dev := x.Device()
	maxima := x.empty(keptShape(x.shape, []int{axis})...)
	arg := adopt(newTensor(dev, Int32, reduceShape(x.shape, []int{axis}, keepdim)))
	dev.MaxAxis(maxima.st, arg.st, x.st, outer, n, inner)
	return arg
}

// The comparisons return an int32 tensor of 0 and 1 of the broadcast shape
// of a and b (NumPy broadcasting), as torch.eq and the others return a
// bool tensor; either side may be int32 (Argmax's result, labels). They
// record no gradient and, having no device kernel yet, compute on the host.

// Eq is a == b element-wise.
func Eq(a, b *Tensor) *Tensor { return compare("Eq", a, b, func(x, y float64) bool { return x == y }) }

// Ne is a != b element-wise.
func Ne(a, b *Tensor) *Tensor { return compare("Ne", a, b, func(x, y float64) bool { return x != y }) }

// Lt is a < b element-wise.
func Lt(a, b *Tensor) *Tensor { return compare("Lt", a, b, func(x, y float64) bool { return x < y }) }

// Le is a <= b element-wise.
func Le(a, b *Tensor) *Tensor { return compare("Le", a, b, func(x, y float64) bool { return x <= y }) }

// Gt is a > b element-wise.
func Gt(a, b *Tensor) *Tensor { return compare("Gt", a, b, func(x, y float64) bool { return x > y }) }

// Ge is a >= b element-wise.
func Ge(a, b *Tensor) *Tensor { return compare("Ge", a, b, func(x, y float64) bool { return x >= y }) }

func compare(op string, a, b *Tensor, f func(x, y float64) bool) *Tensor {
	if a.Device() != b.Device() {
		panic(fmt.Sprintf("autograd: %s: tensors on %s and %s", op, a.Device().Name(), b.Device().Name()))
	}
	shape := broadcastShape(op, a.shape, b.shape)
	av, bv := hostValues(a), hostValues(b)
	sa, sb := broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape)
	out := make([]int32, numel(shape))
	idx := make([]int, len(shape))
	for i := range out {
		ia, ib := 0, 0
		for d, k := range idx {
			ia += k * sa[d]
			ib += k * sb[d]
		}
		if f(av[ia], bv[ib]) {
			out[i] = 1
		}
		for d := len(idx) - 1; d >= 0; d-- { // next row-major position
			if idx[d]++; idx[d] < shape[d] {
				break
			}
			idx[d] = 0
		}
	}
	return FromInt32(out, shape...).To(a.Device())
}

// hostValues copies t's values to the host as float64, whatever its type.
func hostValues(t *Tensor) []float64 {
	if t.DType() != Int32 {
		return t.Float64s()
	}
	iv := t.Int32s()
	v := make([]float64, len(iv))
	for i, k := range iv {
		v[i] = float64(k)
	}
	return v
}

// Accuracy is the fraction of rows of logits (N, C) whose largest entry is
// at the row's label: (argmax(logits, 1) == labels).float().mean(). labels
// is a []int or a 1-d int32 tensor of N entries.
func Accuracy[L Index](logits *Tensor, labels L) float64 {
	if logits.Rank() != 2 || logits.shape[0] == 0 || logits.shape[1] == 0 {
		panic(fmt.Sprintf("autograd: Accuracy: logits %v: want (N, C) with N, C >= 1", logits.shape))
	}
	n, c := logits.shape[0], logits.shape[1]
	lab := indexTensor("Accuracy", "label", labels, c, logits.Device())
	if lab.Len() != n {
		panic(fmt.Sprintf("autograd: Accuracy: logits %v for %d labels: want one label per row", logits.shape, lab.Len()))
	}
	pred := Argmax(logits, 1, false).Int32s()
	want := lab.Int32s()
	hits := 0
	for i := range pred {
		if pred[i] == want[i] {
			hits++
		}
	}
	return float64(hits) / float64(n)
}
