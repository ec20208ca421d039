package models

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/nn"
)

// SwinConfig is the configuration of torchvision's SwinTransformer (v1),
// the "swin"/"torchvision" config of the golden files and manifests.
type SwinConfig struct {
	// PatchSize is the [H, W] kernel and stride of the patch-embedding conv.
	PatchSize []int `json:"patch_size"`
	// EmbedDim is the width of stage 0; stage i is EmbedDim * 2^i wide.
	EmbedDim int `json:"embed_dim"`
	// Depths is the number of blocks of each stage.
	Depths []int `json:"depths"`
	// NumHeads is the number of attention heads of each stage.
	NumHeads []int `json:"num_heads"`
	// WindowSize is the [H, W] attention window; blocks 1, 3, ... shift by
	// half of it.
	WindowSize []int `json:"window_size"`
	// MLPRatio sets the MLP width int(dim * mlp_ratio); 4 when absent.
	MLPRatio float64 `json:"mlp_ratio"`
	// NumClasses is the size of the head; 0 (or null) builds no head.
	NumClasses int `json:"num_classes"`
	// StochasticDepthProb is the drop probability of the last block,
	// linearly increasing from 0 over all blocks (training only).
	StochasticDepthProb float64 `json:"stochastic_depth_prob"`
}

// Validate reports the first invalid field.
func (c *SwinConfig) Validate() error {
	if err := swinPair("patch_size", c.PatchSize); err != nil {
		return err
	}
	if err := swinPair("window_size", c.WindowSize); err != nil {
		return err
	}
	if err := swinValidateStages(c.EmbedDim, c.Depths, c.NumHeads, c.MLPRatio, "embed_dim", "num_heads"); err != nil {
		return fmt.Errorf("swin config: %w", err)
	}
	if c.NumClasses < 0 {
		return fmt.Errorf("swin config: num_classes %d: want 0 (no head) or more", c.NumClasses)
	}
	if !(c.StochasticDepthProb >= 0 && c.StochasticDepthProb <= 1) {
		return fmt.Errorf("swin config: stochastic_depth_prob %g: want a probability in [0, 1]", c.StochasticDepthProb)
	}
	return nil
}

// swinPair checks an [H, W] size field.
func swinPair(field string, v []int) error {
	if len(v) != 2 || v[0] < 1 || v[1] < 1 {
		return fmt.Errorf("swin config: %s %v: want two positive sizes [H, W]", field, v)
	}
	return nil
}

// swinValidateStages checks the stage geometry shared by both namings.
func swinValidateStages(embed int, depths, heads []int, mlpRatio float64, embedField, headsField string) error {
	if embed < 1 {
		return fmt.Errorf("%s %d: want at least 1", embedField, embed)
	}
	if len(depths) == 0 {
		return fmt.Errorf("depths is empty: want one depth per stage")
	}
	if len(depths) > 16 {
		return fmt.Errorf("depths %v: %d stages would make the last one %d * 2^%d wide", depths, len(depths), embed, len(depths)-1)
	}
	if len(heads) != len(depths) {
		return fmt.Errorf("%s %v: want one head count per stage of depths %v", headsField, heads, depths)
	}
	for i, d := range depths {
		if d < 0 {
			return fmt.Errorf("depths[%d] = %d: want 0 or more", i, d)
		}
		dim := embed << i
		if heads[i] < 1 || dim%heads[i] != 0 {
			return fmt.Errorf("%s[%d] = %d: want a positive divisor of the stage width %d", headsField, i, heads[i], dim)
		}
		if !(mlpRatio > 0) || int(float64(dim)*mlpRatio) < 1 {
			return fmt.Errorf("mlp_ratio %g: want int(dim * mlp_ratio) >= 1 (stage %d width %d)", mlpRatio, i, dim)
		}
	}
	return nil
}

// Swin is a Swin Transformer v1 classifier (Liu et al., 2021) in either of
// two checkpoint namings that share one mechanism: torchvision's
// SwinTransformer (NewSwin) and transformers' SwinForImageClassification
// (NewSwinHF). The field comments give the key of each naming as
// "torchvision / hf". Activations run channels-last, (N, H, W, C).
type Swin struct {
	// PatchEmbed is features.0.0 / swin.embeddings.patch_embeddings.projection:
	// a patch_size conv with stride patch_size.
	PatchEmbed *nn.Conv2d
	// PatchNorm is features.0.2 / swin.embeddings.norm.
	PatchNorm *nn.LayerNorm
	// PositionEmbeddings is swin.embeddings.position_embeddings (hf with
	// use_absolute_embeddings only; nil otherwise).
	PositionEmbeddings *ag.Tensor
	// Stages are features.{1,3,5,...} with the patch merging after each
	// but the last in features.{2,4,6,...} / swin.encoder.layers.S.
	Stages []*SwinStage
	// Norm is norm / swin.layernorm, applied before pooling.
	Norm *nn.LayerNorm
	// Head is head / classifier; nil for a headless model.
	Head *nn.Linear

	padToPatches bool // see swinSpec
	featureDim   int
	patch        [2]int
	inChannels   int
	embedDropout *nn.Dropout // hf: embeddings.dropout (hidden_dropout_prob)
}

// SwinStage is one resolution of the hierarchy.
type SwinStage struct {
	// Blocks are features.S.N / swin.encoder.layers.S.blocks.N.
	Blocks []*SwinBlock
	// Downsample is the patch merging after the stage, features.{2,4,6,...}
	// / swin.encoder.layers.S.downsample; nil on the last stage.
	Downsample *SwinPatchMerging
}

// SwinBlock is one pre-norm transformer block with (shifted) window
// attention: x + attn(norm1(x)), then x + mlp(norm2(x)).
type SwinBlock struct {
	Norm1 *nn.LayerNorm // norm1 / layernorm_before
	Attn  *SwinWindowAttention
	Norm2 *nn.LayerNorm // norm2 / layernorm_after
	FC1   *nn.Linear    // mlp.0 / intermediate.dense
	FC2   *nn.Linear    // mlp.3 / output.dense

	clampWindow, mlpDropPath bool // see swinSpec
	// shifted marks blocks 1, 3, ... of a stage: shift by half a window.
	shifted bool
	// window is the configured window (hf: square).
	window   [2]int
	act      func(*ag.Tensor) *ag.Tensor
	dropPath *nn.DropPath // torchvision: both branches; hf: attention only
	mlpDrop  *nn.Dropout  // hf: output.dropout (hidden_dropout_prob)
}

// SwinWindowAttention is multi-head self-attention inside windows with a
// learned relative position bias: attn (torchvision) or attention (hf).
type SwinWindowAttention struct {
	// RelativePositionBiasTable is relative_position_bias_table
	// ((2*Wh-1)*(2*Ww-1), heads) (hf: under attention.self).
	RelativePositionBiasTable *ag.Tensor
	// RelativePositionIndex is relative_position_index, the table row of
	// every (query, key) pair of a window: (Wh*Ww)^2 values, shaped [N*N]
	// by torchvision and [N, N] by hf. The loaded values are used.
	RelativePositionIndex *nn.IntBuffer
	// QKV is torchvision's fused attn.qkv (3*dim rows: q, k, v).
	QKV *nn.Linear
	// Query, Key, Value are hf's attention.self.{query,key,value}.
	Query, Key, Value *nn.Linear
	// Proj is attn.proj / attention.output.dense.
	Proj *nn.Linear
	// NumHeads is the number of heads.
	NumHeads int

	attnDrop *nn.Dropout // hf: self.dropout on the probabilities
	projDrop *nn.Dropout // hf: output.dropout after the projection

	masks swinMasks
}

// swinMasks keeps the shift masks built so far, one per padded map size,
// window, shift, type and device, so a forward pass builds none.
type swinMasks struct {
	mu sync.Mutex
	m  map[swinMaskKey]*ag.Tensor
}

type swinMaskKey struct {
	hp, wp     int
	win, shift [2]int
	dt         ag.DType
	dev        ag.Device
}

// get returns the mask for the key, building and keeping it the first time.
func (c *swinMasks) get(k swinMaskKey) *ag.Tensor {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.m[k]; ok {
		return t
	}
	if c.m == nil {
		c.m = map[swinMaskKey]*ag.Tensor{}
	}
	t := swinShiftMask(k.hp, k.wp, k.win, k.shift, k.dt).To(k.dev)
	c.m[k] = t
	return t
}

// SwinPatchMerging halves the resolution: the 2x2 neighbours of every
// pixel are concatenated (4C), normalised and projected to 2C.
type SwinPatchMerging struct {
	Reduction *nn.Linear    // reduction (4C -> 2C, no bias)
	Norm      *nn.LayerNorm // norm (4C)
}

// swinKeys is the explicit key map of one naming: where each piece of the
// shared mechanism lives in the checkpoint.
type swinKeys struct {
	patchConv, patchNorm, posEmbed string
	stage, merge                   func(s int) string // the blocks' list, the patch merging
	norm1, attn, attnOut           string             // attnOut: the output projection, relative to the block
	norm2, fc1, fc2                string
	norm, head                     string
}

var swinTorchvisionKeys = swinKeys{
	patchConv: "features.0.0", patchNorm: "features.0.2",
	stage: func(s int) string { return fmt.Sprintf("features.%d", 2*s+1) },
	merge: func(s int) string { return fmt.Sprintf("features.%d", 2*s+2) },
	norm1: "norm1", attn: "attn", attnOut: "attn.proj",
	norm2: "norm2", fc1: "mlp.0", fc2: "mlp.3",
	norm: "norm", head: "head",
}

var swinHFKeys = swinKeys{
	patchConv: "swin.embeddings.patch_embeddings.projection", patchNorm: "swin.embeddings.norm",
	posEmbed: "swin.embeddings.position_embeddings",
	stage:    func(s int) string { return fmt.Sprintf("swin.encoder.layers.%d.blocks", s) },
	merge:    func(s int) string { return fmt.Sprintf("swin.encoder.layers.%d.downsample", s) },
	norm1:    "layernorm_before", attn: "attention.self", attnOut: "attention.output.dense",
	norm2: "layernorm_after", fc1: "intermediate.dense", fc2: "output.dense",
	norm: "swin.layernorm", head: "classifier",
}

// swinSpec is the naming-independent description a Swin is built from:
// the keys say where each tensor lives, the other fields how the model
// behaves, so that the two references' differences are explicit.
type swinSpec struct {
	keys        swinKeys
	inChannels  int
	patch       [2]int
	embed       int
	depths      []int
	heads       []int
	window      [2]int
	mlpRatio    float64
	qkvBias     bool
	blockEps    float64 // norm1/norm2/final norm eps (the embedding and merging norms use 1e-5)
	act         func(*ag.Tensor) *ag.Tensor
	numClasses  int
	dropPath    func(block, total int) float64
	posPatches  int     // hf use_absolute_embeddings: number of patches of image_size; -1: none
	hiddenDrop  float64 // hf hidden_dropout_prob
	attnDropout float64 // hf attention_probs_dropout_prob

	// Where the references differ in structure and behaviour.
	fusedQKV     bool // one qkv Linear (torchvision) rather than query, key, value (hf)
	index2D      bool // relative_position_index shaped [N, N] (hf) rather than [N*N]
	padToPatches bool // pad the image to whole patches (hf); torchvision's conv drops the remainder
	clampWindow  bool // hf's set_shift_and_window_size rule rather than torchvision's padding to whole windows
	mlpDropPath  bool // stochastic depth on the MLP branch too (torchvision); hf drops the attention branch only
}

// NewSwin builds torchvision's SwinTransformer under b with its key names
// and registration order.
func NewSwin(b nn.Builder, c SwinConfig) (*Swin, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	p := c.StochasticDepthProb
	return newSwin(b, swinSpec{
		keys: swinTorchvisionKeys, fusedQKV: true, mlpDropPath: true,
		inChannels: 3,
		patch:      [2]int{c.PatchSize[0], c.PatchSize[1]},
		embed:      c.EmbedDim, depths: c.Depths, heads: c.NumHeads,
		window:   [2]int{c.WindowSize[0], c.WindowSize[1]},
		mlpRatio: c.MLPRatio, qkvBias: true, blockEps: 1e-5, act: ag.GELU,
		numClasses: c.NumClasses, posPatches: -1,
		// torchvision: p * block_id / (total_blocks - 1); a single block
		// (where torchvision divides by zero) gets 0.
		dropPath: func(block, total int) float64 {
			if total < 2 {
				return 0
			}
			return p * float64(block) / float64(total-1)
		},
	}), nil
}

// newSwin creates the model's tensors in the reference's registration
// order, which is also its state-dict and parameters() order.
func newSwin(b nn.Builder, s swinSpec) *Swin {
	k := s.keys
	m := &Swin{padToPatches: s.padToPatches, patch: s.patch, inChannels: s.inChannels}
	if s.posPatches >= 0 {
		// An nn.Parameter of SwinEmbeddings comes before its children.
		parent, name := k.posEmbed[:strings.LastIndex(k.posEmbed, ".")], k.posEmbed[strings.LastIndex(k.posEmbed, ".")+1:]
		m.PositionEmbeddings = swinSub(b, parent).Param(name, []int{1, s.posPatches + 1, s.embed}, nn.Zeros())
	}
	m.PatchEmbed = nn.NewConv2d(swinSub(b, k.patchConv), s.inChannels, s.embed, s.patch,
		ag.Conv2dOptions{Stride: s.patch}, true)
	m.PatchNorm = nn.NewLayerNorm(swinSub(b, k.patchNorm), []int{s.embed}, 1e-5)
	m.embedDropout = nn.NewDropout(b, s.hiddenDrop)
	total := 0
	for _, d := range s.depths {
		total += d
	}
	id := 0
	dim := s.embed
	for si, depth := range s.depths {
		dim = s.embed << si
		st := &SwinStage{}
		sb := swinSub(b, k.stage(si))
		hidden := int(float64(dim) * s.mlpRatio)
		for i := range depth {
			st.Blocks = append(st.Blocks, newSwinBlock(sb.SubN(i), &s, dim, s.heads[si], hidden, i%2 == 1, s.dropPath(id, total)))
			id++
		}
		if si < len(s.depths)-1 {
			mb := swinSub(b, k.merge(si))
			st.Downsample = &SwinPatchMerging{
				Reduction: nn.NewLinear(mb.Sub("reduction"), 4*dim, 2*dim, false, truncNormalInit),
				Norm:      nn.NewLayerNorm(mb.Sub("norm"), []int{4 * dim}, 1e-5),
			}
		}
		m.Stages = append(m.Stages, st)
	}
	m.featureDim = dim
	m.Norm = nn.NewLayerNorm(swinSub(b, k.norm), []int{dim}, s.blockEps)
	if s.numClasses > 0 {
		m.Head = nn.NewLinear(swinSub(b, k.head), dim, s.numClasses, true, truncNormalInit)
	}
	return m
}

// newSwinBlock creates one block: norm1, attention (bias table, index,
// q/k/v, output projection), norm2, MLP, in registration order.
func newSwinBlock(b nn.Builder, s *swinSpec, dim, heads, hidden int, shifted bool, dropPath float64) *SwinBlock {
	k := s.keys
	blk := &SwinBlock{clampWindow: s.clampWindow, mlpDropPath: s.mlpDropPath, shifted: shifted, window: s.window, act: s.act}
	blk.Norm1 = nn.NewLayerNorm(swinSub(b, k.norm1), []int{dim}, s.blockEps)
	ab := swinSub(b, k.attn)
	a := &SwinWindowAttention{NumHeads: heads}
	wh, ww := s.window[0], s.window[1]
	a.RelativePositionBiasTable = ab.Param("relative_position_bias_table",
		[]int{(2*wh - 1) * (2*ww - 1), heads}, nn.TruncNormal(0.02))
	n := wh * ww
	shape := []int{n * n}
	if s.index2D {
		shape = []int{n, n}
	}
	a.RelativePositionIndex = ab.IntBuffer("relative_position_index", shape, swinRelativePositionIndex(wh, ww))
	if s.fusedQKV {
		a.QKV = nn.NewLinear(ab.Sub("qkv"), dim, 3*dim, s.qkvBias, truncNormalInit)
	} else {
		a.Query = nn.NewLinear(ab.Sub("query"), dim, dim, s.qkvBias, truncNormalInit)
		a.Key = nn.NewLinear(ab.Sub("key"), dim, dim, s.qkvBias, truncNormalInit)
		a.Value = nn.NewLinear(ab.Sub("value"), dim, dim, s.qkvBias, truncNormalInit)
	}
	a.Proj = nn.NewLinear(swinSub(b, k.attnOut), dim, dim, true, truncNormalInit)
	a.attnDrop = nn.NewDropout(b, s.attnDropout)
	a.projDrop = nn.NewDropout(b, s.attnDropout)
	blk.mlpDrop = nn.NewDropout(b, s.hiddenDrop)
	blk.Attn = a
	blk.Norm2 = nn.NewLayerNorm(swinSub(b, k.norm2), []int{dim}, s.blockEps)
	blk.FC1 = nn.NewLinear(swinSub(b, k.fc1), dim, hidden, true, truncNormalInit)
	blk.FC2 = nn.NewLinear(swinSub(b, k.fc2), hidden, dim, true, truncNormalInit)
	blk.dropPath = nn.NewDropPath(b, dropPath)
	return blk
}

// swinSub descends a dotted key path.
func swinSub(b nn.Builder, path string) nn.Builder {
	for _, p := range strings.Split(path, ".") {
		b = b.Sub(p)
	}
	return b
}

// swinRelativePositionIndex is the reference's relative_position_index of
// a wh x ww window: for tokens i, j (row-major), (dh + wh-1) * (2ww-1) +
// (dw + ww-1) with (dh, dw) = pos(i) - pos(j).
func swinRelativePositionIndex(wh, ww int) []int64 {
	n := wh * ww
	out := make([]int64, 0, n*n)
	for i := range n {
		for j := range n {
			dh := i/ww - j/ww + wh - 1
			dw := i%ww - j%ww + ww - 1
			out = append(out, int64(dh*(2*ww-1)+dw))
		}
	}
	return out
}

// Features returns the pooled features (N, FeatureDim()): the mean over
// all positions of the final norm's output.
func (m *Swin) Features(x *ag.Tensor) *ag.Tensor {
	if x.Rank() != 4 || x.Dim(1) != m.inChannels {
		panic(fmt.Sprintf("models: Swin: input %v: want (N, %d, H, W)", x.Shape(), m.inChannels))
	}
	if m.padToPatches {
		// transformers pads the image at the bottom/right to whole patches;
		// torchvision's conv drops the remainder.
		ph := (m.patch[0] - x.Dim(2)%m.patch[0]) % m.patch[0]
		pw := (m.patch[1] - x.Dim(3)%m.patch[1]) % m.patch[1]
		if ph > 0 || pw > 0 {
			x = ag.Pad(x, [][2]int{{0, 0}, {0, 0}, {0, ph}, {0, pw}}, 0)
		}
	}
	x = ag.Permute(m.PatchEmbed.Forward(x), 0, 2, 3, 1) // (N, H, W, C)
	x = m.PatchNorm.Forward(x)
	if m.PositionEmbeddings != nil {
		n, h, w, c := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
		if m.PositionEmbeddings.Dim(1) != h*w {
			// transformers 4.27 creates num_patches+1 rows and adds them
			// to num_patches tokens, which fails the same way.
			panic(fmt.Sprintf("models: Swin (hf): position_embeddings %v cannot be added to %d patch tokens (transformers 4.27 fails here too)",
				m.PositionEmbeddings.Shape(), h*w))
		}
		x = ag.Reshape(ag.Add(ag.Reshape(x, n, h*w, c), m.PositionEmbeddings), n, h, w, c)
	}
	x = m.embedDropout.Forward(x)
	for _, st := range m.Stages {
		for _, blk := range st.Blocks {
			x = ag.Local(func() *ag.Tensor { return blk.Forward(x) })
		}
		if st.Downsample != nil {
			x = st.Downsample.Forward(x)
		}
	}
	x = m.Norm.Forward(x)
	return ag.Mean(x, []int{1, 2}, false)
}

// Forward returns the logits (N, num_classes), or the features when the
// model has no head.
func (m *Swin) Forward(x *ag.Tensor) *ag.Tensor {
	f := m.Features(x)
	if m.Head == nil {
		return f
	}
	return m.Head.Forward(f)
}

// FeatureDim is the width of the last stage, embed_dim * 2^(stages-1).
func (m *Swin) FeatureDim() int { return m.featureDim }

// Forward runs the block on x (N, H, W, C).
func (blk *SwinBlock) Forward(x *ag.Tensor) *ag.Tensor {
	h, w := x.Dim(1), x.Dim(2)
	win, shift := blk.plan(h, w)
	a := blk.dropPath.Forward(blk.Attn.forward(blk.Norm1.Forward(x), win, shift))
	x = ag.Add(x, a)
	y := blk.FC2.Forward(blk.act(blk.FC1.Forward(blk.Norm2.Forward(x))))
	y = blk.mlpDrop.Forward(y)
	if blk.mlpDropPath {
		y = blk.dropPath.Forward(y)
	}
	return ag.Add(x, y)
}

// plan returns the window and the cyclic shift of an h x w map.
//
// torchvision keeps the window and pads the map to whole windows; a shifted
// block shifts by window//2 on each axis except one where the window covers
// the whole padded map.
//
// transformers 4.27 (SwinLayer.set_shift_and_window_size) drops the shift
// on both axes and takes min(h, w) as the window when min(h, w) <= window.
// A window smaller than the configured one cannot take the relative
// position bias there (transformers fails on the shapes), so it panics.
// Unlike the references, the decision is made afresh for every input:
// both mutate the module on the first call and keep the result.
func (blk *SwinBlock) plan(h, w int) (win, shift [2]int) {
	win = blk.window
	if blk.clampWindow {
		ws := win[0]
		if blk.shifted {
			shift = [2]int{ws / 2, ws / 2}
		}
		if m := min(h, w); m <= ws {
			shift = [2]int{}
			if m < ws {
				panic(fmt.Sprintf("models: Swin (hf): a %dx%d map is smaller than the %d window; transformers 4.27 fails on it too (relative position bias %dx%d for a %dx%d window)",
					h, w, ws, ws*ws, ws*ws, m, m))
			}
		}
		return win, shift
	}
	if blk.shifted {
		shift = [2]int{win[0] / 2, win[1] / 2}
	}
	hp := h + (win[0]-h%win[0])%win[0]
	wp := w + (win[1]-w%win[1])%win[1]
	if win[0] >= hp {
		shift[0] = 0
	}
	if win[1] >= wp {
		shift[1] = 0
	}
	return win, shift
}

// forward is (shifted) window attention over x (N, H, W, C): the map is
// padded with zeros at the bottom/right to whole windows (padded tokens
// take part), rolled by -shift, cut into windows, attended within each
// window with the relative position bias (and, when shifted, the -100
// mask between tokens from different regions), then put back.
func (a *SwinWindowAttention) forward(x *ag.Tensor, win, shift [2]int) *ag.Tensor {
	n, h, w, c := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
	padB := (win[0] - h%win[0]) % win[0]
	padR := (win[1] - w%win[1]) % win[1]
	if padB > 0 || padR > 0 {
		x = ag.Pad(x, [][2]int{{0, 0}, {0, padB}, {0, padR}, {0, 0}}, 0)
	}
	hp, wp := h+padB, w+padR
	shifted := shift[0] > 0 || shift[1] > 0
	if shifted {
		x = ag.Roll(x, []int{-shift[0], -shift[1]}, []int{1, 2})
	}
	nh, nw := hp/win[0], wp/win[1]
	nWin, tokens := nh*nw, win[0]*win[1]
	// Partition: (N, nh, wh, nw, ww, C) -> (N, nWin, tokens, C).
	x = ag.Reshape(ag.Permute(ag.Reshape(x, n, nh, win[0], nw, win[1], c), 0, 1, 3, 2, 4, 5), n, nWin, tokens, c)

	q, k, v, keyBias := a.qkv(x)

	bias := a.relativePositionBias(tokens) // (heads, tokens, tokens)
	if keyBias != nil {
		bias = ag.Add(bias, keyBias)
	}
	if shifted {
		mask := a.masks.get(swinMaskKey{hp, wp, win, shift, x.DType(), x.Device()}) // (nWin, 1, tokens, tokens)
		bias = ag.Add(mask, bias)                                                   // (nWin, heads, tokens, tokens)
	}
	o := nn.Attention(q, k, v, bias, a.attnDrop)
	o = ag.Reshape(ag.Permute(o, 0, 1, 3, 2, 4), n, nWin, tokens, c)
	o = a.Proj.Forward(o)
	if a.projDrop != nil {
		o = a.projDrop.Forward(o)
	}
	// Reverse: (N, nh, nw, wh, ww, C) -> (N, Hp, Wp, C).
	o = ag.Reshape(ag.Permute(ag.Reshape(o, n, nh, nw, win[0], win[1], c), 0, 1, 3, 2, 4, 5), n, hp, wp, c)
	if shifted {
		o = ag.Roll(o, []int{shift[0], shift[1]}, []int{1, 2})
	}
	if padB > 0 {
		o = ag.Slice(o, 1, 0, h, 1)
	}
	if padR > 0 {
		o = ag.Slice(o, 2, 0, w, 1)
	}
	return o
}

// qkv projects the windows x (N, windows, tokens, C) to the queries, keys
// and values, each (N, windows, heads, tokens, C/heads).
//
// q.(k + b) = q.k + q.b is the same for every key of a query's row, so the
// softmax cancels the key bias: it has no effect and a zero gradient. The
// keys are computed without it, so that its gradient is exactly zero, as
// the references report it, instead of float32 rounding noise that Adam
// would amplify into updates. The bias stays in the graph times 0: in the
// fused bias, or as keyBias, a zero scalar for the caller to add to the
// scores' bias.
func (a *SwinWindowAttention) qkv(x *ag.Tensor) (q, k, v, keyBias *ag.Tensor) {
	n, nWin, tokens, c := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
	heads, d := a.NumHeads, c/a.NumHeads
	if a.QKV != nil && n*nWin*tokens < c {
		// Few rows (late stages, small batches): one fused product, then
		// one permute and three slices of activations smaller than the
		// weight.
		b := a.QKV.Bias
		if b != nil {
			p := ag.Split(b, 0, c, c, c)
			b = ag.Concat(0, p[0], ag.MulScalar(p[1], 0), p[2])
		}
		y := ag.Linear(x, a.QKV.Weight, b)
		y = ag.Permute(ag.Reshape(y, n, nWin, tokens, 3, heads, d), 3, 0, 1, 4, 2, 5) // (3, N, windows, heads, tokens, d)
		p := ag.Split(y, 0, 1, 1, 1)
		return ag.Reshape(p[0], n, nWin, heads, tokens, d), ag.Reshape(p[1], n, nWin, heads, tokens, d), ag.Reshape(p[2], n, nWin, heads, tokens, d), nil
	}
	wq, wk, wv := a.Query, a.Key, a.Value
	if a.QKV != nil {
		// Many rows: slicing the fused weight (3C x C) costs less than
		// slicing the (rows, 3C) activations apart.
		ws := ag.Split(a.QKV.Weight, 0, c, c, c)
		bs := make([]*ag.Tensor, 3)
		if a.QKV.Bias != nil {
			bs = ag.Split(a.QKV.Bias, 0, c, c, c)
		}
		wq, wk, wv = &nn.Linear{Weight: ws[0], Bias: bs[0]}, &nn.Linear{Weight: ws[1], Bias: bs[1]}, &nn.Linear{Weight: ws[2], Bias: bs[2]}
	}
	project := func(w, b *ag.Tensor) *ag.Tensor {
		return ag.Permute(ag.Reshape(ag.Linear(x, w, b), n, nWin, tokens, heads, d), 0, 1, 3, 2, 4)
	}
	q, v = project(wq.Weight, wq.Bias), project(wv.Weight, wv.Bias)
	k = project(wk.Weight, nil)
	if wk.Bias != nil {
		keyBias = ag.MulScalar(ag.Sum(wk.Bias, nil, false), 0)
	}
	return q, k, v, keyBias
}

// relativePositionBias gathers the table rows of every (query, key) pair:
// (heads, tokens, tokens).
func (a *SwinWindowAttention) relativePositionBias(tokens int) *ag.Tensor {
	idx := a.RelativePositionIndex.Index()
	if idx.Len() != tokens*tokens {
		panic(fmt.Sprintf("models: Swin: relative_position_index has %d entries for a %d-token window", idx.Len(), tokens))
	}
	b := ag.IndexSelect(a.RelativePositionBiasTable, 0, ag.Reshape(idx, tokens*tokens)) // (tokens*tokens, heads)
	return ag.Permute(ag.Reshape(b, tokens, tokens, a.NumHeads), 2, 0, 1)
}

// swinShiftMask is the attention mask of a shifted window pass over a
// padded hp x wp map, built as the references build it: the map is
// labelled by the Python slices (0, -win), (-win, -shift), (-shift, None)
// on each axis (a zero shift makes the last slice cover the axis), cut
// into windows like the activations, and token pairs with different labels
// get -100. Shape (windows, 1, tokens, tokens).
func swinShiftMask(hp, wp int, win, shift [2]int, dt ag.DType) *ag.Tensor {
	label := make([]int, hp*wp)
	count := 0
	for _, hs := range swinRegions(hp, win[0], shift[0]) {
		for _, ws := range swinRegions(wp, win[1], shift[1]) {
			for i := hs[0]; i < hs[1]; i++ {
				for j := ws[0]; j < ws[1]; j++ {
					label[i*wp+j] = count
				}
			}
			count++
		}
	}
	nh, nw := hp/win[0], wp/win[1]
	tokens := win[0] * win[1]
	vals := make([]float64, nh*nw*tokens*tokens)
	tok := make([]int, tokens)
	for wi := range nh {
		for wj := range nw {
			for t := range tokens {
				tok[t] = label[(wi*win[0]+t/win[1])*wp+wj*win[1]+t%win[1]]
			}
			base := (wi*nw + wj) * tokens * tokens
			for p := range tokens {
				for q := range tokens {
					if tok[p] != tok[q] {
						vals[base+p*tokens+q] = -100
					}
				}
			}
		}
	}
	shape := []int{nh * nw, 1, tokens, tokens}
	if dt == ag.Float64 {
		return ag.FromFloat64(vals, shape...)
	}
	v32 := make([]float32, len(vals))
	for i, v := range vals {
		v32[i] = float32(v)
	}
	return ag.FromFloat32(v32, shape...)
}

// swinRegions resolves the Python slices (0, -win), (-win, -shift),
// (-shift, None) on an axis of length n to [start, end) ranges.
func swinRegions(n, win, shift int) [3][2]int {
	at := func(i int) int { // Python's index normalisation for slices
		if i < 0 {
			i += n
		}
		return max(0, min(i, n))
	}
	r := [3][2]int{{0, at(-win)}, {at(-win), at(-shift)}, {at(-shift), n}}
	for i := range r {
		r[i][1] = max(r[i][0], r[i][1])
	}
	return r
}

// Forward merges x (N, H, W, C) into (N, ceil(H/2), ceil(W/2), 2C); odd
// sizes are padded with zeros at the bottom/right first.
func (pm *SwinPatchMerging) Forward(x *ag.Tensor) *ag.Tensor {
	n, h, w, c := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
	if h%2 == 1 || w%2 == 1 {
		x = ag.Pad(x, [][2]int{{0, 0}, {0, h % 2}, {0, w % 2}, {0, 0}}, 0)
		h, w = h+h%2, w+w%2
	}
	// The references concatenate x[0::2, 0::2], x[1::2, 0::2],
	// x[0::2, 1::2], x[1::2, 1::2]: channel block dw*2 + dh. One permute
	// of (N, H/2, dh, W/2, dw, C) to (N, H/2, W/2, dw, dh, C) does it.
	x = ag.Permute(ag.Reshape(x, n, h/2, 2, w/2, 2, c), 0, 1, 3, 4, 2, 5)
	x = ag.Reshape(x, n, h/2, w/2, 4*c)
	return pm.Reduction.Forward(pm.Norm.Forward(x))
}

// buildSwin is the registry's builder for "swin"/"torchvision".
func buildSwin(b nn.Builder, config []byte) (Backbone, error) {
	c := SwinConfig{MLPRatio: 4} // torchvision's default where the field is absent
	if err := json.Unmarshal(config, &c); err != nil {
		return nil, fmt.Errorf("swin config: %w", err)
	}
	m, err := NewSwin(b, c)
	if err != nil {
		return nil, err
	}
	return m, nil
}

func init() {
	RegisterFamily("swin", "torchvision", buildSwin)
	RegisterPreset("swin_b", "swin", "torchvision",
		`{"patch_size":[4,4],"embed_dim":128,"depths":[2,2,18,2],"num_heads":[4,8,16,32],"window_size":[7,7],"mlp_ratio":4.0,"num_classes":1000,"stochastic_depth_prob":0.5}`)
}
