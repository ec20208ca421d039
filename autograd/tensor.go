package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

// Tensor is a shaped, contiguous array on a device, with an optional place
// in the recorded graph. Tensors are immutable through the op API: every op
// returns a new tensor (Reshape returns a view sharing storage), so a value
// saved for a backward pass cannot change under it.
type Tensor struct {
	shape []int
	st    Storage

	requiresGrad bool
	grad         *Tensor
	node         *node // the op that made this tensor; nil for leaves
	retainGrad   bool
	scope        *scope // the Scope that releases it, if any
}

// numel is the product of the dimensions (1 for a scalar).
func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

func checkShape(op string, shape []int) {
	for _, d := range shape {
		if d < 0 {
			panic(fmt.Sprintf("autograd: %s: negative dimension in shape %v", op, shape))
		}
	}
}

// newTensor allocates an uninitialised tensor on dev, outside any scope.
func newTensor(dev Device, dt DType, shape []int) *Tensor {
	checkShape("new tensor", shape)
	return &Tensor{shape: append([]int(nil), shape...), st: alloc(dev, dt, numel(shape))}
}

// empty allocates an uninitialised op result like t with the given shape,
// owned by the open scope, if any.
func (t *Tensor) empty(shape ...int) *Tensor { return adopt(newTensor(t.Device(), t.DType(), shape)) }

// FromFloat32 copies data into a new float32 tensor of the given shape on
// the CPU. It panics if len(data) does not match the shape.
func FromFloat32(data []float32, shape ...int) *Tensor {
	checkShape("FromFloat32", shape)
	if len(data) != numel(shape) {
		panic(fmt.Sprintf("autograd: FromFloat32: %d values for shape %v", len(data), shape))
	}
	return &Tensor{shape: append([]int(nil), shape...), st: fromHost(CPU, data)}
}

// FromFloat64 copies data into a new float64 tensor of the given shape on
// the CPU.
func FromFloat64(data []float64, shape ...int) *Tensor {
	checkShape("FromFloat64", shape)
	if len(data) != numel(shape) {
		panic(fmt.Sprintf("autograd: FromFloat64: %d values for shape %v", len(data), shape))
	}
	return &Tensor{shape: append([]int(nil), shape...), st: fromHost(CPU, data)}
}

// FromInt32 copies data into a new int32 tensor of the given shape on the
// CPU, for indices (IndexSelect, Gather, Embedding).
func FromInt32(data []int32, shape ...int) *Tensor {
	checkShape("FromInt32", shape)
	if len(data) != numel(shape) {
		panic(fmt.Sprintf("autograd: FromInt32: %d values for shape %v", len(data), shape))
	}
	return &Tensor{shape: append([]int(nil), shape...), st: fromHost(CPU, data)}
}

// Indices returns idx as a 1-d int32 tensor on dev, checking each index
// against [0, n): the index tensor of IndexSelect, Gather and Embedding.
// It panics, naming the index, if one is out of range.
func Indices(dev Device, idx []int, n int) *Tensor {
	v := make([]int32, len(idx))
	for i, k := range idx {
		if k < 0 || k >= n || k > math.MaxInt32 {
			panic(fmt.Sprintf("autograd: Indices: index %d (position %d) out of range [0, %d)", k, i, n))
		}
		v[i] = int32(k)
	}
	return &Tensor{shape: []int{len(v)}, st: fromHost(dev, v)}
}

// Full returns a tensor of the given type and shape filled with v, on the
// CPU.
func Full(dt DType, v float64, shape ...int) *Tensor { return FullOn(CPU, dt, v, shape...) }

// FullOn returns a tensor on dev of the given type and shape filled with v.
func FullOn(dev Device, dt DType, v float64, shape ...int) *Tensor {
	t := newTensor(dev, dt, shape)
	dev.Fill(t.st, v)
	return t
}

// like is what a backward rule needs of an input to make its gradient,
// without holding the input's storage: a rule that captured the tensor
// itself would keep its values alive until the backward pass.
type like struct {
	dev   Device
	dt    DType
	shape []int
	needs bool // the input requires a gradient
}

func likeOf(t *Tensor) like {
	if t == nil {
		return like{}
	}
	return like{dev: t.Device(), dt: t.DType(), shape: t.shape, needs: t.requiresGrad}
}

// empty is an uninitialised op result of the input's shape.
func (l like) empty() *Tensor { return adopt(newTensor(l.dev, l.dt, l.shape)) }

// zeros is an op result of zeros of the input's shape.
func (l like) zeros() *Tensor {
	z := l.empty()
	l.dev.Fill(z.st, 0)
	return z
}

// Zeros returns a tensor of zeros.
func Zeros(dt DType, shape ...int) *Tensor { return Full(dt, 0, shape...) }

// Ones returns a tensor of ones.
func Ones(dt DType, shape ...int) *Tensor { return Full(dt, 1, shape...) }

// Scalar returns a float32 tensor of shape [] holding v.
func Scalar(v float64) *Tensor { return Full(Float32, v, []int{}...) }

// RandN returns a tensor of standard normal samples from rng.
func RandN(rng *rand.Rand, dt DType, shape ...int) *Tensor {
	v := make([]float64, numel(shape))
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	return fromF64As(dt, v, shape)
}

// RandU returns a tensor of samples uniform in [lo, hi) from rng.
func RandU(rng *rand.Rand, dt DType, lo, hi float64, shape ...int) *Tensor {
	v := make([]float64, numel(shape))
	for i := range v {
		v[i] = lo + (hi-lo)*rng.Float64()
	}
	return fromF64As(dt, v, shape)
}

func fromF64As(dt DType, v []float64, shape []int) *Tensor {
	if dt == Float64 {
		return FromFloat64(v, shape...)
	}
	w := make([]float32, len(v))
	for i, x := range v {
		w[i] = float32(x)
	}
	return FromFloat32(w, shape...)
}

// Shape returns a copy of the tensor's dimensions.
func (t *Tensor) Shape() []int { return append([]int(nil), t.shape...) }

// Dim returns the size of dimension i; negative i counts from the end.
func (t *Tensor) Dim(i int) int { return t.shape[t.axis("Dim", i)] }

// Rank is the number of dimensions.
func (t *Tensor) Rank() int { return len(t.shape) }

// Len is the number of elements.
func (t *Tensor) Len() int { return t.st.Len() }

// DType is the element type.
func (t *Tensor) DType() DType { return t.st.DType() }

// Device is where the tensor's storage lives.
func (t *Tensor) Device() Device { return t.st.Device() }

// Storage exposes the tensor's storage to device implementations and
// kernels outside this package.
func (t *Tensor) Storage() Storage { return t.st }

// Float32s copies the values to a new float32 slice in row-major order.
func (t *Tensor) Float32s() []float32 {
	switch v := toHost(t).(type) {
	case []float32:
		return v
	case []float64:
		w := make([]float32, len(v))
		for i, x := range v {
			w[i] = float32(x)
		}
		return w
	}
	panic("autograd: Float32s of an index tensor")
}

// Float64s copies the values to a new float64 slice in row-major order.
func (t *Tensor) Float64s() []float64 {
	switch v := toHost(t).(type) {
	case []float64:
		return v
	case []float32:
		w := make([]float64, len(v))
		for i, x := range v {
			w[i] = float64(x)
		}
		return w
	}
	panic("autograd: Float64s of an index tensor")
}

// Int32s copies the values of an int32 tensor to a new slice.
func (t *Tensor) Int32s() []int32 {
	v, ok := toHost(t).([]int32)
	if !ok {
		panic(fmt.Sprintf("autograd: Int32s of a %s tensor", t.DType()))
	}
	return v
}

// Item returns the value of a one-element tensor.
func (t *Tensor) Item() float64 {
	if t.Len() != 1 {
		panic(fmt.Sprintf("autograd: Item of a tensor of shape %v", t.shape))
	}
	return t.Float64s()[0]
}

// To returns the tensor on dev (t itself if it is there already). The copy
// is a leaf that keeps RequiresGrad; to move a model, use nn.Store.To.
func (t *Tensor) To(dev Device) *Tensor {
	if t.Device() == dev {
		return t
	}
	return &Tensor{shape: t.Shape(), st: fromHost(dev, toHost(t)), requiresGrad: t.requiresGrad}
}

// MoveTo moves the values of a leaf tensor to dev in place, keeping the
// tensor itself (so the modules and optimizers that hold it follow), its
// RequiresGrad and its gradient, which moves too. The old storage is left
// to the garbage collector, never released for reuse: other tensors may
// share it. It returns the device's error, if any.
func (t *Tensor) MoveTo(dev Device) (err error) {
	if t.node != nil {
		return fmt.Errorf("autograd: MoveTo on the result of an op %v (only leaves move; Detach first)", t.shape)
	}
	if t.Device() == dev {
		return nil
	}
	err = CatchDeviceError(func() {
		st := fromHost(dev, toHost(t))
		var g *Tensor
		if t.grad != nil {
			g = t.grad.To(dev)
		}
		t.st, t.grad = st, g
	})
	return err
}

// AsType returns the tensor converted to dt (t itself if it has that type).
// The result is a new leaf on t's device.
func (t *Tensor) AsType(dt DType) *Tensor {
	if t.DType() == dt {
		return t
	}
	c := newTensor(t.Device(), dt, t.shape)
	t.Device().Copy(c.st, t.st)
	c.requiresGrad = t.requiresGrad
	return c
}

// Clone returns a copy with its own storage, detached from the graph and
// not owned by any Scope.
func (t *Tensor) Clone() *Tensor {
	c := newTensor(t.Device(), t.DType(), t.shape)
	t.Device().Copy(c.st, t.st)
	return c
}

// CopyFrom overwrites t's values with src's (same shape and type). It is an
// in-place update outside the graph, for optimizers and checkpoint loading.
func (t *Tensor) CopyFrom(src *Tensor) {
	if !sameShape(t.shape, src.shape) || t.DType() != src.DType() {
		panic(fmt.Sprintf("autograd: CopyFrom: %v %s from %v %s", t.shape, t.DType(), src.shape, src.DType()))
	}
	t.Device().Copy(t.st, src.To(t.Device()).st)
}

// String prints the shape, type and up to the first 8 values.
func (t *Tensor) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Tensor%v %s", t.shape, t.DType())
	if t.DType() == Int32 {
		return b.String()
	}
	v := t.Float64s()
	b.WriteString(" [")
	for i, x := range v {
		if i == 8 {
			b.WriteString(" ...")
			break
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%.6g", x)
	}
	b.WriteString("]")
	if t.requiresGrad {
		b.WriteString(" requires_grad")
	}
	return b.String()
}

// axis resolves a possibly negative axis against t's rank.
func (t *Tensor) axis(op string, a int) int {
	r := len(t.shape)
	if a < 0 {
		a += r
	}
	if a < 0 || a >= r {
		panic(fmt.Sprintf("autograd: %s: axis %d out of range for shape %v", op, a, t.shape))
	}
	return a
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// split3 returns (outer, n, inner) of shape around axis.
func split3(shape []int, axis int) (outer, n, inner int) {
	return numel(shape[:axis]), shape[axis], numel(shape[axis+1:])
}

// AllClose reports whether a and b have the same shape and
// |a-b| <= atol + rtol*|b| everywhere.
func AllClose(a, b *Tensor, rtol, atol float64) bool {
	if !sameShape(a.shape, b.shape) {
		return false
	}
	x, y := a.Float64s(), b.Float64s()
	for i := range x {
		if math.Abs(x[i]-y[i]) > atol+rtol*math.Abs(y[i]) || math.IsNaN(x[i]) != math.IsNaN(y[i]) {
			return false
		}
	}
	return true
}
