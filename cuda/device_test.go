package cuda

import (
	"math"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/autograd/devicetest"
)

var (
	testDevOnce sync.Once
	testDev     *Device
	testDevErr  error
)

// gpuForTest opens GPU 0 once for the package's tests, or skips them with
// the reason. With VERTEBRA_REQUIRE_GPU=1 (scripts/gpu-check.sh sets it on
// the GPU machine) a device that does not open fails instead.
func gpuForTest(t *testing.T) *Device {
	t.Helper()
	testDevOnce.Do(func() { testDev, testDevErr = Open(0, Options{}) })
	if testDevErr != nil {
		if os.Getenv("VERTEBRA_REQUIRE_GPU") == "1" {
			t.Fatalf("GPU required (VERTEBRA_REQUIRE_GPU=1): %v", testDevErr)
		}
		t.Skipf("no CUDA GPU here: %v", testDevErr)
	}
	return testDev
}

// TestConformance runs autograd/devicetest's suite on the GPU.
func TestConformance(t *testing.T) {
	d := gpuForTest(t)
	t.Logf("%s", d)
	devicetest.Run(t, d)
}

// TestConformanceTF32 runs the suite with TF32 products; only the
// products and convolutions may differ, by TF32's 10-bit mantissa, so the
// suite's errors are reported, not failed on, for the kernels that use them.
func TestConformanceTF32(t *testing.T) {
	gpuForTest(t)
	d, err := Open(0, Options{TF32: true})
	if err != nil {
		t.Fatal(err)
	}
	err = devicetest.Test(d)
	if err == nil {
		return
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		if strings.HasPrefix(line, "Gemm:") || strings.HasPrefix(line, "Conv2d:") {
			t.Logf("TF32 (expected to differ beyond float32's tolerance): %s", line)
			continue
		}
		t.Error(line)
	}
}

// TestAllocatorSteadyState: a loop that allocates and releases the same
// sizes is served from the cache after its first pass.
func TestAllocatorSteadyState(t *testing.T) {
	d := gpuForTest(t)
	step := func() {
		var held []ag.Storage
		for _, n := range []int{1, 1000, 1 << 20, 3<<20 + 5} {
			s, err := d.Alloc(ag.Float32, n)
			if err != nil {
				t.Fatal(err)
			}
			held = append(held, s)
		}
		for _, s := range held {
			d.Release(s)
		}
	}
	step()
	before := d.MemStats()
	for range 10 {
		step()
	}
	after := d.MemStats()
	if after.Misses != before.Misses {
		t.Errorf("steady state asked the driver %d more times: %+v", after.Misses-before.Misses, after)
	}
	if after.Hits < before.Hits+40 {
		t.Errorf("hits %d -> %d, want 40 more", before.Hits, after.Hits)
	}
}

// TestLargeTransfer goes through several staging buffers each way.
func TestLargeTransfer(t *testing.T) {
	d := gpuForTest(t)
	v := make([]float32, 5*stageSlotBytes/4+3)
	for i := range v {
		v[i] = float32(i % 1000003)
	}
	s, err := d.FromHost(v)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Release(s)
	got, err := d.ToHost(s)
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range got.([]float32) {
		if x != v[i] {
			t.Fatalf("[%d] = %g, want %g", i, x, v[i])
		}
	}
}

// TestBadIndexReported: an index outside [0, n) is skipped and reported
// by the next Synchronize; the device stays failed after it.
func TestBadIndexReported(t *testing.T) {
	gpuForTest(t)
	d, err := Open(0, Options{}) // its own device: the failure is sticky
	if err != nil {
		t.Fatal(err)
	}
	src, _ := d.FromHost([]float32{1, 2, 3})
	idx, _ := d.FromHost([]int32{0, 5})
	dst, _ := d.Alloc(ag.Float32, 2)
	d.IndexSelect(dst, src, idx, 1, 3, 1)
	if err := d.Synchronize(); err == nil || !strings.Contains(err.Error(), "outside [0, n)") {
		t.Errorf("Synchronize after a bad index: %v", err)
	}
	if _, err := d.ToHost(dst); err == nil {
		t.Error("ToHost after the failure succeeded")
	}
}

// TestKernelsFromCache: a second device of the process finds every
// kernel in the disk cache.
func TestKernelsFromCache(t *testing.T) {
	gpuForTest(t)
	d, err := Open(0, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !d.cached {
		t.Errorf("second Open compiled again (cache %s)", cacheDir())
	}
}

// TestGemmLarge checks one large product against a float64 host sum, a
// case beyond the suite's sizes.
func TestGemmLarge(t *testing.T) {
	d := gpuForTest(t)
	const m, n, k = 129, 257, 1031
	a, b := make([]float32, m*k), make([]float32, k*n)
	for i := range a {
		a[i] = float32(math.Sin(float64(i)))
	}
	for i := range b {
		b[i] = float32(math.Cos(float64(i)))
	}
	as, _ := d.FromHost(a)
	bs, _ := d.FromHost(b)
	cs, _ := d.Alloc(ag.Float32, m*n)
	d.Gemm(false, false, 1, m, n, k, 1, as, 0, bs, 0, 0, cs)
	got, err := d.ToHost(cs)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range [][2]int{{0, 0}, {m - 1, n - 1}, {64, 100}} {
		var want float64
		for j := range k {
			want += float64(a[p[0]*k+j]) * float64(b[j*n+p[1]])
		}
		if g := float64(got.([]float32)[p[0]*n+p[1]]); math.Abs(g-want) > 1e-3 {
			t.Errorf("C[%d,%d] = %g, want %g", p[0], p[1], g, want)
		}
	}
}

// TestGarbageStorageReturns: storage dropped without Release goes back to
// the allocator once the garbage collector finds it.
func TestGarbageStorageReturns(t *testing.T) {
	d := gpuForTest(t)
	before := d.MemStats().InUse
	func() {
		s, err := d.Alloc(ag.Float32, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		_ = s
	}()
	for range 100 {
		runtime.GC()
		if d.MemStats().InUse <= before {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("1M floats still in use after the storage became garbage: %+v (before %d)", d.MemStats(), before)
}

// TestSumAxisShapes compares SumAxis with the CPU on shapes beyond the
// suite's: long axes, strided and contiguous, over few and many outputs
// (each of the device's three strategies).
func TestSumAxisShapes(t *testing.T) {
	d := gpuForTest(t)
	for _, s := range [][3]int{{2, 3000, 100}, {1, 6304, 40}, {5, 1000, 1}, {64, 300, 129}} {
		outer, n, inner := s[0], s[1], s[2]
		src := make([]float32, outer*n*inner)
		for i := range src {
			src[i] = float32(math.Sin(float64(i) * 0.37))
		}
		ds, _ := d.FromHost(src)
		dd, _ := d.Alloc(ag.Float32, outer*inner)
		d.SumAxis(dd, ds, outer, n, inner, 0.5)
		got, err := d.ToHost(dd)
		if err != nil {
			t.Fatal(err)
		}
		cs, _ := ag.CPU.FromHost(src)
		cd, _ := ag.CPU.Alloc(ag.Float32, outer*inner)
		ag.CPU.SumAxis(cd, cs, outer, n, inner, 0.5)
		want, _ := ag.CPU.ToHost(cd)
		for i, w := range want.([]float32) {
			if g := got.([]float32)[i]; math.Abs(float64(g-w)) > 1e-3*math.Max(1, math.Abs(float64(w))) {
				t.Fatalf("%v: [%d] = %g, want %g", s, i, g, w)
			}
		}
	}
}
