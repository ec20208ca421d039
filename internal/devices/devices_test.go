package devices

import (
	"strings"
	"testing"

	ag "github.com/vertebra-ml/vertebra/autograd"
)

func TestOpen(t *testing.T) {
	for _, name := range []string{"cpu", ""} {
		d, err := Open(name)
		if err != nil || d != ag.CPU {
			t.Errorf("Open(%q) = %v, %v, want the CPU", name, d, err)
		}
	}
	for _, tc := range []struct{ name, want string }{
		{"gpu", "want cpu, cuda or cuda:N"},
		{"cuda:x", "want cuda:N"},
		{"cuda:-1", "want cuda:N"},
		{"cuda:1", "cuda:1"},
	} {
		if _, err := Open(tc.name); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%q): err = %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
}

// TestOpenCUDAWithoutGPU: on a machine without CUDA the error names the
// device and what is missing; the CPU is unaffected.
func TestOpenCUDAWithoutGPU(t *testing.T) {
	d, err := Open("cuda+tf32")
	if err == nil {
		t.Skipf("a GPU is present: %s", Describe(d))
	}
	if !strings.Contains(err.Error(), "cuda:0") {
		t.Errorf("error %q does not name cuda:0", err)
	}
	if _, err := Open("cuda+fast"); err == nil || !strings.Contains(err.Error(), "+tf32") {
		t.Errorf("Open(cuda+fast): %v", err)
	}
	if Describe(ag.CPU) != "cpu" {
		t.Errorf("Describe(CPU) = %q", Describe(ag.CPU))
	}
}
