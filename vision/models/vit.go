package models

import (
	"encoding/json"
	"fmt"
	"math"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/nn"
)

// ViTConfig is the configuration of torchvision's VisionTransformer (the
// "vit" config of the golden files). Fields absent from the JSON take
// torchvision's constructor defaults; the architecture fields have none
// and must be given.
type ViTConfig struct {
	// ImageSize is the side of the square input the model accepts.
	ImageSize int `json:"image_size"`
	// PatchSize is the side of the square patches (the conv_proj stride).
	PatchSize int `json:"patch_size"`
	// NumLayers is the number of encoder blocks.
	NumLayers int `json:"num_layers"`
	// NumHeads is the number of attention heads; it divides HiddenDim.
	NumHeads int `json:"num_heads"`
	// HiddenDim is the token width.
	HiddenDim int `json:"hidden_dim"`
	// MLPDim is the inner width of each block's MLP.
	MLPDim int `json:"mlp_dim"`
	// NumClasses is the size of heads.head; null (nil) or 0 builds no
	// heads, and Forward then returns the features. Absent means 1000.
	NumClasses *int `json:"num_classes"`
	// Dropout applies after the position embedding, the attention and in
	// the MLP, in training mode only.
	Dropout float64 `json:"dropout"`
	// AttentionDropout applies to the attention weights in training mode.
	AttentionDropout float64 `json:"attention_dropout"`
	// RepresentationSize, if set, adds torchvision's heads.pre_logits
	// (Linear to this width, then tanh) before heads.head.
	RepresentationSize *int `json:"representation_size"`
}

// DefaultViTConfig is torchvision's vit_b_16.
func DefaultViTConfig() ViTConfig {
	classes := 1000
	return ViTConfig{ImageSize: 224, PatchSize: 16, NumLayers: 12, NumHeads: 12,
		HiddenDim: 768, MLPDim: 3072, NumClasses: &classes}
}

// ParseViTConfig decodes a JSON configuration: absent optional fields take
// torchvision's defaults (num_classes 1000, no dropout), and the result is
// validated.
func ParseViTConfig(data []byte) (ViTConfig, error) {
	classes := 1000
	c := ViTConfig{NumClasses: &classes}
	// conv_stem_configs holds Python objects that JSON cannot describe;
	// refuse it rather than silently building the plain patch stem.
	var extra struct {
		ConvStemConfigs json.RawMessage `json:"conv_stem_configs"`
	}
	if err := json.Unmarshal(data, &extra); err != nil {
		return c, fmt.Errorf("vit config: %w", err)
	}
	if len(extra.ConvStemConfigs) > 0 && string(extra.ConvStemConfigs) != "null" {
		return c, fmt.Errorf("vit config: conv_stem_configs: a convolutional stem is not supported")
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return c, fmt.Errorf("vit config: %w", err)
	}
	return c, c.Validate()
}

// classes is the head size, 0 for a headless model.
func (c *ViTConfig) classes() int {
	if c.NumClasses == nil {
		return 0
	}
	return *c.NumClasses
}

// Validate reports the first invalid field.
func (c *ViTConfig) Validate() error {
	for _, f := range []struct {
		name string
		v    int
	}{{"image_size", c.ImageSize}, {"patch_size", c.PatchSize}, {"num_layers", c.NumLayers},
		{"num_heads", c.NumHeads}, {"hidden_dim", c.HiddenDim}, {"mlp_dim", c.MLPDim}} {
		if f.v < 1 {
			return fmt.Errorf("vit config: %s %d: want at least 1", f.name, f.v)
		}
	}
	if c.ImageSize%c.PatchSize != 0 {
		// torchvision asserts this ("Input shape indivisible by patch size!").
		return fmt.Errorf("vit config: image_size %d is not a multiple of patch_size %d", c.ImageSize, c.PatchSize)
	}
	if c.HiddenDim%c.NumHeads != 0 {
		return fmt.Errorf("vit config: num_heads %d does not divide hidden_dim %d", c.NumHeads, c.HiddenDim)
	}
	if c.classes() < 0 {
		return fmt.Errorf("vit config: num_classes %d: want null, 0 (no head) or more", c.classes())
	}
	if c.Dropout < 0 || c.Dropout >= 1 || math.IsNaN(c.Dropout) {
		return fmt.Errorf("vit config: dropout %g: want [0, 1)", c.Dropout)
	}
	if c.AttentionDropout < 0 || c.AttentionDropout >= 1 || math.IsNaN(c.AttentionDropout) {
		return fmt.Errorf("vit config: attention_dropout %g: want [0, 1)", c.AttentionDropout)
	}
	if c.RepresentationSize != nil && *c.RepresentationSize < 1 {
		return fmt.Errorf("vit config: representation_size %d: want null or at least 1", *c.RepresentationSize)
	}
	return nil
}

// ViT is torchvision's VisionTransformer; the field names follow the
// checkpoint keys (class_token, conv_proj, encoder, heads).
type ViT struct {
	Config     ViTConfig   // the configuration the model was built with
	ClassToken *ag.Tensor  // class_token (1, 1, D)
	ConvProj   *nn.Conv2d  // conv_proj: patch embedding, kernel = stride = patch
	Encoder    *ViTEncoder // encoder
	Heads      *ViTHeads   // heads; nil for a headless model
}

// ViTEncoder is torchvision's vision_transformer.Encoder.
type ViTEncoder struct {
	PosEmbedding *ag.Tensor         // encoder.pos_embedding (1, tokens, D)
	Dropout      *nn.Dropout        // after adding the position embedding
	Layers       []*ViTEncoderBlock // encoder.layers.encoder_layer_N
	LN           *nn.LayerNorm      // encoder.ln
}

// ViTEncoderBlock is torchvision's pre-norm EncoderBlock.
type ViTEncoderBlock struct {
	LN1           *nn.LayerNorm          // ln_1
	SelfAttention *nn.MultiheadAttention // self_attention
	Dropout       *nn.Dropout            // after the attention
	LN2           *nn.LayerNorm          // ln_2
	MLP           *ViTMLP                // mlp
}

// ViTMLP is torchvision's MLPBlock: Linear, GELU, Dropout, Linear,
// Dropout, so the linear layers are mlp.0 and mlp.3.
type ViTMLP struct {
	Linear0 *nn.Linear // mlp.0
	Linear3 *nn.Linear // mlp.3
	Dropout *nn.Dropout
}

// ViTHeads is torchvision's heads Sequential: an optional pre_logits
// Linear with tanh (when representation_size is set), then head.
type ViTHeads struct {
	PreLogits *nn.Linear // heads.pre_logits, or nil
	Head      *nn.Linear // heads.head
}

// xavierUniform is torch.nn.init.xavier_uniform_ for an (out, in) matrix.
func xavierUniform(in, out int) nn.Init {
	a := math.Sqrt(6 / float64(in+out))
	return nn.Uniform(-a, a)
}

// NewViT builds torchvision's VisionTransformer under b, creating the
// weights in state-dict order (class_token before conv_proj: a module's
// own parameters precede its children's) with torchvision's init.
func NewViT(b nn.Builder, cfg ViTConfig) (*ViT, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("models: %w", err)
	}
	d, p := cfg.HiddenDim, cfg.PatchSize
	m := &ViT{Config: cfg}
	m.ClassToken = b.Param("class_token", []int{1, 1, d}, nn.Zeros())
	fanIn := 3 * p * p
	cb := b.Sub("conv_proj")
	m.ConvProj = &nn.Conv2d{
		Weight:  cb.Param("weight", []int{d, 3, p, p}, nn.TruncNormal(math.Sqrt(1/float64(fanIn)))),
		Bias:    cb.Param("bias", []int{d}, nn.Zeros()),
		Options: ag.Conv2dOptions{Stride: [2]int{p, p}},
	}

	eb := b.Sub("encoder")
	tokens := (cfg.ImageSize/p)*(cfg.ImageSize/p) + 1
	enc := &ViTEncoder{
		PosEmbedding: eb.Param("pos_embedding", []int{1, tokens, d}, nn.Normal(0.02)),
		Dropout:      nn.NewDropout(eb, cfg.Dropout),
	}
	lb := eb.Sub("layers")
	for i := range cfg.NumLayers {
		enc.Layers = append(enc.Layers, newViTEncoderBlock(lb.Sub(fmt.Sprintf("encoder_layer_%d", i)), cfg))
	}
	enc.LN = nn.NewLayerNorm(eb.Sub("ln"), []int{d}, 1e-6)
	m.Encoder = enc

	if k := cfg.classes(); k > 0 {
		hb := b.Sub("heads")
		h := &ViTHeads{}
		in := d
		if r := cfg.RepresentationSize; r != nil {
			h.PreLogits = nn.NewLinear(hb.Sub("pre_logits"), d, *r, true, nn.LinearInit{Weight: nn.TruncNormal(math.Sqrt(1 / float64(d))), Bias: nn.Zeros()})
			in = *r
		}
		// torchvision zero-initialises the classification head.
		h.Head = nn.NewLinear(hb.Sub("head"), in, k, true, nn.LinearInit{Weight: nn.Zeros(), Bias: nn.Zeros()})
		m.Heads = h
	}
	return m, nil
}

// newViTEncoderBlock creates one EncoderBlock's weights in state-dict order.
func newViTEncoderBlock(b nn.Builder, cfg ViTConfig) *ViTEncoderBlock {
	d := cfg.HiddenDim
	blk := &ViTEncoderBlock{
		LN1:           nn.NewLayerNorm(b.Sub("ln_1"), []int{d}, 1e-6),
		SelfAttention: nn.NewMultiheadAttention(b.Sub("self_attention"), d, cfg.NumHeads),
		Dropout:       nn.NewDropout(b, cfg.Dropout),
		LN2:           nn.NewLayerNorm(b.Sub("ln_2"), []int{d}, 1e-6),
	}
	blk.SelfAttention.Dropout = nn.NewDropout(b, cfg.AttentionDropout)
	mb := b.Sub("mlp")
	blk.MLP = &ViTMLP{
		// MLPBlock: xavier-uniform weights, N(0, 1e-6) biases.
		Linear0: nn.NewLinear(mb.SubN(0), d, cfg.MLPDim, true, nn.LinearInit{Weight: xavierUniform(d, cfg.MLPDim), Bias: nn.Normal(1e-6)}),
		Linear3: nn.NewLinear(mb.SubN(3), cfg.MLPDim, d, true, nn.LinearInit{Weight: xavierUniform(cfg.MLPDim, d), Bias: nn.Normal(1e-6)}),
		Dropout: nn.NewDropout(mb, cfg.Dropout),
	}
	return blk
}

// Forward is the block: x + attn(ln_1(x)), then + mlp(ln_2(.)).
func (blk *ViTEncoderBlock) Forward(x *ag.Tensor) *ag.Tensor {
	x = ag.Add(blk.Dropout.Forward(blk.SelfAttention.Forward(blk.LN1.Forward(x))), x)
	return ag.Add(x, blk.MLP.Forward(blk.LN2.Forward(x)))
}

// Forward is Linear, GELU (exact), Dropout, Linear, Dropout.
func (m *ViTMLP) Forward(x *ag.Tensor) *ag.Tensor {
	x = m.Dropout.Forward(ag.GELU(m.Linear0.Forward(x)))
	return m.Dropout.Forward(m.Linear3.Forward(x))
}

// Forward adds the position embedding and runs the blocks and the final
// LayerNorm over the tokens x (N, tokens, D).
func (e *ViTEncoder) Forward(x *ag.Tensor) *ag.Tensor {
	x = e.Dropout.Forward(ag.Add(x, e.PosEmbedding))
	for _, blk := range e.Layers {
		x = ag.Local(func() *ag.Tensor { return blk.Forward(x) })
	}
	return e.LN.Forward(x)
}

// Forward maps the features to logits.
func (h *ViTHeads) Forward(x *ag.Tensor) *ag.Tensor {
	if h.PreLogits != nil {
		x = ag.Tanh(h.PreLogits.Forward(x))
	}
	return h.Head.Forward(x)
}

// Features returns the class token after encoder.ln, (N, hidden_dim), for
// images x (N, 3, image_size, image_size).
func (m *ViT) Features(x *ag.Tensor) *ag.Tensor {
	s := m.Config.ImageSize
	if x.Rank() != 4 || x.Dim(1) != 3 || x.Dim(2) != s || x.Dim(3) != s {
		panic(fmt.Sprintf("models: ViT: input %v, want (N, 3, %d, %d)", x.Shape(), s, s))
	}
	n, d := x.Dim(0), m.Config.HiddenDim
	t := m.ConvProj.Forward(x)                       // (N, D, h, w)
	t = ag.Transpose(ag.Reshape(t, n, d, -1), 1, 2)  // (N, h*w, D)
	cls := ag.Expand(m.ClassToken, n, 1, d)          // (N, 1, D)
	t = m.Encoder.Forward(ag.Concat(1, cls, t))      // (N, tokens, D)
	return ag.Reshape(ag.Slice(t, 1, 0, 1, 1), n, d) // class token
}

// Forward returns the logits (N, num_classes), or the features for a
// headless model.
func (m *ViT) Forward(x *ag.Tensor) *ag.Tensor {
	f := m.Features(x)
	if m.Heads == nil {
		return f
	}
	return m.Heads.Forward(f)
}

// FeatureDim is hidden_dim.
func (m *ViT) FeatureDim() int { return m.Config.HiddenDim }

func init() {
	RegisterFamily("vit", "torchvision", func(b nn.Builder, config []byte) (Backbone, error) {
		cfg, err := ParseViTConfig(config)
		if err != nil {
			return nil, err
		}
		return NewViT(b, cfg)
	})
	RegisterPreset("vit_b_16", "vit", "torchvision",
		`{"image_size":224,"patch_size":16,"num_layers":12,"num_heads":12,"hidden_dim":768,"mlp_dim":3072,"num_classes":1000}`)
}
