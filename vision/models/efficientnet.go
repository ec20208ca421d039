package models

import (
	"encoding/json"
	"fmt"
	"math"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/nn"
)

// EfficientNetV2Config is the configuration of torchvision's EfficientNet
// built with an EfficientNetV2 setting (the "efficientnetv2" config of the
// golden files).
type EfficientNetV2Config struct {
	// Stages are torchvision's FusedMBConvConfig / MBConvConfig list.
	Stages []EfficientNetV2StageConfig `json:"stages"`
	// LastChannel is the width of the final 1x1 conv; null (or 0) means
	// 4 * stages[-1].out, as torchvision.
	LastChannel *int `json:"last_channel"`
	// NumClasses is the size of the classifier; 0 (or null) builds no
	// classifier at all.
	NumClasses int `json:"num_classes"`
	// NormEps is the BatchNorm eps (1e-3 for V2); null means 1e-3.
	NormEps *float64 `json:"norm_eps"`
	// StochasticDepthProb is the largest stochastic-depth rate; block i
	// of n drops with probability StochasticDepthProb * i / n (training only).
	StochasticDepthProb float64 `json:"stochastic_depth_prob"`
	// Dropout is the classifier's dropout rate (training only).
	Dropout float64 `json:"dropout"`
}

// EfficientNetV2StageConfig is one stage of identical blocks.
type EfficientNetV2StageConfig struct {
	Block       string  `json:"block"` // "fused" (FusedMBConv) or "mb" (MBConv)
	ExpandRatio float64 `json:"expand_ratio"`
	Kernel      int     `json:"kernel"`
	Stride      int     `json:"stride"` // of the first block; the others use 1
	In          int     `json:"in"`     // effective input width of the first block
	Out         int     `json:"out"`    // effective output width of every block
	Layers      int     `json:"layers"`
}

// Validate reports the first invalid field.
func (c *EfficientNetV2Config) Validate() error {
	if len(c.Stages) == 0 {
		return fmt.Errorf("efficientnetv2 config: stages: want at least one stage")
	}
	for i, s := range c.Stages {
		f := fmt.Sprintf("efficientnetv2 config: stages[%d]", i)
		switch s.Block {
		case "fused", "mb":
		default:
			return fmt.Errorf("%s.block %q: want \"fused\" or \"mb\"", f, s.Block)
		}
		if !(s.ExpandRatio > 0) || math.IsInf(s.ExpandRatio, 0) {
			return fmt.Errorf("%s.expand_ratio %g: want a positive number", f, s.ExpandRatio)
		}
		if s.Kernel < 1 || s.Kernel > 1024 {
			return fmt.Errorf("%s.kernel %d: want 1 to 1024", f, s.Kernel)
		}
		if s.Stride < 1 || s.Stride > 1024 {
			return fmt.Errorf("%s.stride %d: want 1 to 1024", f, s.Stride)
		}
		if s.In < 1 || s.In > cnnMaxWidth {
			return fmt.Errorf("%s.in %d: want 1 to %d", f, s.In, cnnMaxWidth)
		}
		if s.Out < 1 || s.Out > cnnMaxWidth {
			return fmt.Errorf("%s.out %d: want 1 to %d", f, s.Out, cnnMaxWidth)
		}
		// Every block's input is in or out; bound its expanded width.
		if e := float64(max(s.In, s.Out)) * s.ExpandRatio; e > cnnMaxWidth {
			return fmt.Errorf("%s.expand_ratio %g: expanded width %g above %d", f, s.ExpandRatio, e, cnnMaxWidth)
		}
		if s.Layers < 1 || s.Layers > cnnMaxDepth {
			return fmt.Errorf("%s.layers %d: want 1 to %d", f, s.Layers, cnnMaxDepth)
		}
		if i > 0 && s.In != c.Stages[i-1].Out {
			return fmt.Errorf("%s.in %d: the previous stage outputs %d channels", f, s.In, c.Stages[i-1].Out)
		}
	}
	if c.LastChannel != nil && (*c.LastChannel < 0 || *c.LastChannel > cnnMaxWidth) {
		return fmt.Errorf("efficientnetv2 config: last_channel %d: want null or 1 to %d", *c.LastChannel, cnnMaxWidth)
	}
	if c.NumClasses < 0 || c.NumClasses > cnnMaxWidth {
		return fmt.Errorf("efficientnetv2 config: num_classes %d: want 0 (no head) to %d", c.NumClasses, cnnMaxWidth)
	}
	if c.NormEps != nil && !(*c.NormEps >= 0) {
		return fmt.Errorf("efficientnetv2 config: norm_eps %g: want a non-negative number", *c.NormEps)
	}
	if !(c.StochasticDepthProb >= 0 && c.StochasticDepthProb <= 1) {
		return fmt.Errorf("efficientnetv2 config: stochastic_depth_prob %g: want a probability in [0, 1]", c.StochasticDepthProb)
	}
	if !(c.Dropout >= 0 && c.Dropout <= 1) {
		return fmt.Errorf("efficientnetv2 config: dropout %g: want a probability in [0, 1]", c.Dropout)
	}
	return nil
}

// lastChannel resolves last_channel's null default.
func (c *EfficientNetV2Config) lastChannel() int {
	if c.LastChannel == nil || *c.LastChannel == 0 {
		return 4 * c.Stages[len(c.Stages)-1].Out
	}
	return *c.LastChannel
}

// normEps resolves norm_eps's null default.
func (c *EfficientNetV2Config) normEps() float64 {
	if c.NormEps == nil {
		return 1e-3
	}
	return *c.NormEps
}

// efficientNetMakeDivisible is torchvision's _make_divisible(v, 8): round
// to the nearest multiple of 8, at least 8, and never more than 10% down.
func efficientNetMakeDivisible(v float64) int {
	const d = 8
	n := max(d, int(v+d/2)/d*d)
	if float64(n) < 0.9*v {
		n += d
	}
	return n
}

// EfficientNetV2 is torchvision's EfficientNet with a V2 setting. Its
// checkpoint's features.N are Stem (features.0), Stages (features.1..S)
// and Head (features.S+1).
type EfficientNetV2 struct {
	// Config is the configuration it was built from.
	Config EfficientNetV2Config
	// Stem is features.0: 3x3 stride-2 conv to stages[0].in, BatchNorm, SiLU.
	Stem *EfficientNetConvNormAct
	// Stages are features.1..S, one per stage config.
	Stages []EfficientNetV2Stage
	// Head is features.S+1: 1x1 conv to last_channel, BatchNorm, SiLU.
	Head *EfficientNetConvNormAct
	// Classifier is classifier.{0 Dropout, 1 Linear}; nil for a headless
	// model (torchvision's study code removes the whole classifier).
	Classifier nn.Sequential

	featureDim int
}

// EfficientNetV2Stage is one features.S: its blocks features.S.L.
type EfficientNetV2Stage []*EfficientNetV2Block

// Forward runs the blocks in order.
func (s EfficientNetV2Stage) Forward(x *ag.Tensor) *ag.Tensor {
	for _, b := range s {
		x = ag.Local(func() *ag.Tensor { return b.Forward(x) })
	}
	return x
}

// EfficientNetV2Block is torchvision's FusedMBConv or MBConv. Block
// mirrors block.I. FusedMBConv: a kxk expand conv (SiLU) then a 1x1
// project conv, or a single kxk conv in to out when the expanded width
// equals the input width. MBConv: a 1x1 expand conv (absent when the
// expanded width equals the input width, shifting the indices), the kxk
// depthwise conv, squeeze-excitation and the 1x1 project conv.
type EfficientNetV2Block struct {
	Block nn.Sequential
	// StochasticDepth drops the residual branch per sample in training.
	StochasticDepth *nn.DropPath
	// UseResidual is torchvision's use_res_connect: stride 1 and in == out.
	UseResidual bool
}

// Forward adds the (stochastically dropped) branch to the input where the
// block has a residual connection.
func (blk *EfficientNetV2Block) Forward(x *ag.Tensor) *ag.Tensor {
	if !blk.UseResidual {
		return blk.Block.Forward(x)
	}
	if last := blk.projection(); last != nil && !blk.StochasticDepth.Active() {
		// Nothing dropped: the projection's BatchNorm adds x in its pass.
		return last.forwardAdd(blk.Block[:len(blk.Block)-1].Forward(x), x)
	}
	return ag.Add(blk.StochasticDepth.Forward(blk.Block.Forward(x)), x)
}

// projection is the block's last layer when it is a conv and BatchNorm
// without activation (every torchvision block's), else nil.
func (blk *EfficientNetV2Block) projection() *EfficientNetConvNormAct {
	if len(blk.Block) == 0 {
		return nil
	}
	if last, ok := blk.Block[len(blk.Block)-1].(*EfficientNetConvNormAct); ok && !last.Act {
		return last
	}
	return nil
}

// EfficientNetConvNormAct is torchvision's Conv2dNormActivation with
// BatchNorm: a bias-free conv ("0"), BatchNorm ("1") and SiLU unless Act
// is false.
type EfficientNetConvNormAct struct {
	Conv *nn.Conv2d
	BN   *nn.BatchNorm2d
	Act  bool
}

// Forward applies conv, BatchNorm and the optional SiLU.
func (c *EfficientNetConvNormAct) Forward(x *ag.Tensor) *ag.Tensor { return c.forwardAdd(x, nil) }

// forwardAdd is Forward with residual (nil for none) added in the batch
// norm's pass, before the activation (a residual takes none: !c.Act).
func (c *EfficientNetConvNormAct) forwardAdd(x, residual *ag.Tensor) *ag.Tensor {
	act := ag.NoActivation
	if c.Act {
		act = ag.ActSiLU
	}
	return c.BN.ForwardConv(c.Conv, x, residual, act)
}

// EfficientNetSqueezeExcitation is torchvision's SqueezeExcitation with
// SiLU: x * sigmoid(fc2(silu(fc1(avgpool(x))))), fc1 and fc2 being 1x1
// convs with bias.
type EfficientNetSqueezeExcitation struct {
	FC1, FC2 *nn.Conv2d
}

// Forward rescales the channels of x (N, C, H, W).
func (se *EfficientNetSqueezeExcitation) Forward(x *ag.Tensor) *ag.Tensor {
	s := ag.AdaptiveAvgPool2d(x, 1, 1)
	s = se.FC2.Forward(ag.SiLU(se.FC1.Forward(s)))
	return ag.Mul(x, ag.Sigmoid(s))
}

// NewEfficientNetV2 builds the model under b with torchvision's key names,
// registration order and initialisation (kaiming normal fan-out convs,
// BatchNorm ones and zeros, Linear U(-1/sqrt(out), 1/sqrt(out)) with zero
// bias).
func NewEfficientNetV2(b nn.Builder, c EfficientNetV2Config) (*EfficientNetV2, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c.Stages = append([]EfficientNetV2StageConfig(nil), c.Stages...)
	eps := c.normEps()
	m := &EfficientNetV2{Config: c}
	fb := b.Sub("features")
	m.Stem = efficientNetCNA(fb.SubN(0), 3, c.Stages[0].In, 3, 2, 1, eps, true)
	total := 0
	for _, s := range c.Stages {
		total += s.Layers
	}
	id := 0
	for si, s := range c.Stages {
		sb := fb.SubN(si + 1)
		var stage EfficientNetV2Stage
		for l := range s.Layers {
			in, stride := s.In, s.Stride
			if l > 0 {
				in, stride = s.Out, 1
			}
			// torchvision's rate grows linearly with the block's index
			// over all blocks of all stages.
			p := c.StochasticDepthProb * float64(id) / float64(total)
			stage = append(stage, newEfficientNetV2Block(sb.SubN(l), s, in, stride, p, eps))
			id++
		}
		m.Stages = append(m.Stages, stage)
	}
	last := c.lastChannel()
	m.Head = efficientNetCNA(fb.SubN(len(c.Stages)+1), c.Stages[len(c.Stages)-1].Out, last, 1, 1, 1, eps, true)
	m.featureDim = last
	if c.NumClasses > 0 {
		cb := b.Sub("classifier")
		r := 1 / math.Sqrt(float64(c.NumClasses))
		m.Classifier = nn.Sequential{
			nn.NewDropout(cb.SubN(0), c.Dropout),
			&nn.Linear{
				Weight: cb.SubN(1).Param("weight", []int{c.NumClasses, last}, nn.Uniform(-r, r)),
				Bias:   cb.SubN(1).Param("bias", []int{c.NumClasses}, nn.Zeros()),
			},
		}
	}
	return m, nil
}

// newEfficientNetV2Block builds one FusedMBConv or MBConv of input width
// in under b ("features.S.L").
func newEfficientNetV2Block(b nn.Builder, s EfficientNetV2StageConfig, in, stride int, sdProb, eps float64) *EfficientNetV2Block {
	bb := b.Sub("block")
	out, k := s.Out, s.Kernel
	expanded := efficientNetMakeDivisible(float64(in) * s.ExpandRatio)
	var layers nn.Sequential
	next := func() nn.Builder { return bb.SubN(len(layers)) }
	if s.Block == "fused" {
		if expanded != in {
			layers = append(layers, efficientNetCNA(next(), in, expanded, k, stride, 1, eps, true))
			layers = append(layers, efficientNetCNA(next(), expanded, out, 1, 1, 1, eps, false))
		} else {
			layers = append(layers, efficientNetCNA(next(), in, out, k, stride, 1, eps, true))
		}
	} else {
		if expanded != in {
			layers = append(layers, efficientNetCNA(next(), in, expanded, 1, 1, 1, eps, true))
		}
		layers = append(layers, efficientNetCNA(next(), expanded, expanded, k, stride, expanded, eps, true))
		// The squeeze width comes from the block's own input, not the
		// expanded width.
		sq := max(1, in/4)
		seb := next()
		layers = append(layers, &EfficientNetSqueezeExcitation{
			FC1: efficientNetSEConv(seb.Sub("fc1"), expanded, sq),
			FC2: efficientNetSEConv(seb.Sub("fc2"), sq, expanded),
		})
		layers = append(layers, efficientNetCNA(next(), expanded, out, 1, 1, 1, eps, false))
	}
	return &EfficientNetV2Block{
		Block:           layers,
		StochasticDepth: nn.NewDropPath(b, sdProb),
		UseResidual:     stride == 1 && in == out,
	}
}

// efficientNetCNA is Conv2dNormActivation(in, out, k, stride, groups) with
// padding (k-1)/2, no conv bias and BatchNorm(eps), under b ("0", "1").
func efficientNetCNA(b nn.Builder, in, out, k, stride, groups int, eps float64, act bool) *EfficientNetConvNormAct {
	pad := (k - 1) / 2
	return &EfficientNetConvNormAct{
		Conv: &nn.Conv2d{
			Weight:  b.SubN(0).Param("weight", []int{out, in / groups, k, k}, nn.KaimingNormalFanOut(out*k*k)),
			Options: ag.Conv2dOptions{Stride: [2]int{stride, stride}, Padding: [2]int{pad, pad}, Groups: groups},
		},
		BN:  nn.NewBatchNorm2d(b.SubN(1), out, eps, 0.1),
		Act: act,
	}
}

// efficientNetSEConv is a squeeze-excitation 1x1 conv with bias, in
// EfficientNet's init (kaiming normal fan-out weight, zero bias).
func efficientNetSEConv(b nn.Builder, in, out int) *nn.Conv2d {
	return &nn.Conv2d{
		Weight: b.Param("weight", []int{out, in, 1, 1}, nn.KaimingNormalFanOut(out)),
		Bias:   b.Param("bias", []int{out}, nn.Zeros()),
	}
}

// Features returns the average-pooled output of the last conv, (N, F).
func (m *EfficientNetV2) Features(x *ag.Tensor) *ag.Tensor {
	x = m.Stem.Forward(x)
	for _, s := range m.Stages {
		x = s.Forward(x)
	}
	x = m.Head.Forward(x)
	return ag.Flatten(ag.AdaptiveAvgPool2d(x, 1, 1), 1)
}

// Forward returns the logits (N, num_classes), or the features when the
// model has no classifier.
func (m *EfficientNetV2) Forward(x *ag.Tensor) *ag.Tensor {
	f := m.Features(x)
	if m.Classifier == nil {
		return f
	}
	return m.Classifier.Forward(f)
}

// FeatureDim is last_channel.
func (m *EfficientNetV2) FeatureDim() int { return m.featureDim }

// buildEfficientNetV2 is the registry's builder for
// "efficientnetv2"/"torchvision".
func buildEfficientNetV2(b nn.Builder, config []byte) (Backbone, error) {
	var c EfficientNetV2Config
	if err := json.Unmarshal(config, &c); err != nil {
		return nil, fmt.Errorf("efficientnetv2 config: %w", err)
	}
	m, err := NewEfficientNetV2(b, c)
	if err != nil {
		return nil, err
	}
	return m, nil
}

func init() {
	RegisterFamily("efficientnetv2", "torchvision", buildEfficientNetV2)
	RegisterPreset("efficientnet_v2_m", "efficientnetv2", "torchvision",
		`{"stages":[`+
			`{"block":"fused","expand_ratio":1,"kernel":3,"stride":1,"in":24,"out":24,"layers":3},`+
			`{"block":"fused","expand_ratio":4,"kernel":3,"stride":2,"in":24,"out":48,"layers":5},`+
			`{"block":"fused","expand_ratio":4,"kernel":3,"stride":2,"in":48,"out":80,"layers":5},`+
			`{"block":"mb","expand_ratio":4,"kernel":3,"stride":2,"in":80,"out":160,"layers":7},`+
			`{"block":"mb","expand_ratio":6,"kernel":3,"stride":1,"in":160,"out":176,"layers":14},`+
			`{"block":"mb","expand_ratio":6,"kernel":3,"stride":2,"in":176,"out":304,"layers":18},`+
			`{"block":"mb","expand_ratio":6,"kernel":3,"stride":1,"in":304,"out":512,"layers":5}],`+
			`"last_channel":1280,"num_classes":1000,"norm_eps":0.001,"stochastic_depth_prob":0.2,"dropout":0.3}`)
}
