package cpu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vertebra-ml/vertebra/autograd/kernel"
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

// TestSoftmaxRowsAgree checks the float32 softmax over contiguous rows and
// its gradient (the vectorised paths) against float64 on awkward lengths,
// and that rows with NaN or infinities give PyTorch's results.
func TestSoftmaxRowsAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, n := range []int{1, 7, 8, 17, 33, 49, 197, 255} {
		const rows = 5
		x := gemmRandSlice[float32](r, rows*n)
		for i := range x {
			x[i] *= 30 // exponents far from 0, both ways
		}
		dy := gemmRandSlice[float32](r, rows*n)
		y, dx := make([]float32, rows*n), make([]float32, rows*n)
		Softmax(y, x, rows, n, 1, false)
		SoftmaxGrad(dx, y, dy, rows, n, 1, false)
		for p := range rows {
			xr := x[p*n : (p+1)*n]
			m := math.Inf(-1)
			for _, v := range xr {
				m = math.Max(m, float64(v))
			}
			var s, sd float64
			e := make([]float64, n)
			for j, v := range xr {
				e[j] = math.Exp(float64(v) - m)
				s += e[j]
			}
			for j := range e {
				e[j] /= s
				sd += float64(dy[p*n+j]) * float64(y[p*n+j])
			}
			for j := range e {
				if d := math.Abs(float64(y[p*n+j]) - e[j]); d > 1e-5*e[j]+1e-37 {
					t.Fatalf("n %d row %d: softmax[%d] = %g, float64 %g", n, p, j, y[p*n+j], e[j])
				}
				want := float64(y[p*n+j]) * (float64(dy[p*n+j]) - sd)
				scale := float64(y[p*n+j]) * (math.Abs(float64(dy[p*n+j])) + math.Abs(sd))
				if d := math.Abs(float64(dx[p*n+j]) - want); d > 1e-5*scale+1e-30 {
					t.Fatalf("n %d row %d: grad[%d] = %g, float64 %g", n, p, j, dx[p*n+j], want)
				}
			}
		}
	}
	inf := float32(math.Inf(1))
	for _, tc := range []struct {
		name string
		x    []float32
		want func(y []float32) bool
	}{
		{"nan", []float32{1, 2, float32(math.NaN()), 3, 4, 5, 6, 7, 8}, func(y []float32) bool {
			for _, v := range y {
				if v == v {
					return false
				}
			}
			return true
		}},
		{"+inf", []float32{1, 2, inf, 3, 4, 5, 6, 7, 8}, func(y []float32) bool { return y[2] != y[2] && y[0] != y[0] }},
		{"-inf", []float32{-inf, 0, 0, 0, 0, 0, 0, 0, 0}, func(y []float32) bool { return y[0] == 0 && math.Abs(float64(y[1])-0.125) < 1e-7 }},
	} {
		y := make([]float32, len(tc.x))
		Softmax(y, tc.x, 1, len(tc.x), 1, false)
		if !tc.want(y) {
			t.Errorf("softmax of a row with %s: %v", tc.name, y)
		}
	}
}

// TestAdamWAssemblyIsTheGoLoop checks that the float32 AdamW step in
// assembly gives the Go loop's results bit for bit.
func TestAdamWAssemblyIsTheGoLoop(t *testing.T) {
	saved := actUseAsm
	defer func() { actUseAsm = saved }()
	r := rand.New(rand.NewPCG(15, 16))
	for _, n := range []int{1, 7, 17, 33, 255, 1024} {
		p0, g := gemmRandSlice[float32](r, n), gemmRandSlice[float32](r, n)
		m0, v0 := gemmRandSlice[float32](r, n), gemmRandSlice[float32](r, n)
		for i := range v0 {
			v0[i] *= v0[i]
		}
		var out [2][3][]float32
		for k, asm := range []bool{true, false} {
			actUseAsm = asm && saved
			p, m, v := append([]float32(nil), p0...), append([]float32(nil), m0...), append([]float32(nil), v0...)
			for step := 1; step <= 3; step++ {
				AdamW(p, g, m, v, kernel.AdamW{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.02, Step: step})
			}
			out[k] = [3][]float32{p, m, v}
		}
		for q, name := range []string{"p", "m", "v"} {
			for i := range n {
				if math.Float32bits(out[0][q][i]) != math.Float32bits(out[1][q][i]) {
					t.Fatalf("n %d: %s[%d] = %v with the assembly, %v with the Go loop", n, name, i, out[0][q][i], out[1][q][i])
				}
			}
		}
	}
}

// TestBinaryAssemblyIsTheGoLoop checks the vectorised element-wise
// add, sub, mul and div bit for bit against the Go loops, flat and in rows.
func TestBinaryAssemblyIsTheGoLoop(t *testing.T) {
	saved := actUseAsm
	defer func() { actUseAsm = saved }()
	r := rand.New(rand.NewPCG(17, 18))
	for _, n := range []int{1, 7, 31, 32, 33, 255, 1000} {
		for _, op := range []BinaryOp{Add, Sub, Mul, Div} {
			for _, shape := range [][]int{{n}, {3, n}} {
				size := 1
				for _, s := range shape {
					size *= s
				}
				a, b := gemmRandSlice[float32](r, size), gemmRandSlice[float32](r, size)
				st := make([]int, len(shape))
				for d, s := len(shape)-1, 1; d >= 0; d-- {
					st[d], s = s, s*shape[d]
				}
				var out [2][]float32
				for k, asm := range []bool{true, false} {
					actUseAsm = asm && saved
					out[k] = make([]float32, size)
					Binary(op, out[k], a, b, shape, st, st)
				}
				for i := range size {
					if math.Float32bits(out[0][i]) != math.Float32bits(out[1][i]) {
						t.Fatalf("%v %v: [%d] = %v with the assembly, %v with the Go loop", op, shape, i, out[0][i], out[1][i])
					}
				}
			}
		}
	}
}

// TestBinaryBroadcastRows checks broadcast element-wise ops (a gate of
// shape (N, C, 1, 1) against (N, C, H, W), a row vector against a matrix,
// either operand broadcast) against a naive loop over every index, with
// the assembly kernels and with the Go loops.
func TestBinaryBroadcastRows(t *testing.T) {
	saved := actUseAsm
	defer func() { actUseAsm = saved }()
	r := rand.New(rand.NewPCG(19, 20))
	cases := []struct {
		shape, sa, sb []int
	}{
		{[]int{2, 3, 5, 7}, []int{105, 35, 7, 1}, []int{3, 1, 0, 0}},
		{[]int{2, 3, 9, 9}, []int{3, 1, 0, 0}, []int{243, 81, 9, 1}},
		{[]int{4, 33}, []int{33, 1}, []int{0, 1}},
		{[]int{4, 40}, []int{0, 1}, []int{40, 1}},
		{[]int{3, 1, 70}, []int{70, 70, 1}, []int{1, 0, 0}},
		{[]int{1, 1}, []int{0, 0}, []int{0, 0}},
	}
	for _, tc := range cases {
		size, la, lb := 1, 1, 1
		for d, s := range tc.shape {
			size *= s
			la += (s - 1) * tc.sa[d]
			lb += (s - 1) * tc.sb[d]
		}
		a, b := gemmRandSlice[float32](r, la), gemmRandSlice[float32](r, lb)
		for _, op := range []BinaryOp{Add, Sub, Mul, Div} {
			want := make([]float32, size)
			for i := range size {
				oa, ob, rem := 0, 0, i
				for d := len(tc.shape) - 1; d >= 0; d-- {
					k := rem % tc.shape[d]
					rem /= tc.shape[d]
					oa += k * tc.sa[d]
					ob += k * tc.sb[d]
				}
				want[i] = binaryScalar(op, a[oa], b[ob])
			}
			for _, asm := range []bool{true, false} {
				actUseAsm = asm && saved
				got := make([]float32, size)
				Binary(op, got, a, b, tc.shape, tc.sa, tc.sb)
				for i := range size {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%v %v a%v b%v asm=%v: [%d] = %v, want %v", op, tc.shape, tc.sa, tc.sb, actUseAsm, i, got[i], want[i])
					}
				}
			}
		}
	}
}
