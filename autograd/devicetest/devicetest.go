// Package devicetest is the conformance suite of autograd devices, in the
// manner of testing/fstest: a device's own tests call Run with it, and Run
// checks every kernel of the autograd.Device interface against the CPU
// device on fresh random inputs of awkward sizes (1, 7, 17, 33, 255),
// broadcasts through zero and transposed strides, and every kind of
// convolution and pooling geometry.
//
//	func TestConformance(t *testing.T) {
//		dev, err := cuda.Open(0)
//		if err != nil {
//			t.Skip(err)
//		}
//		devicetest.Run(t, dev)
//	}
//
// Tolerances (float32): element-wise kernels agree within 1e-5 and
// reductions, products, convolutions and normalisations within 1e-4, both
// relative to max(1, the largest magnitude of the CPU's result). Copies,
// fills, index kernels, argmax positions, max pooling and the Philox
// masks must agree exactly. The suite needs no GPU to run: the CPU passes
// it in every go test.
package devicetest

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/autograd/cpu"
	"github.com/vertebra-ml/vertebra/autograd/kernel"
)

// The tolerances of Run, relative to max(1, max |want|).
const (
	TolElementwise = 1e-5
	TolReduction   = 1e-4
)

// Sizes are the awkward lengths every element-wise kernel runs at.
var Sizes = []int{1, 7, 17, 33, 255}

// kernels are the suite's parts, one per group of Device methods.
var kernels = []struct {
	name string
	run  func(*checker)
}{
	{"Transfers", testTransfers},
	{"Fill", testFill},
	{"Copy", testCopy},
	{"AddTo", testAddTo},
	{"Unary", testUnary},
	{"UnaryGrad", testUnaryGrad},
	{"Binary", testBinary},
	{"SumAxis", testSumAxis},
	{"MaxAxis", testMaxAxis},
	{"Softmax", testSoftmax},
	{"GatherScatter", testGatherScatter},
	{"IndexSelect", testIndexSelect},
	{"GatherAxis", testGatherAxis},
	{"Gemm", testGemm},
	{"Conv2d", testConv2d},
	{"LayerNorm", testLayerNorm},
	{"BatchNorm", testBatchNorm},
	{"Conv2dBatchNorm", testConv2dBatchNorm},
	{"MaxPool2d", testMaxPool2d},
	{"AdaptiveAvgPool2d", testAdaptiveAvgPool2d},
	{"Bilinear", testBilinear},
	{"Bernoulli", testBernoulli},
	{"AdamW", testAdamW},
}

// Run checks dev against the CPU device, one subtest per group of kernels.
func Run(t *testing.T, dev ag.Device) {
	t.Helper()
	for _, k := range kernels {
		t.Run(k.name, func(t *testing.T) {
			for _, err := range runKernel(dev, k.name, k.run) {
				t.Error(err)
			}
		})
	}
}

// Test checks dev against the CPU device and returns every mismatch, as
// testing/fstest.TestFS does, for callers outside a test (a device check
// script). It stops each group of kernels at its first failure.
func Test(dev ag.Device) error {
	var errs []error
	for _, k := range kernels {
		for _, err := range runKernel(dev, k.name, k.run) {
			errs = append(errs, fmt.Errorf("%s: %w", k.name, err))
		}
	}
	return errors.Join(errs...)
}

// runKernel runs one group on fresh inputs, turning a failed check or a
// panic in the device into an error, then synchronises the device.
func runKernel(dev ag.Device, name string, run func(*checker)) (errs []error) {
	c := &checker{dev: dev, ref: ag.CPU, rng: rand.New(rand.NewPCG(1, uint64(len(name))))}
	func() {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(stop); !ok {
					c.errs = append(c.errs, fmt.Errorf("panic: %v", r))
				}
			}
		}()
		run(c)
	}()
	if err := dev.Synchronize(); err != nil {
		c.errs = append(c.errs, fmt.Errorf("Synchronize: %w", err))
	}
	return c.errs
}

// stop is the panic value that ends a group after a failed check.
type stop struct{}

// checker holds the device under test, the reference and the inputs'
// random source.
type checker struct {
	dev, ref ag.Device
	rng      *rand.Rand
	errs     []error
}

// fatalf records a failure and ends the group.
func (c *checker) fatalf(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf(format, args...))
	panic(stop{})
}

// errorf records a failure and goes on.
func (c *checker) errorf(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf(format, args...))
}

// pair is the same values on the device under test and on the reference.
type pair struct{ dev, ref ag.Storage }

// upload copies host data to both devices.
func (c *checker) upload(data any) pair {
	d, err := c.dev.FromHost(data)
	if err != nil {
		c.fatalf("FromHost %T: %v", data, err)
	}
	r, err := c.ref.FromHost(data)
	if err != nil {
		c.fatalf("reference FromHost %T: %v", data, err)
	}
	return pair{d, r}
}

// uniform is n float32 values uniform in [lo, hi) on both devices.
func (c *checker) uniform(n int, lo, hi float64) pair {
	return c.upload(c.host(n, lo, hi))
}

func (c *checker) host(n int, lo, hi float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(lo + (hi-lo)*c.rng.Float64())
	}
	return v
}

// garbage is n float32 values that a kernel must overwrite: NaN on the
// device under test, a different value on the reference.
func (c *checker) garbage(n int) pair {
	d := make([]float32, n)
	r := make([]float32, n)
	for i := range d {
		d[i] = float32(math.NaN())
		r[i] = -7
	}
	p := c.upload(d)
	p.ref = c.upload(r).ref
	return p
}

// ints uploads int32 indices.
func (c *checker) ints(v []int32) pair { return c.upload(v) }

// randInts is n indices uniform in [0, k).
func (c *checker) randInts(n, k int) pair {
	v := make([]int32, n)
	for i := range v {
		v[i] = int32(c.rng.IntN(k))
	}
	return c.ints(v)
}

// nilPair stands for an absent optional argument.
var nilPair = pair{}

// same reports whether two results on the device under test hold the same
// bits.
func (c *checker) same(what string, a, b ag.Storage) {
	ga, err := c.dev.ToHost(a)
	if err != nil {
		c.fatalf("%s: ToHost: %v", what, err)
	}
	gb, err := c.dev.ToHost(b)
	if err != nil {
		c.fatalf("%s: ToHost: %v", what, err)
	}
	x, y := ga.([]float32), gb.([]float32)
	for i := range x {
		if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
			c.fatalf("%s: [%d] = %g, want %g", what, i, x[i], y[i])
		}
	}
}

// check compares the two results: exactly when tol is 0, else within tol
// relative to max(1, max |want|).
func (c *checker) check(what string, p pair, tol float64) {
	got, err := c.dev.ToHost(p.dev)
	if err != nil {
		c.fatalf("%s: ToHost: %v", what, err)
	}
	want, err := c.ref.ToHost(p.ref)
	if err != nil {
		c.fatalf("%s: reference ToHost: %v", what, err)
	}
	switch w := want.(type) {
	case []int32:
		g, ok := got.([]int32)
		if !ok || len(g) != len(w) {
			c.fatalf("%s: got %T of %d, want []int32 of %d", what, got, lenOf(got), len(w))
		}
		for i := range w {
			if g[i] != w[i] {
				c.fatalf("%s: [%d] = %d, want %d", what, i, g[i], w[i])
			}
		}
	case []float32:
		g, ok := got.([]float32)
		if !ok || len(g) != len(w) {
			c.fatalf("%s: got %T of %d, want []float32 of %d", what, got, lenOf(got), len(w))
		}
		scale := 1.0
		for _, v := range w {
			scale = math.Max(scale, math.Abs(float64(v)))
		}
		for i := range w {
			a, b := float64(g[i]), float64(w[i])
			if math.IsNaN(a) != math.IsNaN(b) || math.Abs(a-b) > tol*scale || (tol == 0 && a != b && !math.IsNaN(b)) {
				c.fatalf("%s: [%d] = %g, want %g (tolerance %g x %g)", what, i, a, b, tol, scale)
			}
		}
	case []float64:
		g, ok := got.([]float64)
		if !ok || len(g) != len(w) {
			c.fatalf("%s: got %T of %d, want []float64 of %d", what, got, lenOf(got), len(w))
		}
		for i := range w {
			if g[i] != w[i] && !(math.IsNaN(g[i]) && math.IsNaN(w[i])) {
				c.fatalf("%s: [%d] = %g, want %g", what, i, g[i], w[i])
			}
		}
	default:
		c.fatalf("%s: reference gave %T", what, want)
	}
}

func lenOf(v any) int {
	switch s := v.(type) {
	case []float32:
		return len(s)
	case []float64:
		return len(s)
	case []int32:
		return len(s)
	}
	return -1
}

func testTransfers(c *checker) {
	for _, n := range append([]int{0}, Sizes...) {
		c.check(fmt.Sprintf("float32 n=%d", n), c.uniform(n, -1, 1), 0)
		f64 := make([]float64, n)
		for i := range f64 {
			f64[i] = c.rng.NormFloat64()
		}
		c.check(fmt.Sprintf("float64 n=%d", n), c.upload(f64), 0)
		c.check(fmt.Sprintf("int32 n=%d", n), c.randInts(n, 1<<30), 0)
		s, err := c.dev.Alloc(ag.Int32, n)
		if err != nil {
			c.fatalf("Alloc int32 x %d: %v", n, err)
		}
		if s.Len() != n || s.DType() != ag.Int32 || s.Device() != c.dev {
			c.fatalf("Alloc int32 x %d: got %s x %d on %s", n, s.DType(), s.Len(), s.Device().Name())
		}
		c.dev.Release(s)
		// A second release must not hand the buffer out twice.
		c.dev.Release(s)
		a, errA := c.dev.Alloc(ag.Int32, n)
		b, errB := c.dev.Alloc(ag.Int32, n)
		if errA != nil || errB != nil {
			c.fatalf("Alloc int32 x %d after a double Release: %v, %v", n, errA, errB)
		}
		c.dev.Fill(a, 1)
		c.dev.Fill(b, 2)
		if h, err := c.dev.ToHost(a); err != nil {
			c.fatalf("ToHost: %v", err)
		} else if v := h.([]int32); n > 0 && (v[0] != 1 || v[n-1] != 1) {
			c.errorf("Release twice, then two Allocs of int32 x %d: they share a buffer (the first reads %d, %d after filling it with 1 and the second with 2)", n, v[0], v[n-1])
		}
		c.dev.Release(a)
		c.dev.Release(b)
	}
	if _, err := c.dev.FromHost([]int64{1}); err == nil {
		c.errorf("FromHost([]int64) did not fail")
	}
}

func testFill(c *checker) {
	for _, n := range Sizes {
		p := c.garbage(n)
		c.dev.Fill(p.dev, 0.25)
		c.ref.Fill(p.ref, 0.25)
		c.check(fmt.Sprintf("float32 n=%d", n), p, 0)
		q := c.randInts(n, 100)
		c.dev.Fill(q.dev, -3)
		c.ref.Fill(q.ref, -3)
		c.check(fmt.Sprintf("int32 n=%d", n), q, 0)
	}
}

func testCopy(c *checker) {
	for _, n := range Sizes {
		src := c.uniform(n, -40, 40)
		dst := c.garbage(n)
		c.dev.Copy(dst.dev, src.dev)
		c.ref.Copy(dst.ref, src.ref)
		c.check(fmt.Sprintf("float32 n=%d", n), dst, 0)
		// Conversions: float32 -> int32 truncates, int32 -> float32, float32 -> float64.
		i := c.randInts(n, 5)
		c.dev.Copy(i.dev, src.dev)
		c.ref.Copy(i.ref, src.ref)
		c.check(fmt.Sprintf("float32->int32 n=%d", n), i, 0)
		c.dev.Copy(dst.dev, i.dev)
		c.ref.Copy(dst.ref, i.ref)
		c.check(fmt.Sprintf("int32->float32 n=%d", n), dst, 0)
		d64 := c.upload(make([]float64, n))
		c.dev.Copy(d64.dev, src.dev)
		c.ref.Copy(d64.ref, src.ref)
		c.check(fmt.Sprintf("float32->float64 n=%d", n), d64, 0)
	}
}

func testAddTo(c *checker) {
	for _, n := range Sizes {
		dst, src := c.uniform(n, -1, 1), c.uniform(n, -1, 1)
		c.dev.AddTo(dst.dev, src.dev)
		c.ref.AddTo(dst.ref, src.ref)
		c.check(fmt.Sprintf("n=%d", n), dst, TolElementwise)
	}
}

// unaryCases are the ops with their alphas and input ranges.
var unaryCases = []struct {
	op     kernel.UnaryOp
	alpha  float64
	lo, hi float64
}{
	{kernel.Neg, 0, -3, 3}, {kernel.Exp, 0, -5, 5}, {kernel.Log, 0, 0.05, 4}, {kernel.Sqrt, 0, 0, 4},
	{kernel.Abs, 0, -3, 3}, {kernel.Tanh, 0, -6, 6}, {kernel.ReLU, 0, -3, 3}, {kernel.Sigmoid, 0, -12, 12},
	{kernel.SiLU, 0, -12, 12}, {kernel.GELU, 0, -6, 6}, {kernel.GELUTanh, 0, -6, 6},
	{kernel.AddScalar, 0.75, -3, 3}, {kernel.MulScalar, -1.5, -3, 3},
	{kernel.Pow, 2, -3, 3}, {kernel.Pow, 0.5, 0.01, 4}, {kernel.Pow, -0.5, 0.05, 4}, {kernel.Pow, 3, -2, 2}, {kernel.Pow, 1.7, 0.01, 3},
}

func testUnary(c *checker) {
	for _, u := range unaryCases {
		for _, n := range Sizes {
			x := c.uniform(n, u.lo, u.hi)
			y := c.garbage(n)
			c.dev.Unary(u.op, y.dev, x.dev, u.alpha)
			c.ref.Unary(u.op, y.ref, x.ref, u.alpha)
			c.check(fmt.Sprintf("%s(%g) n=%d", u.op, u.alpha, n), y, TolElementwise)
		}
	}
}

func testUnaryGrad(c *checker) {
	for _, u := range unaryCases {
		for _, n := range Sizes {
			xh := c.host(n, u.lo, u.hi)
			x := c.upload(xh)
			// y is the reference's op(x), the same on both devices.
			yr, _ := c.ref.FromHost(xh)
			c.ref.Unary(u.op, yr, x.ref, u.alpha)
			yh, _ := c.ref.ToHost(yr)
			y := c.upload(yh)
			dy := c.uniform(n, -1, 1)
			dx := c.garbage(n)
			c.dev.UnaryGrad(u.op, dx.dev, x.dev, y.dev, dy.dev, u.alpha)
			c.ref.UnaryGrad(u.op, dx.ref, x.ref, y.ref, dy.ref, u.alpha)
			c.check(fmt.Sprintf("%s(%g) n=%d", u.op, u.alpha, n), dx, TolElementwise)
		}
	}
}

// stridesOf are the contiguous row-major strides of shape.
func stridesOf(shape []int) []int {
	s := make([]int, len(shape))
	k := 1
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = k
		k *= shape[i]
	}
	return s
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

func testBinary(c *checker) {
	type operand struct {
		n       int
		strides []int
	}
	cases := []struct {
		name  string
		shape []int
		a, b  operand
	}{
		{"scalar", nil, operand{1, nil}, operand{1, nil}},
		{"same 255", []int{255}, operand{255, []int{1}}, operand{255, []int{1}}},
		{"row broadcast", []int{7, 33}, operand{7 * 33, []int{33, 1}}, operand{33, []int{0, 1}}},
		{"column broadcast", []int{17, 7}, operand{17 * 7, []int{7, 1}}, operand{17, []int{1, 0}}},
		{"scalar broadcast", []int{3, 5, 17}, operand{1, []int{0, 0, 0}}, operand{255, []int{85, 17, 1}}},
		{"transposed", []int{7, 17}, operand{7 * 17, []int{1, 7}}, operand{7 * 17, []int{17, 1}}},
		{"outer", []int{33, 1, 7}, operand{33, []int{1, 0, 0}}, operand{7, []int{0, 0, 1}}},
		{"4-d mixed", []int{2, 3, 5, 7}, operand{3 * 7, []int{0, 7, 0, 1}}, operand{2 * 5 * 7, []int{35, 0, 7, 1}}},
	}
	for _, op := range []kernel.BinaryOp{kernel.Add, kernel.Sub, kernel.Mul, kernel.Div} {
		for _, tc := range cases {
			a := c.uniform(tc.a.n, -2, 2)
			b := c.uniform(tc.b.n, 0.5, 2) // away from 0 for Div
			dst := c.garbage(numel(tc.shape))
			c.dev.Binary(op, dst.dev, a.dev, b.dev, tc.shape, tc.a.strides, tc.b.strides)
			c.ref.Binary(op, dst.ref, a.ref, b.ref, tc.shape, tc.a.strides, tc.b.strides)
			c.check(fmt.Sprintf("%s %s", op, tc.name), dst, TolElementwise)
		}
	}
}

// axisShapes are (outer, n, inner) splits of awkward sizes.
var axisShapes = [][3]int{{1, 1, 1}, {1, 255, 1}, {7, 17, 1}, {1, 33, 7}, {17, 7, 33}, {3, 1, 255}}

func testSumAxis(c *checker) {
	for _, s := range axisShapes {
		src := c.uniform(s[0]*s[1]*s[2], -1, 1)
		dst := c.garbage(s[0] * s[2])
		c.dev.SumAxis(dst.dev, src.dev, s[0], s[1], s[2], 0.5)
		c.ref.SumAxis(dst.ref, src.ref, s[0], s[1], s[2], 0.5)
		c.check(fmt.Sprintf("%v", s), dst, TolReduction)
	}
}

func testMaxAxis(c *checker) {
	for _, s := range axisShapes {
		src := c.uniform(s[0]*s[1]*s[2], -1, 1)
		dst := c.garbage(s[0] * s[2])
		arg := c.randInts(s[0]*s[2], 3)
		c.dev.MaxAxis(dst.dev, arg.dev, src.dev, s[0], s[1], s[2])
		c.ref.MaxAxis(dst.ref, arg.ref, src.ref, s[0], s[1], s[2])
		c.check(fmt.Sprintf("max %v", s), dst, 0)
		c.check(fmt.Sprintf("argmax %v", s), arg, 0)
		dy := c.uniform(s[0]*s[2], -1, 1)
		dx := c.garbage(s[0] * s[1] * s[2])
		c.dev.MaxAxisGrad(dx.dev, dy.dev, arg.dev, s[0], s[1], s[2])
		c.ref.MaxAxisGrad(dx.ref, dy.ref, arg.ref, s[0], s[1], s[2])
		c.check(fmt.Sprintf("grad %v", s), dx, 0)
	}
}

func testSoftmax(c *checker) {
	for _, log := range []bool{false, true} {
		for _, s := range axisShapes {
			n := s[0] * s[1] * s[2]
			src := c.uniform(n, -8, 8)
			y := c.garbage(n)
			c.dev.Softmax(y.dev, src.dev, s[0], s[1], s[2], log)
			c.ref.Softmax(y.ref, src.ref, s[0], s[1], s[2], log)
			c.check(fmt.Sprintf("log=%v %v", log, s), y, TolReduction)
			yh, _ := c.ref.ToHost(y.ref)
			ys := c.upload(yh)
			dy := c.uniform(n, -1, 1)
			dx := c.garbage(n)
			c.dev.SoftmaxGrad(dx.dev, ys.dev, dy.dev, s[0], s[1], s[2], log)
			c.ref.SoftmaxGrad(dx.ref, ys.ref, dy.ref, s[0], s[1], s[2], log)
			c.check(fmt.Sprintf("grad log=%v %v", log, s), dx, TolReduction)
		}
	}
}

func testGatherScatter(c *checker) {
	cases := []struct {
		name    string
		srcLen  int
		shape   []int
		strides []int
		offset  int
	}{
		{"contiguous", 255, []int{255}, []int{1}, 0},
		{"permute", 7 * 17, []int{17, 7}, []int{1, 17}, 0},
		{"slice", 33 * 17, []int{5, 7}, []int{33, 2}, 40},
		{"expand", 7, []int{17, 7}, []int{0, 1}, 0},
		{"3-d permute", 2 * 3 * 33, []int{33, 2, 3}, []int{1, 99, 33}, 0},
		{"scalar", 9, nil, nil, 4},
	}
	for _, tc := range cases {
		src := c.uniform(tc.srcLen, -1, 1)
		dst := c.garbage(numel(tc.shape))
		c.dev.Gather(dst.dev, src.dev, tc.shape, tc.strides, tc.offset)
		c.ref.Gather(dst.ref, src.ref, tc.shape, tc.strides, tc.offset)
		c.check("gather "+tc.name, dst, 0)
		if hasZero(tc.strides) {
			continue // Scatter's positions must not overlap
		}
		for _, add := range []bool{false, true} {
			base := c.host(tc.srcLen, -1, 1)
			into := c.upload(base)
			vals := c.uniform(numel(tc.shape), -1, 1)
			c.dev.Scatter(into.dev, vals.dev, tc.shape, tc.strides, tc.offset, add)
			c.ref.Scatter(into.ref, vals.ref, tc.shape, tc.strides, tc.offset, add)
			c.check(fmt.Sprintf("scatter add=%v %s", add, tc.name), into, TolElementwise)
		}
	}
}

func hasZero(s []int) bool {
	for _, v := range s {
		if v == 0 {
			return true
		}
	}
	return false
}

func testIndexSelect(c *checker) {
	for _, s := range [][4]int{{1, 1, 1, 1}, {1, 17, 7, 33}, {7, 5, 33, 1}, {3, 255, 17, 2}, {2, 3, 255, 7}} {
		outer, n, k, inner := s[0], s[1], s[2], s[3]
		src := c.uniform(outer*n*inner, -1, 1)
		idx := c.randInts(k, n) // with repeats
		dst := c.garbage(outer * k * inner)
		c.dev.IndexSelect(dst.dev, src.dev, idx.dev, outer, n, inner)
		c.ref.IndexSelect(dst.ref, src.ref, idx.ref, outer, n, inner)
		c.check(fmt.Sprintf("select %v", s), dst, 0)
		dy := c.uniform(outer*k*inner, -1, 1)
		dx := c.uniform(outer*n*inner, -1, 1)
		c.dev.IndexAdd(dx.dev, dy.dev, idx.dev, outer, n, inner)
		c.ref.IndexAdd(dx.ref, dy.ref, idx.ref, outer, n, inner)
		c.check(fmt.Sprintf("add %v", s), dx, TolReduction)
	}
}

func testGatherAxis(c *checker) {
	for _, s := range [][4]int{{1, 1, 1, 1}, {7, 17, 1, 1}, {5, 33, 7, 3}, {1, 255, 17, 2}, {17, 3, 5, 7}} {
		outer, n, k, inner := s[0], s[1], s[2], s[3]
		src := c.uniform(outer*n*inner, -1, 1)
		idx := c.randInts(outer*k*inner, n)
		dst := c.garbage(outer * k * inner)
		c.dev.GatherAxis(dst.dev, src.dev, idx.dev, outer, n, k, inner)
		c.ref.GatherAxis(dst.ref, src.ref, idx.ref, outer, n, k, inner)
		c.check(fmt.Sprintf("gather %v", s), dst, 0)
		dy := c.uniform(outer*k*inner, -1, 1)
		dx := c.uniform(outer*n*inner, -1, 1)
		c.dev.GatherAxisAdd(dx.dev, dy.dev, idx.dev, outer, n, k, inner)
		c.ref.GatherAxisAdd(dx.ref, dy.ref, idx.ref, outer, n, k, inner)
		c.check(fmt.Sprintf("add %v", s), dx, TolReduction)
	}
}

func testGemm(c *checker) {
	cases := []struct {
		batch, m, n, k int
		broadA, broadB bool
		alpha, beta    float64
	}{
		{1, 1, 1, 1, false, false, 1, 0},
		{1, 7, 17, 33, false, false, 1, 0},
		{1, 255, 7, 17, false, false, 0.5, 1},
		{3, 33, 17, 255, false, false, 1, 0},
		{5, 17, 33, 7, false, true, 1, 0},
		{4, 7, 1, 255, true, false, -1, 0.5},
		{2, 64, 64, 64, false, false, 1, 0},
	}
	for _, tc := range cases {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				sa, sb := tc.m*tc.k, tc.k*tc.n
				la, lb := tc.batch*sa, tc.batch*sb
				if tc.broadA {
					sa, la = 0, tc.m*tc.k
				}
				if tc.broadB {
					sb, lb = 0, tc.k*tc.n
				}
				a, b := c.uniform(la, -1, 1), c.uniform(lb, -1, 1)
				var out pair
				if tc.beta == 0 {
					out = c.garbage(tc.batch * tc.m * tc.n)
				} else {
					out = c.uniform(tc.batch*tc.m*tc.n, -1, 1)
				}
				c.dev.Gemm(ta, tb, tc.batch, tc.m, tc.n, tc.k, tc.alpha, a.dev, sa, b.dev, sb, tc.beta, out.dev)
				c.ref.Gemm(ta, tb, tc.batch, tc.m, tc.n, tc.k, tc.alpha, a.ref, sa, b.ref, sb, tc.beta, out.ref)
				c.check(fmt.Sprintf("%+v transA=%v transB=%v", tc, ta, tb), out, TolReduction)
			}
		}
	}
}

// convCases cover every geometry kind: general, strided, padded, dilated,
// grouped, depthwise (with a channel multiplier), pointwise, strided 1x1,
// non-square kernels and an empty batch.
var convCases = []struct {
	name string
	s    kernel.ConvShape
}{
	{"general 3x3", kernel.ConvShape{N: 2, C: 3, H: 7, W: 7, O: 5, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1, Groups: 1}},
	{"stride 2 odd", kernel.ConvShape{N: 1, C: 4, H: 17, W: 17, O: 7, KH: 3, KW: 3, SH: 2, SW: 2, PH: 1, PW: 1, DH: 1, DW: 1, Groups: 1}},
	{"patchify", kernel.ConvShape{N: 2, C: 3, H: 16, W: 16, O: 8, KH: 4, KW: 4, SH: 4, SW: 4, DH: 1, DW: 1, Groups: 1}},
	{"7x7 stride 2 pad 3", kernel.ConvShape{N: 1, C: 3, H: 33, W: 33, O: 4, KH: 7, KW: 7, SH: 2, SW: 2, PH: 3, PW: 3, DH: 1, DW: 1, Groups: 1}},
	{"dilated", kernel.ConvShape{N: 1, C: 2, H: 9, W: 11, O: 3, KH: 3, KW: 3, SH: 1, SW: 1, PH: 2, PW: 2, DH: 2, DW: 2, Groups: 1}},
	{"grouped", kernel.ConvShape{N: 2, C: 6, H: 7, W: 5, O: 9, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1, Groups: 3}},
	{"depthwise 3x3", kernel.ConvShape{N: 2, C: 8, H: 9, W: 9, O: 8, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1, Groups: 8}},
	{"depthwise 7x7", kernel.ConvShape{N: 1, C: 5, H: 14, W: 14, O: 5, KH: 7, KW: 7, SH: 1, SW: 1, PH: 3, PW: 3, DH: 1, DW: 1, Groups: 5}},
	{"depthwise stride 2 multiplier 2", kernel.ConvShape{N: 1, C: 4, H: 17, W: 17, O: 8, KH: 5, KW: 5, SH: 2, SW: 2, PH: 2, PW: 2, DH: 1, DW: 1, Groups: 4}},
	{"pointwise", kernel.ConvShape{N: 2, C: 17, H: 5, W: 7, O: 33, KH: 1, KW: 1, SH: 1, SW: 1, DH: 1, DW: 1, Groups: 1}},
	{"1x1 stride 2", kernel.ConvShape{N: 1, C: 7, H: 9, W: 9, O: 5, KH: 1, KW: 1, SH: 2, SW: 2, DH: 1, DW: 1, Groups: 1}},
	{"non-square", kernel.ConvShape{N: 1, C: 2, H: 8, W: 13, O: 3, KH: 1, KW: 5, SH: 1, SW: 2, PH: 0, PW: 2, DH: 1, DW: 1, Groups: 1}},
	{"empty batch", kernel.ConvShape{N: 0, C: 2, H: 5, W: 5, O: 3, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1, Groups: 1}},
}

func testConv2d(c *checker) {
	for _, tc := range convCases {
		s := tc.s
		if err := s.Validate(); err != nil {
			c.fatalf("%s: %v", tc.name, err)
		}
		oh, ow := s.OutHW()
		nx, nw, ny := s.N*s.C*s.H*s.W, s.O*(s.C/s.Groups)*s.KH*s.KW, s.N*s.O*oh*ow
		x, w, b := c.uniform(nx, -1, 1), c.uniform(nw, -1, 1), c.uniform(s.O, -1, 1)
		for _, bias := range []pair{b, nilPair} {
			y := c.garbage(ny)
			c.dev.Conv2d(s, x.dev, w.dev, bias.dev, y.dev)
			c.ref.Conv2d(s, x.ref, w.ref, bias.ref, y.ref)
			c.check(fmt.Sprintf("%s forward bias=%v", tc.name, bias.dev != nil), y, TolReduction)
		}
		dy := c.uniform(ny, -1, 1)
		dx := c.garbage(nx)
		c.dev.Conv2dBackwardData(s, dy.dev, w.dev, dx.dev)
		c.ref.Conv2dBackwardData(s, dy.ref, w.ref, dx.ref)
		c.check(tc.name+" backward data", dx, TolReduction)
		dw := c.garbage(nw)
		c.dev.Conv2dBackwardWeight(s, x.dev, dy.dev, dw.dev)
		c.ref.Conv2dBackwardWeight(s, x.ref, dy.ref, dw.ref)
		c.check(tc.name+" backward weight", dw, TolReduction)
		db := c.garbage(s.O)
		c.dev.Conv2dBackwardBias(s, dy.dev, db.dev)
		c.ref.Conv2dBackwardBias(s, dy.ref, db.ref)
		c.check(tc.name+" backward bias", db, TolReduction)
	}
}

func testLayerNorm(c *checker) {
	for _, s := range [][3]int{{1, 1, 1}, {7, 33, 1}, {17, 255, 1}, {2, 17, 7}, {3, 7, 33}} {
		outer, n, inner := s[0], s[1], s[2]
		size := outer * n * inner
		x := c.uniform(size, -3, 3)
		for _, affine := range []bool{true, false} {
			w, b := nilPair, nilPair
			if affine {
				w, b = c.uniform(n, 0.5, 1.5), c.uniform(n, -1, 1)
			}
			y, mean, rstd := c.garbage(size), c.garbage(outer*inner), c.garbage(outer*inner)
			c.dev.LayerNorm(y.dev, x.dev, w.dev, b.dev, mean.dev, rstd.dev, outer, n, inner, 1e-5)
			c.ref.LayerNorm(y.ref, x.ref, w.ref, b.ref, mean.ref, rstd.ref, outer, n, inner, 1e-5)
			name := fmt.Sprintf("%v affine=%v", s, affine)
			c.check(name+" y", y, TolReduction)
			c.check(name+" mean", mean, TolReduction)
			c.check(name+" rstd", rstd, TolReduction)
			dy := c.uniform(size, -1, 1)
			dx := c.garbage(size)
			dw, db := nilPair, nilPair
			if affine {
				dw, db = c.uniform(n, -1, 1), c.uniform(n, -1, 1) // accumulated into
			}
			c.dev.LayerNormGrad(dx.dev, dw.dev, db.dev, x.dev, w.dev, dy.dev, mean.ref2(c), rstd.ref2(c), outer, n, inner)
			c.ref.LayerNormGrad(dx.ref, dw.ref, db.ref, x.ref, w.ref, dy.ref, mean.ref, rstd.ref, outer, n, inner)
			c.check(name+" dx", dx, TolReduction)
			if affine {
				c.check(name+" dw", dw, TolReduction)
				c.check(name+" db", db, TolReduction)
			}
		}
	}
}

// ref2 is the reference's values of p uploaded to the device under test,
// so that a backward kernel sees exactly the statistics the reference saw.
func (p pair) ref2(c *checker) ag.Storage {
	h, err := c.ref.ToHost(p.ref)
	if err != nil {
		c.fatalf("reference ToHost: %v", err)
	}
	return c.upload(h).dev
}

func testBatchNorm(c *checker) {
	for _, s := range [][3]int{{2, 1, 1}, {7, 3, 17}, {2, 33, 7}, {17, 5, 1}, {3, 7, 255}} {
		outer, ch, inner := s[0], s[1], s[2]
		size := outer * ch * inner
		x := c.uniform(size, -3, 3)
		w, b := c.uniform(ch, 0.5, 1.5), c.uniform(ch, -1, 1)
		for _, run := range []struct {
			training bool
			act      kernel.Activation
			residual bool
		}{
			{true, kernel.Identity, false}, {false, kernel.Identity, false}, {true, kernel.ActReLU, false},
			{true, kernel.ActSiLU, false}, {false, kernel.ActSiLU, false},
			{true, kernel.ActReLU, true}, {false, kernel.ActReLU, true}, {true, kernel.Identity, true},
		} {
			training, act := run.training, run.act
			rm, rv := c.uniform(ch, -0.5, 0.5), c.uniform(ch, 0.5, 2)
			y, mean, rstd := c.garbage(size), c.garbage(ch), c.garbage(ch)
			var resDev, resRef ag.Storage
			if run.residual {
				res := c.uniform(size, -2, 2)
				resDev, resRef = res.dev, res.ref
			}
			c.dev.BatchNorm(y.dev, x.dev, w.dev, b.dev, resDev, rm.dev, rv.dev, mean.dev, rstd.dev, outer, ch, inner, training, 0.1, 1e-5, act)
			c.ref.BatchNorm(y.ref, x.ref, w.ref, b.ref, resRef, rm.ref, rv.ref, mean.ref, rstd.ref, outer, ch, inner, training, 0.1, 1e-5, act)
			name := fmt.Sprintf("%v training=%v act=%v residual=%v", s, training, act, run.residual)
			c.check(name+" y", y, TolReduction)
			c.check(name+" running mean", rm, TolReduction)
			c.check(name+" running var", rv, TolReduction)
			if !training || run.residual {
				// Eval mode reads the running statistics; the saved ones are
				// only defined in training. The op differentiates a residual
				// sum through its output, not through BatchNormGrad.
				continue
			}
			c.check(name+" mean", mean, TolReduction)
			c.check(name+" rstd", rstd, TolReduction)
			dy := c.uniform(size, -1, 1)
			dx := c.garbage(size)
			dw, db := c.uniform(ch, -1, 1), c.uniform(ch, -1, 1)
			c.dev.BatchNormGrad(dx.dev, dw.dev, db.dev, x.dev, w.dev, b.dev, dy.dev, mean.ref2(c), rstd.ref2(c), outer, ch, inner, training, act)
			c.ref.BatchNormGrad(dx.ref, dw.ref, db.ref, x.ref, w.ref, b.ref, dy.ref, mean.ref, rstd.ref, outer, ch, inner, training, act)
			c.check(name+" dx", dx, TolReduction)
			c.check(name+" dw", dw, TolReduction)
			c.check(name+" db", db, TolReduction)
		}
	}
}

// testConv2dBatchNorm checks the fused convolution and eval-mode batch
// norm against the reference, and bit for bit against the device's own
// Conv2d followed by BatchNorm, which it promises to equal.
func testConv2dBatchNorm(c *checker) {
	for _, tc := range convCases {
		s := tc.s
		oh, ow := s.OutHW()
		nx, nw, ny := s.N*s.C*s.H*s.W, s.O*(s.C/s.Groups)*s.KH*s.KW, s.N*s.O*oh*ow
		x, w, b := c.uniform(nx, -1, 1), c.uniform(nw, -1, 1), c.uniform(s.O, -1, 1)
		bw, bb := c.uniform(s.O, 0.5, 1.5), c.uniform(s.O, -1, 1)
		rm, rv := c.uniform(s.O, -0.5, 0.5), c.uniform(s.O, 0.5, 2)
		for _, run := range []struct {
			bias, affine, residual bool
			act                    kernel.Activation
		}{
			{false, true, false, kernel.Identity}, {true, true, false, kernel.ActSiLU}, {false, false, false, kernel.ActReLU},
			{false, true, true, kernel.ActReLU}, {true, false, true, kernel.Identity},
		} {
			bias, nw, nb, res := nilPair, nilPair, nilPair, nilPair
			if run.bias {
				bias = b
			}
			if run.affine {
				nw, nb = bw, bb
			}
			if run.residual {
				res = c.uniform(ny, -2, 2)
			}
			name := fmt.Sprintf("%s bias=%v affine=%v residual=%v act=%v", tc.name, run.bias, run.affine, run.residual, run.act)
			y := c.garbage(ny)
			c.dev.Conv2dBatchNorm(s, x.dev, w.dev, bias.dev, y.dev, nw.dev, nb.dev, res.dev, rm.dev, rv.dev, 1e-5, run.act)
			c.ref.Conv2dBatchNorm(s, x.ref, w.ref, bias.ref, y.ref, nw.ref, nb.ref, res.ref, rm.ref, rv.ref, 1e-5, run.act)
			c.check(name, y, TolReduction)
			tmp, two, mean, rstd := c.garbage(ny), c.garbage(ny), c.garbage(s.O), c.garbage(s.O)
			c.dev.Conv2d(s, x.dev, w.dev, bias.dev, tmp.dev)
			c.dev.BatchNorm(two.dev, tmp.dev, nw.dev, nb.dev, res.dev, rm.dev, rv.dev, mean.dev, rstd.dev, s.N, s.O, oh*ow, false, 0.1, 1e-5, run.act)
			c.same(name+" against Conv2d then BatchNorm", y.dev, two.dev)
		}
	}
}

func testMaxPool2d(c *checker) {
	cases := []kernel.PoolShape{
		{Planes: 3, H: 7, W: 7, KH: 3, KW: 3, SH: 2, SW: 2, PH: 1, PW: 1, DH: 1, DW: 1},
		{Planes: 1, H: 1, W: 1, KH: 1, KW: 1, SH: 1, SW: 1, DH: 1, DW: 1},
		{Planes: 5, H: 17, W: 33, KH: 2, KW: 2, SH: 2, SW: 2, DH: 1, DW: 1},
		{Planes: 2, H: 6, W: 6, KH: 3, KW: 3, SH: 2, SW: 2, DH: 1, DW: 1}, // ceil mode: 3x3
		{Planes: 2, H: 11, W: 9, KH: 3, KW: 2, SH: 1, SW: 2, PH: 1, PW: 1, DH: 2, DW: 1},
	}
	for i, s := range cases {
		oh := (s.H+2*s.PH-s.DH*(s.KH-1)-1)/s.SH + 1
		ow := (s.W+2*s.PW-s.DW*(s.KW-1)-1)/s.SW + 1
		s.OH, s.OW = oh, ow
		if i == 3 {
			s.OH, s.OW = 3, 3
		}
		if err := s.ValidateWindow(); err != nil {
			c.fatalf("case %d: %v", i, err)
		}
		x := c.uniform(s.Planes*s.H*s.W, -1, 1)
		y, arg := c.garbage(s.Planes*s.OH*s.OW), c.randInts(s.Planes*s.OH*s.OW, 3)
		c.dev.MaxPool2d(s, y.dev, arg.dev, x.dev)
		c.ref.MaxPool2d(s, y.ref, arg.ref, x.ref)
		c.check(fmt.Sprintf("%+v y", s), y, 0)
		c.check(fmt.Sprintf("%+v arg", s), arg, 0)
		dy := c.uniform(s.Planes*s.OH*s.OW, -1, 1)
		dx := c.garbage(s.Planes * s.H * s.W)
		c.dev.MaxPool2dGrad(s, dx.dev, dy.dev, arg.dev)
		c.ref.MaxPool2dGrad(s, dx.ref, dy.ref, arg.ref)
		c.check(fmt.Sprintf("%+v grad", s), dx, TolReduction)
	}
}

// resampleCases shrink, grow and keep sizes, divisibly and not.
var resampleCases = []kernel.PoolShape{
	{Planes: 3, H: 7, W: 7, OH: 1, OW: 1},
	{Planes: 2, H: 17, W: 33, OH: 7, OW: 5},
	{Planes: 1, H: 1, W: 1, OH: 7, OW: 17},
	{Planes: 4, H: 5, W: 7, OH: 17, OW: 9},
	{Planes: 2, H: 14, W: 14, OH: 7, OW: 7},
	{Planes: 1, H: 9, W: 9, OH: 9, OW: 9},
}

func testAdaptiveAvgPool2d(c *checker) {
	for _, s := range resampleCases {
		x := c.uniform(s.Planes*s.H*s.W, -1, 1)
		y := c.garbage(s.Planes * s.OH * s.OW)
		c.dev.AdaptiveAvgPool2d(s, y.dev, x.dev)
		c.ref.AdaptiveAvgPool2d(s, y.ref, x.ref)
		c.check(fmt.Sprintf("%+v", s), y, TolReduction)
		dy := c.uniform(s.Planes*s.OH*s.OW, -1, 1)
		dx := c.garbage(s.Planes * s.H * s.W)
		c.dev.AdaptiveAvgPool2dGrad(s, dx.dev, dy.dev)
		c.ref.AdaptiveAvgPool2dGrad(s, dx.ref, dy.ref)
		c.check(fmt.Sprintf("%+v grad", s), dx, TolReduction)
	}
}

func testBilinear(c *checker) {
	for _, align := range []bool{false, true} {
		for _, s := range resampleCases {
			x := c.uniform(s.Planes*s.H*s.W, -1, 1)
			y := c.garbage(s.Planes * s.OH * s.OW)
			c.dev.Bilinear(s, y.dev, x.dev, align)
			c.ref.Bilinear(s, y.ref, x.ref, align)
			c.check(fmt.Sprintf("%+v align=%v", s, align), y, TolReduction)
			dy := c.uniform(s.Planes*s.OH*s.OW, -1, 1)
			dx := c.garbage(s.Planes * s.H * s.W)
			c.dev.BilinearGrad(s, dx.dev, dy.dev, align)
			c.ref.BilinearGrad(s, dx.ref, dy.ref, align)
			c.check(fmt.Sprintf("%+v align=%v grad", s, align), dx, TolReduction)
		}
	}
}

func testBernoulli(c *checker) {
	for _, n := range append(Sizes, 4096+3) {
		for _, tc := range []struct {
			seed, offset uint64
			p, value     float64
		}{
			{0, 0, 0.5, 1}, {42, 7, 0.9, 1 / 0.9}, {0xdeadbeefcafe, 1<<40 + 3, 0.1, 10}, {3, ^uint64(0) - 1, 0.7, 2},
		} {
			dst := c.garbage(n)
			c.dev.Bernoulli(dst.dev, tc.seed, tc.offset, tc.p, tc.value)
			c.ref.Bernoulli(dst.ref, tc.seed, tc.offset, tc.p, tc.value)
			name := fmt.Sprintf("n=%d %+v", n, tc)
			c.check(name, dst, 0)
			// And against the definition, element by element.
			got, _ := c.dev.ToHost(dst.dev)
			for i, v := range got.([]float32) {
				want := float32(0)
				if cpu.PhiloxUniform(tc.seed, tc.offset, i) < tc.p {
					want = float32(tc.value)
				}
				if v != want {
					c.fatalf("%s: [%d] = %g, want %g", name, i, v, want)
				}
			}
		}
	}
}

func testAdamW(c *checker) {
	for _, n := range Sizes {
		for _, step := range []int{1, 2, 1000} {
			p, g := c.uniform(n, -1, 1), c.uniform(n, -1, 1)
			m, v := c.uniform(n, -0.1, 0.1), c.uniform(n, 0, 0.01)
			o := kernel.AdamW{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.02, Step: step}
			c.dev.AdamW(p.dev, g.dev, m.dev, v.dev, o)
			c.ref.AdamW(p.ref, g.ref, m.ref, v.ref, o)
			name := fmt.Sprintf("n=%d step=%d", n, step)
			c.check(name+" p", p, TolElementwise)
			c.check(name+" m", m, TolElementwise)
			c.check(name+" v", v, TolElementwise)
		}
	}
}
