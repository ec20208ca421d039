package cpu

import (
	"math"
	"testing"
)

// TestGELUFloat32 compares the float32 GELU with the float64 one. The
// worst case, about 1.1e-6 absolute, is near x = -4, where 1 + erf cancels;
// it is far inside the 1e-4 relative tolerance of the goldens.
func TestGELUFloat32(t *testing.T) {
	n := 200001
	x32 := make([]float32, n)
	x64 := make([]float64, n)
	for i := range x32 {
		x32[i] = float32(-10 + 20*float64(i)/float64(n-1))
		x64[i] = float64(x32[i])
	}
	y32 := make([]float32, n)
	y64 := make([]float64, n)
	Unary(GELU, y32, x32, 0)
	Unary(GELU, y64, x64, 0)
	var worst float64
	for i := range y32 {
		worst = max(worst, math.Abs(float64(y32[i])-y64[i])/max(1, math.Abs(y64[i])))
	}
	if worst > 2e-6 {
		t.Errorf("float32 GELU differs from float64 by %g (relative to max(1, |y|))", worst)
	}
	if e := erfFloat32(float32(math.Inf(1))); e != 1 {
		t.Errorf("erf(+Inf) = %g", e)
	}
}

// TestSoftmaxRowsFloat32 compares the float32 row softmax with the
// general float64 kernel.
func TestSoftmaxRowsFloat32(t *testing.T) {
	rows, n := 7, 197
	x32 := make([]float32, rows*n)
	x64 := make([]float64, rows*n)
	for i := range x32 {
		x32[i] = float32(math.Sin(float64(i))*20 + float64(i%5))
		x64[i] = float64(x32[i])
	}
	y32 := make([]float32, rows*n)
	y64 := make([]float64, rows*n)
	Softmax(y32, x32, rows, n, 1, false)
	Softmax(y64, x64, rows, n, 1, false)
	for i := range y32 {
		if d := math.Abs(float64(y32[i]) - y64[i]); d > 1e-6*max(y64[i], 1e-3) {
			t.Fatalf("element %d: %g, want %g", i, y32[i], y64[i])
		}
	}
}

// TestSigmoidSiLUFloat32 checks the float32 paths against float64,
// including the overflowing tails.
func TestSigmoidSiLUFloat32(t *testing.T) {
	x := []float32{-1000, -100, -88, -20, -1, -1e-8, 0, 1e-8, 1, 20, 88, 100, 1000}
	x64 := make([]float64, len(x))
	for i, v := range x {
		x64[i] = float64(v)
	}
	for _, op := range []UnaryOp{Sigmoid, SiLU} {
		y := make([]float32, len(x))
		y64 := make([]float64, len(x))
		Unary(op, y, x, 0)
		Unary(op, y64, x64, 0)
		for i := range y {
			if d := math.Abs(float64(y[i]) - y64[i]); d > 1e-7*max(1, math.Abs(y64[i])) || math.IsNaN(float64(y[i])) {
				t.Errorf("%v(%g) = %g, want %g", op, x[i], y[i], y64[i])
			}
		}
	}
}
