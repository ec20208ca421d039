package models

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/nn"
)

// vitRandInput is a reproducible batch of images.
func vitRandInput(seed uint64, shape ...int) *ag.Tensor {
	return ag.RandN(rand.New(rand.NewPCG(seed, 1)), ag.Float32, shape...)
}

func TestParseViTConfig(t *testing.T) {
	base := `"image_size":32,"patch_size":8,"num_layers":2,"num_heads":2,"hidden_dim":16,"mlp_dim":32`
	c, err := ParseViTConfig([]byte("{" + base + "}"))
	if err != nil || c.classes() != 1000 || c.Dropout != 0 || c.RepresentationSize != nil {
		t.Fatalf("defaults: %+v, %v", c, err)
	}
	c, err = ParseViTConfig([]byte("{" + base + `,"num_classes":null,"unknown_field":[1,2]}`))
	if err != nil || c.NumClasses != nil {
		t.Fatalf("null num_classes: %+v, %v", c, err)
	}
	for _, tc := range []struct{ json, field string }{
		{`{"patch_size":8,"num_layers":2,"num_heads":2,"hidden_dim":16,"mlp_dim":32}`, "image_size"},
		{"{" + base + `,"patch_size":7}`, "patch_size"},
		{"{" + base + `,"num_heads":3}`, "num_heads"},
		{"{" + base + `,"mlp_dim":0}`, "mlp_dim"},
		{"{" + base + `,"num_layers":-1}`, "num_layers"},
		{"{" + base + `,"num_classes":-2}`, "num_classes"},
		{"{" + base + `,"dropout":1}`, "dropout"},
		{"{" + base + `,"attention_dropout":-0.1}`, "attention_dropout"},
		{"{" + base + `,"representation_size":0}`, "representation_size"},
		{"{" + base + `,"conv_stem_configs":[{"out_channels":64}]}`, "conv_stem_configs"},
		{"{" + base + `,"hidden_dim":"wide"}`, "hidden_dim"},
		{`[1]`, "vit config"},
	} {
		_, err := ParseViTConfig([]byte(tc.json))
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: error %v, want one naming %s", tc.json, err, tc.field)
		}
		store := newEvalStore(ag.Float32, 1)
		if _, err := Build("vit", "torchvision", []byte(tc.json), store.Root()); err == nil {
			t.Errorf("Build accepted %s", tc.json)
		}
	}
}

// A headless ViT (num_classes null) has no heads and returns the class
// token; the study's stenosis checkpoint's backbone gives its features.
func TestViTHeadlessStenosisFeatures(t *testing.T) {
	f := goldenFile(t, "stenosis_vit")
	var cfg struct {
		Backbone struct {
			Arch, Naming string
			Config       json.RawMessage
		}
	}
	if err := json.Unmarshal([]byte(f.Metadata["config"]), &cfg); err != nil {
		t.Fatal(err)
	}
	store := newEvalStore(ag.Float32, 1)
	m, err := Build(cfg.Backbone.Arch, cfg.Backbone.Naming, cfg.Backbone.Config, store.Root())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range store.Entries() {
		if strings.HasPrefix(e.Name, "heads") {
			t.Errorf("headless model has %s", e.Name)
		}
	}
	if err := store.LoadFile(f, nn.LoadOptions{Strict: true, Prefix: "base_model."}); err != nil {
		t.Fatal(err)
	}
	x := goldenTensor(t, f, "golden.input")
	var out, feats *ag.Tensor
	ag.NoGrad(func() { out, feats = m.Forward(x), m.Features(x) })
	if e := relErr(t, feats, goldenTensor(t, f, "golden.features")); e > 1e-4 {
		t.Errorf("features off by %.3g", e)
	}
	if !ag.AllClose(out, feats, 0, 0) || out.Dim(1) != m.FeatureDim() {
		t.Errorf("headless Forward %v differs from Features %v", out.Shape(), feats.Shape())
	}
}

func TestViTRepresentationSizeHead(t *testing.T) {
	store := newEvalStore(ag.Float64, 3)
	m, err := Build("vit", "torchvision", []byte(`{"image_size":16,"patch_size":8,"num_layers":1,"num_heads":2,"hidden_dim":8,"mlp_dim":16,"num_classes":3,"representation_size":5}`), store.Root())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range store.Entries()[len(store.Entries())-4:] {
		names = append(names, e.Name)
	}
	want := []string{"heads.pre_logits.weight", "heads.pre_logits.bias", "heads.head.weight", "heads.head.bias"}
	if !slices.Equal(names, want) {
		t.Errorf("head keys %v, want %v", names, want)
	}
	v := m.(*ViT)
	ag.NoGrad(func() {
		v.Heads.Head.Weight.CopyFrom(ag.RandN(rand.New(rand.NewPCG(1, 2)), ag.Float64, 3, 5))
		x := vitRandInput(4, 2, 3, 16, 16).AsType(ag.Float64)
		f := v.Features(x)
		want := ag.Linear(ag.Tanh(ag.Linear(f, v.Heads.PreLogits.Weight, v.Heads.PreLogits.Bias)), v.Heads.Head.Weight, v.Heads.Head.Bias)
		if !ag.AllClose(v.Forward(x), want, 1e-12, 1e-12) {
			t.Error("Forward is not head(tanh(pre_logits(features)))")
		}
	})
}

// Dropout acts only in training mode.
func TestViTTrainingMode(t *testing.T) {
	cfg := `{"image_size":16,"patch_size":8,"num_layers":2,"num_heads":2,"hidden_dim":8,"mlp_dim":16,"num_classes":3,"dropout":0.3,"attention_dropout":0.3}`
	store := newEvalStore(ag.Float64, 5)
	m, err := Build("vit", "torchvision", []byte(cfg), store.Root())
	if err != nil {
		t.Fatal(err)
	}
	v := m.(*ViT)
	ag.NoGrad(func() { v.Heads.Head.Weight.CopyFrom(ag.RandN(rand.New(rand.NewPCG(1, 2)), ag.Float64, 3, 8)) })
	x := vitRandInput(6, 2, 3, 16, 16).AsType(ag.Float64)
	ref := newEvalStore(ag.Float64, 5) // same weights, no dropout
	r, _ := Build("vit", "torchvision", []byte(strings.Replace(strings.Replace(cfg, `"dropout":0.3`, `"dropout":0`, 1), `"attention_dropout":0.3`, `"attention_dropout":0`, 1)), ref.Root())
	ag.NoGrad(func() { r.(*ViT).Heads.Head.Weight.CopyFrom(v.Heads.Head.Weight) })
	var eval1, eval2, noDrop, train *ag.Tensor
	ag.NoGrad(func() {
		eval1, eval2, noDrop = m.Forward(x), m.Forward(x), r.Forward(x)
		store.SetTraining(true)
		train = m.Forward(x)
		store.SetTraining(false)
	})
	if !ag.AllClose(eval1, eval2, 0, 0) || !ag.AllClose(eval1, noDrop, 0, 0) {
		t.Error("eval mode is not deterministic or not dropout-free")
	}
	if ag.AllClose(eval1, train, 1e-6, 1e-6) {
		t.Error("training mode applies no dropout")
	}
}

func TestViTRejectsWrongInputSize(t *testing.T) {
	store := newEvalStore(ag.Float32, 1)
	m, err := Build("vit", "torchvision", []byte(`{"image_size":16,"patch_size":8,"num_layers":1,"num_heads":2,"hidden_dim":8,"mlp_dim":16,"num_classes":3}`), store.Root())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "ViT") {
			t.Errorf("panic %v, want one naming ViT", r)
		}
	}()
	m.Forward(vitRandInput(1, 1, 3, 24, 24))
}
