package autograd

import "fmt"

// Index is what IndexSelect and CrossEntropy take as indices or class
// labels: a []int, or an int32 tensor (see Indices; Argmax returns one).
type Index interface{ []int | *Tensor }

// indexTensor returns idx as a 1-d int32 tensor on dev. A []int is checked
// against [0, n) here; so is a tensor on the CPU, where reading it costs
// nothing. On another device its kernel reports an index out of range.
// Messages name op and arg.
func indexTensor[I Index](op, arg string, idx I, n int, dev Device) *Tensor {
	switch v := any(idx).(type) {
	case []int:
		for i, k := range v {
			if k < 0 || k >= n {
				panic(fmt.Sprintf("autograd: %s: %s %d (position %d) out of range [0, %d)", op, arg, k, i, n))
			}
		}
		return Indices(dev, v, n)
	case *Tensor:
		if v == nil {
			panic(fmt.Sprintf("autograd: %s: %s is a nil tensor", op, arg))
		}
		if v.DType() != Int32 || v.Rank() != 1 {
			panic(fmt.Sprintf("autograd: %s: %s tensor %v %s: want int32, 1-d", op, arg, v.shape, v.DType()))
		}
		if v.Device() == CPU {
			for i, k := range v.Int32s() {
				if k < 0 || int(k) >= n {
					panic(fmt.Sprintf("autograd: %s: %s %d (position %d) out of range [0, %d)", op, arg, k, i, n))
				}
			}
		}
		return v.To(dev)
	}
	panic("unreachable")
}
