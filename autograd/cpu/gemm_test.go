package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// gemmNaive is the reference product in float64, three plain loops.
func gemmNaive[T Float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	for i := range m {
		for j := range n {
			var s float64
			for p := range k {
				ai, bi := i*lda+p, p*ldb+j
				if transA {
					ai = p*lda + i
				}
				if transB {
					bi = j*ldb + p
				}
				av, bv := a[ai], b[bi]
				s += float64(av) * float64(bv)
			}
			r := float64(alpha) * s
			if beta != 0 {
				r += float64(beta) * float64(c[i*ldc+j])
			}
			c[i*ldc+j] = T(r)
		}
	}
}

func gemmRandSlice[T Float](r *rand.Rand, n int) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = T(r.Float64()*2 - 1)
	}
	return s
}

// gemmTol is the tolerance for a product of unit-sized entries over k terms.
func gemmTol[T Float](k int) float64 {
	if gemmIsF32[T]() {
		return 2e-6 * float64(k+4)
	}
	return 1e-14 * float64(k+4)
}

// gemmWithWorkers runs f with Workers set to w.
func gemmWithWorkers(w int, f func()) {
	old := Workers
	Workers = w
	defer func() { Workers = old }()
	f()
}

// gemmHave records the kernels this machine runs, before tests switch them.
var gemmHave = map[gemmKernel]bool{gemmGo: true, gemmAVX2: gemmUseAsm, gemmAVX512: gemmUseAVX512}

// gemmWithKernel makes float32 products use micro-kernel k until the
// returned function is called; ok is false (and nothing changes) when this
// machine or build cannot run k.
func gemmWithKernel(k gemmKernel) (restore func(), ok bool) {
	if !gemmHave[k] {
		return func() {}, false
	}
	oldAsm, old512 := gemmUseAsm, gemmUseAVX512
	gemmUseAsm, gemmUseAVX512 = k != gemmGo, k == gemmAVX512
	return func() { gemmUseAsm, gemmUseAVX512 = oldAsm, old512 }, true
}

type gemmCase struct {
	m, n, k int
}

// gemmShapes covers empty, unit, odd and block-crossing sizes (kc
// 256/512, mc 128/144/168, nc 3072/4080/4096).
var gemmShapes = []gemmCase{
	{0, 0, 0}, {0, 5, 3}, {5, 0, 3}, {5, 3, 0}, {1, 1, 1}, {1, 7, 5}, {7, 1, 5},
	{3, 5, 1}, {2, 3, 4}, {6, 16, 8}, {7, 17, 9}, {13, 11, 300}, {17, 19, 23},
	{33, 65, 130}, {64, 64, 64}, {130, 37, 260}, {200, 50, 17}, {5, 4100, 3},
	{12, 32, 200}, {25, 70, 1100}, {300, 40, 20},
}

// gemmPaths are the internal implementations checked on every shape, plus
// the exported entry point with one and two workers.
var gemmPaths = []struct {
	name   string
	f64    func(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int)
	f32    func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
	w      int
	kernel gemmKernel // for float32; -1: the machine's best
}{
	{"Gemm/w1", Gemm[float64], Gemm[float32], 1, -1},
	{"Gemm/w2", Gemm[float64], Gemm[float32], 2, -1},
	{"Gemm/w3", Gemm[float64], Gemm[float32], 3, -1},
	{"direct", gemmDirectK[float64], gemmDirectK[float32], 1, -1},
	{"packed", gemmPackedK[float64], gemmPackedK[float32], 1, -1},
	{"packed/avx2", gemmPackedK[float64], gemmPackedK[float32], 1, gemmAVX2},
	{"packed/go", gemmPackedK[float64], gemmPackedK[float32], 1, gemmGo},
	{"Gemm/w2/avx2", Gemm[float64], Gemm[float32], 2, gemmAVX2},
	{"Gemm/w2/go", Gemm[float64], Gemm[float32], 2, gemmGo},
}

// gemmDirectK and gemmPackedK add the k == 0 and alpha == 0 handling that
// gemmSerial does before dispatching to them.
func gemmDirectK[T Float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if k == 0 || m == 0 || n == 0 {
		gemmSerial(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	gemmDirect(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func gemmPackedK[T Float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if k == 0 || m == 0 || n == 0 {
		gemmSerial(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	gemmPacked(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func TestGemm(t *testing.T) {
	for _, p := range gemmPaths {
		t.Run(p.name, func(t *testing.T) {
			if p.kernel >= 0 {
				restore, ok := gemmWithKernel(p.kernel)
				if !ok {
					t.Skip("this machine or build lacks the kernel")
				}
				defer restore()
			}
			gemmWithWorkers(p.w, func() {
				gemmTestShapes(t, p.f64)
				gemmTestShapes(t, p.f32)
			})
		})
	}
}

func gemmTestShapes[T Float](t *testing.T, f func(transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int)) {
	r := rand.New(rand.NewPCG(1, 2))
	scalars := []struct{ alpha, beta T }{{1, 0}, {1, 1}, {-1.5, 0.5}}
	for _, sh := range gemmShapes {
		for tr := range 4 {
			transA, transB := tr&1 != 0, tr&2 != 0
			for pad := range 2 {
				for _, sc := range scalars {
					if pad == 1 && sc.beta != 1 {
						continue // strides are independent of alpha/beta
					}
					name := fmt.Sprintf("%dx%dx%d/tA=%v/tB=%v/pad=%d/a=%v/b=%v", sh.m, sh.n, sh.k, transA, transB, pad, sc.alpha, sc.beta)
					gemmVerify(t, r, f, name, transA, transB, sh.m, sh.n, sh.k, pad*3, sc.alpha, sc.beta)
				}
			}
		}
	}
}

func gemmVerify[T Float](t *testing.T, r *rand.Rand, f func(transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int), name string, transA, transB bool, m, n, k, pad int, alpha, beta T) {
	t.Helper()
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	lda, ldb, ldc := ac+pad, bc+pad, n+pad
	a := gemmRandSlice[T](r, max(0, (ar-1)*lda+ac))
	b := gemmRandSlice[T](r, max(0, (br-1)*ldb+bc))
	c := gemmRandSlice[T](r, m*ldc)
	if beta == 0 {
		for i := range c {
			c[i] = T(math.NaN())
		}
	}
	want := append([]T(nil), c...)
	gemmNaive(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, want, ldc)
	f(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	tol := gemmTol[T](k)
	for i := range m {
		for j := range ldc {
			got, w := float64(c[i*ldc+j]), float64(want[i*ldc+j])
			if j >= n {
				// Padding between rows must be left alone.
				if got != w && !(math.IsNaN(got) && math.IsNaN(w)) {
					t.Fatalf("%s: padding C[%d,%d] changed to %v", name, i, j, got)
				}
				continue
			}
			if math.IsNaN(got) || math.Abs(got-w) > tol*(1+math.Abs(w)) {
				t.Fatalf("%s: C[%d,%d] = %v, want %v", name, i, j, got, w)
			}
		}
	}
}

// TestGemmKernelsAgree checks every micro-kernel the machine runs against
// the float64 reference on awkward sizes, which leave partial tiles and
// blocks of every kind.
func TestGemmKernelsAgree(t *testing.T) {
	sizes := []int{1, 7, 17, 33, 255}
	if testing.Short() {
		sizes = sizes[:4]
	}
	r := rand.New(rand.NewPCG(21, 22))
	for _, k := range []gemmKernel{gemmGo, gemmAVX2, gemmAVX512} {
		restore, ok := gemmWithKernel(k)
		if !ok {
			t.Logf("kernel %d: not on this machine or build", k)
			continue
		}
		for i, m := range sizes {
			for j, n := range sizes {
				for l, kk := range sizes {
					tr := i + j + l
					name := fmt.Sprintf("kernel %d: %dx%dx%d", k, m, n, kk)
					gemmVerify(t, r, Gemm[float32], name, tr&1 != 0, tr&2 != 0, m, n, kk, tr%3, 1, float32(tr%2))
				}
			}
		}
		restore()
	}
}

// TestGemmRandom checks random shapes, transposes, strides and scalars.
func TestGemmRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	scalars := []float64{0, 1, -0.5}
	for i := range 60 {
		m, n, k := r.IntN(80), r.IntN(80), r.IntN(80)
		transA, transB := r.IntN(2) == 1, r.IntN(2) == 1
		pad := r.IntN(3)
		alpha, beta := scalars[1+r.IntN(2)], scalars[r.IntN(3)]
		name := fmt.Sprintf("%d: %dx%dx%d/tA=%v/tB=%v/pad=%d/a=%v/b=%v", i, m, n, k, transA, transB, pad, alpha, beta)
		gemmVerify(t, r, Gemm[float64], name, transA, transB, m, n, k, pad, alpha, beta)
		gemmVerify(t, r, Gemm[float32], name, transA, transB, m, n, k, pad, float32(alpha), float32(beta))
	}
}

// TestGemmNamedType checks a type defined on float32, which shares the
// assembly kernel and the float32 pools.
func TestGemmNamedType(t *testing.T) {
	type f32 float32
	r := rand.New(rand.NewPCG(13, 14))
	gemmVerify(t, r, Gemm[f32], "named", false, true, 37, 45, 29, 1, f32(1), f32(0))
}

// TestGemmLarge crosses every cache block with both workers.
func TestGemmLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("large product")
	}
	r := rand.New(rand.NewPCG(3, 4))
	for _, w := range []int{1, 2} {
		gemmWithWorkers(w, func() {
			gemmVerify(t, r, Gemm[float32], "f32/301x4200x270", false, false, 301, 4200, 270, 1, 1, 0)
			gemmVerify(t, r, Gemm[float64], "f64/260x390x515/tAtB", true, true, 260, 390, 515, 0, 0.5, 1)
			gemmVerify(t, r, Gemm[float32], "f32/400x3x700/tA", true, false, 400, 3, 700, 2, 1, 0)
		})
	}
}

func TestGemmBatched(t *testing.T) {
	type bcase struct {
		batch, m, n, k int
		sa, sb, sc     bool // false: stride 0 (broadcast)
		beta           float64
		workers        int
	}
	cases := []bcase{
		{0, 3, 3, 3, true, true, true, 0, 2},
		{1, 5, 7, 3, true, true, true, 0, 2},
		{6, 5, 7, 3, true, true, true, 0, 2},
		{6, 5, 7, 3, false, true, true, 1, 2},
		{6, 5, 7, 3, true, false, true, 0, 2},
		{5, 9, 4, 11, true, true, false, 1, 2},
		{7, 12, 20, 33, true, false, true, 0.5, 3},
		{3, 140, 130, 70, true, true, true, 0, 2}, // large: parallel inside
		{4, 140, 130, 70, false, true, true, 1, 2},
		{3, 140, 130, 70, true, true, false, 1, 2},
	}
	for _, tc := range cases {
		for tr := range 4 {
			transA, transB := tr&1 != 0, tr&2 != 0
			name := fmt.Sprintf("%+v/tA=%v/tB=%v", tc, transA, transB)
			gemmWithWorkers(tc.workers, func() {
				gemmTestBatched[float64](t, name, transA, transB, tc.batch, tc.m, tc.n, tc.k, tc.sa, tc.sb, tc.sc, tc.beta)
				gemmTestBatched[float32](t, name, transA, transB, tc.batch, tc.m, tc.n, tc.k, tc.sa, tc.sb, tc.sc, float32(tc.beta))
			})
		}
	}
}

func gemmTestBatched[T Float](t *testing.T, name string, transA, transB bool, batch, m, n, k int, sa, sb, sc bool, beta T) {
	r := rand.New(rand.NewPCG(5, 6))
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	// Row strides one wider than the matrix, and matrices two elements apart
	// beyond their extent, so that every stride is exercised.
	lda, ldb, ldc := ac+1, bc+1, n+1
	strideA, strideB, strideC := ar*lda+2, br*ldb+2, m*ldc+2
	if !sa {
		strideA = 0
	}
	if !sb {
		strideB = 0
	}
	if !sc {
		strideC = 0
	}
	nb := max(batch, 1)
	a := gemmRandSlice[T](r, (nb-1)*strideA+ar*lda)
	b := gemmRandSlice[T](r, (nb-1)*strideB+br*ldb)
	c := gemmRandSlice[T](r, (nb-1)*strideC+m*ldc)
	if beta == 0 {
		for i := range c {
			c[i] = T(math.NaN())
		}
	}
	want := append([]T(nil), c...)
	for i := range batch {
		gemmNaive(transA, transB, m, n, k, 0.75, a[i*strideA:], lda, b[i*strideB:], ldb, beta, want[i*strideC:], ldc)
	}
	GemmBatched(transA, transB, batch, m, n, k, 0.75, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC)
	tol := gemmTol[T](k * batch)
	for i := range batch {
		for row := range m {
			for j := range n {
				x := i*strideC + row*ldc + j
				got, w := float64(c[x]), float64(want[x])
				if math.IsNaN(got) || math.Abs(got-w) > tol*(1+math.Abs(w)) {
					t.Fatalf("%s %T: C_%d[%d,%d] = %v, want %v", name, c[0], i, row, j, got, w)
				}
			}
		}
	}
}

func TestGemmPanics(t *testing.T) {
	s := make([]float32, 12)
	cases := []struct {
		name string
		f    func()
	}{
		{"negative", func() { Gemm(false, false, -1, 2, 2, 1, s, 2, s, 2, 0, s, 2) }},
		{"short a", func() { Gemm(false, false, 4, 3, 4, 1, s, 4, s, 3, 0, s, 3) }},
		{"short b", func() { Gemm(false, true, 2, 4, 4, 1, s, 4, s[:11], 4, 0, s, 4) }},
		{"short c", func() { Gemm(false, false, 3, 3, 3, 1, s, 3, s, 3, 0, s[:8], 3) }},
		{"small lda", func() { Gemm(true, false, 2, 3, 2, 1, s, 1, s, 3, 0, s, 3) }},
		{"small ldc", func() { Gemm(false, false, 2, 3, 2, 1, s, 2, s, 3, 0, s, 2) }},
		{"batched short", func() { GemmBatched(false, false, 2, 2, 2, 2, 1, s, 2, 4, s, 2, 4, 0, s, 2, 10) }},
		{"batched negative stride", func() { GemmBatched(false, false, 2, 2, 2, 2, 1, s, 2, -4, s, 2, 4, 0, s, 2, 4) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				msg, _ := recover().(string)
				if !strings.HasPrefix(msg, "cpu.Gemm") {
					t.Fatalf("got panic %q, want one starting with cpu.Gemm", msg)
				}
			}()
			tc.f()
		})
	}
}

// gemmRaceEnabled reports whether the test binary runs the race detector.
func gemmRaceEnabled() bool {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-race" {
				return s.Value == "true"
			}
		}
	}
	return false
}

// TestGemmNoAlloc checks that a serial product allocates nothing once the
// packing buffers are pooled.
func TestGemmNoAlloc(t *testing.T) {
	if gemmRaceEnabled() {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	const m, n, k = 40, 50, 60
	a, b, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
	gemmWithWorkers(1, func() {
		allocs := testing.AllocsPerRun(20, func() {
			Gemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
		})
		if allocs > 0 {
			t.Errorf("Gemm allocates %v times per call", allocs)
		}
	})
}

// TestGemmPackTransposed checks the AVX-512 transposing pack against the
// element-by-element definition on awkward k extents, with 12 and 16
// rows, leaving everything outside the packed lanes untouched.
func TestGemmPackTransposed(t *testing.T) {
	if !gemmUseAVX512 {
		t.Skip("no AVX-512 here")
	}
	r := rand.New(rand.NewPCG(5, 6))
	for _, rows := range []int{12, 16} {
		for _, kb := range []int{16, 17, 33, 255, 512} {
			for _, ldd := range []int{rows, 32} {
				lds := kb + 7
				src := gemmRandSlice[float32](r, rows*lds)
				dst := make([]float32, kb*ldd+3)
				for i := range dst {
					dst[i] = -1
				}
				if !gemmPackTransposed(dst, ldd, src, lds, rows, kb) {
					t.Fatalf("rows %d kb %d: did not run", rows, kb)
				}
				for p := range kb {
					for i := range ldd {
						want := float32(-1)
						if i < rows {
							want = src[i*lds+p]
						}
						if got := dst[p*ldd+i]; got != want {
							t.Fatalf("rows %d kb %d ldd %d: dst[%d*%d+%d] = %v, want %v", rows, kb, ldd, p, ldd, i, got, want)
						}
					}
				}
				for _, v := range dst[kb*ldd:] {
					if v != -1 {
						t.Fatalf("rows %d kb %d ldd %d: wrote past the end", rows, kb, ldd)
					}
				}
			}
		}
	}
	for _, kb := range []int{1, 7, 15} {
		if gemmPackTransposed(make([]float32, 16*kb), 16, make([]float32, 16*kb), kb, 16, kb) {
			t.Errorf("kb %d: ran below 16", kb)
		}
	}
}

// TestGemmBufCache checks that scratch buffers come back from the cache
// after garbage collections (a sync.Pool would have dropped them), that a
// buffer of the class fits any request of that class, and that the cache
// stops taking buffers at gemmCacheLimit.
func TestGemmBufCache(t *testing.T) {
	p := gemmGetBuf[float32](3000)
	if len(*p) != 3000 || cap(*p) != 4096 {
		t.Fatalf("len %d cap %d, want 3000 and 4096", len(*p), cap(*p))
	}
	first := &(*p)[:1][0]
	gemmPutBuf(p)
	runtime.GC()
	runtime.GC()
	q := gemmGetBuf[float32](2049)
	if &(*q)[:1][0] != first || len(*q) != 2049 {
		t.Errorf("after two collections got a new buffer (len %d), want the cached one", len(*q))
	}
	gemmPutBuf(q)

	// Fill the cache past its limit with buffers of one large class.
	const n = 1 << 24 // 64 MiB of float32
	var bufs []*[]float32
	for range gemmCacheLimit/(4*n) + 2 {
		bufs = append(bufs, gemmGetBuf[float32](n))
	}
	for _, b := range bufs {
		gemmPutBuf(b)
	}
	gemmCache.mu.Lock()
	held, kept := gemmCache.bytes, len(gemmCache.free32[gemmClass(n)])
	gemmCache.mu.Unlock()
	if held > gemmCacheLimit || kept >= len(bufs) {
		t.Errorf("cache holds %d bytes in %d of %d buffers, want at most %d bytes", held, kept, len(bufs), gemmCacheLimit)
	}
	for range kept { // leave the cache as other tests expect it
		gemmGetBuf[float32](n)
	}
}
