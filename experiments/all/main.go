// Command all runs the stenosis study: for each of the six ImageNet
// backbones it trains the level-embedding classifier (backbone features ++
// a learned 256-d level embedding -> MLP head) to grade spinal canal
// stenosis at L1/L2..L5/S1, selects the epoch with the best validation
// macro F1, and evaluates it on held-out validation and test sets.
//
//	go run ./experiments/all                                  # synthetic spines, a short run
//	go run ./experiments/all -data RSNA_ROOT -weights DIR     # the real study
//
// Outputs, under -out: results/ (metrics.json, history.csv, predictions and
// confusion matrices per model, summary.csv), trained_models/ (the best
// checkpoint per model, safetensors with its metadata) and plots/ (loss,
// accuracy, confusion matrices, summary). Every file is written to a
// temporary file and renamed, and a model whose results exist with the same
// configuration is skipped, so an interrupted study resumes where it
// stopped. Nothing is downloaded: data and weights are files you point to.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/vertebra-ml/vertebra/vision/datasets"
	"github.com/vertebra-ml/vertebra/vision/models"
)

// studyModels are the study's six backbones, Swin in the transformers
// naming the study used.
var studyModels = []string{"vit_b_16", "swin-base-patch4-window7-224", "beit-base-patch16-224", "efficientnet_v2_m", "resnet152", "convnext_base"}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("all", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		cfg       Config
		splitsDir = fs.String("splits", "", "folder with the study's split CSVs train.csv, val.csv, test.csv (image_path,row_id,level,severity); replaces -data")
		modelList = fs.String("models", strings.Join(studyModels, ","), "comma-separated backbone presets (have: "+strings.Join(models.Presets(), ", ")+")")
		out       = fs.String("out", ".", "folder for results/, trained_models/ and plots/")
		workers   = fs.Int("workers", runtime.GOMAXPROCS(0), "data-loading goroutines")
	)
	fs.StringVar(&cfg.Data, "data", "", "RSNA 2024 lumbar spine folder (train.csv, train_series_descriptions.csv, train_label_coordinates.csv, train_images/); empty: synthetic spines")
	fs.IntVar(&cfg.Studies, "synthetic-studies", 20, "studies in the synthetic data set (5 samples each)")
	fs.IntVar(&cfg.Epochs, "epochs", 0, "training epochs (0: the study's 30 on real data, 2 on synthetic data)")
	fs.IntVar(&cfg.BatchSize, "batch-size", 32, "batch size")
	fs.Float64Var(&cfg.LR, "lr", 1e-4, "AdamW learning rate")
	fs.Float64Var(&cfg.WeightDecay, "weight-decay", 0.02, "AdamW decoupled weight decay")
	fs.IntVar(&cfg.UnfreezeLast, "unfreeze-last", 32, "backbone parameter tensors left trainable (the rest are frozen)")
	fs.IntVar(&cfg.EmbeddingDim, "embedding-dim", 256, "size of the learned level embedding")
	fs.Float64Var(&cfg.Dropout, "dropout", 0.1, "dropout in the head")
	fs.IntVar(&cfg.ImageSize, "image-size", 224, "input side in pixels (the transformers need their configured 224)")
	fs.IntVar(&cfg.Crop, "crop", 0, "crop this many source pixels around the labelled point before resizing (0: whole slices, as the study)")
	fs.BoolVar(&cfg.Augment, "augment", true, "random horizontal flip and rotation (±15°) in training")
	fs.Uint64Var(&cfg.Seed, "seed", 42, "seed of splits, initialisation, shuffling and augmentation")
	fs.StringVar(&cfg.Weights, "weights", "", "folder of ImageNet weights (e.g. resnet152-f82ba261.pth, swin-base-patch4-window7-224/model.safetensors); empty: random initialisation")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "all: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if err := prepareAndRun(cfg, *splitsDir, *modelList, *out, *workers, stdout); err != nil {
		fmt.Fprintln(stderr, "all:", err)
		return 1
	}
	return 0
}

// prepareAndRun checks the settings, loads the data and runs every model.
func prepareAndRun(cfg Config, splitsDir, modelList, out string, workers int, log io.Writer) error {
	if cfg.Epochs == 0 {
		cfg.Epochs = 30
		if cfg.Data == "" && splitsDir == "" {
			cfg.Epochs = 2
		}
	}
	if err := checkConfig(cfg, workers); err != nil {
		return err
	}
	var specs []modelSpec
	for _, name := range strings.Split(modelList, ",") {
		name = strings.TrimSpace(name)
		spec, err := models.HeadlessSpec(name)
		if err != nil {
			return fmt.Errorf("-models: %w", err)
		}
		specs = append(specs, modelSpec{Name: name, Backbone: spec})
	}
	data, desc, err := loadData(&cfg, splitsDir)
	if err != nil {
		return err
	}
	fmt.Fprintln(log, desc)
	return runStudy(cfg, data, specs, out, workers, log)
}

func checkConfig(c Config, workers int) error {
	switch {
	case c.Epochs < 0:
		return fmt.Errorf("-epochs %d: want > 0", c.Epochs)
	case c.BatchSize < 1:
		return fmt.Errorf("-batch-size %d: want > 0", c.BatchSize)
	case !(c.LR > 0):
		return fmt.Errorf("-lr %g: want > 0", c.LR)
	case c.WeightDecay < 0:
		return fmt.Errorf("-weight-decay %g: want >= 0", c.WeightDecay)
	case c.UnfreezeLast < 0:
		return fmt.Errorf("-unfreeze-last %d: want >= 0", c.UnfreezeLast)
	case c.EmbeddingDim < 1:
		return fmt.Errorf("-embedding-dim %d: want > 0", c.EmbeddingDim)
	case c.Dropout < 0 || c.Dropout >= 1:
		return fmt.Errorf("-dropout %g: want in [0, 1)", c.Dropout)
	case c.ImageSize < 16:
		return fmt.Errorf("-image-size %d: want >= 16", c.ImageSize)
	case c.Crop < 0:
		return fmt.Errorf("-crop %d: want >= 0", c.Crop)
	case c.Data == "" && c.Studies < 4:
		return fmt.Errorf("-synthetic-studies %d: want at least 4 (train, validation and test need studies)", c.Studies)
	case workers < 1:
		return fmt.Errorf("-workers %d: want > 0", workers)
	}
	if c.Weights != "" {
		if st, err := os.Stat(c.Weights); err != nil || !st.IsDir() {
			return fmt.Errorf("-weights %s: not a folder", c.Weights)
		}
	}
	return nil
}

// loadData returns the three splits: the study's CSVs as they are, or the
// RSNA layout or synthetic spines split 70/15/15 by study, stratified by
// grade.
func loadData(cfg *Config, splitsDir string) (splits, string, error) {
	if splitsDir != "" {
		var sets [3]datasets.Dataset
		for i, name := range []string{"train.csv", "val.csv", "test.csv"} {
			r, err := datasets.ReadRows(filepath.Join(splitsDir, name))
			if err != nil {
				return splits{}, "", fmt.Errorf("-splits: %w", err)
			}
			sets[i] = r
		}
		cfg.Data = "splits:" + splitsDir
		return splits{sets[0], sets[1], sets[2]}, fmt.Sprintf("data: the study's splits in %s: %d train, %d validation, %d test samples",
			splitsDir, sets[0].Len(), sets[1].Len(), sets[2].Len()), nil
	}
	var all datasets.Dataset
	var desc string
	if cfg.Data == "" {
		syn, err := datasets.NewSynthetic(datasets.SyntheticConfig{Studies: cfg.Studies, Seed: cfg.Seed})
		if err != nil {
			return splits{}, "", err
		}
		all, desc = syn, fmt.Sprintf("data: %d synthetic studies (%d samples; no -data given)", cfg.Studies, syn.Len())
		cfg.Data = "synthetic"
	} else {
		cfg.Studies = 0
		r, summary, err := datasets.LoadRSNA(cfg.Data)
		if err != nil {
			return splits{}, "", fmt.Errorf("-data: %w", err)
		}
		all, desc = r, "data: "+strings.TrimSpace(summary.String())
	}
	idx, err := datasets.SplitByStudy(datasets.Samples(all), []float64{0.70, 0.15, 0.15}, cfg.Seed)
	if err != nil {
		return splits{}, "", err
	}
	sp := splits{
		Train: datasets.Subset{Data: all, Indices: idx[0]},
		Val:   datasets.Subset{Data: all, Indices: idx[1]},
		Test:  datasets.Subset{Data: all, Indices: idx[2]},
	}
	for name, d := range map[string]datasets.Dataset{"training": sp.Train, "validation": sp.Val, "test": sp.Test} {
		if d.Len() == 0 {
			return splits{}, "", fmt.Errorf("%s\nthe %s split is empty: %d samples cannot be split 70/15/15 by study and grade; give more studies, or your own splits with -splits",
				desc, name, all.Len())
		}
	}
	desc += fmt.Sprintf("\nsplits by study (70/15/15, stratified by grade): %d train, %d validation, %d test samples", sp.Train.Len(), sp.Val.Len(), sp.Test.Len())
	return sp, desc, nil
}

// runStudy trains every model in turn; a failing model is reported and the
// study goes on with the next.
func runStudy(cfg Config, data splits, specs []modelSpec, out string, workers int, log io.Writer) error {
	counts := datasets.ClassCounts(datasets.Samples(data.Train))
	w, err := datasets.ClassWeights(counts)
	if err != nil {
		return fmt.Errorf("class weights of the training split: %w", err)
	}
	fmt.Fprintf(log, "training classes %v; class weights %.3f (majority count / class count)\n", counts, w)
	fmt.Fprintf(log, "settings: %d epochs, batch %d, AdamW lr %g weight decay %g, last %d backbone tensors trainable, %dx%d inputs\n",
		cfg.Epochs, cfg.BatchSize, cfg.LR, cfg.WeightDecay, cfg.UnfreezeLast, cfg.ImageSize, cfg.ImageSize)
	s := &study{cfg: cfg, out: out, workers: workers, log: log, data: data, weights: w[:]}
	var results []*result
	var errs []error
	for _, m := range specs {
		r, err := s.runModelSafely(m)
		if err != nil {
			fmt.Fprintf(log, "%s: FAILED: %v\n", m.Name, err)
			errs = append(errs, fmt.Errorf("%s: %w", m.Name, err))
			continue
		}
		results = append(results, r)
	}
	if err := writeSummary(out, results); err != nil {
		errs = append(errs, err)
	}
	fmt.Fprintf(log, "\n%-30s %8s %8s %8s %8s\n", "test set", "accuracy", "macro P", "macro R", "macro F1")
	for _, r := range results {
		fmt.Fprintf(log, "%-30s %8.3f %8.3f %8.3f %8.3f\n", r.Model, r.Test.Accuracy, r.Test.MacroPrecision, r.Test.MacroRecall, r.Test.MacroF1)
	}
	fmt.Fprintf(log, "results in %s, checkpoints in %s, plots in %s\n",
		filepath.Join(out, "results"), filepath.Join(out, "trained_models"), filepath.Join(out, "plots"))
	return errors.Join(errs...)
}

// runModelSafely runs one model, turning a panic (a model that cannot take
// the configured input size, say) into that model's error so that the
// study goes on and the panic's message reaches the user.
func (s *study) runModelSafely(m modelSpec) (r *result, err error) {
	defer func() {
		if p := recover(); p != nil {
			r, err = nil, fmt.Errorf("%v", p)
		}
	}()
	return s.runModel(m)
}
