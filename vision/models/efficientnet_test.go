package models

import (
	"math"
	"slices"
	"strings"
	"testing"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/nn"
)

func TestEfficientNetV2Headless(t *testing.T) {
	cnnHeadless(t, "efficientnetv2_a", "classifier.")
	cnnHeadless(t, "efficientnetv2_b", "classifier.")
}

func TestEfficientNetMakeDivisible(t *testing.T) {
	// torchvision's _make_divisible(v, 8), evaluated in Python.
	for _, c := range []struct {
		v    float64
		want int
	}{{1, 8}, {3, 8}, {8, 8}, {10, 16}, {11, 16}, {12, 16}, {19, 24}, {20, 24}, {28, 32}, {36, 40}, {37.5, 40}, {96, 96}, {960, 960}, {1000, 1000}} {
		if got := efficientNetMakeDivisible(c.v); got != c.want {
			t.Errorf("make_divisible(%g) = %d, want %d", c.v, got, c.want)
		}
	}
}

// TestEfficientNetV2ExpandRule checks when the expand conv exists: only
// where make_divisible(in * expand_ratio) differs from in, so an MBConv at
// ratio 1 on a width that is a multiple of 8 has none (its indices shift),
// and one on width 12 has one (12 rounds to 16).
func TestEfficientNetV2ExpandRule(t *testing.T) {
	m, _, keys := cnnKeys(t, "efficientnetv2", `{"stages":[
		{"block":"fused","expand_ratio":1,"kernel":3,"stride":2,"in":8,"out":16,"layers":1},
		{"block":"mb","expand_ratio":1,"kernel":3,"stride":1,"in":16,"out":24,"layers":1},
		{"block":"mb","expand_ratio":1,"kernel":5,"stride":2,"in":24,"out":12,"layers":2}],
		"last_channel":null,"num_classes":3,"norm_eps":0.001,"stochastic_depth_prob":0.2,"dropout":0.2}`)
	cnnHasKeys(t, keys, []string{
		"features.1.0.block.0.0.weight[16 8 3 3]", // fused, no expansion: one kxk conv in to out
		"features.2.0.block.0.0.weight[16 1 3 3]", // mb, no expansion: depthwise first
		"features.2.0.block.1.fc1.weight[4 16 1 1]",
		"features.2.0.block.2.0.weight[24 16 1 1]",
		"features.3.0.block.0.0.weight[24 1 5 5]",
		"features.3.0.block.1.fc1.weight[6 24 1 1]",
		"features.3.0.block.2.0.weight[12 24 1 1]",
		"features.3.1.block.0.0.weight[16 12 1 1]", // 12 rounds to 16: expand conv at ratio 1
		"features.3.1.block.1.0.weight[16 1 5 5]",
		"features.3.1.block.2.fc1.weight[3 16 1 1]", // squeeze from the block's input, 12 // 4
		"features.3.1.block.2.fc2.weight[16 3 1 1]",
		"features.3.1.block.3.0.weight[12 16 1 1]",
		"features.4.0.weight[48 12 1 1]", // last_channel null: 4 * 12
		"classifier.1.weight[3 48]",
	}, []string{"features.1.0.block.1", "features.2.0.block.3", "features.3.0.block.3", "classifier.0"})
	e := m.(*EfficientNetV2)
	if e.FeatureDim() != 48 {
		t.Errorf("FeatureDim %d, want 48", e.FeatureDim())
	}
	// use_res_connect: stride 1 and in == out only.
	res := []bool{e.Stages[0][0].UseResidual, e.Stages[1][0].UseResidual, e.Stages[2][0].UseResidual, e.Stages[2][1].UseResidual}
	if !slices.Equal(res, []bool{false, false, false, true}) {
		t.Errorf("residual connections %v, want [false false false true]", res)
	}
	// Stochastic depth grows linearly over all 4 blocks: 0.2 * id / 4.
	var ps []float64
	for _, s := range e.Stages {
		for _, b := range s {
			ps = append(ps, b.StochasticDepth.P)
		}
	}
	for i, p := range ps {
		if want := 0.2 * float64(i) / 4; math.Abs(p-want) > 1e-15 {
			t.Errorf("block %d stochastic depth %g, want %g", i, p, want)
		}
	}
	var y *ag.Tensor
	ag.NoGrad(func() { y = m.Forward(ag.Ones(ag.Float32, 2, 3, 33, 30)) })
	if !slices.Equal(y.Shape(), []int{2, 3}) {
		t.Errorf("logits %v, want [2 3]", y.Shape())
	}
}

// TestEfficientNetV2TrainingMode checks that dropout and stochastic depth
// act only in training mode.
func TestEfficientNetV2TrainingMode(t *testing.T) {
	f := goldenFile(t, "efficientnetv2_a")
	for _, rates := range []struct {
		sd, drop string
		random   bool
	}{{"0.2", "0.2", true}, {"0", "0", false}} {
		cfg := strings.Replace(f.Metadata["config"], `"stochastic_depth_prob":0.2,"dropout":0.2`,
			`"stochastic_depth_prob":`+rates.sd+`,"dropout":`+rates.drop, 1)
		store := newEvalStore(ag.Float32, 7)
		m, err := Build("efficientnetv2", "torchvision", []byte(cfg), store.Root())
		if err != nil {
			t.Fatal(err)
		}
		if err := store.LoadFile(f, nn.LoadOptions{Strict: true, Skip: func(k string) bool { return strings.HasPrefix(k, "golden.") }}); err != nil {
			t.Fatal(err)
		}
		x := goldenTensor(t, f, "golden.input")
		var a, b, c, d *ag.Tensor
		ag.NoGrad(func() {
			a, b = m.Forward(x), m.Forward(x)
			store.SetTraining(true)
			c, d = m.Forward(x), m.Forward(x)
			store.SetTraining(false)
		})
		if !slices.Equal(a.Float32s(), b.Float32s()) {
			t.Error("eval forward is not deterministic")
		}
		if e := relErr(t, a, goldenTensor(t, f, "golden.logits")); e > 1e-4 {
			t.Errorf("eval forward after training: rel err %.3g", e)
		}
		if differ := !slices.Equal(c.Float32s(), d.Float32s()); differ != rates.random {
			t.Errorf("stochastic_depth_prob %s, dropout %s: training forwards differ = %v", rates.sd, rates.drop, differ)
		}
	}
}

func TestEfficientNetV2ConfigErrors(t *testing.T) {
	st := func(s string) string {
		return `{"stages":[{"block":"fused","expand_ratio":1,"kernel":3,"stride":1,"in":8,"out":8,"layers":1},` + s +
			`],"last_channel":16,"num_classes":2,"norm_eps":0.001,"stochastic_depth_prob":0.2,"dropout":0.2}`
	}
	good := `{"block":"mb","expand_ratio":4,"kernel":3,"stride":2,"in":8,"out":16,"layers":1}`
	for _, c := range []struct{ cfg, field string }{
		{`{"stages":[],"num_classes":2}`, "stages"},
		{st(strings.Replace(good, `"mb"`, `"conv"`, 1)), "stages[1].block"},
		{st(strings.Replace(good, `"expand_ratio":4`, `"expand_ratio":0`, 1)), "stages[1].expand_ratio"},
		{st(strings.Replace(good, `"kernel":3`, `"kernel":0`, 1)), "stages[1].kernel"},
		{st(strings.Replace(good, `"stride":2`, `"stride":0`, 1)), "stages[1].stride"},
		{st(strings.Replace(good, `"in":8`, `"in":16`, 1)), "stages[1].in"},
		{st(strings.Replace(good, `"out":16`, `"out":0`, 1)), "stages[1].out"},
		{st(strings.Replace(good, `"layers":1`, `"layers":0`, 1)), "stages[1].layers"},
		{strings.Replace(st(good), `"last_channel":16`, `"last_channel":-4`, 1), "last_channel"},
		{strings.Replace(st(good), `"num_classes":2`, `"num_classes":-2`, 1), "num_classes"},
		{strings.Replace(st(good), `"norm_eps":0.001`, `"norm_eps":-1`, 1), "norm_eps"},
		{strings.Replace(st(good), `"stochastic_depth_prob":0.2`, `"stochastic_depth_prob":1.5`, 1), "stochastic_depth_prob"},
		{strings.Replace(st(good), `"dropout":0.2`, `"dropout":-0.1`, 1), "dropout"},
		{`{"stages":{}}`, "efficientnetv2 config"},
		{st(strings.Replace(good, `"expand_ratio":4`, `"expand_ratio":1e300`, 1)), "stages[1].expand_ratio"},
		{st(strings.Replace(good, `"out":16`, `"out":9223372036854775807`, 1)), "stages[1].out"},
	} {
		cnnBuildErr(t, "efficientnetv2", c.cfg, c.field)
	}
}

// TestEfficientNetV2ParamCount compares torchvision's published parameter
// count of efficientnet_v2_s.
func TestEfficientNetV2ParamCount(t *testing.T) {
	cnnParamCount(t, "efficientnetv2", `{"stages":[
		{"block":"fused","expand_ratio":1,"kernel":3,"stride":1,"in":24,"out":24,"layers":2},
		{"block":"fused","expand_ratio":4,"kernel":3,"stride":2,"in":24,"out":48,"layers":4},
		{"block":"fused","expand_ratio":4,"kernel":3,"stride":2,"in":48,"out":64,"layers":4},
		{"block":"mb","expand_ratio":4,"kernel":3,"stride":2,"in":64,"out":128,"layers":6},
		{"block":"mb","expand_ratio":6,"kernel":3,"stride":1,"in":128,"out":160,"layers":9},
		{"block":"mb","expand_ratio":6,"kernel":3,"stride":2,"in":160,"out":256,"layers":15}],
		"last_channel":1280,"num_classes":1000,"norm_eps":0.001,"stochastic_depth_prob":0.2,"dropout":0.2}`, 21458488)
}
