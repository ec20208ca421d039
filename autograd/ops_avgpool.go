package autograd

import "fmt"

// AvgPool2dOptions are the window of a 2-d average pooling, as
// torch.nn.functional.avg_pool2d: zero stride means the kernel size. The
// zero value of the remaining fields is PyTorch's default.
type AvgPool2dOptions struct {
	Kernel, Stride, Padding [2]int
	CeilMode                bool
	// ExcludePadding divides by the input elements under the window only
	// (count_include_pad=False); by default padding zeros count.
	ExcludePadding bool
	// DivisorOverride, if not 0, divides every window sum by it.
	DivisorOverride int
}

// AvgPool2d averages windows over the last two dimensions, as
// torch.nn.functional.avg_pool2d. It is a window sum (a convolution of each
// plane with a kernel of ones, zero padding) divided by each window's
// count, so its gradient is the convolution's.
func AvgPool2d(x *Tensor, o AvgPool2dOptions) *Tensor {
	p, h, w := planes("AvgPool2d", x)
	k, s, pad := o.Kernel, o.Stride, o.Padding
	if s == [2]int{} {
		s = k
	}
	checkWindow("AvgPool2d", k, s, pad, Pair(1))
	if o.DivisorOverride < 0 {
		panic(fmt.Sprintf("autograd: AvgPool2d: divisor override %d must be positive", o.DivisorOverride))
	}
	oh := poolOut(h, k[0], s[0], pad[0], 1, o.CeilMode)
	ow := poolOut(w, k[1], s[1], pad[1], 1, o.CeilMode)
	if oh < 1 || ow < 1 {
		panic(fmt.Sprintf("autograd: AvgPool2d: input %v too small for kernel %v, padding %v", x.shape, k, pad))
	}
	// Ceil mode's last window may run past the right padding: pad with
	// zeros up to it; the counts below leave that part out.
	extraH := max(0, (oh-1)*s[0]+k[0]-(h+2*pad[0]))
	extraW := max(0, (ow-1)*s[1]+k[1]-(w+2*pad[1]))
	xp := Reshape(x, p, 1, h, w)
	if pad != [2]int{} || extraH > 0 || extraW > 0 {
		xp = Pad(xp, [][2]int{{0, 0}, {0, 0}, {pad[0], pad[0] + extraH}, {pad[1], pad[1] + extraW}}, 0)
	}
	dt, dev := x.DType(), x.Device()
	ones := constant(avgPoolKey{k: k, dt: dt, dev: dev}, func() *Tensor {
		return Full(dt, 1, 1, 1, k[0], k[1]).To(dev)
	})
	sum := Conv2d(xp, ones, nil, Conv2dOptions{Stride: s}) // (P, 1, oh, ow)
	div := constant(avgPoolKey{h, w, k, s, pad, o, dt, dev}, func() *Tensor {
		return FromFloat64(avgPoolDivisors(h, w, oh, ow, k, s, pad, o), oh, ow).AsType(dt).To(dev)
	})
	y := Div(sum, div)
	return Reshape(y, withHW(x.shape, oh, ow)...)
}

// avgPoolKey names AvgPool2d's constants: its kernel of ones (only k, dt
// and dev set) and the divisors of one input size and window.
type avgPoolKey struct {
	h, w      int
	k, s, pad [2]int
	o         AvgPool2dOptions
	dt        DType
	dev       Device
}

// avgPoolDivisors is each window's divisor as PyTorch's kernel computes it:
// the window clipped to the padded input, or to the input itself when
// padding is excluded.
func avgPoolDivisors(h, w, oh, ow int, k, s, pad [2]int, o AvgPool2dOptions) []float64 {
	div := make([]float64, oh*ow)
	for i := range oh {
		for j := range ow {
			if o.DivisorOverride > 0 {
				div[i*ow+j] = float64(o.DivisorOverride)
				continue
			}
			h0, w0 := i*s[0]-pad[0], j*s[1]-pad[1]
			h1, w1 := min(h0+k[0], h+pad[0]), min(w0+k[1], w+pad[1])
			if o.ExcludePadding {
				h0, w0, h1, w1 = max(h0, 0), max(w0, 0), min(h1, h), min(w1, w)
			}
			div[i*ow+j] = float64((h1 - h0) * (w1 - w0))
		}
	}
	return div
}

// checkWindow panics, naming op, the argument and the rule, unless a
// pooling window is one PyTorch accepts: kernel, stride and dilation at
// least 1, padding in [0, kernel/2].
func checkWindow(op string, k, s, pad, dil [2]int) {
	for i, side := range []string{"height", "width"} {
		switch {
		case k[i] < 1:
			panic(fmt.Sprintf("autograd: %s: kernel %v: the %s must be at least 1", op, k, side))
		case s[i] < 1:
			panic(fmt.Sprintf("autograd: %s: stride %v: the %s must be at least 1", op, s, side))
		case dil[i] < 1:
			panic(fmt.Sprintf("autograd: %s: dilation %v: the %s must be at least 1", op, dil, side))
		case pad[i] < 0 || 2*pad[i] > k[i]:
			panic(fmt.Sprintf("autograd: %s: padding %v: the %s must be in [0, kernel/2] for kernel %v", op, pad, side, k))
		}
	}
}

// Pair is (v, v), the square form of a kernel, stride, padding or
// dilation, as PyTorch accepts one int for a pair:
// Conv2dOptions{Padding: Pair(1)}.
func Pair(v int) [2]int { return [2]int{v, v} }
