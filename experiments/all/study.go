package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/internal/devices"
	"github.com/vertebra-ml/vertebra/metrics"
	"github.com/vertebra-ml/vertebra/nn"
	"github.com/vertebra-ml/vertebra/optim"
	"github.com/vertebra-ml/vertebra/train"
	"github.com/vertebra-ml/vertebra/vision/datasets"
	"github.com/vertebra-ml/vertebra/vision/models"
	"github.com/vertebra-ml/vertebra/vision/transforms"
)

// Config is everything that decides a model's result; its hash marks
// finished results (a rerun with the same settings skips them) and
// resumable states (one is only resumed under the same settings).
type Config struct {
	Preset          string     `json:"preset"`
	Data            string     `json:"data"`             // "synthetic", an RSNA root, or split CSVs
	DataFingerprint string     `json:"data_fingerprint"` // SHA-256 of the three splits' samples
	Studies         int        `json:"synthetic_studies,omitempty"`
	SyntheticGrades [3]float64 `json:"synthetic_grades,omitempty"`
	Epochs          int        `json:"num_epochs"`
	BatchSize       int        `json:"batch_size"`
	LR              float64    `json:"learning_rate"`
	WeightDecay     float64    `json:"weight_decay"`
	FreezeBackbone  bool       `json:"freeze_backbone"`
	UnfreezeLast    int        `json:"unfreeze_last_n"`
	EmbeddingDim    int        `json:"level_embeddings"`
	Dropout         float64    `json:"dropout"`
	ImageSize       int        `json:"image_size"`
	Crop            int        `json:"crop"`
	Augment         bool       `json:"augment"`
	Seed            uint64     `json:"seed"`
	Weights         string     `json:"weights"`
	Select          string     `json:"select"`
	SkipBadImages   bool       `json:"skip_bad_images"`
}

// modelSpec is one backbone of the study: the name the user gave, the
// preset it resolved to, and the headless backbone.
type modelSpec struct {
	Name     string
	Preset   string
	Backbone models.BackboneSpec
}

// splits are the study's three data sets.
type splits struct {
	Train, Val, Test datasets.Dataset
	// Skipped are the images left out with --skip_bad_images.
	Skipped []string
}

// runOptions are the settings that do not change results.
type runOptions struct {
	Out        string
	Workers    int
	SaveFormat string // safetensors, pth or both
	Resume     bool
	Device     ag.Device
	Progress   progressFunc
	// Stop says whether SIGINT or SIGTERM asked the run to stop; nil: never.
	Stop func() bool
}

// errInterrupted ends a run that saved its state on SIGINT or SIGTERM.
var errInterrupted = errors.New("interrupted")

// study runs every model and writes results/, trained_models/ and plots/.
type study struct {
	cfg     Config
	run     runOptions
	log     io.Writer
	data    splits
	weights []float64 // class weights from the training split
}

func (s *study) stopRequested() bool { return s.run.Stop != nil && s.run.Stop() }

func (s *study) hash(m modelSpec) string {
	b, _ := json.Marshal(struct {
		Config
		Model    string
		Backbone models.BackboneSpec
	}{s.cfg, m.Name, m.Backbone})
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

// runStudy trains every model in turn. A model that fails (missing
// weights, a NaN loss) is reported and the study goes on with the next; an
// interrupt saves the running model's state and ends the study.
func runStudy(cfg Config, data splits, specs []modelSpec, run runOptions, log io.Writer) error {
	if run.Device == nil {
		run.Device = ag.CPU
	}
	if run.SaveFormat == "" {
		run.SaveFormat = "safetensors"
	}
	if cfg.Select == "" {
		cfg.Select = "macro_f1"
	}
	counts := datasets.ClassCounts(datasets.Samples(data.Train))
	// A grade absent from a small training split weighs 1: its weight is
	// never used by the loss of the training split.
	present := counts
	for g, n := range present {
		if n == 0 {
			present[g] = slices.Max(counts[:])
			fmt.Fprintf(log, "warning: no %s samples in the training split; its class weight is 1\n", datasets.GradeName(g))
		}
	}
	w, err := datasets.ClassWeights(present)
	if err != nil {
		return fmt.Errorf("class weights of the training split: %w", err)
	}
	fmt.Fprintf(log, "training classes %v; class weights %.3f (majority count / class count)\n", counts, w)
	freeze := "whole backbone trainable"
	if cfg.FreezeBackbone {
		freeze = fmt.Sprintf("backbone frozen but its last %d tensors", cfg.UnfreezeLast)
	}
	fmt.Fprintf(log, "settings: preset %s, %d epochs, batch %d, AdamW lr %g weight decay %g, %s, %dx%d inputs, best epoch by validation %s\n",
		cfg.Preset, cfg.Epochs, cfg.BatchSize, cfg.LR, cfg.WeightDecay, freeze, cfg.ImageSize, cfg.ImageSize, cfg.Select)
	if run.Device != nil {
		fmt.Fprintf(log, "device: %s\n", devices.Describe(run.Device))
	}
	s := &study{cfg: cfg, run: run, log: log, data: data, weights: w[:]}
	if err := s.checkWeights(specs); err != nil {
		return err
	}
	var results []*result
	var errs []error
	interrupted := false
	for _, m := range specs {
		if s.stopRequested() {
			interrupted = true
			break
		}
		r, err := s.runModel(m)
		if errors.Is(err, errInterrupted) {
			interrupted = true
			errs = append(errs, fmt.Errorf("%s: %w", m.Name, err))
			break
		}
		if err != nil {
			fmt.Fprintf(log, "%s: FAILED: %v\n", m.Name, err)
			errs = append(errs, fmt.Errorf("%s: %w", m.Name, err))
			continue
		}
		results = append(results, r)
	}
	if len(results) > 0 {
		if err := mergeSummary(run.Out, results, data.Skipped); err != nil {
			errs = append(errs, err)
		}
	}
	fmt.Fprintf(log, "\n%-30s %8s %8s %8s %12s\n", "test set", "accuracy", "macro F1", "macro P", "weighted LL")
	for _, r := range results {
		fmt.Fprintf(log, "%-30s %8.3f %8.3f %8.3f %12.4f\n", r.Model, r.Test.Accuracy, r.Test.MacroF1, r.Test.MacroPrecision, r.TestRSNA.WeightedLogLoss)
	}
	fmt.Fprintf(log, "results in %s, checkpoints in %s, plots in %s\n",
		filepath.Join(run.Out, "results"), filepath.Join(run.Out, "trained_models"), filepath.Join(run.Out, "plots"))
	if interrupted {
		return fmt.Errorf("%w: %w; rerun the same command with --resume to continue", errInterrupted, errors.Join(errs...))
	}
	return errors.Join(errs...)
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
		return datasets.NewLoader(ds, datasets.LoaderConfig{BatchSize: s.cfg.BatchSize, Shuffle: shuffle, Seed: s.cfg.Seed, Workers: s.run.Workers, Transform: t})
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

// result is a finished model: the JSON sidecar of its checkpoint.
type result struct {
	Model      string             `json:"model"`
	Preset     string             `json:"preset"`
	Arch       string             `json:"arch"`
	Naming     string             `json:"naming"`
	ConfigHash string             `json:"config_hash"`
	Config     Config             `json:"config"`
	Backbone   json.RawMessage    `json:"backbone"`
	Pretrained string             `json:"pretrained"`
	Parameters int                `json:"parameters"`
	Trainable  int                `json:"trainable_parameters"`
	BestEpoch  int                `json:"epoch"` // the checkpoint's epoch, 1-based
	Val        metrics.Report     `json:"val"`
	Test       metrics.Report     `json:"test"`
	ValLoss    float64            `json:"val_loss"`
	TestLoss   float64            `json:"test_loss"`
	TestRSNA   metrics.RSNAScores `json:"test_rsna"`
	History    []epochRecord      `json:"history"`
	Args       []string           `json:"args"`
	Seconds    float64            `json:"seconds"`
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

// commandLine is recorded in every sidecar.
var commandLine = os.Args

// modelFiles are one model's output paths, with the study's names.
type modelFiles struct {
	Checkpoint, Pth, Sidecar, Staged, State string
	Predictions, History                    string
	HistoryPlot, ConfusionPlot              string
}

func filesFor(out, name string) modelFiles {
	tm := filepath.Join(out, "trained_models")
	base := filepath.Join(tm, name+"_model_best_model")
	return modelFiles{
		Checkpoint: base + ".safetensors", Pth: base + ".pth", Sidecar: base + ".json",
		Staged:        filepath.Join(tm, "."+name+"_model_best_model.partial.safetensors"),
		State:         filepath.Join(tm, name+"_model_state.safetensors"),
		Predictions:   filepath.Join(out, "results", name+"_predictions.csv"),
		History:       filepath.Join(out, "results", name+"_history.csv"),
		HistoryPlot:   filepath.Join(out, "plots", name+"_model_training_history.png"),
		ConfusionPlot: filepath.Join(out, "plots", name+"_confusion_matrix.png"),
	}
}

// runModel trains, selects and evaluates one model, writing its outputs.
// A model whose sidecar exists with the same configuration is skipped.
func (s *study) runModel(m modelSpec) (*result, error) {
	hash := s.hash(m)
	files := filesFor(s.run.Out, m.Name)
	if prev, err := readResult(files.Sidecar); err == nil && prev.ConfigHash == hash {
		fmt.Fprintf(s.log, "%s: finished with this configuration (%s); skipping\n", m.Name, files.Sidecar)
		return prev, nil
	}
	start := time.Now()
	store := nn.NewStore(ag.Float32, s.cfg.Seed)
	model, err := models.NewStenosis(store.Root(), models.StenosisConfig{
		Backbone: m.Backbone, EmbeddingDim: s.cfg.EmbeddingDim, NumLevels: datasets.Levels,
		NumClasses: datasets.Grades, Dropout: s.cfg.Dropout, UnfreezeLast: max(s.cfg.UnfreezeLast, 0),
	})
	if err != nil {
		return nil, err
	}
	pretrained, err := s.loadPretrained(store, m)
	if err != nil {
		return nil, err
	}
	if s.cfg.FreezeBackbone {
		model.FreezeBackbone(store, "")
	}
	if err := store.To(s.run.Device); err != nil {
		return nil, err
	}
	var params []*ag.Tensor
	trainable := 0
	for _, e := range store.Trainable() {
		params = append(params, e.Tensor)
		trainable += e.Tensor.Len()
	}
	fmt.Fprintf(s.log, "%s (preset %s): %d parameters, %d trainable; backbone %s\n", m.Name, m.Preset, store.NumParams(), trainable, pretrained)
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

	st := &trainingState{ConfigHash: hash, BestEpoch: -1}
	if _, err := os.Stat(files.State); err == nil {
		if !s.run.Resume {
			fmt.Fprintf(s.log, "%s: an interrupted run's state is in %s; starting over (--resume continues it)\n", m.Name, files.State)
		} else {
			if st, err = loadState(files.State, hash, store, opt); err != nil {
				return nil, err
			}
			fmt.Fprintf(s.log, "%s: resuming at epoch %d, batch %d of %d\n", m.Name, st.Epoch+1, st.Partial.Batches, trL.Len())
		}
	}
	for st.Epoch < s.cfg.Epochs {
		epoch := st.Epoch
		t0 := time.Now()
		bar := s.run.Progress(fmt.Sprintf("%s epoch %d/%d", m.Name, epoch+1, s.cfg.Epochs), trL.Len(), st.Partial.Batches)
		stats, err := train.EpochWith(model, store, opt, trL, epoch, loss, s.run.Device, train.EpochOptions{
			From: st.Partial,
			// Dropout draws from the store's counter-based generator:
			// positioning it per step makes a resumed run draw the same
			// masks.
			BeforeStep: func(batch int) { store.Generator().SetState(stepSeed(s.cfg.Seed, epoch, batch), 0) },
			Stop:       s.stopRequested,
			Progress:   func(b int, es train.EpochStats) { bar.Update(b, es.Loss, es.Samples) },
		})
		bar.Done()
		st.Seconds += time.Since(t0).Seconds()
		var nf *train.NonFiniteLossError
		switch {
		case errors.Is(err, train.ErrStopped):
			st.Partial = stats
			if err := saveState(files.State, st, store, opt); err != nil {
				return nil, err
			}
			fmt.Fprintf(s.log, "%s: stopped at epoch %d, batch %d; state saved in %s\n", m.Name, epoch+1, stats.Batches, files.State)
			return nil, errInterrupted
		case errors.As(err, &nf):
			return nil, fmt.Errorf("loss is %g at epoch %d, step %d: this model stops (try a lower --learning_rate)", nf.Loss, nf.Epoch+1, nf.Batch+1)
		case err != nil:
			return nil, err
		}
		ev, err := train.Evaluate(model, store, valL, datasets.Grades, loss, s.run.Device)
		if err != nil {
			return nil, err
		}
		rep := ev.Confusion.Report()
		rec := epochRecord{Epoch: epoch + 1, TrainLoss: stats.Loss, TrainAcc: stats.Accuracy, ValLoss: ev.Loss, ValAcc: rep.Accuracy, ValMacroF1: rep.MacroF1, Seconds: time.Since(t0).Seconds()}
		st.History = append(st.History, rec)
		fmt.Fprintf(s.log, "%s epoch %d/%d: train loss %.4f acc %.3f | val loss %.4f acc %.3f macro F1 %.3f | %.0fs\n",
			m.Name, epoch+1, s.cfg.Epochs, stats.Loss, stats.Accuracy, ev.Loss, rep.Accuracy, rep.MacroF1, rec.Seconds)
		// The best epoch has the highest validation score (ties: lower
		// validation loss).
		score := rep.MacroF1
		if s.cfg.Select == "accuracy" {
			score = rep.Accuracy
		}
		score -= 1e-9 * ev.Loss
		if st.BestEpoch < 0 || score > st.BestScore {
			st.BestScore, st.BestEpoch, st.Best = score, epoch+1, rec
			if err := writeCheckpoint(files.Staged, store, nil); err != nil {
				return nil, err
			}
		}
		st.Epoch, st.Partial = epoch+1, train.EpochStats{}
		if st.Epoch < s.cfg.Epochs && s.stopRequested() {
			if err := saveState(files.State, st, store, opt); err != nil {
				return nil, err
			}
			fmt.Fprintf(s.log, "%s: stopped after epoch %d; state saved in %s\n", m.Name, st.Epoch, files.State)
			return nil, errInterrupted
		}
	}
	f, err := nn.ReadCheckpoint(files.Staged)
	if err != nil {
		return nil, err
	}
	if err := store.LoadFile(f, nn.LoadOptions{Strict: true}); err != nil {
		return nil, err
	}
	val, err := train.Evaluate(model, store, valL, datasets.Grades, loss, s.run.Device)
	if err != nil {
		return nil, err
	}
	test, err := train.Evaluate(model, store, testL, datasets.Grades, loss, s.run.Device)
	if err != nil {
		return nil, err
	}
	res := &result{Model: m.Name, Preset: m.Preset, Arch: m.Backbone.Arch, Naming: m.Backbone.Naming, ConfigHash: hash, Config: s.cfg,
		Backbone: m.Backbone.Config, Pretrained: pretrained, Parameters: store.NumParams(), Trainable: trainable,
		BestEpoch: st.BestEpoch, History: st.History, Args: commandLine}
	res.Val, res.ValLoss = val.Confusion.Report(), val.Loss
	res.Test, res.TestLoss = test.Confusion.Report(), test.Loss
	if res.TestRSNA, err = rsnaScores(s.data.Test, test); err != nil {
		return nil, err
	}
	res.Seconds = st.Seconds + time.Since(start).Seconds()
	if err := s.writeModelOutputs(files, res, store, st.Best, test); err != nil {
		return nil, err
	}
	os.Remove(files.State)
	os.Remove(files.Staged)
	fmt.Fprintf(s.log, "%s: best epoch %d; test accuracy %.3f, macro F1 %.3f, weighted log loss %.4f\n",
		m.Name, res.BestEpoch, res.Test.Accuracy, res.Test.MacroF1, res.TestRSNA.WeightedLogLoss)
	return res, nil
}

// stepSeed derives a training step's dropout seed from the run's seed
// (SplitMix64's finaliser over the three), so that steps draw unrelated
// masks however many numbers each uses.
func stepSeed(seed uint64, epoch, batch int) uint64 {
	z := seed ^ uint64(epoch)<<32 ^ uint64(batch)
	z += 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// rsnaScores scores an evaluation with the competition's metric.
func rsnaScores(ds datasets.Dataset, ev train.Evaluation) (metrics.RSNAScores, error) {
	studies := make([]int64, len(ev.Predictions))
	labels := make([]int, len(ev.Predictions))
	probs := make([][]float64, len(ev.Predictions))
	for i, p := range ev.Predictions {
		studies[i], labels[i], probs[i] = ds.Sample(p.Index).StudyID, p.Label, p.Probs
	}
	return metrics.RSNA(studies, labels, probs)
}

// checkWeights loads every model's --weights once before any training, so
// that a file that does not fit its model stops the run up front.
func (s *study) checkWeights(specs []modelSpec) error {
	if s.cfg.Weights == "" {
		return nil
	}
	for _, m := range specs {
		store := nn.NewStore(ag.Float32, 0)
		if _, err := models.NewStenosis(store.Root(), models.StenosisConfig{Backbone: m.Backbone, EmbeddingDim: s.cfg.EmbeddingDim,
			NumLevels: datasets.Levels, NumClasses: datasets.Grades}); err != nil {
			return fmt.Errorf("%s: %w", m.Name, err)
		}
		if _, err := s.loadPretrained(store, m); err != nil {
			return err
		}
	}
	fmt.Fprintf(s.log, "weights: every model's file in %s fits it\n", s.cfg.Weights)
	return nil
}

// loadPretrained loads the backbone's ImageNet weights into base_model.*
// when a weights folder is given, and says where they came from.
func (s *study) loadPretrained(store *nn.Store, m modelSpec) (string, error) {
	if s.cfg.Weights == "" {
		return "randomly initialised (no --weights)", nil
	}
	path, err := findWeights(s.cfg.Weights, m.Preset)
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
		return "", fmt.Errorf("--weights: %s does not fit %s (preset %s): %w", path, m.Name, m.Preset, err)
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

// weightFiles are the file names tried for each preset under --weights
// after the preset's own name: the upstream release's file names.
var weightFiles = map[string][]string{
	"resnet152":                    {"resnet152-f82ba261.pth", "resnet152-394f9c45.pth"},
	"efficientnet_v2_m":            {"efficientnet_v2_m-dc08266a.pth"},
	"convnext_base":                {"convnext_base-6075fbad.pth"},
	"vit_b_16":                     {"vit_b_16-c867db91.pth"},
	"swin_b":                       {"swin_b-68c6b09e.pth"},
	"swin-base-patch4-window7-224": {"swin-base-patch4-window7-224/model.safetensors", "swin-base-patch4-window7-224/pytorch_model.bin"},
	"beit-base-patch16-224":        {"beit-base-patch16-224/model.safetensors", "beit-base-patch16-224/pytorch_model.bin"},
}

// findWeights returns the first existing candidate file for the preset.
func findWeights(dir, preset string) (string, error) {
	cands := append([]string{preset + ".safetensors", preset + ".pth", preset + ".pt"}, weightFiles[preset]...)
	for _, c := range cands {
		p := filepath.Join(dir, c)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: no pretrained weights in %s (looked for %s)", preset, dir, strings.Join(cands, ", "))
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
