package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/metrics"
	"github.com/vertebra-ml/vertebra/nn"
	"github.com/vertebra-ml/vertebra/optim"
	"github.com/vertebra-ml/vertebra/train"
	"github.com/vertebra-ml/vertebra/vision/datasets"
	"github.com/vertebra-ml/vertebra/vision/models"
	"github.com/vertebra-ml/vertebra/vision/transforms"
)

// Config is everything that decides a model's result; its hash marks
// finished results so that a rerun with the same settings skips them.
type Config struct {
	Data         string  `json:"data"` // "synthetic", an RSNA root, or a folder of split CSVs
	Studies      int     `json:"synthetic_studies,omitempty"`
	Epochs       int     `json:"epochs"`
	BatchSize    int     `json:"batch_size"`
	LR           float64 `json:"lr"`
	WeightDecay  float64 `json:"weight_decay"`
	UnfreezeLast int     `json:"unfreeze_last"`
	EmbeddingDim int     `json:"embedding_dim"`
	Dropout      float64 `json:"dropout"`
	ImageSize    int     `json:"image_size"`
	Crop         int     `json:"crop"`
	Augment      bool    `json:"augment"`
	Seed         uint64  `json:"seed"`
	Weights      string  `json:"weights"`
}

// modelSpec is one backbone of the study.
type modelSpec struct {
	Name     string
	Backbone models.BackboneSpec
}

// splits are the study's three data sets.
type splits struct {
	Train, Val, Test datasets.Dataset
}

// study runs every model and writes results/, trained_models/ and plots/
// under out.
type study struct {
	cfg     Config
	out     string
	workers int
	log     io.Writer
	data    splits
	weights []float64 // class weights from the training split
}

func (s *study) hash(m modelSpec) string {
	b, _ := json.Marshal(struct {
		Config
		Model    string
		Backbone models.BackboneSpec
	}{s.cfg, m.Name, m.Backbone})
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

// loaders builds the three loaders of the configured pipeline.
func (s *study) loaders() (tr, val, test *datasets.Loader, err error) {
	tc := transforms.Config{Size: s.cfg.ImageSize, Crop: s.cfg.Crop, Augment: s.cfg.Augment, FlipProb: 0.5, RotationDegrees: 15}
	trainT, err := transforms.Train(tc)
	if err != nil {
		return nil, nil, nil, err
	}
	evalT, err := transforms.Eval(tc)
	if err != nil {
		return nil, nil, nil, err
	}
	mk := func(ds datasets.Dataset, shuffle bool, t transforms.Transform) (*datasets.Loader, error) {
		return datasets.NewLoader(ds, datasets.LoaderConfig{BatchSize: s.cfg.BatchSize, Shuffle: shuffle, Seed: s.cfg.Seed, Workers: s.workers, Transform: t})
	}
	if tr, err = mk(s.data.Train, true, trainT); err != nil {
		return
	}
	if val, err = mk(s.data.Val, false, evalT); err != nil {
		return
	}
	test, err = mk(s.data.Test, false, evalT)
	return
}

// result is what results/<model>/metrics.json holds.
type result struct {
	Model      string          `json:"model"`
	ConfigHash string          `json:"config_hash"`
	Config     Config          `json:"config"`
	Backbone   json.RawMessage `json:"backbone"`
	Pretrained string          `json:"pretrained"`
	Parameters int             `json:"parameters"`
	Trainable  int             `json:"trainable_parameters"`
	BestEpoch  int             `json:"best_epoch"`
	Seconds    float64         `json:"seconds"`
	Val        metrics.Report  `json:"val"`
	Test       metrics.Report  `json:"test"`
	ValLoss    float64         `json:"val_loss"`
	TestLoss   float64         `json:"test_loss"`
	History    []epochRecord   `json:"history"`
}

type epochRecord struct {
	Epoch      int     `json:"epoch"`
	TrainLoss  float64 `json:"train_loss"`
	TrainAcc   float64 `json:"train_accuracy"`
	ValLoss    float64 `json:"val_loss"`
	ValAcc     float64 `json:"val_accuracy"`
	ValMacroF1 float64 `json:"val_macro_f1"`
	Seconds    float64 `json:"seconds"`
}

// runModel trains, selects and evaluates one model, writing its outputs.
// A model whose results exist with the same configuration is skipped.
func (s *study) runModel(m modelSpec) (*result, error) {
	hash := s.hash(m)
	resDir := filepath.Join(s.out, "results", m.Name)
	if prev, err := readResult(filepath.Join(resDir, "metrics.json")); err == nil && prev.ConfigHash == hash {
		fmt.Fprintf(s.log, "%s: results with this configuration exist (%s); skipping\n", m.Name, resDir)
		return prev, nil
	}
	start := time.Now()
	store := nn.NewStore(ag.Float32, s.cfg.Seed)
	model, err := models.NewStenosis(store.Root(), models.StenosisConfig{
		Backbone: m.Backbone, EmbeddingDim: s.cfg.EmbeddingDim, NumLevels: datasets.Levels,
		NumClasses: datasets.Grades, Dropout: s.cfg.Dropout, UnfreezeLast: s.cfg.UnfreezeLast,
	})
	if err != nil {
		return nil, err
	}
	pretrained, err := s.loadPretrained(store, m)
	if err != nil {
		return nil, err
	}
	model.FreezeBackbone(store, "")
	var params []*ag.Tensor
	trainable := 0
	for _, e := range store.Trainable() {
		params = append(params, e.Tensor)
		trainable += e.Tensor.Len()
	}
	fmt.Fprintf(s.log, "%s: %d parameters, %d trainable (last %d backbone tensors, embedding, head); backbone %s\n",
		m.Name, store.NumParams(), trainable, s.cfg.UnfreezeLast, pretrained)
	ao := optim.AdamWOptions{LR: optim.Exactly(s.cfg.LR), WeightDecay: optim.Exactly(s.cfg.WeightDecay)}
	opt, err := optim.NewAdamW(params, ao)
	if err != nil {
		return nil, err
	}
	trL, valL, testL, err := s.loaders()
	if err != nil {
		return nil, err
	}
	loss := train.Loss{ClassWeights: s.weights}
	ckpt := filepath.Join(s.out, "trained_models", m.Name+".safetensors")
	if err := os.MkdirAll(filepath.Dir(ckpt), 0o755); err != nil {
		return nil, err
	}
	res := &result{Model: m.Name, ConfigHash: hash, Config: s.cfg, Backbone: m.Backbone.Config, Pretrained: pretrained,
		Parameters: store.NumParams(), Trainable: trainable, BestEpoch: -1}
	best := math.Inf(-1)
	for epoch := range s.cfg.Epochs {
		t0 := time.Now()
		st, err := train.Epoch(model, store, opt, trL, epoch, loss, ag.CPU, func(b int, st train.EpochStats) {
			if b%10 == 0 {
				fmt.Fprintf(s.log, "  %s epoch %d batch %d/%d: loss %.4f (%.2f images/s)\n", m.Name, epoch+1, b, trL.Len(), st.Loss, float64(st.Samples)/time.Since(t0).Seconds())
			}
		})
		if err != nil {
			return nil, err
		}
		ev, err := train.Evaluate(model, store, valL, datasets.Grades, loss, ag.CPU)
		if err != nil {
			return nil, err
		}
		rep := ev.Confusion.Report()
		rec := epochRecord{Epoch: epoch + 1, TrainLoss: st.Loss, TrainAcc: st.Accuracy, ValLoss: ev.Loss, ValAcc: rep.Accuracy, ValMacroF1: rep.MacroF1, Seconds: time.Since(t0).Seconds()}
		res.History = append(res.History, rec)
		fmt.Fprintf(s.log, "%s epoch %d/%d: train loss %.4f acc %.3f | val loss %.4f acc %.3f macro F1 %.3f | %.0fs\n",
			m.Name, epoch+1, s.cfg.Epochs, st.Loss, st.Accuracy, ev.Loss, rep.Accuracy, rep.MacroF1, rec.Seconds)
		// The best epoch is the one with the highest validation macro F1
		// (ties: lower validation loss); accuracy would reward always
		// predicting normal/mild on data this imbalanced.
		score := rep.MacroF1 - 1e-9*ev.Loss
		if score > best {
			best, res.BestEpoch = score, epoch+1
			meta := map[string]string{"model": m.Name, "epoch": fmt.Sprint(epoch + 1), "val_macro_f1": fmt.Sprint(rep.MacroF1),
				"val_loss": fmt.Sprint(ev.Loss), "config_hash": hash, "backbone": string(m.Backbone.Config), "backbone_arch": m.Backbone.Arch, "backbone_naming": m.Backbone.Naming}
			if err := store.SaveFile(ckpt, meta); err != nil {
				return nil, err
			}
		}
	}
	if res.BestEpoch > 0 {
		f, err := nn.ReadCheckpoint(ckpt)
		if err != nil {
			return nil, err
		}
		if err := store.LoadFile(f, nn.LoadOptions{Strict: true}); err != nil {
			return nil, err
		}
	}
	val, err := train.Evaluate(model, store, valL, datasets.Grades, loss, ag.CPU)
	if err != nil {
		return nil, err
	}
	test, err := train.Evaluate(model, store, testL, datasets.Grades, loss, ag.CPU)
	if err != nil {
		return nil, err
	}
	res.Val, res.ValLoss = val.Confusion.Report(), val.Loss
	res.Test, res.TestLoss = test.Confusion.Report(), test.Loss
	res.Seconds = time.Since(start).Seconds()
	if err := writeModelOutputs(s.out, res, map[string]splitOutput{"val": {s.data.Val, val}, "test": {s.data.Test, test}}); err != nil {
		return nil, err
	}
	fmt.Fprintf(s.log, "%s: best epoch %d; test accuracy %.3f, macro F1 %.3f, macro precision %.3f, macro recall %.3f\n",
		m.Name, res.BestEpoch, res.Test.Accuracy, res.Test.MacroF1, res.Test.MacroPrecision, res.Test.MacroRecall)
	return res, nil
}

// loadPretrained loads the backbone's ImageNet weights into base_model.*
// when a weights folder is given, and says where they came from.
func (s *study) loadPretrained(store *nn.Store, m modelSpec) (string, error) {
	if s.cfg.Weights == "" {
		return "randomly initialised (no -weights)", nil
	}
	path, err := findWeights(s.cfg.Weights, m.Name)
	if err != nil {
		return "", err
	}
	f, err := nn.ReadCheckpoint(path)
	if err != nil {
		return "", err
	}
	var ignored []string
	skip := func(k string) bool { ignored = append(ignored, k); return true }
	// Strict: every backbone key must be in the file (but for buffers the
	// model recomputes); keys the headless backbone lacks (the ImageNet
	// classifier) are ignored and listed.
	if err := store.LoadFile(f, nn.LoadOptions{Strict: true, Under: "base_model.", Skip: skip, Optional: nn.RecomputedBuffer}); err != nil {
		return "", fmt.Errorf("%s: loading %s: %w", m.Name, path, err)
	}
	msg := "from " + path
	if len(ignored) > 0 {
		msg += fmt.Sprintf(" (ignored %d keys the headless backbone does not have: %s)", len(ignored), abbreviate(ignored, 4))
	}
	return msg, nil
}

func abbreviate(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:n], ", ") + fmt.Sprintf(", ... (%d more)", len(names)-n)
}

// weightFiles are the file names tried for each preset under -weights:
// the preset's own name first, then the upstream release's file name.
var weightFiles = map[string][]string{
	"resnet152":                    {"resnet152-f82ba261.pth", "resnet152-394f9c45.pth"},
	"efficientnet_v2_m":            {"efficientnet_v2_m-dc08266a.pth"},
	"convnext_base":                {"convnext_base-6075fbad.pth"},
	"vit_b_16":                     {"vit_b_16-c867db91.pth"},
	"swin_b":                       {"swin_b-68c6b09e.pth"},
	"swin-base-patch4-window7-224": {"swin-base-patch4-window7-224/model.safetensors", "swin-base-patch4-window7-224/pytorch_model.bin"},
	"beit-base-patch16-224":        {"beit-base-patch16-224/model.safetensors", "beit-base-patch16-224/pytorch_model.bin"},
}

// findWeights returns the first existing candidate file for the model.
func findWeights(dir, name string) (string, error) {
	cands := append([]string{name + ".safetensors", name + ".pth", name + ".pt"}, weightFiles[name]...)
	for _, c := range cands {
		p := filepath.Join(dir, c)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: no pretrained weights in -weights %s (looked for %s)", name, dir, strings.Join(cands, ", "))
}

func readResult(path string) (*result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if r.Model == "" {
		return nil, errors.New(path + ": no model")
	}
	return &r, nil
}
