package models

import (
	"encoding/json"
	"fmt"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/nn"
)

// ConvNeXtConfig is the configuration of torchvision's ConvNeXt (the
// "convnext" config of the golden files).
type ConvNeXtConfig struct {
	// Stages are torchvision's CNBlockConfig list.
	Stages []ConvNeXtStageConfig `json:"stages"`
	// LayerScale is the initial value of every block's layer_scale; null
	// means 1e-6, torchvision's default. Loaded weights override it.
	LayerScale *float64 `json:"layer_scale"`
	// NumClasses is the size of classifier.2; 0 (or null) builds no
	// classifier.2 (classifier.0, the LayerNorm2d, stays).
	NumClasses int `json:"num_classes"`
	// StochasticDepthProb is the rate of the last block; block i of n
	// drops with probability StochasticDepthProb * i / (n - 1) (training
	// only).
	StochasticDepthProb float64 `json:"stochastic_depth_prob"`
}

// ConvNeXtStageConfig is one stage: Layers CNBlocks of width In, then, if
// Out is not null, a downsampling layer to Out channels.
type ConvNeXtStageConfig struct {
	In     int  `json:"in"`
	Out    *int `json:"out"`
	Layers int  `json:"layers"`
}

// Validate reports the first invalid field.
func (c *ConvNeXtConfig) Validate() error {
	if len(c.Stages) == 0 {
		return fmt.Errorf("convnext config: stages: want at least one stage")
	}
	width := c.Stages[0].In
	for i, s := range c.Stages {
		f := fmt.Sprintf("convnext config: stages[%d]", i)
		if s.In < 1 || s.In > cnnMaxWidth {
			return fmt.Errorf("%s.in %d: want 1 to %d", f, s.In, cnnMaxWidth)
		}
		if s.In != width {
			return fmt.Errorf("%s.in %d: the previous stage outputs %d channels", f, s.In, width)
		}
		if s.Layers < 1 || s.Layers > cnnMaxDepth {
			return fmt.Errorf("%s.layers %d: want 1 to %d", f, s.Layers, cnnMaxDepth)
		}
		if s.Out != nil {
			if *s.Out < 1 || *s.Out > cnnMaxWidth {
				return fmt.Errorf("%s.out %d: want null or 1 to %d", f, *s.Out, cnnMaxWidth)
			}
			width = *s.Out
		}
	}
	if c.NumClasses < 0 || c.NumClasses > cnnMaxWidth {
		return fmt.Errorf("convnext config: num_classes %d: want 0 (no head) to %d", c.NumClasses, cnnMaxWidth)
	}
	if !(c.StochasticDepthProb >= 0 && c.StochasticDepthProb <= 1) {
		return fmt.Errorf("convnext config: stochastic_depth_prob %g: want a probability in [0, 1]", c.StochasticDepthProb)
	}
	return nil
}

// ConvNeXt is torchvision's ConvNeXt. Its checkpoint's features.N are, in
// order, Stem (features.0), then for each stage its blocks and, where the
// stage has an out width, its downsampling layer: features.1 stage 1,
// features.2 downsampling, features.3 stage 2, ...
type ConvNeXt struct {
	// Config is the configuration it was built from.
	Config ConvNeXtConfig
	// Stem is features.0: 4x4 stride-4 conv with bias, LayerNorm2d.
	Stem *ConvNeXtStem
	// Stages holds each stage's CNBlocks.
	Stages []ConvNeXtStage
	// Downsamples holds each stage's downsampling layer, nil where the
	// stage's out is null.
	Downsamples []*ConvNeXtDownsample
	// Norm is classifier.0, the LayerNorm2d on the pooled map; it stays
	// in a headless model.
	Norm *nn.LayerNorm2d
	// Linear is classifier.2; nil for a headless model.
	Linear *nn.Linear

	featureDim int
}

// ConvNeXtStem is features.0: Conv ("0") and Norm ("1").
type ConvNeXtStem struct {
	Conv *nn.Conv2d
	Norm *nn.LayerNorm2d
}

// Forward applies the patchifying conv and LayerNorm2d.
func (s *ConvNeXtStem) Forward(x *ag.Tensor) *ag.Tensor { return s.Norm.Forward(s.Conv.Forward(x)) }

// ConvNeXtDownsample is a downsampling layer: Norm ("0", LayerNorm2d)
// then Conv ("1", 2x2 stride 2 with bias).
type ConvNeXtDownsample struct {
	Norm *nn.LayerNorm2d
	Conv *nn.Conv2d
}

// Forward normalises then halves the resolution.
func (d *ConvNeXtDownsample) Forward(x *ag.Tensor) *ag.Tensor {
	return d.Conv.Forward(d.Norm.Forward(x))
}

// ConvNeXtStage is one stage's blocks (features.N.L).
type ConvNeXtStage []*ConvNeXtBlock

// Forward runs the blocks in order.
func (s ConvNeXtStage) Forward(x *ag.Tensor) *ag.Tensor {
	for _, b := range s {
		x = ag.Local(func() *ag.Tensor { return b.Forward(x) })
	}
	return x
}

// ConvNeXtBlock is torchvision's CNBlock: x + drop(layer_scale *
// pw2(gelu(pw1(ln(dwconv(x)))))) with the LayerNorm and the pointwise
// Linears applied channels-last.
type ConvNeXtBlock struct {
	LayerScale      *ag.Tensor    // layer_scale (C, 1, 1)
	DWConv          *nn.Conv2d    // block.0: 7x7 depthwise, bias
	Norm            *nn.LayerNorm // block.2: eps 1e-6 over channels
	PWConv1         *nn.Linear    // block.3: C to 4C
	PWConv2         *nn.Linear    // block.5: 4C to C
	StochasticDepth *nn.DropPath
}

// Forward runs the block on x (N, C, H, W).
func (blk *ConvNeXtBlock) Forward(x *ag.Tensor) *ag.Tensor {
	y := ag.Permute(blk.DWConv.Forward(x), 0, 2, 3, 1)
	y = blk.PWConv2.Forward(ag.GELU(blk.PWConv1.Forward(blk.Norm.Forward(y))))
	y = ag.Mul(blk.LayerScale, ag.Permute(y, 0, 3, 1, 2))
	return ag.Add(blk.StochasticDepth.Forward(y), x)
}

// convNeXtEps is the eps of every ConvNeXt LayerNorm.
const convNeXtEps = 1e-6

// NewConvNeXt builds the model under b with torchvision's key names,
// registration order and initialisation (conv and Linear weights
// trunc_normal(std 0.02), zero biases, LayerNorm ones and zeros).
func NewConvNeXt(b nn.Builder, c ConvNeXtConfig) (*ConvNeXt, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c.Stages = append([]ConvNeXtStageConfig(nil), c.Stages...)
	scale := 1e-6
	if c.LayerScale != nil {
		scale = *c.LayerScale
	}
	m := &ConvNeXt{Config: c}
	fb := b.Sub("features")
	width := c.Stages[0].In
	m.Stem = &ConvNeXtStem{
		Conv: convNeXtConv(fb.SubN(0).SubN(0), 3, width, 4, 4, 0, 1),
		Norm: nn.NewLayerNorm2d(fb.SubN(0).SubN(1), width, convNeXtEps),
	}
	total := 0
	for _, s := range c.Stages {
		total += s.Layers
	}
	idx, id := 1, 0
	for _, s := range c.Stages {
		sb := fb.SubN(idx)
		idx++
		var stage ConvNeXtStage
		for l := range s.Layers {
			// torchvision's rate grows linearly from 0 at the first block
			// to stochastic_depth_prob at the last (a lone block gets 0,
			// where torchvision would divide by zero).
			p := 0.0
			if total > 1 {
				p = c.StochasticDepthProb * float64(id) / float64(total-1)
			}
			stage = append(stage, newConvNeXtBlock(sb.SubN(l), s.In, scale, p))
			id++
		}
		m.Stages = append(m.Stages, stage)
		var ds *ConvNeXtDownsample
		if s.Out != nil {
			db := fb.SubN(idx)
			idx++
			ds = &ConvNeXtDownsample{
				Norm: nn.NewLayerNorm2d(db.SubN(0), s.In, convNeXtEps),
				Conv: convNeXtConv(db.SubN(1), s.In, *s.Out, 2, 2, 0, 1),
			}
			width = *s.Out
		}
		m.Downsamples = append(m.Downsamples, ds)
	}
	m.featureDim = width
	cb := b.Sub("classifier")
	m.Norm = nn.NewLayerNorm2d(cb.SubN(0), width, convNeXtEps)
	if c.NumClasses > 0 {
		lb := cb.SubN(2)
		m.Linear = &nn.Linear{
			Weight: lb.Param("weight", []int{c.NumClasses, width}, nn.TruncNormal(0.02)),
			Bias:   lb.Param("bias", []int{c.NumClasses}, nn.Zeros()),
		}
	}
	return m, nil
}

// newConvNeXtBlock builds a CNBlock of width dim under b ("features.N.L")
// in PyTorch's state-dict order: the block's own layer_scale first, then
// its submodules.
func newConvNeXtBlock(b nn.Builder, dim int, scale, sdProb float64) *ConvNeXtBlock {
	bb := b.Sub("block")
	blk := &ConvNeXtBlock{LayerScale: b.Param("layer_scale", []int{dim, 1, 1}, nn.Constant(scale))}
	blk.DWConv = convNeXtConv(bb.SubN(0), dim, dim, 7, 1, 3, dim)
	blk.Norm = nn.NewLayerNorm(bb.SubN(2), []int{dim}, convNeXtEps)
	blk.PWConv1 = nn.NewLinear(bb.SubN(3), dim, 4*dim, true, truncNormalInit)
	blk.PWConv2 = nn.NewLinear(bb.SubN(5), 4*dim, dim, true, truncNormalInit)
	blk.StochasticDepth = nn.NewDropPath(b, sdProb)
	return blk
}

// convNeXtConv is a square conv with bias in ConvNeXt's init.
func convNeXtConv(b nn.Builder, in, out, k, stride, pad, groups int) *nn.Conv2d {
	return &nn.Conv2d{
		Weight:  b.Param("weight", []int{out, in / groups, k, k}, nn.TruncNormal(0.02)),
		Bias:    b.Param("bias", []int{out}, nn.Zeros()),
		Options: ag.Conv2dOptions{Stride: [2]int{stride, stride}, Padding: [2]int{pad, pad}, Groups: groups},
	}
}

// truncNormalInit is the init ConvNeXt's and Swin's references give their
// Linear layers: trunc_normal(std 0.02) weights, zero biases.
var truncNormalInit = nn.LinearInit{Weight: nn.TruncNormal(0.02), Bias: nn.Zeros()}

// Features returns the pooled features after classifier.0 (LayerNorm2d)
// and Flatten, (N, F).
func (m *ConvNeXt) Features(x *ag.Tensor) *ag.Tensor {
	x = m.Stem.Forward(x)
	for i, s := range m.Stages {
		x = s.Forward(x)
		if d := m.Downsamples[i]; d != nil {
			x = d.Forward(x)
		}
	}
	return ag.Flatten(m.Norm.Forward(ag.AdaptiveAvgPool2d(x, 1, 1)), 1)
}

// Forward returns the logits (N, num_classes), or the features when the
// model has no classifier.2.
func (m *ConvNeXt) Forward(x *ag.Tensor) *ag.Tensor {
	f := m.Features(x)
	if m.Linear == nil {
		return f
	}
	return m.Linear.Forward(f)
}

// FeatureDim is the width of the last stage (its out if it has one).
func (m *ConvNeXt) FeatureDim() int { return m.featureDim }

// buildConvNeXt is the registry's builder for "convnext"/"torchvision".
func buildConvNeXt(b nn.Builder, config []byte) (Backbone, error) {
	var c ConvNeXtConfig
	if err := json.Unmarshal(config, &c); err != nil {
		return nil, fmt.Errorf("convnext config: %w", err)
	}
	m, err := NewConvNeXt(b, c)
	if err != nil {
		return nil, err
	}
	return m, nil
}

func init() {
	RegisterFamily("convnext", "torchvision", buildConvNeXt)
	RegisterPreset("convnext_base", "convnext", "torchvision",
		`{"stages":[{"in":128,"out":256,"layers":3},{"in":256,"out":512,"layers":3},`+
			`{"in":512,"out":1024,"layers":27},{"in":1024,"out":null,"layers":3}],`+
			`"layer_scale":1e-6,"num_classes":1000,"stochastic_depth_prob":0.5}`)
}
