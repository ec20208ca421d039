package cpu

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestNormLoopsAgree checks the batch norm's element loops (the affine
// forward and the input-gradient pass) against float64 on awkward sizes,
// with the assembly kernels and with the Go loops.
func TestNormLoopsAgree(t *testing.T) {
	saved := actUseAsm
	defer func() { actUseAsm = saved }()
	r := rand.New(rand.NewPCG(7, 8))
	for _, asm := range []bool{true, false} {
		actUseAsm = asm && saved
		for _, n := range []int{1, 7, 16, 17, 33, 255, 1000} {
			x, g := gemmRandSlice[float32](r, n), gemmRandSlice[float32](r, n)
			y, dx := make([]float32, n), make([]float32, n)
			const sc, sh, a, b, m, c = 1.7, -0.3, 0.9, -0.25, 0.4, 0.05
			normAffine(y, x, float32(sc), float32(sh))
			normGrad(dx, g, x, float32(a), float32(b), float32(m), float32(c))
			for i := range n {
				wantY := float64(x[i])*sc + sh
				wantDx := a*float64(g[i]) + b*(float64(x[i])-m) + c
				for _, chk := range []struct {
					what      string
					got, want float64
				}{{"affine", float64(y[i]), wantY}, {"grad", float64(dx[i]), wantDx}} {
					if math.Abs(chk.got-chk.want) > 1e-6*(1+math.Abs(chk.want)) {
						t.Fatalf("%s asm=%v n=%d [%d]: %g, want %g", chk.what, actUseAsm, n, i, chk.got, chk.want)
					}
				}
			}
		}
	}
}

// TestMaxISA checks VERTEBRA_CPU_ISA's values; an unknown one is ignored
// (with a warning) rather than capping anything.
func TestMaxISA(t *testing.T) {
	for _, tc := range []struct{ env, want string }{{"", ""}, {"avx2", "avx2"}, {"go", "go"}, {"avx512", "avx512"}, {"sse", ""}} {
		t.Setenv("VERTEBRA_CPU_ISA", tc.env)
		if got := maxISA(); got != tc.want {
			t.Errorf("VERTEBRA_CPU_ISA=%q: %q, want %q", tc.env, got, tc.want)
		}
	}
}

// TestNormSumsAgree checks the float64 reductions of the norms (sum, sum
// of squared deviations, and the gradient's two sums) with the assembly
// kernels and with the Go loops, on awkward lengths.
func TestNormSumsAgree(t *testing.T) {
	saved := actUseAsm
	defer func() { actUseAsm = saved }()
	r := rand.New(rand.NewPCG(9, 10))
	for _, asm := range []bool{true, false} {
		actUseAsm = asm && saved
		for _, n := range []int{1, 7, 8, 15, 16, 17, 33, 255, 4097} {
			x, g := gemmRandSlice[float32](r, n), gemmRandSlice[float32](r, n)
			const m = 0.3
			var s, sq, sg, sgx float64
			for i := range n {
				s += float64(x[i])
				sq += (float64(x[i]) - m) * (float64(x[i]) - m)
				sg += float64(g[i])
				sgx += float64(g[i]) * (float64(x[i]) - m)
			}
			gotSg, gotSgx := normSumDot(g, x, m)
			for _, c := range []struct {
				what      string
				got, want float64
			}{{"sum", normSum(x), s}, {"sqdev", normSqDev(x, m), sq}, {"sum g", gotSg, sg}, {"sum g(x-m)", gotSgx, sgx}} {
				if math.Abs(c.got-c.want) > 1e-12*(1+math.Abs(c.want)) {
					t.Errorf("%s asm=%v n=%d: %.17g, want %.17g", c.what, actUseAsm, n, c.got, c.want)
				}
			}
		}
	}
}

// TestLayerNormRowsAgree checks the float32 layer norm over contiguous
// rows (the vectorised path) and its gradients against the float64
// kernels on awkward sizes.
func TestLayerNormRowsAgree(t *testing.T) {
	if !actUseAsm {
		t.Skip("no assembly row kernels on this machine or build")
	}
	r := rand.New(rand.NewPCG(11, 12))
	f64 := func(s []float32) []float64 {
		d := make([]float64, len(s))
		for i, v := range s {
			d[i] = float64(v)
		}
		return d
	}
	for _, rows := range []int{1, 7, 17, 33} {
		for _, n := range []int{1, 7, 17, 33, 255, 768} {
			x, dy := gemmRandSlice[float32](r, rows*n), gemmRandSlice[float32](r, rows*n)
			w, b := gemmRandSlice[float32](r, n), gemmRandSlice[float32](r, n)
			y, mean, rstd := make([]float32, rows*n), make([]float32, rows), make([]float32, rows)
			dx, dw, db := make([]float32, rows*n), make([]float32, n), make([]float32, n)
			LayerNorm(y, x, w, b, mean, rstd, rows, n, 1, 1e-5)
			LayerNormGrad(dx, dw, db, x, w, dy, mean, rstd, rows, n, 1)
			y64, mean64, rstd64 := make([]float64, rows*n), make([]float64, rows), make([]float64, rows)
			dx64, dw64, db64 := make([]float64, rows*n), make([]float64, n), make([]float64, n)
			LayerNorm(y64, f64(x), f64(w), f64(b), mean64, rstd64, rows, n, 1, 1e-5)
			LayerNormGrad(dx64, dw64, db64, f64(x), f64(w), f64(dy), mean64, rstd64, rows, n, 1)
			for _, c := range []struct {
				what string
				got  []float32
				want []float64
			}{{"y", y, y64}, {"mean", mean, mean64}, {"rstd", rstd, rstd64}, {"dx", dx, dx64}, {"dw", dw, dw64}, {"db", db, db64}} {
				for i := range c.want {
					if d := math.Abs(float64(c.got[i]) - c.want[i]); d > 1e-5*(1+math.Abs(c.want[i])) {
						t.Fatalf("rows %d, n %d: %s[%d] = %g, float64 %g", rows, n, c.what, i, c.got[i], c.want[i])
					}
				}
			}
		}
	}
}
