package nn

import (
	"slices"
	"strings"
	"testing"

	ag "github.com/vertebra-ml/vertebra/autograd"
)

// TestNewStoreTrains: a new store is in training mode, as a new PyTorch
// module (it was in eval mode before).
func TestNewStoreTrains(t *testing.T) {
	if !NewStore(ag.Float32, 1).Training() {
		t.Error("a new store is in eval mode; PyTorch modules start in training mode")
	}
}

// TestSequentialNamesByIndex builds torch.nn.Sequential(Conv2d, ReLU,
// MaxPool2d, Flatten, Linear): the parameters are 0.* and 4.*.
func TestSequentialNamesByIndex(t *testing.T) {
	s := NewStore(ag.Float32, 1)
	seq := NewSequential(s.Root().Sub("features"))
	seq.Add(NewConv2d(seq.Next(), 1, 2, ag.Pair(3), ag.Conv2dOptions{Padding: ag.Pair(1)}, true))
	seq.Add(ReLU{}, NewMaxPool2d(2), Flatten{})
	seq.Add(NewLinear(seq.Next(), 2*2*2, 3, true))
	var names []string
	for _, e := range s.Entries() {
		names = append(names, e.Name)
	}
	want := []string{"features.0.weight", "features.0.bias", "features.4.weight", "features.4.bias"}
	if !slices.Equal(names, want) {
		t.Errorf("names %v, want %v", names, want)
	}
	y := seq.Sequential().Forward(ag.Zeros(ag.Float32, 5, 1, 4, 4))
	if !slices.Equal(y.Shape(), []int{5, 3}) {
		t.Errorf("output %v, want [5 3]", y.Shape())
	}
	msg := func() (msg string) {
		defer func() { msg, _ = recover().(string) }()
		seq.Next()
		seq.Next()
		seq.Add(ReLU{})
		return ""
	}()
	if !strings.Contains(msg, "Next was called 2 times") {
		t.Errorf("two Next calls for one index: panic %q", msg)
	}
}

func TestPoolingModules(t *testing.T) {
	x := ag.FromFloat32([]float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, 1, 1, 4, 4)
	for _, tc := range []struct {
		name string
		m    Module
		want []float32
	}{
		{"max", NewMaxPool2d(2), []float32{6, 8, 14, 16}},
		{"avg", NewAvgPool2d(2), []float32{3.5, 5.5, 11.5, 13.5}},
		{"adaptive", AdaptiveAvgPool2d{H: 1, W: 1}, []float32{8.5}},
		{"func", Func(func(x *ag.Tensor) *ag.Tensor { return ag.MulScalar(ag.AdaptiveAvgPool2d(x, 1, 1), 2) }), []float32{17}},
		{"flatten", Sequential{AdaptiveAvgPool2d{H: 1, W: 2}, Flatten{}}, []float32{7.5, 9.5}},
	} {
		if got := tc.m.Forward(x).Float32s(); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestNewLinearInit(t *testing.T) {
	s := NewStore(ag.Float32, 1)
	l := NewLinear(s.Root(), 3, 2, true, LinearInit{Weight: Constant(0.5)})
	if w := l.Weight.Float32s(); w[0] != 0.5 || w[5] != 0.5 {
		t.Errorf("weight %v, want 0.5 everywhere", w)
	}
	if b := l.Bias.Float32s(); b[0] == 0 || b[0] == 0.5 {
		t.Errorf("bias %v, want PyTorch's default init", b)
	}
}
