// Package devices turns a --device flag value into an autograd.Device for
// the programs under experiments and train.
package devices

import (
	"fmt"
	"strconv"
	"strings"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/cuda"
)

// Usage is the flag's help text.
const Usage = "device to run on: cpu, cuda (the first GPU) or cuda:N; a +tf32 suffix (cuda+tf32) lets float32 products use TF32 tensor cores (faster, about 1e-3 relative error)"

// Open returns the device named by name: "cpu", "cuda" or "cuda:N",
// optionally with "+tf32". A device that cannot be opened is an error
// naming it and saying why; the CPU never needs CUDA.
func Open(name string) (ag.Device, error) {
	switch {
	case name == "cpu" || name == "":
		return ag.CPU, nil
	case name == "cuda" || strings.HasPrefix(name, "cuda:") || strings.HasPrefix(name, "cuda+"):
		base, tf32 := strings.CutSuffix(name, "+tf32")
		ordinal := 0
		if rest, ok := strings.CutPrefix(base, "cuda:"); ok {
			n, err := strconv.Atoi(rest)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("device %q: want cuda:N with N a GPU number (0, 1, ...)", name)
			}
			ordinal = n
		} else if base != "cuda" {
			return nil, fmt.Errorf("device %q: want cpu, cuda or cuda:N, optionally with +tf32", name)
		}
		return openCUDA(ordinal, cuda.Options{TF32: tf32})
	}
	return nil, fmt.Errorf("device %q: want cpu, cuda or cuda:N", name)
}

// openCUDA opens GPU ordinal.
func openCUDA(ordinal int, o cuda.Options) (ag.Device, error) {
	d, err := cuda.Open(ordinal, o)
	if err != nil {
		return nil, fmt.Errorf("device cuda:%d: %w", ordinal, err)
	}
	return d, nil
}

// Describe is a start-up line for d: the CUDA device names its GPU and the
// libraries and versions it loaded.
func Describe(d ag.Device) string {
	if s, ok := d.(fmt.Stringer); ok {
		return s.String()
	}
	return d.Name()
}
