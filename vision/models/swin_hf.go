package models

import (
	"encoding/json"
	"fmt"

	"github.com/vertebra-ml/vertebra/nn"
)

// SwinHFConfig is the configuration of transformers' (v4.27)
// SwinForImageClassification, with SwinConfig's own field names: the
// "swin"/"hf" config of the golden files and manifests. Absent fields take
// SwinConfig's defaults (NewSwinHFConfig).
type SwinHFConfig struct {
	// ImageSize only sizes position_embeddings (use_absolute_embeddings);
	// the model runs on any input size. An int or [H, W].
	ImageSize HFSize `json:"image_size"`
	// PatchSize is the patch-embedding conv's kernel and stride; inputs
	// are zero-padded at the bottom/right to whole patches. An int or [H, W].
	PatchSize HFSize `json:"patch_size"`
	// NumChannels is the number of input channels.
	NumChannels int `json:"num_channels"`
	// EmbedDim is the width of stage 0; stage i is EmbedDim * 2^i wide.
	EmbedDim int `json:"embed_dim"`
	// Depths is the number of blocks of each stage.
	Depths []int `json:"depths"`
	// NumHeads is the number of attention heads of each stage.
	NumHeads []int `json:"num_heads"`
	// WindowSize is the side of the square attention window.
	WindowSize int `json:"window_size"`
	// MLPRatio sets the MLP width int(mlp_ratio * dim).
	MLPRatio float64 `json:"mlp_ratio"`
	// QKVBias gives query, key and value a bias.
	QKVBias bool `json:"qkv_bias"`
	// HiddenAct is the MLP activation: "gelu" (exact), "gelu_new",
	// "gelu_pytorch_tanh", "gelu_fast" (tanh approximation), "quick_gelu",
	// "relu", "silu" or "swish".
	HiddenAct string `json:"hidden_act"`
	// LayerNormEps is the eps of layernorm_before/after and swin.layernorm
	// (the embedding and patch-merging norms use PyTorch's 1e-5).
	LayerNormEps float64 `json:"layer_norm_eps"`
	// UseAbsoluteEmbeddings adds swin.embeddings.position_embeddings.
	UseAbsoluteEmbeddings bool `json:"use_absolute_embeddings"`
	// HiddenDropoutProb drops the embeddings and the MLP output (training).
	HiddenDropoutProb float64 `json:"hidden_dropout_prob"`
	// AttentionProbsDropoutProb drops the attention probabilities and the
	// attention output projection (training).
	AttentionProbsDropoutProb float64 `json:"attention_probs_dropout_prob"`
	// DropPathRate is the stochastic depth of every block's attention
	// branch (training): transformers 4.27 uses this one rate for all
	// blocks and none on the MLP branch.
	DropPathRate float64 `json:"drop_path_rate"`
	// NumLabels is the size of the classifier; nil or 0 builds none. When
	// absent it is len(id2label) as in transformers, or nil without one.
	NumLabels *int `json:"num_labels"`
	// ID2Label only counts labels where num_labels is absent.
	ID2Label map[string]string `json:"id2label"`
}

// NewSwinHFConfig returns transformers' SwinConfig defaults (swin-tiny,
// no classifier).
func NewSwinHFConfig() SwinHFConfig {
	return SwinHFConfig{
		ImageSize: HFSize{224, 224}, PatchSize: HFSize{4, 4}, NumChannels: 3,
		EmbedDim: 96, Depths: []int{2, 2, 6, 2}, NumHeads: []int{3, 6, 12, 24},
		WindowSize: 7, MLPRatio: 4, QKVBias: true, HiddenAct: "gelu",
		LayerNormEps: 1e-5, DropPathRate: 0.1,
	}
}

// numLabels resolves the classifier size: num_labels, else len(id2label).
func (c *SwinHFConfig) numLabels() int {
	switch {
	case c.NumLabels != nil:
		return *c.NumLabels
	case c.ID2Label != nil:
		return len(c.ID2Label)
	}
	return 0
}

// Validate reports the first invalid field.
func (c *SwinHFConfig) Validate() error {
	for _, f := range []struct {
		name string
		v    HFSize
	}{{"image_size", c.ImageSize}, {"patch_size", c.PatchSize}} {
		if f.v[0] < 1 || f.v[1] < 1 {
			return fmt.Errorf("swin (hf) config: %s %v: want positive sizes", f.name, f.v)
		}
	}
	if c.NumChannels < 1 {
		return fmt.Errorf("swin (hf) config: num_channels %d: want at least 1", c.NumChannels)
	}
	if c.WindowSize < 1 {
		return fmt.Errorf("swin (hf) config: window_size %d: want at least 1", c.WindowSize)
	}
	if err := swinValidateStages(c.EmbedDim, c.Depths, c.NumHeads, c.MLPRatio, "embed_dim", "num_heads"); err != nil {
		return fmt.Errorf("swin (hf) config: %w", err)
	}
	if _, err := hfActivation(c.HiddenAct); err != nil {
		return fmt.Errorf("swin (hf) config: %w", err)
	}
	if !(c.LayerNormEps > 0) {
		return fmt.Errorf("swin (hf) config: layer_norm_eps %g: want > 0", c.LayerNormEps)
	}
	for _, f := range []struct {
		name string
		p    float64
	}{{"hidden_dropout_prob", c.HiddenDropoutProb}, {"attention_probs_dropout_prob", c.AttentionProbsDropoutProb}, {"drop_path_rate", c.DropPathRate}} {
		if !(f.p >= 0 && f.p <= 1) {
			return fmt.Errorf("swin (hf) config: %s %g: want a probability in [0, 1]", f.name, f.p)
		}
	}
	if n := c.numLabels(); n < 0 {
		return fmt.Errorf("swin (hf) config: num_labels %d: want 0 (no classifier) or more", n)
	}
	return nil
}

// NewSwinHF builds transformers' SwinForImageClassification under b with
// its key names (swin.*, classifier) and registration order. Beyond the
// naming it follows transformers 4.27 where it differs from torchvision:
// the image is padded to whole patches, a shifted block does not shift
// (on either axis) when min(H, W) <= window_size, drop path applies to the
// attention branch only, and features are the mean of the tokens after
// swin.layernorm (the pooler output).
func NewSwinHF(b nn.Builder, c SwinHFConfig) (*Swin, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	act, _ := hfActivation(c.HiddenAct)
	posPatches := -1
	if c.UseAbsoluteEmbeddings {
		posPatches = (c.ImageSize[0] / c.PatchSize[0]) * (c.ImageSize[1] / c.PatchSize[1])
	}
	rate := c.DropPathRate
	return newSwin(b, swinSpec{
		keys: swinHFKeys, index2D: true, padToPatches: true, clampWindow: true,
		inChannels: c.NumChannels,
		patch:      [2]int(c.PatchSize),
		embed:      c.EmbedDim, depths: c.Depths, heads: c.NumHeads,
		window:   [2]int{c.WindowSize, c.WindowSize},
		mlpRatio: c.MLPRatio, qkvBias: c.QKVBias, blockEps: c.LayerNormEps, act: act,
		numClasses:  c.numLabels(),
		dropPath:    func(int, int) float64 { return rate },
		posPatches:  posPatches,
		hiddenDrop:  c.HiddenDropoutProb,
		attnDropout: c.AttentionProbsDropoutProb,
	}), nil
}

// buildSwinHF is the registry's builder for "swin"/"hf".
func buildSwinHF(b nn.Builder, config []byte) (Backbone, error) {
	c := NewSwinHFConfig()
	if err := json.Unmarshal(config, &c); err != nil {
		return nil, fmt.Errorf("swin (hf) config: %w", err)
	}
	m, err := NewSwinHF(b, c)
	if err != nil {
		return nil, err
	}
	return m, nil
}

func init() {
	RegisterFamily("swin", "hf", buildSwinHF)
	// microsoft/swin-base-patch4-window7-224, the study's checkpoint.
	RegisterPreset("swin-base-patch4-window7-224", "swin", "hf",
		`{"model_type":"swin","image_size":224,"patch_size":4,"num_channels":3,"embed_dim":128,"depths":[2,2,18,2],"num_heads":[4,8,16,32],"window_size":7,"mlp_ratio":4.0,"qkv_bias":true,"hidden_act":"gelu","layer_norm_eps":1e-05,"use_absolute_embeddings":false,"hidden_dropout_prob":0.0,"attention_probs_dropout_prob":0.0,"drop_path_rate":0.1,"initializer_range":0.02,"num_labels":1000}`)
}
