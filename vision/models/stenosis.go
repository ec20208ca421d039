package models

import (
	"encoding/json"
	"fmt"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/nn"
)

// StenosisConfig is the study's level-embedding classifier: a headless
// backbone, a learned embedding of the vertebral level, and an MLP head.
// JSON field names are those of the golden files.
type StenosisConfig struct {
	Backbone     BackboneSpec `json:"backbone"`
	EmbeddingDim int          `json:"embedding_dim"` // 256 in the study
	NumLevels    int          `json:"num_levels"`    // 5: L1/L2 .. L5/S1
	NumClasses   int          `json:"num_classes"`   // 3: normal/mild, moderate, severe
	Dropout      float64      `json:"dropout"`       // 0.1
	UnfreezeLast int          `json:"unfreeze_last"` // backbone tensors left trainable: 32 in the study
	Hidden       [2]int       `json:"hidden"`        // head widths; zero means the study's 512, 256
}

// BackboneSpec names a backbone family and its configuration; the config's
// num_classes should be null (or 0) for a headless backbone.
type BackboneSpec struct {
	Arch   string          `json:"arch"`
	Naming string          `json:"naming"`
	Config json.RawMessage `json:"config"`
}

// Stenosis is the study's model, with its checkpoint key names:
// base_model.*, level_embedding.weight, classifier.{0,1,4,5,8}.*.
type Stenosis struct {
	Config         StenosisConfig
	BaseModel      Backbone
	LevelEmbedding *nn.Embedding
	// Classifier: Linear, LayerNorm, GELU, Dropout, Linear, LayerNorm,
	// GELU, Dropout, Linear, indexed as the PyTorch nn.Sequential.
	Classifier nn.Sequential
}

// Validate checks the numbers of the configuration.
func (c *StenosisConfig) Validate() error {
	switch {
	case c.Backbone.Arch == "":
		return fmt.Errorf("backbone.arch is empty")
	case c.EmbeddingDim < 1:
		return fmt.Errorf("embedding_dim %d must be positive", c.EmbeddingDim)
	case c.NumLevels < 1:
		return fmt.Errorf("num_levels %d must be positive", c.NumLevels)
	case c.NumClasses < 2:
		return fmt.Errorf("num_classes %d must be at least 2", c.NumClasses)
	case c.Dropout < 0 || c.Dropout >= 1:
		return fmt.Errorf("dropout %g must be in [0, 1)", c.Dropout)
	case c.UnfreezeLast < 0:
		return fmt.Errorf("unfreeze_last %d must be >= 0", c.UnfreezeLast)
	case c.Hidden[0] < 0 || c.Hidden[1] < 0:
		return fmt.Errorf("hidden %v must be positive", c.Hidden)
	}
	return nil
}

// NewStenosis builds the model under b: the backbone under "base_model.",
// then the level embedding and the head, in the study's order.
func NewStenosis(b nn.Builder, cfg StenosisConfig) (*Stenosis, error) {
	if cfg.Hidden == [2]int{} {
		cfg.Hidden = [2]int{512, 256}
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("models: stenosis config: %w", err)
	}
	base, err := Build(cfg.Backbone.Arch, cfg.Backbone.Naming, cfg.Backbone.Config, b.Sub("base_model"))
	if err != nil {
		return nil, err
	}
	s := &Stenosis{Config: cfg, BaseModel: base}
	s.LevelEmbedding = nn.NewEmbedding(b.Sub("level_embedding"), cfg.NumLevels, cfg.EmbeddingDim)
	c := b.Sub("classifier")
	h0, h1 := cfg.Hidden[0], cfg.Hidden[1]
	s.Classifier = nn.Sequential{
		nn.NewLinear(c.SubN(0), base.FeatureDim()+cfg.EmbeddingDim, h0, true),
		nn.NewLayerNorm(c.SubN(1), []int{h0}, 1e-5),
		nn.GELU{},
		nn.NewDropout(c.SubN(3), cfg.Dropout),
		nn.NewLinear(c.SubN(4), h0, h1, true),
		nn.NewLayerNorm(c.SubN(5), []int{h1}, 1e-5),
		nn.GELU{},
		nn.NewDropout(c.SubN(7), cfg.Dropout),
		nn.NewLinear(c.SubN(8), h1, cfg.NumClasses, true),
	}
	return s, nil
}

// Forward returns the logits (N, classes) of images x (N, 3, H, W) at
// vertebral levels (N values in 0..NumLevels-1).
func (s *Stenosis) Forward(x *ag.Tensor, levels []int) *ag.Tensor {
	if len(levels) != x.Dim(0) {
		panic(fmt.Sprintf("models: Stenosis: %d levels for a batch of %d", len(levels), x.Dim(0)))
	}
	return s.Logits(x, ag.Indices(x.Device(), levels, s.LevelEmbedding.Weight.Dim(0)))
}

// Logits is Forward on a batch's inputs as train.Model takes them: images
// (N, 3, H, W) and the vertebral levels as an int32 tensor (N) on the same
// device (datasets.Batch.Inputs gives both).
func (s *Stenosis) Logits(inputs ...*ag.Tensor) *ag.Tensor {
	if len(inputs) != 2 {
		panic(fmt.Sprintf("models: Stenosis: %d inputs, want images and levels", len(inputs)))
	}
	x, levels := inputs[0], inputs[1]
	if levels.Rank() != 1 || levels.Dim(0) != x.Dim(0) {
		panic(fmt.Sprintf("models: Stenosis: levels %v for a batch of %d", levels.Shape(), x.Dim(0)))
	}
	f := s.BaseModel.Features(x)
	return s.Classifier.Forward(ag.Concat(1, f, s.LevelEmbedding.Forward(levels)))
}

// Features returns the backbone's pooled features, before the level
// embedding is appended.
func (s *Stenosis) Features(x *ag.Tensor) *ag.Tensor { return s.BaseModel.Features(x) }

// FreezeBackbone applies the study's freezing to the store the model was
// built in: every backbone parameter frozen except the last UnfreezeLast
// in parameters() order; the embedding and the head stay trainable.
func (s *Stenosis) FreezeBackbone(store *nn.Store, prefix string) {
	store.Freeze(prefix + "base_model.")
	store.UnfreezeLast(prefix+"base_model.", s.Config.UnfreezeLast)
}
