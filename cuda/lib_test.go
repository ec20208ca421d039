package cuda

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestMajorOf(t *testing.T) {
	for _, c := range []struct {
		file string
		want int
	}{{"libcublas.so.12", 12}, {"libnvrtc.so.11.2", 11}, {"libnvrtc-builtins.so.13.0", 13}, {"libcuda.so", 0}, {"libcuda.so.1", 1}} {
		if got := majorOf(c.file); got != c.want {
			t.Errorf("majorOf(%q) = %d, want %d", c.file, got, c.want)
		}
	}
}

// TestSearchDirs: pip's layout inside a virtual environment, and the
// override, are searched.
func TestSearchDirs(t *testing.T) {
	env := t.TempDir()
	pip := filepath.Join(env, "lib", "python3.12", "site-packages", "nvidia", "cublas", "lib")
	own := t.TempDir()
	if err := os.MkdirAll(pip, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("VIRTUAL_ENV", env)
	t.Setenv("VERTEBRA_CUDA_PATH", own)
	dirs := searchDirs()
	if !slices.Contains(dirs, pip) {
		t.Errorf("searchDirs() = %v, missing the virtual environment's %s", dirs, pip)
	}
	if len(dirs) == 0 || dirs[0] != own {
		t.Errorf("searchDirs() = %v, want VERTEBRA_CUDA_PATH %s first", dirs, own)
	}
}

// TestOpenLibErrors: a missing library names the files and folders; a
// file that is not a library names itself and the loader's complaint.
func TestOpenLibErrors(t *testing.T) {
	dir := t.TempDir()
	spec := libSpec{name: "cuBLAS", files: []string{"libcublas.so.13", "libcublas.so.12"}}
	_, err := openLib(spec, []string{dir}, 0)
	if err == nil {
		t.Skip("a cuBLAS is installed on this machine")
	}
	for _, want := range []string{"cuBLAS not found", "libcublas.so.13", "libcublas.so.12", dir, "VERTEBRA_CUDA_PATH"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if _, err := openLib(spec, []string{dir}, 12); err == nil || !strings.Contains(err.Error(), "newer than the driver") {
		t.Errorf("with the driver at 12, error %v does not say libcublas.so.13 was skipped", err)
	}
	bogus := filepath.Join(dir, "libcublas.so.12")
	if err := os.WriteFile(bogus, []byte("not a library"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = openLib(spec, []string{dir}, 0)
	if err == nil || !strings.Contains(err.Error(), bogus) {
		t.Errorf("error %v does not name the unloadable %s", err, bogus)
	}
}

// TestOpenWithoutGPU: on a machine without the driver, Open fails with an
// error that names the driver library, and nothing panics.
func TestOpenWithoutGPU(t *testing.T) {
	d, err := Open(0, Options{})
	if err == nil {
		t.Skipf("a GPU is present: %v", d)
	}
	t.Logf("Open(0): %v", err)
	if _, derr := loadDriver(); derr != nil && !strings.Contains(err.Error(), "libcuda.so.1") {
		t.Errorf("error %q does not name libcuda.so.1", err)
	}
}

func TestStrided(t *testing.T) {
	// A contiguous 2x3x4 with a broadcast of its last dimension merges to
	// rank 2: (6, 4) with b stride 0 on the last.
	s, err := strided([]int{2, 3, 4}, []int{12, 4, 1}, []int{3, 1, 0})
	if err != nil {
		t.Fatal(err)
	}
	if s.nd != 2 || s.shape[0] != 6 || s.shape[1] != 4 || s.sa[1] != 1 || s.sb[0] != 1 || s.sb[1] != 0 {
		t.Errorf("strided = %+v", s)
	}
	// Size-1 dimensions drop out; nine alternating ones do not fit.
	shape, st := make([]int, 9), make([]int, 9)
	for i := range shape {
		shape[i], st[i] = 2, 1<<(2*i)
	}
	if _, err := strided(shape, st, nil); err == nil {
		t.Error("nine unmergeable dimensions accepted")
	}
	if s, err := strided([]int{1, 1, 5}, []int{5, 5, 1}, nil); err != nil || s.nd != 1 {
		t.Errorf("strided with size-1 dims = %+v, %v", s, err)
	}
}

func TestKernelCache(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("VERTEBRA_CUDA_CACHE", dir)
	k1 := cacheKey("a.cu", "src", target{arch: 90, cubin: true}, "12.4")
	for _, k := range []string{
		cacheKey("a.cu", "src2", target{arch: 90, cubin: true}, "12.4"),
		cacheKey("a.cu", "src", target{arch: 80, cubin: true}, "12.4"),
		cacheKey("a.cu", "src", target{arch: 90}, "12.4"),
		cacheKey("a.cu", "src", target{arch: 90, cubin: true}, "13.0"),
	} {
		if k == k1 {
			t.Errorf("keys collide: %s", k)
		}
	}
	if cacheLoad(cacheDir(), k1) != nil {
		t.Fatal("empty cache returned an image")
	}
	if err := cacheStore(cacheDir(), k1, []byte("image")); err != nil {
		t.Fatal(err)
	}
	if got := cacheLoad(cacheDir(), k1); string(got) != "image" {
		t.Errorf("cache returned %q", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("cache folder holds %d files, want 1 (no temporary left)", len(entries))
	}
}

// TestCompileCached: the second compile of a source comes from the disk.
func TestCompileCached(t *testing.T) {
	n := nvrtcForTest(t)
	t.Setenv("VERTEBRA_CUDA_CACHE", t.TempDir())
	src := "extern \"C\" __global__ void k(int* p) { *p = 1; }"
	a, hit, err := n.compileCached("k.cu", src, target{arch: 70})
	if err != nil || hit {
		t.Fatalf("first compile: hit %v, %v", hit, err)
	}
	b, hit, err := n.compileCached("k.cu", src, target{arch: 70})
	if err != nil || !hit || string(a) != string(b) {
		t.Fatalf("second compile: hit %v, same %v, %v", hit, string(a) == string(b), err)
	}
}
