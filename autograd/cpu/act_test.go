package cpu

import (
	"math"
	"testing"
)

// actCase is one float32 activation with its float64 reference and the
// bound on |y - ref| / max(1, |ref|). Measured worst cases over
// actInputs: SiLU 1.2e-7 (asm) and 6.0e-8 (Go), sigmoid 8.9e-8 and
// 3.0e-8, GELU 9.3e-7 and 1.1e-6 (near x = -5.6, where 1 + erf cancels).
type actCase struct {
	name  string
	vec   func(dst, src []float32)
	ref   func(x float64) float64
	bound float64
}

var actCases = []actCase{
	{"SiLU", siluF32, func(x float64) float64 { return x / (1 + math.Exp(-x)) }, 2e-7},
	{"Sigmoid", sigmoidF32, func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }, 2e-7},
	{"GELU", geluF32, func(x float64) float64 { return 0.5 * x * (1 + math.Erf(x*invSqrt2)) }, 2e-6},
}

// actInputs is a dense grid over [-100, 100] (finer over [-10, 10]) plus
// special values.
func actInputs() []float32 {
	var xs []float32
	for i := range 400001 {
		xs = append(xs, float32(-100+200*float64(i)/400000))
	}
	for i := range 200001 {
		xs = append(xs, float32(-10+20*float64(i)/200000))
	}
	xs = append(xs, 0, float32(math.Copysign(0, -1)),
		math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32,
		1e-40, -1e-40, 1.1754942e-38, -1.1754942e-38,
		87.3, -87.3, 88, -88, 88.8, -88.8, 89, -89, 104, -104,
		math.MaxFloat32, -math.MaxFloat32)
	return xs
}

// actWorst returns the worst error of y against the reference over xs
// and where it is.
func actWorst(c actCase, xs, y []float32) (worst float64, at float32) {
	for i, x := range xs {
		r := c.ref(float64(x))
		if math.IsNaN(r) || math.IsInf(r, 0) {
			continue
		}
		e := math.Abs(float64(y[i])-r) / max(1, math.Abs(r))
		if !(e <= worst) {
			worst, at = e, x
		}
	}
	return worst, at
}

func TestActivationsFloat32(t *testing.T) {
	xs := actInputs()
	y := make([]float32, len(xs))
	for _, useAsm := range []bool{false, true} {
		if useAsm && !actUseAsm {
			continue
		}
		saved := actUseAsm
		actUseAsm = useAsm
		for _, c := range actCases {
			c.vec(y, xs)
			worst, at := actWorst(c, xs, y)
			t.Logf("%s (asm %v): worst error %.3g at x = %g", c.name, useAsm, worst, at)
			if !(worst <= c.bound) {
				t.Errorf("%s (asm %v): error %g at x = %g, want <= %g", c.name, useAsm, worst, at, c.bound)
			}
		}
		actUseAsm = saved
	}
}

// TestActivationsSpecial checks infinities, signed zeros and the ends of
// the exp clamp.
func TestActivationsSpecial(t *testing.T) {
	inf := float32(math.Inf(1))
	xs := []float32{inf, -inf, 0, float32(math.Copysign(0, -1)), -200, -1e30, -math.MaxFloat32, 200, 1e30, math.MaxFloat32}
	xs = append(xs, xs[:8]...) // fill a vector and leave a tail
	y := make([]float32, len(xs))

	sigmoidF32(y, xs)
	for i, x := range xs {
		want := float32(1)
		if x < 0 {
			want = 0
		} else if x == 0 {
			want = 0.5
		}
		if math.Abs(float64(y[i]-want)) > 1e-7 || math.IsNaN(float64(y[i])) {
			t.Errorf("sigmoid(%g) = %g, want %g", x, y[i], want)
		}
	}

	siluF32(y, xs)
	for i, x := range xs {
		switch {
		case math.IsInf(float64(x), -1) && !actUseAsm:
			// -Inf/(1 + e^Inf) is NaN in the Go loop.
		case x <= -200:
			if y[i] > 0 || y[i] < -1e-30 || math.IsNaN(float64(y[i])) {
				t.Errorf("silu(%g) = %g, want ~-0", x, y[i])
			}
		case x >= 200, x == 0:
			if y[i] != x {
				t.Errorf("silu(%g) = %g, want %g", x, y[i], x)
			}
		}
	}

	geluF32(y, xs)
	for i, x := range xs {
		var want float32
		if x > 0 {
			want = x
		}
		if math.IsInf(float64(x), -1) {
			// -0.5*Inf*(1 + erf(-4)) is -Inf*0 = NaN, as in erfFloat32's
			// formula.
			continue
		}
		if y[i] != want && !(x < 0 && math.Abs(float64(y[i])) < 1e-30) {
			t.Errorf("gelu(%g) = %g, want %g", x, y[i], want)
		}
	}
}

// TestActivationsLengths checks the split between the vector body and the
// Go tail: lengths 0..17 and a large odd one, writing nothing past the end.
func TestActivationsLengths(t *testing.T) {
	lengths := []int{1000003}
	for n := range 18 {
		lengths = append(lengths, n)
	}
	for _, c := range actCases {
		for _, n := range lengths {
			xs := make([]float32, n)
			for i := range xs {
				xs[i] = float32(math.Sin(float64(i)*0.37)) * 12
			}
			y := make([]float32, n+3)
			for i := range y {
				y[i] = -12345
			}
			c.vec(y[:n], xs)
			for i := n; i < len(y); i++ {
				if y[i] != -12345 {
					t.Fatalf("%s n=%d: wrote past the end at %d", c.name, n, i)
				}
			}
			if worst, at := actWorst(c, xs, y[:n]); !(worst <= c.bound) {
				t.Errorf("%s n=%d: error %g at x = %g", c.name, n, worst, at)
			}
		}
	}
}

// BenchmarkActivations reports ns per element of each kernel against the
// Go loop.
func BenchmarkActivations(b *testing.B) {
	const n = 1 << 14
	xs := make([]float32, n)
	for i := range xs {
		xs[i] = float32(math.Sin(float64(i)*0.37)) * 8
	}
	y := make([]float32, n)
	impls := []struct {
		name string
		f    func(d, s []float32)
	}{
		{"SiLU/asm", siluF32}, {"SiLU/go", siluScalar},
		{"Sigmoid/asm", sigmoidF32}, {"Sigmoid/go", sigmoidScalar},
		{"GELU/asm", geluF32}, {"GELU/go", geluScalar},
	}
	for _, im := range impls {
		b.Run(im.name, func(b *testing.B) {
			for b.Loop() {
				im.f(y, xs)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/elem")
		})
	}
}

// TestActivationsPropagateNaN: a NaN input gives a NaN output, with the
// assembly and without, as PyTorch does.
func TestActivationsPropagateNaN(t *testing.T) {
	nan := float32(math.NaN())
	x := []float32{1, nan, -3, 0, nan, 2, 5, -7, nan} // a full vector of 8 and a tail
	for _, op := range []UnaryOp{Sigmoid, SiLU, GELU} {
		y := make([]float32, len(x))
		Unary(op, y, x, 0)
		for i := range x {
			if math.IsNaN(float64(x[i])) != math.IsNaN(float64(y[i])) {
				t.Errorf("%v(%g) = %g", op, x[i], y[i])
			}
		}
	}
}

// TestReLUVariants checks the assembly and Go ReLU and its gradient on
// awkward lengths (vector bodies and tails) with NaN, infinities and
// signed zeros.
func TestReLUVariants(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	special := []float32{nan, inf, -inf, 0, float32(math.Copysign(0, -1)), 1e-40, -1e-40, 3, -3}
	for _, n := range []int{1, 7, 17, 33, 255} {
		x, dy := make([]float32, n), make([]float32, n)
		for i := range x {
			x[i] = special[(i*5)%len(special)] * float32(1+i%3)
			dy[i] = float32(i) - 100
		}
		for _, useAsm := range []bool{false, true} {
			if useAsm && !actUseAsm {
				continue
			}
			saved := actUseAsm
			actUseAsm = useAsm
			y, dx := make([]float32, n), make([]float32, n)
			reluF32(y, x)
			reluGradF32(dx, x, dy)
			actUseAsm = saved
			for i, v := range x {
				want, wantG := v, dy[i]
				if v < 0 {
					want = 0
				}
				if !(v > 0) {
					wantG = 0
				}
				if y[i] != want && !(math.IsNaN(float64(v)) && math.IsNaN(float64(y[i]))) {
					t.Errorf("n=%d asm=%v: relu(%g) = %g", n, useAsm, v, y[i])
				}
				if dx[i] != wantG {
					t.Errorf("n=%d asm=%v: relu'(%g)*%g = %g, want %g", n, useAsm, v, dy[i], dx[i], wantG)
				}
			}
		}
	}
}

// TestActivationGradsFloat32 checks the float32 SiLU and GELU gradients,
// assembly and Go, against the float64 derivatives on actInputs with
// dy = 1 and on awkward lengths with dy varying.
func TestActivationGradsFloat32(t *testing.T) {
	cases := []struct {
		name  string
		op    UnaryOp
		f     func(dx, x, dy []float32)
		bound float64
	}{
		{"SiLU", SiLU, siluGradF32, 2e-6}, // 1-s loses bits as s nears 1
		{"GELU", GELU, geluGradF32, 3e-6},
	}
	xs := actInputs()
	ones := make([]float32, len(xs))
	for i := range ones {
		ones[i] = 1
	}
	dx := make([]float32, len(xs))
	for _, useAsm := range []bool{false, true} {
		if useAsm && !actUseAsm {
			continue
		}
		saved := actUseAsm
		actUseAsm = useAsm
		for _, c := range cases {
			ref := unaryDeriv(c.op, 0)
			c.f(dx, xs, ones)
			worst, at := actWorst(actCase{ref: ref}, xs, dx)
			t.Logf("%s' (asm %v): worst error %.3g at x = %g", c.name, useAsm, worst, at)
			if !(worst <= c.bound) {
				t.Errorf("%s' (asm %v): error %g at x = %g, want <= %g", c.name, useAsm, worst, at, c.bound)
			}
			for _, n := range []int{1, 7, 17, 33, 255} {
				x, dy, got := xs[200000:200000+n], make([]float32, n), make([]float32, n)
				for i := range dy {
					dy[i] = float32(i%7) - 3
				}
				c.f(got, x, dy)
				for i := range got {
					want := float64(dy[i]) * ref(float64(x[i]))
					if math.Abs(float64(got[i])-want) > c.bound*max(1, math.Abs(want))*4 {
						t.Errorf("%s' (asm %v) n=%d: [%d] = %g, want %g", c.name, useAsm, n, i, got[i], want)
					}
				}
			}
		}
		actUseAsm = saved
	}
}

// TestActivationWidthsAgree checks that the sixteen-wide AVX-512 kernels
// give the eight-wide ones' bits, on actInputs and on lengths that leave
// every kind of remainder.
func TestActivationWidthsAgree(t *testing.T) {
	if !actUseAsm || !actUseAVX512 {
		t.Skip("no AVX-512 activation kernels here")
	}
	xs := actInputs()
	dy := make([]float32, len(xs))
	for i := range dy {
		dy[i] = float32(i%7) - 3
	}
	fwd := []struct {
		name string
		f    func(dst, src []float32)
	}{{"SiLU", siluF32}, {"Sigmoid", sigmoidF32}, {"GELU", geluF32}}
	grad := []struct {
		name string
		f    func(dx, x, dy []float32)
	}{{"SiLU'", siluGradF32}, {"GELU'", geluGradF32}}
	run := func(wide bool, f func([]float32)) []float32 {
		defer func(saved bool) { actUseAVX512 = saved }(actUseAVX512)
		actUseAVX512 = wide
		y := make([]float32, len(xs))
		f(y)
		return y
	}
	check := func(name string, n int, a, b []float32) {
		for i := range n {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				t.Fatalf("%s n=%d: x=%g: sixteen-wide %g, eight-wide %g", name, n, xs[i], a[i], b[i])
			}
		}
	}
	for _, n := range []int{1, 7, 17, 33, 255, len(xs)} {
		for _, c := range fwd {
			f := func(y []float32) { c.f(y[:n], xs[:n]) }
			check(c.name, n, run(true, f), run(false, f))
		}
		for _, c := range grad {
			f := func(dx []float32) { c.f(dx[:n], xs[:n], dy[:n]) }
			check(c.name, n, run(true, f), run(false, f))
		}
	}
}
