package models

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	ag "github.com/vertebra-ml/vertebra/autograd"
)

// HFSize is an [H, W] size of a Hugging Face configuration (image_size,
// patch_size), which transformers accepts as one int (square) or a
// two-element list.
type HFSize [2]int

// UnmarshalJSON accepts n or [h, w]; null leaves the size unchanged.
func (s *HFSize) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if bytes.Equal(data, []byte("null")) {
		return nil
	}
	if len(data) > 0 && data[0] == '[' {
		var v []int
		if err := json.Unmarshal(data, &v); err != nil {
			return err
		}
		if len(v) != 2 {
			return fmt.Errorf("size %s: want an int or [height, width]", data)
		}
		*s = HFSize{v[0], v[1]}
		return nil
	}
	var n int
	if err := json.Unmarshal(data, &n); err != nil {
		return fmt.Errorf("size %s: want an int or [height, width]", data)
	}
	*s = HFSize{n, n}
	return nil
}

// MarshalJSON writes a square size as one int, as transformers does.
func (s HFSize) MarshalJSON() ([]byte, error) {
	if s[0] == s[1] {
		return json.Marshal(s[0])
	}
	return json.Marshal([2]int(s))
}

// hfActivations are the entries of transformers' ACT2FN (hidden_act) that
// the models support.
var hfActivations = map[string]func(*ag.Tensor) *ag.Tensor{
	"gelu":        ag.GELU,
	"gelu_python": ag.GELU,
	// The tanh approximations: NewGELU, PytorchGELUTanh, FastGELU and
	// AccurateGELU all compute 0.5x(1+tanh(sqrt(2/pi)(x+0.044715x^3))).
	"gelu_new":          ag.GELUTanh,
	"gelu_pytorch_tanh": ag.GELUTanh,
	"gelu_fast":         ag.GELUTanh,
	"gelu_accurate":     ag.GELUTanh,
	"quick_gelu":        func(x *ag.Tensor) *ag.Tensor { return ag.Mul(x, ag.Sigmoid(ag.MulScalar(x, 1.702))) },
	"relu":              ag.ReLU,
	"silu":              ag.SiLU,
	"swish":             ag.SiLU,
	"sigmoid":           ag.Sigmoid,
	"tanh":              ag.Tanh,
	"linear":            func(x *ag.Tensor) *ag.Tensor { return x },
}

// hfActivation returns the op of a hidden_act name, or an error listing
// the names supported.
func hfActivation(name string) (func(*ag.Tensor) *ag.Tensor, error) {
	if f, ok := hfActivations[name]; ok {
		return f, nil
	}
	names := make([]string, 0, len(hfActivations))
	for n := range hfActivations {
		names = append(names, n)
	}
	slices.Sort(names)
	return nil, fmt.Errorf("hidden_act %q: want one of %s", name, strings.Join(names, ", "))
}
