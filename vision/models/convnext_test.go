package models

import (
	"math"
	"slices"
	"strings"
	"testing"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/nn"
)

func TestConvNeXtHeadless(t *testing.T) {
	for _, name := range []string{"convnext_a", "convnext_b"} {
		store := cnnHeadless(t, name, "classifier.2.")
		// torchvision's study code replaces only classifier.2: the
		// LayerNorm2d stays, last in the parameter order.
		es := store.Entries()
		if n := len(es); n < 2 || es[n-2].Name != "classifier.0.weight" || es[n-1].Name != "classifier.0.bias" {
			t.Errorf("%s: headless model does not end with classifier.0", name)
		}
	}
}

// TestConvNeXtStructure checks the features.N numbering, a last stage with
// an out width (one more downsampling layer), the classifier and the
// linear stochastic-depth schedule.
func TestConvNeXtStructure(t *testing.T) {
	m, _, keys := cnnKeys(t, "convnext", `{"stages":[{"in":8,"out":16,"layers":2},{"in":16,"out":24,"layers":1}],
		"layer_scale":0.5,"num_classes":3,"stochastic_depth_prob":0.3}`)
	want := []string{
		"features.0.0.weight[8 3 4 4]", "features.0.0.bias[8]", "features.0.1.weight[8]", "features.0.1.bias[8]",
		"features.1.0.layer_scale[8 1 1]", "features.1.0.block.0.weight[8 1 7 7]", "features.1.0.block.0.bias[8]",
		"features.1.0.block.2.weight[8]", "features.1.0.block.2.bias[8]",
		"features.1.0.block.3.weight[32 8]", "features.1.0.block.3.bias[32]",
		"features.1.0.block.5.weight[8 32]", "features.1.0.block.5.bias[8]",
	}
	if !slices.Equal(keys[:len(want)], want) {
		t.Errorf("first keys %v, want %v", keys[:len(want)], want)
	}
	cnnHasKeys(t, keys, []string{
		"features.2.1.weight[16 8 2 2]", "features.3.0.layer_scale[16 1 1]",
		"features.4.0.weight[16]", "features.4.1.weight[24 16 2 2]",
		"classifier.0.weight[24]", "classifier.2.weight[3 24]",
	}, []string{"features.5", "classifier.1"})
	c := m.(*ConvNeXt)
	if c.FeatureDim() != 24 {
		t.Errorf("FeatureDim %d, want 24", c.FeatureDim())
	}
	if v := c.Stages[0][0].LayerScale.Float32s(); v[0] != 0.5 {
		t.Errorf("layer_scale initialised to %g, want 0.5", v[0])
	}
	var ps []float64
	for _, s := range c.Stages {
		for _, b := range s {
			ps = append(ps, b.StochasticDepth.P)
		}
	}
	for i, p := range ps {
		if want := 0.3 * float64(i) / 2; math.Abs(p-want) > 1e-15 {
			t.Errorf("block %d stochastic depth %g, want %g", i, p, want)
		}
	}
	var y *ag.Tensor
	ag.NoGrad(func() { y = m.Forward(ag.Ones(ag.Float32, 2, 3, 32, 24)) })
	if !slices.Equal(y.Shape(), []int{2, 3}) {
		t.Errorf("logits %v, want [2 3]", y.Shape())
	}
	// A lone block gets rate 0, where torchvision would divide by zero.
	m1, _, _ := cnnKeys(t, "convnext", `{"stages":[{"in":8,"out":null,"layers":1}],"num_classes":0,"stochastic_depth_prob":0.5}`)
	if p := m1.(*ConvNeXt).Stages[0][0].StochasticDepth.P; p != 0 {
		t.Errorf("single block stochastic depth %g, want 0", p)
	}
}

// TestConvNeXtTrainingMode checks that stochastic depth acts only in
// training mode: with rate 1 the last block always drops its branch.
func TestConvNeXtTrainingMode(t *testing.T) {
	f := goldenFile(t, "convnext_a")
	for _, sd := range []string{"1", "0"} {
		cfg := strings.Replace(f.Metadata["config"], `"stochastic_depth_prob":0.1`, `"stochastic_depth_prob":`+sd, 1)
		store := newEvalStore(ag.Float32, 3)
		m, err := Build("convnext", "torchvision", []byte(cfg), store.Root())
		if err != nil {
			t.Fatal(err)
		}
		if err := store.LoadFile(f, nn.LoadOptions{Strict: true, Skip: func(k string) bool { return strings.HasPrefix(k, "golden.") }}); err != nil {
			t.Fatal(err)
		}
		x := goldenTensor(t, f, "golden.input")
		var eval, train *ag.Tensor
		ag.NoGrad(func() {
			eval = m.Forward(x)
			store.SetTraining(true)
			train = m.Forward(x)
			store.SetTraining(false)
		})
		if e := relErr(t, eval, goldenTensor(t, f, "golden.logits")); e > 1e-4 {
			t.Errorf("stochastic_depth_prob %s: eval rel err %.3g", sd, e)
		}
		if same := slices.Equal(eval.Float32s(), train.Float32s()); same != (sd == "0") {
			t.Errorf("stochastic_depth_prob %s: training forward equals eval = %v", sd, same)
		}
	}
}

func TestConvNeXtConfigErrors(t *testing.T) {
	for _, c := range []struct{ cfg, field string }{
		{`{"stages":[],"num_classes":2}`, "stages"},
		{`{"stages":[{"in":0,"out":null,"layers":1}]}`, "stages[0].in"},
		{`{"stages":[{"in":8,"out":16,"layers":1},{"in":8,"out":null,"layers":1}]}`, "stages[1].in"},
		{`{"stages":[{"in":8,"out":null,"layers":1},{"in":16,"out":null,"layers":1}]}`, "stages[1].in"},
		{`{"stages":[{"in":8,"out":0,"layers":1}]}`, "stages[0].out"},
		{`{"stages":[{"in":8,"out":null,"layers":0}]}`, "stages[0].layers"},
		{`{"stages":[{"in":8,"out":null,"layers":1}],"num_classes":-1}`, "num_classes"},
		{`{"stages":[{"in":8,"out":null,"layers":1}],"stochastic_depth_prob":-0.5}`, "stochastic_depth_prob"},
		{`{"stages":[{"in":"8"}]}`, "convnext config"},
		{`{"stages":[{"in":8,"out":4611686018427387904,"layers":1}]}`, "stages[0].out"},
	} {
		cnnBuildErr(t, "convnext", c.cfg, c.field)
	}
}

// TestConvNeXtParamCount compares torchvision's published parameter count
// of convnext_tiny.
func TestConvNeXtParamCount(t *testing.T) {
	cnnParamCount(t, "convnext", `{"stages":[{"in":96,"out":192,"layers":3},{"in":192,"out":384,"layers":3},
		{"in":384,"out":768,"layers":9},{"in":768,"out":null,"layers":3}],
		"layer_scale":1e-6,"num_classes":1000,"stochastic_depth_prob":0.1}`, 28589128)
}
