// Package devices turns a --device flag value into an autograd.Device for
// the programs under experiments and train.
package devices

import (
	"fmt"
	"strconv"
	"strings"

	ag "github.com/vertebra-ml/vertebra/autograd"
)

// Usage is the flag's help text.
const Usage = "device to run on: cpu, cuda (the first GPU) or cuda:N"

// Open returns the device named by name: "cpu", "cuda" or "cuda:N". A
// device that cannot be opened is an error naming it and saying why.
func Open(name string) (ag.Device, error) {
	switch {
	case name == "cpu" || name == "":
		return ag.CPU, nil
	case name == "cuda" || strings.HasPrefix(name, "cuda:"):
		ordinal := 0
		if rest, ok := strings.CutPrefix(name, "cuda:"); ok {
			n, err := strconv.Atoi(rest)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("device %q: want cuda:N with N a GPU number (0, 1, ...)", name)
			}
			ordinal = n
		}
		return openCUDA(ordinal)
	}
	return nil, fmt.Errorf("device %q: want cpu, cuda or cuda:N", name)
}

// openCUDA opens GPU ordinal; package cuda replaces it when it lands.
var openCUDA = func(ordinal int) (ag.Device, error) {
	return nil, fmt.Errorf("device cuda:%d: this build has no CUDA backend yet (package cuda)", ordinal)
}
