package models

import (
	"encoding/json"
	"fmt"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/nn"
)

// ResNetConfig is the configuration of torchvision's ResNet with
// configurable widths (the "resnet" config of the golden files).
type ResNetConfig struct {
	// Block is "basic" (two 3x3 convs) or "bottleneck" (1x1, 3x3, 1x1).
	Block string `json:"block"`
	// Layers is the number of blocks of each of the four stages.
	Layers []int `json:"layers"`
	// Widths are the planes of each stage; a bottleneck stage outputs
	// planes*4, a basic one planes.
	Widths []int `json:"widths"`
	// StemWidth is the output width of the 7x7 stem conv (64 in torchvision).
	StemWidth int `json:"stem_width"`
	// Groups is the group count of the bottleneck 3x3 conv (ResNeXt).
	Groups int `json:"groups"`
	// WidthPerGroup is torchvision's base_width (64 for plain ResNets).
	WidthPerGroup int `json:"width_per_group"`
	// NumClasses is the size of the fc head; 0 (or null) builds no head.
	NumClasses int `json:"num_classes"`
}

// expansion is torchvision's block.expansion: output width / planes.
func (c *ResNetConfig) expansion() int {
	if c.Block == "bottleneck" {
		return 4
	}
	return 1
}

// Validate reports the first invalid field.
func (c *ResNetConfig) Validate() error {
	switch c.Block {
	case "basic", "bottleneck":
	default:
		return fmt.Errorf("resnet config: block %q: want \"basic\" or \"bottleneck\"", c.Block)
	}
	if len(c.Layers) != 4 {
		return fmt.Errorf("resnet config: layers %v: want 4 stage depths", c.Layers)
	}
	if len(c.Widths) != 4 {
		return fmt.Errorf("resnet config: widths %v: want 4 stage widths", c.Widths)
	}
	for i := range 4 {
		// torchvision's _make_layer always builds a first block, so a
		// depth of 0 would not mean "no stage": reject it.
		if c.Layers[i] < 1 || c.Layers[i] > cnnMaxDepth {
			return fmt.Errorf("resnet config: layers[%d] = %d: want 1 to %d", i, c.Layers[i], cnnMaxDepth)
		}
		if c.Widths[i] < 1 || c.Widths[i] > cnnMaxWidth {
			return fmt.Errorf("resnet config: widths[%d] = %d: want 1 to %d", i, c.Widths[i], cnnMaxWidth)
		}
	}
	if c.StemWidth < 1 || c.StemWidth > cnnMaxWidth {
		return fmt.Errorf("resnet config: stem_width %d: want 1 to %d", c.StemWidth, cnnMaxWidth)
	}
	if c.Groups < 1 || c.Groups > cnnMaxWidth {
		return fmt.Errorf("resnet config: groups %d: want 1 to %d", c.Groups, cnnMaxWidth)
	}
	if c.WidthPerGroup < 1 || c.WidthPerGroup > cnnMaxWidth {
		return fmt.Errorf("resnet config: width_per_group %d: want 1 to %d", c.WidthPerGroup, cnnMaxWidth)
	}
	if c.Block == "basic" && (c.Groups != 1 || c.WidthPerGroup != 64) {
		return fmt.Errorf("resnet config: groups %d, width_per_group %d: a basic block needs groups 1 and width_per_group 64", c.Groups, c.WidthPerGroup)
	}
	if c.Block == "bottleneck" {
		for i, p := range c.Widths {
			if w := resnetInnerWidth(p, c.WidthPerGroup, c.Groups); w < 1 || w > cnnMaxWidth {
				return fmt.Errorf("resnet config: widths[%d] = %d with width_per_group %d, groups %d: bottleneck inner width int(planes*width_per_group/64)*groups = %d, want 1 to %d",
					i, p, c.WidthPerGroup, c.Groups, w, cnnMaxWidth)
			}
		}
	}
	if c.NumClasses < 0 || c.NumClasses > cnnMaxWidth {
		return fmt.Errorf("resnet config: num_classes %d: want 0 (no head) to %d", c.NumClasses, cnnMaxWidth)
	}
	return nil
}

// cnnMaxWidth bounds every channel count and class count of the CNN
// configs, so that an absurd config fails with an error instead of an
// integer overflow or an allocation panic.
const cnnMaxWidth = 1 << 20

// cnnMaxDepth bounds the block count of a stage, for the same reason.
const cnnMaxDepth = 1 << 16

// resnetInnerWidth is a bottleneck's inner width,
// int(planes * (base_width / 64.0)) * groups.
func resnetInnerWidth(planes, widthPerGroup, groups int) int {
	return int(float64(planes)*(float64(widthPerGroup)/64.0)) * groups
}

// ResNet is torchvision's ResNet; the field names follow the checkpoint
// keys (conv1, bn1, layer1..layer4, fc).
type ResNet struct {
	Config ResNetConfig    // the configuration it was built from
	Conv1  *nn.Conv2d      // conv1: 7x7 stride 2
	BN1    *nn.BatchNorm2d // bn1
	Layer1 []*ResNetBlock  // layer1.N
	Layer2 []*ResNetBlock  // layer2.N
	Layer3 []*ResNetBlock  // layer3.N
	Layer4 []*ResNetBlock  // layer4.N
	FC     *nn.Linear      // fc; nil for a headless model

	featureDim int
}

// ResNetBlock is a torchvision BasicBlock (Conv3, BN3 nil) or Bottleneck.
type ResNetBlock struct {
	Conv1, Conv2, Conv3 *nn.Conv2d      // conv1, conv2, conv3
	BN1, BN2, BN3       *nn.BatchNorm2d // bn1, bn2, bn3
	// Downsample is downsample.{0 conv 1x1, 1 BatchNorm}, nil where the
	// block's input already has its output's width and resolution.
	Downsample *ResNetDownsample
}

// ResNetDownsample is the shortcut projection of a block's first layer.
type ResNetDownsample struct {
	Conv *nn.Conv2d      // downsample.0
	BN   *nn.BatchNorm2d // downsample.1
}

// NewResNet builds a ResNet under b with torchvision's key names,
// registration order and initialisation (kaiming normal fan-out convs,
// BatchNorm ones and zeros, default Linear).
func NewResNet(b nn.Builder, c ResNetConfig) (*ResNet, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c.Layers = append([]int(nil), c.Layers...)
	c.Widths = append([]int(nil), c.Widths...)
	m := &ResNet{Config: c}
	m.Conv1 = resnetConv(b.Sub("conv1"), 3, c.StemWidth, 7, 2, 3, 1)
	m.BN1 = resnetBN(b.Sub("bn1"), c.StemWidth)
	inplanes := c.StemWidth
	stages := []*[]*ResNetBlock{&m.Layer1, &m.Layer2, &m.Layer3, &m.Layer4}
	for s, dst := range stages {
		stride := 2
		if s == 0 {
			stride = 1
		}
		sb := b.Sub(fmt.Sprintf("layer%d", s+1))
		planes := c.Widths[s]
		for i := range c.Layers[s] {
			st := 1
			if i == 0 {
				st = stride
			}
			blk := newResNetBlock(sb.SubN(i), &c, inplanes, planes, st)
			*dst = append(*dst, blk)
			inplanes = planes * c.expansion()
		}
	}
	m.featureDim = inplanes
	if c.NumClasses > 0 {
		m.FC = nn.NewLinear(b.Sub("fc"), inplanes, c.NumClasses, true)
	}
	return m, nil
}

// newResNetBlock builds one block in torchvision's registration order:
// conv1, bn1, conv2, bn2, (conv3, bn3,) downsample.
func newResNetBlock(b nn.Builder, c *ResNetConfig, inplanes, planes, stride int) *ResNetBlock {
	out := planes * c.expansion()
	blk := &ResNetBlock{}
	if c.Block == "basic" {
		blk.Conv1 = resnetConv(b.Sub("conv1"), inplanes, planes, 3, stride, 1, 1)
		blk.BN1 = resnetBN(b.Sub("bn1"), planes)
		blk.Conv2 = resnetConv(b.Sub("conv2"), planes, planes, 3, 1, 1, 1)
		blk.BN2 = resnetBN(b.Sub("bn2"), planes)
	} else {
		w := resnetInnerWidth(planes, c.WidthPerGroup, c.Groups)
		blk.Conv1 = resnetConv(b.Sub("conv1"), inplanes, w, 1, 1, 0, 1)
		blk.BN1 = resnetBN(b.Sub("bn1"), w)
		blk.Conv2 = resnetConv(b.Sub("conv2"), w, w, 3, stride, 1, c.Groups)
		blk.BN2 = resnetBN(b.Sub("bn2"), w)
		blk.Conv3 = resnetConv(b.Sub("conv3"), w, out, 1, 1, 0, 1)
		blk.BN3 = resnetBN(b.Sub("bn3"), out)
	}
	// torchvision's _make_layer rule: project the shortcut when the stride
	// or the width changes (so layer1 of a bottleneck net has one too).
	if stride != 1 || inplanes != out {
		d := b.Sub("downsample")
		blk.Downsample = &ResNetDownsample{
			Conv: resnetConv(d.SubN(0), inplanes, out, 1, stride, 0, 1),
			BN:   resnetBN(d.SubN(1), out),
		}
	}
	return blk
}

// resnetConv is a bias-free square conv with torchvision's ResNet init,
// kaiming_normal_(mode="fan_out", nonlinearity="relu"); fan-out is
// out * k * k whatever the groups, as torch computes it.
func resnetConv(b nn.Builder, in, out, k, stride, pad, groups int) *nn.Conv2d {
	return &nn.Conv2d{
		Weight:  b.Param("weight", []int{out, in / groups, k, k}, nn.KaimingNormalFanOut(out*k*k)),
		Options: ag.Conv2dOptions{Stride: [2]int{stride, stride}, Padding: [2]int{pad, pad}, Groups: groups},
	}
}

// resnetBN is nn.BatchNorm2d with PyTorch's defaults (eps 1e-5, momentum 0.1).
func resnetBN(b nn.Builder, c int) *nn.BatchNorm2d { return nn.NewBatchNorm2d(b, c, 1e-5, 0.1) }

// Forward runs the block: the residual branch plus the (projected) input,
// then ReLU.
func (blk *ResNetBlock) Forward(x *ag.Tensor) *ag.Tensor {
	out := blk.BN1.ForwardConv(blk.Conv1, x, nil, ag.ActReLU)
	last, conv := blk.BN2, blk.Conv2
	if blk.Conv3 != nil {
		out = blk.BN2.ForwardConv(blk.Conv2, out, nil, ag.ActReLU)
		last, conv = blk.BN3, blk.Conv3
	}
	identity := x
	if blk.Downsample != nil {
		identity = blk.Downsample.BN.ForwardConv(blk.Downsample.Conv, x, nil, ag.NoActivation)
	}
	return last.ForwardConv(conv, out, identity, ag.ActReLU) // ReLU(BN(conv(out)) + identity)
}

// Features returns the globally average-pooled output of layer4, (N, F).
func (m *ResNet) Features(x *ag.Tensor) *ag.Tensor {
	x = m.BN1.ForwardConv(m.Conv1, x, nil, ag.ActReLU)
	x = ag.MaxPool2d(x, ag.MaxPool2dOptions{Kernel: [2]int{3, 3}, Stride: [2]int{2, 2}, Padding: [2]int{1, 1}})
	for _, stage := range [][]*ResNetBlock{m.Layer1, m.Layer2, m.Layer3, m.Layer4} {
		for _, blk := range stage {
			x = ag.Local(func() *ag.Tensor { return blk.Forward(x) })
		}
	}
	return ag.Flatten(ag.AdaptiveAvgPool2d(x, 1, 1), 1)
}

// Forward returns the logits (N, num_classes), or the features when the
// model has no head.
func (m *ResNet) Forward(x *ag.Tensor) *ag.Tensor {
	f := m.Features(x)
	if m.FC == nil {
		return f
	}
	return m.FC.Forward(f)
}

// FeatureDim is the width of the pooled features: widths[3] times the
// block expansion.
func (m *ResNet) FeatureDim() int { return m.featureDim }

// buildResNet is the registry's builder for "resnet"/"torchvision".
func buildResNet(b nn.Builder, config []byte) (Backbone, error) {
	var c ResNetConfig
	if err := json.Unmarshal(config, &c); err != nil {
		return nil, fmt.Errorf("resnet config: %w", err)
	}
	m, err := NewResNet(b, c)
	if err != nil {
		return nil, err
	}
	return m, nil
}

func init() {
	RegisterFamily("resnet", "torchvision", buildResNet)
	RegisterPreset("resnet152", "resnet", "torchvision",
		`{"block":"bottleneck","layers":[3,8,36,3],"widths":[64,128,256,512],"stem_width":64,"groups":1,"width_per_group":64,"num_classes":1000}`)
}
