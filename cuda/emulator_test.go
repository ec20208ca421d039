package cuda

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// gpuTests are the tests that need a GPU, which TestEmulatedGPU runs
// against the emulator (all but the TF32 suite, which the emulator's
// exact products make a repeat of the float32 one).
const gpuTests = "^(TestConformance|TestAllocatorSteadyState|TestLargeTransfer|TestBadIndexReported|TestKernelsFromCache|TestGemmLarge|TestGarbageStorageReturns|TestSumAxisShapes)$"

// TestEmulatedGPU runs the GPU tests (the conformance suite among them) on
// this machine against an emulated GPU: a fake libcuda.so.1 whose "device"
// memory is host memory and whose kernels are kernels/*.cu compiled as C++
// (blocks in turn on one OS thread, each block's threads as coroutines
// switched at barriers, so barriers and warp shuffles work), and a fake libcublas.so.12 computing column-major
// products as cuBLAS defines them, with its leading-dimension checks. The
// device's Go code, its argument passing and every kernel's logic are
// exercised; the real GPU's compiler, memory model and cuBLAS are not,
// so this complements the GPU run and does not replace it. NVRTC still
// compiles the kernels (the images go unused). Needs g++ and NVRTC.
func TestEmulatedGPU(t *testing.T) {
	if os.Getenv("VERTEBRA_EMULATED_GPU") == "1" {
		t.Skip("inside the emulated run")
	}
	if testing.Short() {
		t.Skip("-short: the emulated GPU takes a while")
	}
	nvrtcForTest(t)
	cxx, err := exec.LookPath("g++")
	if err != nil {
		t.Skip("no g++ to build the emulated GPU")
	}
	dir := t.TempDir()
	emu, err := filepath.Abs("testdata/emu")
	if err != nil {
		t.Fatal(err)
	}
	kernels := filepath.Join(dir, "kernels.cc")
	if err := os.WriteFile(kernels, []byte(emulatedKernels(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	// The kernels' names, from the preprocessed source, each get a launcher.
	pre, err := exec.Command(cxx, "-std=c++20", "-E", "-I", emu, "-include", "shim.h", kernels).Output()
	if err != nil {
		t.Fatalf("preprocessing the kernels: %v", err)
	}
	names := regexp.MustCompile(`extern "C" __attribute__\(\(visibility\("default"\)\)\) void (\w+)\s*\(`).FindAllStringSubmatch(string(pre), -1)
	if len(names) < 50 {
		t.Fatalf("found %d kernels in the preprocessed source", len(names))
	}
	f, err := os.OpenFile(kernels, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		f.WriteString("extern \"C\" __attribute__((visibility(\"default\"))) void " + n[1] + "__launch(void** p) { launch_call(&" + n[1] + ", p); }\n")
	}
	f.Close()
	for _, b := range [][]string{
		{"-o", filepath.Join(dir, "libcuda.so.1"), filepath.Join(emu, "driver.cc"), kernels},
		{"-o", filepath.Join(dir, "libcublas.so.12"), filepath.Join(emu, "cublas.cc")},
	} {
		args := append([]string{"-std=c++20", "-O1", "-shared", "-fPIC", "-pthread", "-w", "-I", emu, "-include", "shim.h"}, b...)
		if out, err := exec.Command(cxx, args...).CombinedOutput(); err != nil {
			t.Fatalf("building %s: %v\n%s", filepath.Base(b[1]), err, out)
		}
	}
	cmd := exec.Command(os.Args[0], "-test.run", gpuTests, "-test.v")
	cmd.Env = append(os.Environ(), "VERTEBRA_EMULATED_GPU=1", "VERTEBRA_REQUIRE_GPU=1",
		"VERTEBRA_CUDA_PATH="+dir, "VERTEBRA_CUDA_CACHE="+filepath.Join(dir, "cache"))
	out, err := cmd.CombinedOutput()
	passed := strings.Count(string(out), "--- PASS")
	t.Logf("emulated GPU: %d tests passed", passed)
	if testing.Verbose() {
		t.Logf("%s", out)
	}
	if err != nil || strings.Contains(string(out), "--- SKIP") {
		t.Fatalf("GPU tests on the emulated GPU: %v\n%s", err, out)
	}
}

// emulatedKernels is every kernel source in one C++ translation unit:
// common.cuh once, then each file.
func emulatedKernels(t *testing.T) string {
	common, err := kernelFS.ReadFile("kernels/common.cuh")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.Write(common)
	for _, src := range kernelSources() {
		_, body, _ := strings.Cut(src.text, "\n#line 1 ")
		b.WriteString("\n#line 1 " + body)
	}
	return b.String()
}
