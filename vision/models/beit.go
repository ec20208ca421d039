package models

import (
	"encoding/json"
	"fmt"
	"math"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/nn"
)

// BeitConfig is the configuration of transformers' BeitConfig (v4.27), with
// its JSON field names. Fields absent from the JSON take BeitConfig's
// defaults (see DefaultBeitConfig); unknown fields are ignored.
type BeitConfig struct {
	// ImageSize is the input size [H, W]; the JSON may give one int.
	ImageSize HFSize `json:"image_size"`
	// PatchSize is the patch size [H, W]; the JSON may give one int.
	PatchSize HFSize `json:"patch_size"`
	// NumChannels is the number of input channels.
	NumChannels int `json:"num_channels"`
	// HiddenSize is the token width.
	HiddenSize int `json:"hidden_size"`
	// NumHiddenLayers is the number of encoder layers.
	NumHiddenLayers int `json:"num_hidden_layers"`
	// NumAttentionHeads divides HiddenSize.
	NumAttentionHeads int `json:"num_attention_heads"`
	// IntermediateSize is the inner width of each layer's MLP.
	IntermediateSize int `json:"intermediate_size"`
	// HiddenAct is the MLP activation: "gelu" (exact), "gelu_new",
	// "gelu_pytorch_tanh", "gelu_fast", "gelu_accurate", "quick_gelu",
	// "relu", "silu", "swish", "sigmoid", "tanh" or "linear".
	HiddenAct string `json:"hidden_act"`
	// HiddenDropoutProb is the dropout of the embeddings and of the
	// attention and MLP outputs (training only).
	HiddenDropoutProb float64 `json:"hidden_dropout_prob"`
	// AttentionProbsDropoutProb is the dropout of the attention weights
	// (training only).
	AttentionProbsDropoutProb float64 `json:"attention_probs_dropout_prob"`
	// InitializerRange is the std of the Linear and Conv weight init.
	InitializerRange float64 `json:"initializer_range"`
	// LayerNormEps is the eps of every LayerNorm.
	LayerNormEps float64 `json:"layer_norm_eps"`
	// LayerScaleInitValue > 0 gives each layer lambda_1 and lambda_2
	// (layer scale) initialised to it; 0 gives none.
	LayerScaleInitValue float64 `json:"layer_scale_init_value"`
	// UseMaskToken adds embeddings.mask_token (unused by classification).
	UseMaskToken bool `json:"use_mask_token"`
	// UseAbsolutePositionEmbeddings adds embeddings.position_embeddings.
	UseAbsolutePositionEmbeddings bool `json:"use_absolute_position_embeddings"`
	// UseRelativePositionBias gives every layer its own relative position
	// bias table.
	UseRelativePositionBias bool `json:"use_relative_position_bias"`
	// UseSharedRelativePositionBias gives the encoder one table that every
	// layer adds (on top of its own, if it has one).
	UseSharedRelativePositionBias bool `json:"use_shared_relative_position_bias"`
	// UseMeanPooling pools the mean of the patch tokens through
	// pooler.layernorm; otherwise beit.layernorm normalises every token
	// and the CLS token is pooled.
	UseMeanPooling bool `json:"use_mean_pooling"`
	// DropPathRate is the stochastic depth of the last layer; layer i gets
	// rate*i/(layers-1) (training only).
	DropPathRate float64 `json:"drop_path_rate"`
	// NumLabels is the size of the classifier; nil (JSON null) or 0 builds
	// no classifier, and Forward then returns the pooled features. As in
	// transformers, id2label, if given, decides it, and it is 2 when
	// neither is given.
	NumLabels *int `json:"num_labels"`
	// ID2Label names the classes; its size is the number of labels.
	ID2Label map[string]string `json:"id2label"`
}

// DefaultBeitConfig is transformers' BeitConfig() (BEiT-base, 224x224,
// patch 16) with 2 labels.
func DefaultBeitConfig() BeitConfig {
	labels := 2
	return BeitConfig{
		ImageSize: HFSize{224, 224}, PatchSize: HFSize{16, 16}, NumChannels: 3,
		HiddenSize: 768, NumHiddenLayers: 12, NumAttentionHeads: 12, IntermediateSize: 3072,
		HiddenAct: "gelu", InitializerRange: 0.02, LayerNormEps: 1e-12,
		LayerScaleInitValue: 0.1, DropPathRate: 0.1, UseMeanPooling: true,
		NumLabels: &labels,
	}
}

// ParseBeitConfig decodes a transformers config.json: absent fields take
// BeitConfig's defaults, id2label decides the number of labels when given,
// and the result is validated.
func ParseBeitConfig(data []byte) (BeitConfig, error) {
	c := DefaultBeitConfig()
	if err := json.Unmarshal(data, &c); err != nil {
		return c, fmt.Errorf("beit config: %w", err)
	}
	if c.ID2Label != nil {
		n := len(c.ID2Label)
		c.NumLabels = &n
	}
	return c, c.Validate()
}

// labels is the classifier size, 0 for a headless model.
func (c *BeitConfig) labels() int {
	if c.NumLabels == nil {
		return 0
	}
	return *c.NumLabels
}

// window is the patch grid (transformers' patch_shape), the window of the
// relative position bias.
func (c *BeitConfig) window() [2]int {
	return [2]int{c.ImageSize[0] / c.PatchSize[0], c.ImageSize[1] / c.PatchSize[1]}
}

// Validate reports the first invalid field.
func (c *BeitConfig) Validate() error {
	for _, f := range []struct {
		name string
		v    int
	}{{"image_size[0]", c.ImageSize[0]}, {"image_size[1]", c.ImageSize[1]},
		{"patch_size[0]", c.PatchSize[0]}, {"patch_size[1]", c.PatchSize[1]},
		{"num_channels", c.NumChannels}, {"hidden_size", c.HiddenSize},
		{"num_hidden_layers", c.NumHiddenLayers}, {"num_attention_heads", c.NumAttentionHeads},
		{"intermediate_size", c.IntermediateSize}} {
		if f.v < 1 {
			return fmt.Errorf("beit config: %s %d: want at least 1", f.name, f.v)
		}
	}
	if c.ImageSize[0] < c.PatchSize[0] || c.ImageSize[1] < c.PatchSize[1] {
		return fmt.Errorf("beit config: patch_size %v is larger than image_size %v", c.PatchSize, c.ImageSize)
	}
	if c.HiddenSize%c.NumAttentionHeads != 0 {
		return fmt.Errorf("beit config: num_attention_heads %d does not divide hidden_size %d", c.NumAttentionHeads, c.HiddenSize)
	}
	if _, err := hfActivation(c.HiddenAct); err != nil {
		return fmt.Errorf("beit config: %w", err)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"hidden_dropout_prob", c.HiddenDropoutProb}, {"attention_probs_dropout_prob", c.AttentionProbsDropoutProb},
		{"drop_path_rate", c.DropPathRate}} {
		if !(f.v >= 0 && f.v < 1) {
			return fmt.Errorf("beit config: %s %g: want [0, 1)", f.name, f.v)
		}
	}
	if !(c.LayerNormEps > 0) {
		return fmt.Errorf("beit config: layer_norm_eps %g: want > 0", c.LayerNormEps)
	}
	if !(c.InitializerRange >= 0) {
		return fmt.Errorf("beit config: initializer_range %g: want >= 0", c.InitializerRange)
	}
	if math.IsNaN(c.LayerScaleInitValue) || math.IsInf(c.LayerScaleInitValue, 0) {
		return fmt.Errorf("beit config: layer_scale_init_value %g: want a finite number", c.LayerScaleInitValue)
	}
	if c.labels() < 0 {
		return fmt.Errorf("beit config: num_labels %d: want null, 0 (no classifier) or more", c.labels())
	}
	return nil
}

// beitInit is transformers' init of a Linear: N(0, std) weight, zero bias.
func beitInit(std float64) nn.LinearInit {
	return nn.LinearInit{Weight: nn.Normal(std), Bias: nn.Zeros()}
}

// Beit is transformers' BeitForImageClassification; the field names follow
// the checkpoint keys (beit.*, classifier).
type Beit struct {
	Config     BeitConfig // the configuration the model was built with
	Beit       *BeitModel // beit
	Classifier *nn.Linear // classifier; nil for a headless model
}

// BeitModel is transformers' BeitModel with its pooling layer.
type BeitModel struct {
	Embeddings *BeitEmbeddings // beit.embeddings
	Encoder    *BeitEncoder    // beit.encoder
	// Layernorm is beit.layernorm over every token, present only without
	// mean pooling (transformers has an Identity there otherwise).
	Layernorm *nn.LayerNorm
	Pooler    *BeitPooler // beit.pooler
}

// BeitEmbeddings is the CLS token, the patch embedding and the optional
// absolute position embeddings.
type BeitEmbeddings struct {
	CLSToken           *ag.Tensor           // cls_token (1, 1, D)
	MaskToken          *ag.Tensor           // mask_token (1, 1, D), or nil
	PositionEmbeddings *ag.Tensor           // position_embeddings (1, patches+1, D), or nil
	PatchEmbeddings    *BeitPatchEmbeddings // patch_embeddings
	Dropout            *nn.Dropout
}

// BeitPatchEmbeddings is the patch projection.
type BeitPatchEmbeddings struct {
	Projection *nn.Conv2d // projection: kernel = stride = patch
}

// BeitEncoder is the stack of layers with the optional shared relative
// position bias.
type BeitEncoder struct {
	RelativePositionBias *BeitRelativePositionBias // relative_position_bias, or nil
	Layer                []*BeitLayer              // layer.N
}

// BeitLayer is one pre-norm transformer layer with layer scale.
type BeitLayer struct {
	Lambda1         *ag.Tensor        // lambda_1, or nil without layer scale
	Lambda2         *ag.Tensor        // lambda_2, or nil without layer scale
	Attention       *BeitAttention    // attention
	Intermediate    *BeitIntermediate // intermediate
	Output          *BeitOutput       // output
	LayernormBefore *nn.LayerNorm     // layernorm_before
	LayernormAfter  *nn.LayerNorm     // layernorm_after
	DropPath        *nn.DropPath      // stochastic depth of both residual branches
}

// BeitAttention is self-attention and its output projection.
type BeitAttention struct {
	Attention *BeitSelfAttention // attention.attention
	Output    *BeitSelfOutput    // attention.output
}

// BeitSelfAttention has query and value biases but no key bias, and an
// optional per-layer relative position bias.
type BeitSelfAttention struct {
	Query, Key, Value    *nn.Linear                // query, key (no bias), value
	RelativePositionBias *BeitRelativePositionBias // relative_position_bias, or nil
	Heads                int                       // num_attention_heads
	AttentionDropout     *nn.Dropout               // on the attention weights (attention_probs_dropout_prob)
}

// BeitSelfOutput is the attention's output projection (attention.output).
type BeitSelfOutput struct {
	Dense   *nn.Linear // dense
	Dropout *nn.Dropout
}

// BeitIntermediate is the MLP's first Linear and activation.
type BeitIntermediate struct {
	Dense *nn.Linear                  // dense
	Act   func(*ag.Tensor) *ag.Tensor // hidden_act
}

// BeitOutput is the MLP's second Linear.
type BeitOutput struct {
	Dense   *nn.Linear // dense
	Dropout *nn.Dropout
}

// BeitRelativePositionBias is a table of per-head biases indexed by the
// relative position of two tokens within the patch grid, with three extra
// entries for CLS-to-token, token-to-CLS and CLS-to-CLS.
type BeitRelativePositionBias struct {
	RelativePositionBiasTable *ag.Tensor    // relative_position_bias_table ((2Wh-1)(2Ww-1)+3, heads)
	RelativePositionIndex     *nn.IntBuffer // relative_position_index (Wh*Ww+1, Wh*Ww+1), int64
	Window                    [2]int        // the patch grid (Wh, Ww)
}

// BeitPooler pools the final tokens.
type BeitPooler struct {
	// Layernorm normalises the mean of the patch tokens (mean pooling);
	// nil means the CLS token is the pooled output.
	Layernorm *nn.LayerNorm
}

// NewBeit builds BeitForImageClassification under b. The weights are
// created in state-dict order, a module's own parameters before its
// children's (so lambda_1/lambda_2 lead each layer and position_embeddings
// precedes patch_embeddings), with transformers' init.
func NewBeit(b nn.Builder, cfg BeitConfig) (*Beit, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("models: %w", err)
	}
	d, std := cfg.HiddenSize, cfg.InitializerRange
	win := cfg.window()
	bb := b.Sub("beit")

	eb := bb.Sub("embeddings")
	emb := &BeitEmbeddings{CLSToken: eb.Param("cls_token", []int{1, 1, d}, nn.Zeros())}
	if cfg.UseMaskToken {
		emb.MaskToken = eb.Param("mask_token", []int{1, 1, d}, nn.Zeros())
	}
	if cfg.UseAbsolutePositionEmbeddings {
		emb.PositionEmbeddings = eb.Param("position_embeddings", []int{1, win[0]*win[1] + 1, d}, nn.Zeros())
	}
	pb := eb.Sub("patch_embeddings").Sub("projection")
	ps := cfg.PatchSize
	emb.PatchEmbeddings = &BeitPatchEmbeddings{Projection: &nn.Conv2d{
		Weight:  pb.Param("weight", []int{d, cfg.NumChannels, ps[0], ps[1]}, nn.Normal(std)),
		Bias:    pb.Param("bias", []int{d}, nn.Zeros()),
		Options: ag.Conv2dOptions{Stride: [2]int(ps)},
	}}
	emb.Dropout = nn.NewDropout(eb, cfg.HiddenDropoutProb)

	enc := &BeitEncoder{}
	encB := bb.Sub("encoder")
	if cfg.UseSharedRelativePositionBias {
		enc.RelativePositionBias = newBeitRelativePositionBias(encB.Sub("relative_position_bias"), win, cfg.NumAttentionHeads)
	}
	for i := range cfg.NumHiddenLayers {
		// torch.linspace(0, drop_path_rate, layers)
		dpr := 0.0
		if cfg.NumHiddenLayers > 1 {
			dpr = cfg.DropPathRate * float64(i) / float64(cfg.NumHiddenLayers-1)
		}
		enc.Layer = append(enc.Layer, newBeitLayer(encB.Sub("layer").SubN(i), cfg, dpr))
	}

	m := &Beit{Config: cfg, Beit: &BeitModel{Embeddings: emb, Encoder: enc, Pooler: &BeitPooler{}}}
	if cfg.UseMeanPooling {
		m.Beit.Pooler.Layernorm = nn.NewLayerNorm(bb.Sub("pooler").Sub("layernorm"), []int{d}, cfg.LayerNormEps)
	} else {
		m.Beit.Layernorm = nn.NewLayerNorm(bb.Sub("layernorm"), []int{d}, cfg.LayerNormEps)
	}
	if k := cfg.labels(); k > 0 {
		m.Classifier = nn.NewLinear(b.Sub("classifier"), d, k, true, beitInit(std))
	}
	return m, nil
}

// newBeitLayer creates one BeitLayer's weights in state-dict order.
func newBeitLayer(b nn.Builder, cfg BeitConfig, dropPath float64) *BeitLayer {
	d, std := cfg.HiddenSize, cfg.InitializerRange
	l := &BeitLayer{}
	if v := cfg.LayerScaleInitValue; v > 0 {
		l.Lambda1 = b.Param("lambda_1", []int{d}, nn.Constant(v))
		l.Lambda2 = b.Param("lambda_2", []int{d}, nn.Constant(v))
	}
	ab := b.Sub("attention")
	sb := ab.Sub("attention")
	sa := &BeitSelfAttention{
		Query:            nn.NewLinear(sb.Sub("query"), d, d, true, beitInit(std)),
		Key:              nn.NewLinear(sb.Sub("key"), d, d, false, beitInit(std)),
		Value:            nn.NewLinear(sb.Sub("value"), d, d, true, beitInit(std)),
		Heads:            cfg.NumAttentionHeads,
		AttentionDropout: nn.NewDropout(b, cfg.AttentionProbsDropoutProb),
	}
	if cfg.UseRelativePositionBias {
		sa.RelativePositionBias = newBeitRelativePositionBias(sb.Sub("relative_position_bias"), cfg.window(), cfg.NumAttentionHeads)
	}
	l.Attention = &BeitAttention{
		Attention: sa,
		Output:    &BeitSelfOutput{Dense: nn.NewLinear(ab.Sub("output").Sub("dense"), d, d, true, beitInit(std)), Dropout: nn.NewDropout(b, cfg.HiddenDropoutProb)},
	}
	l.Intermediate = &BeitIntermediate{Dense: nn.NewLinear(b.Sub("intermediate").Sub("dense"), d, cfg.IntermediateSize, true, beitInit(std)), Act: hfActivations[cfg.HiddenAct]}
	l.Output = &BeitOutput{Dense: nn.NewLinear(b.Sub("output").Sub("dense"), cfg.IntermediateSize, d, true, beitInit(std)), Dropout: nn.NewDropout(b, cfg.HiddenDropoutProb)}
	l.LayernormBefore = nn.NewLayerNorm(b.Sub("layernorm_before"), []int{d}, cfg.LayerNormEps)
	l.LayernormAfter = nn.NewLayerNorm(b.Sub("layernorm_after"), []int{d}, cfg.LayerNormEps)
	l.DropPath = nn.NewDropPath(b, dropPath)
	return l
}

// newBeitRelativePositionBias creates a bias table and its index buffer.
func newBeitRelativePositionBias(b nn.Builder, win [2]int, heads int) *BeitRelativePositionBias {
	idx := beitRelativePositionIndex(win)
	t := win[0]*win[1] + 1
	return &BeitRelativePositionBias{
		RelativePositionBiasTable: b.Param("relative_position_bias_table", []int{(2*win[0]-1)*(2*win[1]-1) + 3, heads}, nn.Zeros()),
		RelativePositionIndex:     b.IntBuffer("relative_position_index", []int{t, t}, idx),
		Window:                    win,
	}
}

// beitRelativePositionIndex is transformers' relative_position_index for a
// (Wh, Ww) patch grid: (Wh*Ww+1)^2 entries, token 0 being CLS. Between
// patches (hi, wi) and (hj, wj) it is (hi-hj+Wh-1)*(2Ww-1) + (wi-wj+Ww-1);
// row 0 (CLS to token) is R-3, column 0 (token to CLS) R-2 and [0, 0]
// (CLS to CLS) R-1, where R = (2Wh-1)(2Ww-1)+3 is the table size.
func beitRelativePositionIndex(win [2]int) []int64 {
	wh, ww := win[0], win[1]
	area := wh * ww
	t := area + 1
	r := int64((2*wh-1)*(2*ww-1) + 3)
	idx := make([]int64, t*t)
	for i := range area {
		hi, wi := i/ww, i%ww
		for j := range area {
			hj, wj := j/ww, j%ww
			idx[(i+1)*t+j+1] = int64((hi-hj+wh-1)*(2*ww-1) + (wi - wj + ww - 1))
		}
	}
	for j := range t {
		idx[j] = r - 3 // CLS to token
	}
	for i := range t {
		idx[i*t] = r - 2 // token to CLS
	}
	idx[0] = r - 1 // CLS to CLS
	return idx
}

// Bias returns the (heads, T, T) bias that the attention scores add,
// looked up through the (possibly loaded) relative_position_index.
func (p *BeitRelativePositionBias) Bias() *ag.Tensor {
	t := p.RelativePositionIndex.Shape[0]
	bias := ag.IndexSelect(p.RelativePositionBiasTable, 0, ag.Reshape(p.RelativePositionIndex.Index(), t*t)) // (T*T, heads)
	return ag.Permute(ag.Reshape(bias, t, t, -1), 2, 0, 1)
}

// Forward is multi-head attention over x (N, T, D) with scores
// q k^T / sqrt(head_dim) plus this layer's relative position bias and the
// shared one (may be nil).
func (a *BeitSelfAttention) Forward(x, shared *ag.Tensor) *ag.Tensor {
	n, t, d := x.Dim(0), x.Dim(1), a.Query.Weight.Dim(0)
	hd := d / a.Heads
	heads := func(y *ag.Tensor) *ag.Tensor { // (N, T, D) -> (N, H, T, hd)
		return ag.Permute(ag.Reshape(y, n, t, a.Heads, hd), 0, 2, 1, 3)
	}
	q, k, v := heads(a.Query.Forward(x)), heads(a.Key.Forward(x)), heads(a.Value.Forward(x))
	var bias *ag.Tensor
	if a.RelativePositionBias != nil {
		bias = a.RelativePositionBias.Bias()
	}
	if shared != nil {
		if bias == nil {
			bias = shared
		} else {
			bias = ag.Add(bias, shared)
		}
	}
	o := nn.Attention(q, k, v, bias, a.AttentionDropout)
	return ag.Reshape(ag.Permute(o, 0, 2, 1, 3), n, t, d)
}

// Forward is the pre-norm layer with layer scale:
// h = x + drop_path(lambda_1 * attn(layernorm_before(x))),
// h + drop_path(lambda_2 * mlp(layernorm_after(h))).
func (l *BeitLayer) Forward(x, shared *ag.Tensor) *ag.Tensor {
	a := l.Attention.Attention.Forward(l.LayernormBefore.Forward(x), shared)
	a = l.Attention.Output.Dropout.Forward(l.Attention.Output.Dense.Forward(a))
	if l.Lambda1 != nil {
		a = ag.Mul(l.Lambda1, a)
	}
	h := ag.Add(l.DropPath.Forward(a), x)
	y := l.Intermediate.Act(l.Intermediate.Dense.Forward(l.LayernormAfter.Forward(h)))
	y = l.Output.Dropout.Forward(l.Output.Dense.Forward(y))
	if l.Lambda2 != nil {
		y = ag.Mul(l.Lambda2, y)
	}
	return ag.Add(l.DropPath.Forward(y), h)
}

// Features returns the pooled output (N, hidden_size) for images x
// (N, num_channels, H, W) of the configured image_size: the LayerNorm of
// the mean patch token with mean pooling, else the CLS token after
// beit.layernorm.
func (m *Beit) Features(x *ag.Tensor) *ag.Tensor {
	c := &m.Config
	if x.Rank() != 4 || x.Dim(1) != c.NumChannels || x.Dim(2) != c.ImageSize[0] || x.Dim(3) != c.ImageSize[1] {
		// transformers 4.27 refuses other sizes too: the position tables
		// are built for this patch grid.
		panic(fmt.Sprintf("models: BEiT: input %v, want (N, %d, %d, %d)", x.Shape(), c.NumChannels, c.ImageSize[0], c.ImageSize[1]))
	}
	n, d := x.Dim(0), c.HiddenSize
	e := m.Beit.Embeddings
	h := e.PatchEmbeddings.Projection.Forward(x)        // (N, D, h, w)
	h = ag.Transpose(ag.Reshape(h, n, d, -1), 1, 2)     // (N, P, D)
	h = ag.Concat(1, ag.Expand(e.CLSToken, n, 1, d), h) // (N, P+1, D)
	if e.PositionEmbeddings != nil {
		h = ag.Add(h, e.PositionEmbeddings)
	}
	h = e.Dropout.Forward(h)

	var shared *ag.Tensor
	if rpb := m.Beit.Encoder.RelativePositionBias; rpb != nil {
		shared = rpb.Bias()
	}
	for _, l := range m.Beit.Encoder.Layer {
		h = ag.Local(func() *ag.Tensor { return l.Forward(h, shared) })
	}

	if m.Beit.Layernorm != nil {
		h = m.Beit.Layernorm.Forward(h)
	}
	if ln := m.Beit.Pooler.Layernorm; ln != nil {
		t := h.Dim(1)
		return ln.Forward(ag.Mean(ag.Slice(h, 1, 1, t, 1), []int{1}, false))
	}
	return ag.Reshape(ag.Slice(h, 1, 0, 1, 1), n, d)
}

// Forward returns the logits (N, num_labels), or the pooled features for a
// headless model.
func (m *Beit) Forward(x *ag.Tensor) *ag.Tensor {
	f := m.Features(x)
	if m.Classifier == nil {
		return f
	}
	return m.Classifier.Forward(f)
}

// FeatureDim is hidden_size.
func (m *Beit) FeatureDim() int { return m.Config.HiddenSize }

func init() {
	RegisterFamily("beit", "hf", func(b nn.Builder, config []byte) (Backbone, error) {
		cfg, err := ParseBeitConfig(config)
		if err != nil {
			return nil, err
		}
		return NewBeit(b, cfg)
	})
	// microsoft/beit-base-patch16-224: ImageNet-22k pre-trained, ImageNet-1k
	// fine-tuned, per-layer relative position bias, mean pooling.
	RegisterPreset("beit-base-patch16-224", "beit", "hf",
		`{"model_type":"beit","image_size":224,"patch_size":16,"num_channels":3,"hidden_size":768,`+
			`"num_hidden_layers":12,"num_attention_heads":12,"intermediate_size":3072,"hidden_act":"gelu",`+
			`"layer_norm_eps":1e-12,"layer_scale_init_value":0.1,"use_mask_token":false,`+
			`"use_absolute_position_embeddings":false,"use_relative_position_bias":true,`+
			`"use_shared_relative_position_bias":false,"use_mean_pooling":true,"hidden_dropout_prob":0.0,`+
			`"attention_probs_dropout_prob":0.0,"drop_path_rate":0.1,"initializer_range":0.02,"num_labels":1000}`)
}
