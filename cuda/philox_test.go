package cuda

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vertebra-ml/vertebra/autograd/cpu"
)

// TestPhiloxKernelMatchesCPU compiles elementwise.cu's Philox4x32-10
// function as host C (a C compiler stands in for the GPU, with the two
// CUDA intrinsics it uses spelled out) and compares its words with
// autograd/cpu's reference, so the generator is checked bit for bit on a
// machine without a GPU. It skips without a C compiler.
func TestPhiloxKernelMatchesCPU(t *testing.T) {
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler (cc) to run the kernel's Philox on the host")
	}
	src, err := kernelFS.ReadFile("kernels/elementwise.cu")
	if err != nil {
		t.Fatal(err)
	}
	text := string(src)
	start := strings.Index(text, "__device__ __forceinline__ uint4 philox4x32_10")
	if start < 0 {
		t.Fatal("elementwise.cu has no philox4x32_10")
	}
	end := strings.Index(text[start:], "\n}\n")
	fn := text[start : start+end+3]
	cases := [][6]uint32{
		{0, 0, 0, 0, 0, 0},
		{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
		{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0},
		{7, 0, 1, 0, 42, 0},
	}
	var prog strings.Builder
	prog.WriteString(`#include <stdio.h>
#include <stdint.h>
typedef uint32_t u32;
typedef struct { u32 x, y, z, w; } uint4;
typedef struct { u32 x, y; } uint2;
static uint4 make_uint4(u32 x, u32 y, u32 z, u32 w) { uint4 v = {x, y, z, w}; return v; }
static uint2 make_uint2(u32 x, u32 y) { uint2 v = {x, y}; return v; }
static u32 __umulhi(u32 a, u32 b) { return (u32)(((uint64_t)a * b) >> 32); }
#define __device__ static
#define __forceinline__ inline
`)
	prog.WriteString(fn)
	prog.WriteString("int main(void) {\n")
	for _, c := range cases {
		fmt.Fprintf(&prog, "\t{ uint4 w = philox4x32_10(make_uint4(%du, %du, %du, %du), make_uint2(%du, %du)); printf(\"%%u %%u %%u %%u\\n\", w.x, w.y, w.z, w.w); }\n",
			c[0], c[1], c[2], c[3], c[4], c[5])
	}
	prog.WriteString("\treturn 0;\n}\n")
	dir := t.TempDir()
	cfile, bin := filepath.Join(dir, "philox.c"), filepath.Join(dir, "philox")
	if err := os.WriteFile(cfile, []byte(prog.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(cc, "-std=c99", "-O1", "-o", bin, cfile).CombinedOutput(); err != nil {
		t.Fatalf("compiling the kernel's Philox as C: %v\n%s\n%s", err, out, prog.String())
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for i, c := range cases {
		w := cpu.Philox4x32([4]uint32{c[0], c[1], c[2], c[3]}, [2]uint32{c[4], c[5]})
		want := fmt.Sprintf("%d %d %d %d", w[0], w[1], w[2], w[3])
		if i >= len(lines) || lines[i] != want {
			t.Errorf("counter %x key %x: kernel gives %q, CPU %q", c[:4], c[4:], lines[min(i, len(lines)-1)], want)
		}
	}
}
