package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// convCases covers the layer kinds the conv2d op sees. Shapes are small so
// that the naive references stay fast; a few are large enough to take the
// parallel paths.
var convCases = []struct {
	name string
	s    ConvShape
}{
	{"plain", ConvShape{N: 2, C: 3, H: 7, W: 6, O: 4, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, Groups: 1}},
	{"stride2pad1", ConvShape{N: 2, C: 4, H: 9, W: 8, O: 5, KH: 3, KW: 3, SH: 2, SW: 2, PH: 1, PW: 1, DH: 1, DW: 1, Groups: 1}},
	{"dilation2", ConvShape{N: 1, C: 3, H: 10, W: 9, O: 2, KH: 3, KW: 3, SH: 1, SW: 1, PH: 2, PW: 2, DH: 2, DW: 2, Groups: 1}},
	{"groups2", ConvShape{N: 3, C: 4, H: 6, W: 7, O: 6, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1, Groups: 2}},
	{"nonsquare2x3", ConvShape{N: 2, C: 3, H: 5, W: 11, O: 4, KH: 2, KW: 3, SH: 2, SW: 1, PH: 1, PW: 2, DH: 1, DW: 1, Groups: 1}},
	{"bigpad", ConvShape{N: 1, C: 2, H: 4, W: 3, O: 3, KH: 2, KW: 2, SH: 1, SW: 3, PH: 2, PW: 2, DH: 1, DW: 1, Groups: 1}},
	{"fullkernel", ConvShape{N: 2, C: 2, H: 3, W: 5, O: 3, KH: 3, KW: 5, SH: 1, SW: 1, DH: 1, DW: 1, Groups: 1}},
	{"pointwise", ConvShape{N: 2, C: 6, H: 5, W: 7, O: 4, KH: 1, KW: 1, SH: 1, SW: 1, DH: 1, DW: 1, Groups: 1}},
	{"pointwise/groups2", ConvShape{N: 2, C: 6, H: 5, W: 7, O: 4, KH: 1, KW: 1, SH: 1, SW: 1, DH: 1, DW: 1, Groups: 2}},
	{"pointwise/stride2", ConvShape{N: 2, C: 3, H: 6, W: 7, O: 4, KH: 1, KW: 1, SH: 2, SW: 2, DH: 1, DW: 1, Groups: 1}},
	{"depthwise", ConvShape{N: 2, C: 5, H: 8, W: 9, O: 5, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1, Groups: 5}},
	{"depthwise/stride2", ConvShape{N: 2, C: 4, H: 9, W: 8, O: 4, KH: 3, KW: 3, SH: 2, SW: 2, PH: 1, PW: 1, DH: 1, DW: 1, Groups: 4}},
	{"depthwise/7x7mult2", ConvShape{N: 1, C: 3, H: 10, W: 11, O: 6, KH: 7, KW: 7, SH: 1, SW: 1, PH: 3, PW: 3, DH: 1, DW: 1, Groups: 3}},
	{"depthwise/2x3dil", ConvShape{N: 2, C: 4, H: 7, W: 9, O: 4, KH: 2, KW: 3, SH: 1, SW: 2, PH: 1, PW: 0, DH: 2, DW: 1, Groups: 4}},
	{"depthwise/dil2", ConvShape{N: 1, C: 3, H: 9, W: 10, O: 3, KH: 3, KW: 3, SH: 1, SW: 1, PH: 2, PW: 2, DH: 2, DW: 2, Groups: 3}},
	{"depthwise/bigpad", ConvShape{N: 1, C: 2, H: 4, W: 5, O: 4, KH: 2, KW: 2, SH: 1, SW: 1, PH: 2, PW: 2, DH: 1, DW: 1, Groups: 2}},
	{"depthwise/narrow", ConvShape{N: 2, C: 3, H: 6, W: 3, O: 3, KH: 5, KW: 5, SH: 1, SW: 1, PH: 2, PW: 2, DH: 1, DW: 1, Groups: 3}},
	{"depthwise/9x9", ConvShape{N: 1, C: 2, H: 10, W: 12, O: 2, KH: 9, KW: 9, SH: 1, SW: 1, PH: 4, PW: 4, DH: 1, DW: 1, Groups: 2}},
	// 5x5 and larger float32 kernels take the banded micro-kernel path.
	{"depthwise/5x5/stride2x1", ConvShape{N: 1, C: 2, H: 13, W: 9, O: 2, KH: 5, KW: 5, SH: 2, SW: 1, PH: 2, PW: 4, DH: 1, DW: 2, Groups: 2}},
	{"depthwise/5x5/dil2", ConvShape{N: 2, C: 3, H: 12, W: 14, O: 3, KH: 5, KW: 5, SH: 1, SW: 1, PH: 4, PW: 4, DH: 2, DW: 2, Groups: 3}},
	{"depthwise/large", ConvShape{N: 2, C: 16, H: 12, W: 40, O: 16, KH: 7, KW: 7, SH: 1, SW: 1, PH: 3, PW: 3, DH: 1, DW: 1, Groups: 16}},
	{"groups3/mult", ConvShape{N: 1, C: 6, H: 5, W: 5, O: 9, KH: 3, KW: 1, SH: 1, SW: 1, PH: 1, PW: 0, DH: 1, DW: 1, Groups: 3}},
	{"empty", ConvShape{N: 0, C: 3, H: 5, W: 5, O: 2, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, Groups: 1}},
	// N=1 and N=3 run products large enough to split inside the gemm; N=4
	// splits the images between workers.
	{"large/N1", ConvShape{N: 1, C: 16, H: 20, W: 18, O: 32, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1, Groups: 1}},
	{"large/N3", ConvShape{N: 3, C: 16, H: 20, W: 18, O: 32, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1, Groups: 1}},
	{"large/N4/pointwise", ConvShape{N: 4, C: 64, H: 12, W: 12, O: 128, KH: 1, KW: 1, SH: 1, SW: 1, DH: 1, DW: 1, Groups: 1}},
	{"large/N4", ConvShape{N: 4, C: 8, H: 16, W: 16, O: 16, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1, Groups: 1}},
	// Products over the parallel threshold on an odd batch: the weights
	// are packed once and the data gradient's product splits by rows.
	{"large/N3/parallel", ConvShape{N: 3, C: 64, H: 16, W: 16, O: 64, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1, Groups: 1}},
	// Kept columns gathered across output rows and images: 7 and 14
	// wide (ResNet's layer4 and layer3), 5 wide (three runs in some
	// halves: the Go gather), strided.
	{"gather/7x7", ConvShape{N: 5, C: 16, H: 7, W: 7, O: 24, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1, Groups: 1}},
	{"gather/14x14", ConvShape{N: 2, C: 8, H: 14, W: 14, O: 16, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1, Groups: 1}},
	{"gather/5x5", ConvShape{N: 3, C: 4, H: 5, W: 5, O: 8, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1, Groups: 1}},
	{"gather/stride2", ConvShape{N: 2, C: 8, H: 29, W: 31, O: 12, KH: 3, KW: 3, SH: 2, SW: 2, PH: 1, PW: 1, DH: 1, DW: 1, Groups: 1}},
}

// TestConvGatherRows checks the assembly gather of kept columns against
// the lanes it is given, and that it declines lanes it cannot load.
func TestConvGatherRows(t *testing.T) {
	x := make([]float32, 400)
	for i := range x {
		x[i] = float32(i)
	}
	rows := []int{0, 30, 31, 100, 7}
	run := func(start, l int) []int {
		o := make([]int, l)
		for i := range o {
			o[i] = start + i
		}
		return o
	}
	cat := func(parts ...[]int) []int {
		var o []int
		for _, p := range parts {
			o = append(o, p...)
		}
		return o
	}
	for _, tc := range []struct {
		name string
		offs []int
		ok   bool
	}{
		{"one run", run(3, 16), true},
		{"14 and 2", cat(run(0, 14), run(16, 2)), true},
		{"7 7 2", cat(run(0, 7), run(9, 7), run(18, 2)), true},
		{"1 7 7 1 (32 lanes)", cat(run(6, 1), run(9, 7), run(18, 7), run(27, 1), run(40, 16)), true},
		{"three runs in a half", cat(run(0, 3), run(5, 3), run(10, 2), run(20, 8)), false},
		{"past the end", run(390, 16), false},
	} {
		nr := len(tc.offs)
		dst := make([]float32, len(rows)*nr)
		ok := convGatherRows(x, rows, 0, 100, tc.offs, dst)
		if !gemmUseAsm {
			continue // no assembly: the callers take the Go gather
		}
		if ok != tc.ok {
			t.Fatalf("%s: convGatherRows reported %v, want %v", tc.name, ok, tc.ok)
		}
		if !ok {
			continue
		}
		for p, r := range rows {
			for l, o := range tc.offs {
				if got, want := dst[p*nr+l], x[r+o]; got != want {
					t.Fatalf("%s: row %d lane %d = %v, want %v", tc.name, p, l, got, want)
				}
			}
		}
	}
}

// The references below are the naive direct convolution and its two
// adjoints, accumulated in float64 for any element type.

// convInput returns the index in x of input pixel (n, c, ih, iw), or false
// in the padding.
func convInput(s ConvShape, n, c, ih, iw int) (int, bool) {
	if ih < 0 || ih >= s.H || iw < 0 || iw >= s.W {
		return 0, false
	}
	return ((n*s.C+c)*s.H+ih)*s.W + iw, true
}

// convNaive calls f(xi, wi, yi) for every multiply-add of the convolution.
func convNaive(s ConvShape, f func(xi, wi, yi int)) {
	oh, ow := s.OutHW()
	cg, og := s.C/s.Groups, s.O/s.Groups
	for n := range s.N {
		for o := range s.O {
			g := o / og
			for y := range oh {
				for x := range ow {
					yi := ((n*s.O+o)*oh+y)*ow + x
					for c := range cg {
						for kh := range s.KH {
							for kw := range s.KW {
								xi, ok := convInput(s, n, g*cg+c, y*s.SH-s.PH+kh*s.DH, x*s.SW-s.PW+kw*s.DW)
								if ok {
									f(xi, ((o*cg+c)*s.KH+kh)*s.KW+kw, yi)
								}
							}
						}
					}
				}
			}
		}
	}
}

func convNaiveForward[T Float](s ConvShape, x, w, bias []T) []float64 {
	oh, ow := s.OutHW()
	y := make([]float64, s.N*s.O*oh*ow)
	if bias != nil {
		for i := range y {
			y[i] = float64(bias[i/(oh*ow)%s.O])
		}
	}
	convNaive(s, func(xi, wi, yi int) { y[yi] += float64(x[xi]) * float64(w[wi]) })
	return y
}

func convNaiveBackwardData[T Float](s ConvShape, dy, w []T) []float64 {
	dx := make([]float64, s.N*s.C*s.H*s.W)
	convNaive(s, func(xi, wi, yi int) { dx[xi] += float64(dy[yi]) * float64(w[wi]) })
	return dx
}

func convNaiveBackwardWeight[T Float](s ConvShape, x, dy []T) []float64 {
	dw := make([]float64, s.O*s.C/s.Groups*s.KH*s.KW)
	convNaive(s, func(xi, wi, yi int) { dw[wi] += float64(dy[yi]) * float64(x[xi]) })
	return dw
}

func convNaNSlice[T Float](n int) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = T(math.NaN())
	}
	return s
}

// convCheckClose fails unless got matches want elementwise within tol relative
// to the largest magnitude in want.
func convCheckClose[T Float](t *testing.T, name string, got []T, want []float64, tol float64) {
	t.Helper()
	scale := 1.0
	for _, v := range want {
		scale = max(scale, math.Abs(v))
	}
	for i, w := range want {
		if g := float64(got[i]); math.IsNaN(g) || math.Abs(g-w) > tol*scale {
			t.Fatalf("%s: [%d] = %v, want %v", name, i, g, w)
		}
	}
}

func convDot[T Float](a []T, b []T) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func TestConv2d(t *testing.T) {
	for _, tc := range convCases {
		for _, w := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/w%d", tc.name, w), func(t *testing.T) {
				gemmWithWorkers(w, func() {
					convTestPasses[float64](t, tc.s, 1e-12)
					convTestPasses[float32](t, tc.s, 2e-5)
				})
			})
		}
	}
}

func convTestPasses[T Float](t *testing.T, s ConvShape, tol float64) {
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 8))
	oh, ow := s.OutHW()
	nx, nw, ny := s.N*s.C*s.H*s.W, s.O*s.C/s.Groups*s.KH*s.KW, s.N*s.O*oh*ow
	x, w, bias, dy := gemmRandSlice[T](r, nx), gemmRandSlice[T](r, nw), gemmRandSlice[T](r, s.O), gemmRandSlice[T](r, ny)
	typ := fmt.Sprintf("%T", x[:0])

	// Outputs start as NaN: every kernel must overwrite.
	y := convNaNSlice[T](ny)
	Conv2dForward(s, x, w, bias, y)
	convCheckClose(t, typ+" forward", y, convNaiveForward(s, x, w, bias), tol)
	Conv2dForward(s, x, w, nil, y)
	yNoBias := convNaiveForward(s, x, w, nil)
	convCheckClose(t, typ+" forward/nobias", y, yNoBias, tol)

	dx := convNaNSlice[T](nx)
	Conv2dBackwardData(s, dy, w, dx)
	convCheckClose(t, typ+" backward data", dx, convNaiveBackwardData(s, dy, w), tol)

	dw := convNaNSlice[T](nw)
	Conv2dBackwardWeight(s, x, dy, dw)
	convCheckClose(t, typ+" backward weight", dw, convNaiveBackwardWeight(s, x, dy), tol)

	db := convNaNSlice[T](s.O)
	Conv2dBackwardBias(s, dy, db)
	wantDB := make([]float64, s.O)
	for i, v := range dy {
		wantDB[i/(oh*ow)%s.O] += float64(v)
	}
	convCheckClose(t, typ+" backward bias", db, wantDB, tol)

	// Adjoint identity: <conv(x, w), dy> = <x, dx> = <w, dw>.
	lhs := convDot(y, dy)
	scale := 1 + math.Sqrt(float64(ny*s.C*s.KH*s.KW))
	if rhs := convDot(x, dx); math.Abs(lhs-rhs) > tol*scale {
		t.Errorf("%s: <conv(x), dy> = %v, <x, convT(dy)> = %v", typ, lhs, rhs)
	}
	if rhs := convDot(w, dw); math.Abs(lhs-rhs) > tol*scale {
		t.Errorf("%s: <conv(x), dy> = %v, <w, dw> = %v", typ, lhs, rhs)
	}
}

func TestIm2colCol2im(t *testing.T) {
	for _, tc := range convCases {
		s := tc.s
		if s.N == 0 {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(9, 10))
			oh, ow := s.OutHW()
			cg := s.C / s.Groups
			rows, cols := cg*s.KH*s.KW, oh*ow
			x := gemmRandSlice[float64](r, s.N*s.C*s.H*s.W)
			col := convNaNSlice[float64](rows * cols)
			n, g := s.N-1, s.Groups-1
			Im2col(s, x, n, g, col)
			for c := range cg {
				for kh := range s.KH {
					for kw := range s.KW {
						for y := range oh {
							for xo := range ow {
								var want float64
								if xi, ok := convInput(s, n, g*cg+c, y*s.SH-s.PH+kh*s.DH, xo*s.SW-s.PW+kw*s.DW); ok {
									want = x[xi]
								}
								if got := col[((c*s.KH+kh)*s.KW+kw)*cols+y*ow+xo]; got != want {
									t.Fatalf("col[c=%d kh=%d kw=%d y=%d x=%d] = %v, want %v", c, kh, kw, y, xo, got, want)
								}
							}
						}
					}
				}
			}
			// Col2im is the adjoint of Im2col: <Im2col(x), d> = <x, Col2im(d)>,
			// and it accumulates.
			d := gemmRandSlice[float64](r, rows*cols)
			dx := gemmRandSlice[float64](r, len(x))
			before := convDot(x, dx)
			Col2im(s, d, n, g, dx)
			if got, want := convDot(x, dx)-before, convDot(col, d); math.Abs(got-want) > 1e-10*(1+math.Abs(want)) {
				t.Fatalf("<x, Col2im(d)> = %v, <Im2col(x), d> = %v", got, want)
			}
		})
	}
}

func TestConvShape(t *testing.T) {
	ok := ConvShape{N: 1, C: 4, H: 8, W: 6, O: 6, KH: 3, KW: 2, SH: 2, SW: 1, PH: 1, PW: 0, DH: 1, DW: 2, Groups: 2}
	if oh, ow := ok.OutHW(); oh != 4 || ow != 4 {
		t.Errorf("OutHW = %d, %d, want 4, 4", oh, ow)
	}
	if err := ok.Validate(); err != nil {
		t.Errorf("Validate(%+v) = %v", ok, err)
	}
	bad := []func(*ConvShape){
		func(s *ConvShape) { s.C = 0 },
		func(s *ConvShape) { s.N = -1 },
		func(s *ConvShape) { s.SH = 0 },
		func(s *ConvShape) { s.DW = 0 },
		func(s *ConvShape) { s.PW = -1 },
		func(s *ConvShape) { s.Groups = 3 },
		func(s *ConvShape) { s.Groups = 0 },
		func(s *ConvShape) { s.O = 5 },
		func(s *ConvShape) { s.KH = 11 },
		func(s *ConvShape) { s.KW = 4 }, // dilated span 7 > 6
	}
	for i, f := range bad {
		s := ok
		f(&s)
		if s.Validate() == nil {
			t.Errorf("case %d: Validate(%+v) = nil, want error", i, s)
		}
	}
}

func TestConvPanics(t *testing.T) {
	s := ConvShape{N: 1, C: 2, H: 4, W: 4, O: 2, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, Groups: 1}
	x, w, y := make([]float32, 32), make([]float32, 36), make([]float32, 8)
	cases := []struct {
		name, prefix string
		f            func()
	}{
		{"invalid", "cpu.Conv2dForward", func() { bad := s; bad.SH = 0; Conv2dForward(bad, x, w, nil, y) }},
		{"zero groups", "cpu.Conv2dBackwardData", func() { bad := s; bad.Groups = 0; Conv2dBackwardData(bad, y, w, x) }},
		{"short x", "cpu.Conv2dForward", func() { Conv2dForward(s, x[:31], w, nil, y) }},
		{"short bias", "cpu.Conv2dForward", func() { Conv2dForward(s, x, w, []float32{1}, y) }},
		{"short dw", "cpu.Conv2dBackwardWeight", func() { Conv2dBackwardWeight(s, x, y, w[:35]) }},
		{"short dx", "cpu.Conv2dBackwardData", func() { Conv2dBackwardData(s, y, w, x[:1]) }},
		{"short db", "cpu.Conv2dBackwardBias", func() { Conv2dBackwardBias(s, y, nil) }},
		{"image", "cpu.Im2col", func() { Im2col(s, x, 1, 0, make([]float32, 72)) }},
		{"short col", "cpu.Col2im", func() { Col2im(s, make([]float32, 71), 0, 0, x) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				msg, _ := recover().(string)
				if !strings.HasPrefix(msg, tc.prefix+":") {
					t.Fatalf("got panic %q, want prefix %s", msg, tc.prefix)
				}
			}()
			tc.f()
		})
	}
}

// TestConvAllocs checks that repeated passes allocate no scratch of their
// own once the pools are warm: at most a few closures for ParallelFor.
func TestConvAllocs(t *testing.T) {
	if gemmRaceEnabled() {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	shapes := []ConvShape{
		{N: 2, C: 8, H: 12, W: 12, O: 8, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1, Groups: 1},
		{N: 2, C: 8, H: 12, W: 12, O: 8, KH: 7, KW: 7, SH: 1, SW: 1, PH: 3, PW: 3, DH: 1, DW: 1, Groups: 8},
	}
	for _, s := range shapes {
		oh, ow := s.OutHW()
		x, y := make([]float32, s.N*s.C*s.H*s.W), make([]float32, s.N*s.O*oh*ow)
		w := make([]float32, s.O*s.C/s.Groups*s.KH*s.KW)
		gemmWithWorkers(1, func() {
			allocs := testing.AllocsPerRun(10, func() {
				Conv2dForward(s, x, w, nil, y)
				Conv2dBackwardData(s, y, w, x)
				Conv2dBackwardWeight(s, x, y, w)
			})
			if allocs > 16 {
				t.Errorf("groups=%d: %v allocations per forward+backward", s.Groups, allocs)
			}
		})
	}
}

// convPackedCases exercise the packed products on awkward sizes: image
// runs that cross micro-tile strips, phase images of every stride, kept
// and dropped phases, padding wider than the kernel reach and products
// over the parallel threshold.
var convPackedCases = []ConvShape{
	{N: 1, C: 1, H: 1, W: 1, O: 1, KH: 1, KW: 1, SH: 1, SW: 1, DH: 1, DW: 1, Groups: 1},
	{N: 3, C: 7, H: 1, W: 1, O: 17, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1, Groups: 1},
	{N: 3, C: 17, H: 7, W: 7, O: 33, KH: 1, KW: 1, SH: 1, SW: 1, DH: 1, DW: 1, Groups: 1},
	{N: 3, C: 33, H: 7, W: 7, O: 7, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1, Groups: 1},
	{N: 1, C: 7, H: 17, W: 5, O: 17, KH: 3, KW: 3, SH: 2, SW: 2, PH: 1, PW: 1, DH: 1, DW: 1, Groups: 1},
	{N: 3, C: 17, H: 17, W: 5, O: 7, KH: 3, KW: 2, SH: 3, SW: 1, PH: 2, PW: 0, DH: 1, DW: 2, Groups: 1},
	{N: 3, C: 7, H: 33, W: 33, O: 17, KH: 3, KW: 3, SH: 1, SW: 1, PH: 2, PW: 2, DH: 2, DW: 2, Groups: 1},
	{N: 1, C: 33, H: 33, W: 33, O: 7, KH: 1, KW: 1, SH: 2, SW: 2, DH: 1, DW: 1, Groups: 1},
	{N: 3, C: 1, H: 33, W: 33, O: 17, KH: 7, KW: 7, SH: 2, SW: 2, PH: 3, PW: 3, DH: 1, DW: 1, Groups: 1},
	{N: 3, C: 34, H: 7, W: 7, O: 66, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1, Groups: 2},
	{N: 3, C: 14, H: 17, W: 5, O: 34, KH: 1, KW: 1, SH: 1, SW: 1, DH: 1, DW: 1, Groups: 2},
	{N: 1, C: 14, H: 17, W: 5, O: 34, KH: 2, KW: 3, SH: 3, SW: 2, PH: 1, PW: 2, DH: 2, DW: 1, Groups: 2},
	{N: 3, C: 7, H: 7, W: 7, O: 7, KH: 3, KW: 3, SH: 3, SW: 3, PH: 0, PW: 0, DH: 1, DW: 1, Groups: 1},
	{N: 3, C: 7, H: 5, W: 17, O: 7, KH: 1, KW: 1, SH: 3, SW: 2, PH: 1, PW: 2, DH: 1, DW: 1, Groups: 1},
	// Over the parallel thresholds: batch runs of 7x7 planes, and images
	// split between workers for the weight gradient.
	{N: 3, C: 64, H: 7, W: 7, O: 96, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1, Groups: 1},
	{N: 3, C: 255, H: 7, W: 7, O: 33, KH: 1, KW: 1, SH: 1, SW: 1, DH: 1, DW: 1, Groups: 1},
	{N: 4, C: 17, H: 33, W: 33, O: 33, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1, Groups: 1},
}

// TestConv2dPacked checks the packed products against the references
// with every micro-kernel (their strips differ in width) on one and two
// workers.
func TestConv2dPacked(t *testing.T) {
	for _, s := range convPackedCases {
		for _, k := range []gemmKernel{gemmAVX512, gemmAVX2, gemmGo} {
			for _, w := range []int{1, 2} {
				name := fmt.Sprintf("N%dC%d_%dx%d_O%d_k%dx%d_s%dx%d_p%dx%d_d%dx%d_g%d/kernel%d/w%d",
					s.N, s.C, s.H, s.W, s.O, s.KH, s.KW, s.SH, s.SW, s.PH, s.PW, s.DH, s.DW, s.Groups, k, w)
				t.Run(name, func(t *testing.T) {
					restore, ok := gemmWithKernel(k)
					if !ok {
						t.Skip("this machine or build lacks the kernel")
					}
					defer restore()
					gemmWithWorkers(w, func() {
						convTestPasses[float64](t, s, 1e-12)
						convTestPasses[float32](t, s, 2e-5)
					})
				})
			}
		}
	}
}
