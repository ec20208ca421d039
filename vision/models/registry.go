// Package models holds the six backbones of the study (ResNet,
// EfficientNetV2, ConvNeXt, ViT, Swin, BEiT) and the study's stenosis
// classifier, each built with an nn.Builder so that its weights carry the
// key names of the checkpoints users bring (torchvision, Hugging Face
// transformers), and a registry that builds them by name or from a
// configuration.
//
//	store := nn.NewStore(autograd.Float32, 1)
//	net, err := models.New("resnet152", store.Root())
//	...
//	err = store.LoadFile(ckpt, nn.LoadOptions{Strict: true})
//	logits := net.Forward(images)
//
// Package models is not for training loops or data (see experiments and
// vision/datasets).
package models

import (
	"encoding/json"
	"fmt"
	"sort"
	"sync"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/nn"
)

// Backbone is an image model: Forward gives the logits (N, classes), or the
// features when the model is built without a head; Features gives the
// pooled features (N, FeatureDim()) that a classifier head consumes.
type Backbone interface {
	Forward(x *ag.Tensor) *ag.Tensor
	Features(x *ag.Tensor) *ag.Tensor
	FeatureDim() int
}

// BuildFunc builds a family's model from its JSON configuration (the
// config object of the golden files and manifests) under b.
type BuildFunc func(b nn.Builder, config []byte) (Backbone, error)

type familyKey struct{ arch, naming string }

type preset struct {
	arch, naming, config string
}

var (
	mu       sync.RWMutex
	families = map[familyKey]BuildFunc{}
	presets  = map[string]preset{}
)

// RegisterFamily makes a family buildable by Build; families call it from
// init. naming is whose key names the weights use ("torchvision", "hf").
func RegisterFamily(arch, naming string, build BuildFunc) {
	mu.Lock()
	defer mu.Unlock()
	k := familyKey{arch, naming}
	if _, dup := families[k]; dup {
		panic(fmt.Sprintf("models: family %s/%s registered twice", arch, naming))
	}
	families[k] = build
}

// RegisterPreset names a full configuration of a registered family.
func RegisterPreset(name, arch, naming, config string) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := presets[name]; dup {
		panic(fmt.Sprintf("models: preset %s registered twice", name))
	}
	presets[name] = preset{arch, naming, config}
}

// Build builds a model of family arch with the given naming from its JSON
// configuration.
func Build(arch, naming string, config []byte, b nn.Builder) (Backbone, error) {
	mu.RLock()
	build, ok := families[familyKey{arch, naming}]
	mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("models: no family %q with naming %q (have %v)", arch, naming, Families())
	}
	m, err := build(b, config)
	if err != nil {
		return nil, fmt.Errorf("models: %s/%s: %w", arch, naming, err)
	}
	return m, nil
}

// New builds the preset with the given name, e.g. "resnet152".
func New(name string, b nn.Builder) (Backbone, error) {
	p, ok := Preset(name)
	if !ok {
		return nil, fmt.Errorf("models: no preset %q (have %v)", name, Presets())
	}
	return Build(p.Arch, p.Naming, []byte(p.Config), b)
}

// PresetInfo describes a named configuration.
type PresetInfo struct {
	Name, Arch, Naming, Config string
}

// Preset looks a preset up by name.
func Preset(name string) (PresetInfo, bool) {
	mu.RLock()
	defer mu.RUnlock()
	p, ok := presets[name]
	return PresetInfo{name, p.arch, p.naming, p.config}, ok
}

// Presets lists the preset names, sorted.
func Presets() []string {
	mu.RLock()
	defer mu.RUnlock()
	var out []string
	for n := range presets {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Families lists the registered families as "arch/naming", sorted.
func Families() []string {
	mu.RLock()
	defer mu.RUnlock()
	var out []string
	for k := range families {
		out = append(out, k.arch+"/"+k.naming)
	}
	sort.Strings(out)
	return out
}

// HeadlessSpec returns the preset as a BackboneSpec without its
// classifier (num_classes / num_labels null), as the study's backbone.
func HeadlessSpec(name string) (BackboneSpec, error) {
	p, ok := Preset(name)
	if !ok {
		return BackboneSpec{}, fmt.Errorf("models: no preset %q (have %v)", name, Presets())
	}
	var cfg map[string]any
	if err := json.Unmarshal([]byte(p.Config), &cfg); err != nil {
		return BackboneSpec{}, fmt.Errorf("models: preset %s config: %w", name, err)
	}
	for _, k := range []string{"num_classes", "num_labels"} {
		if _, ok := cfg[k]; ok {
			cfg[k] = nil
		}
	}
	delete(cfg, "id2label")
	delete(cfg, "label2id")
	b, err := json.Marshal(cfg)
	if err != nil {
		return BackboneSpec{}, err
	}
	return BackboneSpec{Arch: p.Arch, Naming: p.Naming, Config: b}, nil
}
