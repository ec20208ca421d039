package models

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/nn"
)

func TestPresetsAreTheStudys(t *testing.T) {
	want := []string{"beit-base-patch16-224", "convnext_base", "efficientnet_v2_m", "resnet152", "swin-base-patch4-window7-224", "swin_b",
		"tiny_beit", "tiny_convnext", "tiny_efficientnet", "tiny_resnet", "tiny_swin", "tiny_vit", "vit_b_16"}
	if got := Presets(); !slices.Equal(got, want) {
		t.Errorf("presets %v, want %v", got, want)
	}
	for _, name := range want {
		spec, err := HeadlessSpec(name)
		if err != nil {
			t.Fatal(err)
		}
		var cfg map[string]any
		if err := json.Unmarshal(spec.Config, &cfg); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"num_classes", "num_labels"} {
			if v, ok := cfg[k]; ok && v != nil {
				t.Errorf("%s: headless config keeps %s = %v", name, k, v)
			}
		}
	}
	if _, err := New("resnet-9000", newEvalStore(ag.Float32, 0).Root()); err == nil || !strings.Contains(err.Error(), "resnet152") {
		t.Errorf("unknown preset: error %v should list the presets", err)
	}
}

// TestLoadBackboneIntoStenosis loads an ImageNet-style checkpoint (with its
// classifier) into the study model's headless backbone.
func TestLoadBackboneIntoStenosis(t *testing.T) {
	cfg := `{"block":"basic","layers":[1,1,1,1],"widths":[4,8,8,8],"stem_width":4,"groups":1,"width_per_group":64,"num_classes":%s}`
	src := newEvalStore(ag.Float32, 1)
	if _, err := Build("resnet", "torchvision", []byte(strings.Replace(cfg, "%s", "10", 1)), src.Root()); err != nil {
		t.Fatal(err)
	}
	ckpt := src.StateDict()

	dst := newEvalStore(ag.Float32, 2)
	s, err := NewStenosis(dst.Root(), StenosisConfig{
		Backbone:     BackboneSpec{Arch: "resnet", Naming: "torchvision", Config: json.RawMessage(strings.Replace(cfg, "%s", "null", 1))},
		EmbeddingDim: 8, NumLevels: 5, NumClasses: 3, Dropout: 0.1, UnfreezeLast: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	err = dst.LoadFile(ckpt, nn.LoadOptions{Strict: true, Under: "base_model."})
	if err == nil || !strings.Contains(err.Error(), "unexpected keys: fc.weight, fc.bias") {
		t.Fatalf("strict load with the ImageNet head: got %v, want the head named as unexpected", err)
	}
	skipHead := func(k string) bool { return strings.HasPrefix(k, "fc.") }
	if err := dst.LoadFile(ckpt, nn.LoadOptions{Strict: true, Under: "base_model.", Skip: skipHead}); err != nil {
		t.Fatal(err)
	}
	want, _ := src.Lookup("layer4.0.conv2.weight")
	got, _ := dst.Lookup("base_model.layer4.0.conv2.weight")
	if !slices.Equal(want.Tensor.Float32s(), got.Tensor.Float32s()) {
		t.Error("backbone weight not loaded")
	}
	s.FreezeBackbone(dst, "")
	var names []string
	for _, e := range dst.Trainable() {
		names = append(names, e.Name)
	}
	if names[0] != "base_model.layer4.0.downsample.1.weight" || names[2] != "level_embedding.weight" {
		t.Errorf("trainable %v: want the backbone's last 2 tensors, then the embedding and head", names)
	}
}

// TestCheckInputSizeMatchesForward: the up-front size rule accepts exactly
// the sizes each tiny preset's forward takes.
func TestCheckInputSizeMatchesForward(t *testing.T) {
	for _, name := range []string{"tiny_vit", "tiny_swin", "tiny_beit", "tiny_efficientnet", "tiny_resnet", "tiny_convnext"} {
		spec, err := HeadlessSpec(name)
		if err != nil {
			t.Fatal(err)
		}
		store := nn.NewStore(ag.Float32, 1)
		m, err := Build(spec.Arch, spec.Naming, spec.Config, store.Root())
		if err != nil {
			t.Fatal(err)
		}
		store.SetTraining(false) // batch statistics of one value are a batch-size matter, not a size one
		for _, size := range []int{7, 16, 31, 32, 64} {
			want := CheckInputSize(spec, size, size)
			var panicked any
			func() {
				defer func() { panicked = recover() }()
				ag.NoGrad(func() { m.Features(ag.Zeros(ag.Float32, 1, 3, size, size)) })
			}()
			if (want == nil) != (panicked == nil) {
				t.Errorf("%s at %d: CheckInputSize says %v, forward panics with %v", name, size, want, panicked)
			}
		}
	}
}
