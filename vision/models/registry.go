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

// The tiny presets are the six study families at reduced width, depth and
// resolution (64x64 inputs), with the same code paths as the full ones:
// bottleneck blocks, fused and SE MBConv blocks, layer scale and depthwise
// convolutions, class tokens, shifted windows and relative position bias.
// They train in minutes on a CPU; the study's default run uses them.
func init() {
	RegisterPreset("tiny_vit", "vit", "torchvision",
		`{"image_size":64,"patch_size":8,"num_layers":2,"num_heads":4,"hidden_dim":64,"mlp_dim":128,"num_classes":1000}`)
	RegisterPreset("tiny_swin", "swin", "hf",
		`{"model_type":"swin","image_size":64,"patch_size":4,"num_channels":3,"embed_dim":48,"depths":[2,2],"num_heads":[3,6],"window_size":4,"mlp_ratio":4.0,"qkv_bias":true,"hidden_act":"gelu","layer_norm_eps":1e-05,"use_absolute_embeddings":false,"hidden_dropout_prob":0.0,"attention_probs_dropout_prob":0.0,"drop_path_rate":0.0,"initializer_range":0.02,"num_labels":1000}`)
	RegisterPreset("tiny_beit", "beit", "hf",
		`{"model_type":"beit","image_size":64,"patch_size":8,"num_channels":3,"hidden_size":64,`+
			`"num_hidden_layers":2,"num_attention_heads":4,"intermediate_size":128,"hidden_act":"gelu",`+
			`"layer_norm_eps":1e-12,"layer_scale_init_value":0.1,"use_mask_token":false,`+
			`"use_absolute_position_embeddings":false,"use_relative_position_bias":true,`+
			`"use_shared_relative_position_bias":false,"use_mean_pooling":true,"hidden_dropout_prob":0.0,`+
			`"attention_probs_dropout_prob":0.0,"drop_path_rate":0.0,"initializer_range":0.02,"num_labels":1000}`)
	RegisterPreset("tiny_efficientnet", "efficientnetv2", "torchvision",
		`{"stages":[`+
			`{"block":"fused","expand_ratio":1,"kernel":3,"stride":1,"in":16,"out":16,"layers":1},`+
			`{"block":"fused","expand_ratio":4,"kernel":3,"stride":2,"in":16,"out":24,"layers":1},`+
			`{"block":"mb","expand_ratio":4,"kernel":3,"stride":2,"in":24,"out":32,"layers":1},`+
			`{"block":"mb","expand_ratio":4,"kernel":3,"stride":2,"in":32,"out":48,"layers":1}],`+
			`"last_channel":128,"num_classes":1000,"norm_eps":0.001,"stochastic_depth_prob":0.0,"dropout":0.1}`)
	RegisterPreset("tiny_resnet", "resnet", "torchvision",
		`{"block":"bottleneck","layers":[1,1,1,1],"widths":[8,16,24,32],"stem_width":16,"groups":1,"width_per_group":64,"num_classes":1000}`)
	RegisterPreset("tiny_convnext", "convnext", "torchvision",
		`{"stages":[{"in":16,"out":32,"layers":1},{"in":32,"out":64,"layers":1},`+
			`{"in":64,"out":128,"layers":1},{"in":128,"out":null,"layers":1}],`+
			`"layer_scale":1e-6,"num_classes":1000,"stochastic_depth_prob":0.0}`)
}

// CheckInputSize reports whether the backbone takes inputs of h x w
// pixels, with the rule its family's forward enforces: ViT and BEiT take
// only their configured image_size; Swin needs at least one patch, and in
// the transformers naming a feature map no smaller than the window at every
// stage; ConvNeXt's unpadded stem and downsampling need at least one pixel
// left at the last stage. ResNet and EfficientNetV2 pad every convolution
// and take any size.
func CheckInputSize(spec BackboneSpec, h, w int) error {
	if h < 1 || w < 1 {
		return fmt.Errorf("models: input %dx%d: want positive sizes", h, w)
	}
	switch spec.Arch {
	case "vit":
		c := DefaultViTConfig()
		if err := json.Unmarshal(spec.Config, &c); err != nil {
			return fmt.Errorf("models: vit config: %w", err)
		}
		if h != c.ImageSize || w != c.ImageSize {
			return fmt.Errorf("models: ViT takes only its configured %dx%d inputs, not %dx%d", c.ImageSize, c.ImageSize, h, w)
		}
	case "beit":
		c := DefaultBeitConfig()
		if err := json.Unmarshal(spec.Config, &c); err != nil {
			return fmt.Errorf("models: beit config: %w", err)
		}
		if h != c.ImageSize[0] || w != c.ImageSize[1] {
			return fmt.Errorf("models: BEiT takes only its configured %dx%d inputs, not %dx%d", c.ImageSize[0], c.ImageSize[1], h, w)
		}
	case "swin":
		if spec.Naming == "hf" {
			c := NewSwinHFConfig()
			if err := json.Unmarshal(spec.Config, &c); err != nil {
				return fmt.Errorf("models: swin config: %w", err)
			}
			// Patches pad the input up, patch merging pads odd maps.
			mh, mw := ceilDiv(h, c.PatchSize[0]), ceilDiv(w, c.PatchSize[1])
			for stage := range c.Depths {
				if min(mh, mw) < c.WindowSize {
					return fmt.Errorf("models: Swin needs a feature map of at least its %d window at every stage; %dx%d inputs give %dx%d at stage %d (want at least %d pixels)",
						c.WindowSize, h, w, mh, mw, stage, c.WindowSize*c.PatchSize[0]<<(len(c.Depths)-1))
				}
				mh, mw = ceilDiv(mh, 2), ceilDiv(mw, 2)
			}
			return nil
		}
		var c struct {
			PatchSize []int `json:"patch_size"`
		}
		if err := json.Unmarshal(spec.Config, &c); err != nil {
			return fmt.Errorf("models: swin config: %w", err)
		}
		if len(c.PatchSize) == 2 && (h < c.PatchSize[0] || w < c.PatchSize[1]) {
			return fmt.Errorf("models: Swin needs inputs of at least one %dx%d patch, not %dx%d", c.PatchSize[0], c.PatchSize[1], h, w)
		}
	case "convnext":
		var c ConvNeXtConfig
		if err := json.Unmarshal(spec.Config, &c); err != nil {
			return fmt.Errorf("models: convnext config: %w", err)
		}
		// The 4x4 stride-4 stem, then a 2x2 stride-2 downsampling before
		// every later stage, all unpadded.
		need := 4 << max(len(c.Stages)-1, 0)
		if h < need || w < need {
			return fmt.Errorf("models: ConvNeXt with %d stages needs inputs of at least %dx%d, not %dx%d", len(c.Stages), need, need, h, w)
		}
	}
	return nil
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
