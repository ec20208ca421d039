package autograd_test

import (
	"fmt"
	"strings"
	"testing"

	ag "github.com/vertebra-ml/vertebra/autograd"
)

// TestReleasedTensorMessage: using a tensor after its Scope ended names
// the op, the tensor's shape and what to do (it said "storage of 0
// elements", or a Reshape size mismatch).
func TestReleasedTensorMessage(t *testing.T) {
	x := ag.FromFloat32([]float32{1, 2, 3}, 3)
	var y *ag.Tensor
	ag.Scope(func() { y = ag.MulScalar(x, 2) })
	for _, tc := range []struct {
		op string
		f  func()
	}{
		{"Add", func() { ag.Add(y, x) }},
		{"Reshape", func() { ag.Reshape(y, 1, 3) }},
		{"Float64s", func() { y.Float64s() }},
		{"Sum", func() { ag.Sum(y, nil, false) }},
		{"IndexSelect", func() { ag.IndexSelect(y, 0, []int{0}) }}, // a generic function
	} {
		msg := func() (msg string) {
			defer func() { msg = fmt.Sprint(recover()) }()
			tc.f()
			return ""
		}()
		want := "autograd: " + tc.op + ": input [3] float32 used after the Scope that made it ended"
		if !strings.HasPrefix(msg, want) {
			t.Errorf("%s: panic %q, want %q...", tc.op, msg, want)
		}
	}
}
