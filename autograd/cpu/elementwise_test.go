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
