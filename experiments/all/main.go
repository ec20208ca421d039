// Command all runs the stenosis study: for each ImageNet backbone it trains
// the level-embedding classifier (backbone features ++ a learned level
// embedding -> MLP head) to grade spinal canal stenosis at L1/L2..L5/S1,
// keeps the epoch with the best validation score, and evaluates it on the
// test set. It takes the original PyTorch study's command line:
//
//	go run ./experiments/all      # synthetic spines, the tiny preset of all six backbones
//	go run ./experiments/all --models convnext efficientnet resnet152 --batch_size 32 \
//	  --num_epochs 30 --learning_rate 1e-4 --weight_decay 0.02 --level_embeddings 256 \
//	  --freeze_backbone True --unfreeze_last_n 32 --data RSNA_ROOT --weights DIR
//
// Outputs, under --out, with the study's names: results/ (test predictions
// per model, model_performance_summary.csv, summary.md), trained_models/
// (the best checkpoint per model with a JSON sidecar) and plots/ (training
// history, confusion matrix, a comparison of the models). Nothing is
// downloaded: data and weights are files you point to.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/internal/devices"
	"github.com/vertebra-ml/vertebra/train"
	"github.com/vertebra-ml/vertebra/vision/datasets"
	"github.com/vertebra-ml/vertebra/vision/models"
)

// studyModel is one backbone of the study under its short name, with the
// preset each --preset builds.
type studyModel struct {
	Short, Full, Tiny string
}

// studyModels are the study's six backbones in its order, Swin and BEiT in
// the transformers naming the study used.
var studyModels = []studyModel{
	{"vit", "vit_b_16", "tiny_vit"},
	{"swin", "swin-base-patch4-window7-224", "tiny_swin"},
	{"beit", "beit-base-patch16-224", "tiny_beit"},
	{"efficientnet", "efficientnet_v2_m", "tiny_efficientnet"},
	{"resnet152", "resnet152", "tiny_resnet"},
	{"convnext", "convnext_base", "tiny_convnext"},
}

// profile is what a preset changes in the defaults of flags the user did
// not give: the full study's settings, or the tiny models' that learn the
// synthetic spines in minutes on a CPU.
type profile struct {
	Epochs, ImageSize, Crop, Studies int
	LR                               float64
	// Freeze is --freeze_backbone's default: the study freezes ImageNet
	// weights; the tiny backbones start from random weights, where a
	// frozen random patch embedding only slows Swin and BEiT down.
	Freeze bool
	// Grades are the synthetic spines' grade probabilities. The tiny
	// preset's 60/20/20 gives the minority grades enough examples for
	// the transformers to learn them within minutes from random weights
	// (with the RSNA data's 87/8/5 they stay near chance for 12 epochs).
	Grades string
}

var profiles = map[string]profile{
	"full": {Epochs: 30, ImageSize: 224, Crop: 0, Studies: 20, LR: 1e-4, Freeze: true, Grades: "0.87,0.08,0.05"},
	"tiny": {Epochs: 15, ImageSize: 64, Crop: 64, Studies: 300, LR: 1e-3, Freeze: false, Grades: "0.6,0.2,0.2"},
}

func main() {
	train.TuneGC() // GOGC 20 unless set: training's peak memory, not twice it
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// exitInterrupted is the status of a run stopped by SIGINT or SIGTERM, as
// a shell reports a process killed by SIGINT.
const exitInterrupted = 130

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("all", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := defaultOptions()
	models_ := listValue(slices.Clone(o.Models))
	fs.Var(&models_, "models", "backbones to train, several values or comma-separated: the study's "+shortNames()+", or any preset ("+strings.Join(models.Presets(), ", ")+")")
	fs.Var(choiceValue{&o.Preset, []string{"tiny", "full"}}, "preset", "size of the study's backbones: full (the study's architectures) or tiny (each family at reduced width, depth and 64x64 inputs); default tiny on synthetic data, full with --data or splits")
	fs.StringVar(&o.Data, "data", "", "RSNA 2024 lumbar spine folder (train.csv, train_series_descriptions.csv, train_label_coordinates.csv, train_images/), split 70/15/15 by study; empty: synthetic spines")
	fs.StringVar(&o.Splits, "splits", "", "folder with the study's split CSVs (train_df_spinal_canal_stenosis.csv, val_df_..., test_df_...; or train.csv, val.csv, test.csv)")
	fs.StringVar(&o.TrainCSV, "train_csv", "", "the study's training split CSV (with --val_csv and --test_csv; replaces --splits)")
	fs.StringVar(&o.ValCSV, "val_csv", "", "the study's validation split CSV")
	fs.StringVar(&o.TestCSV, "test_csv", "", "the study's test split CSV")
	fs.StringVar(&o.Weights, "weights", "", "folder of ImageNet weights (e.g. resnet152-f82ba261.pth, swin-base-patch4-window7-224/model.safetensors); empty: random initialisation")
	fs.StringVar(&o.Out, "out", ".", "folder for results/, trained_models/ and plots/")
	fs.StringVar(&o.Device, "device", "cpu", devices.Usage)
	fs.IntVar(&o.BatchSize, "batch_size", 32, "batch size")
	fs.IntVar(&o.Epochs, "num_epochs", 0, "training epochs (default 30 with --preset full, 15 with tiny)")
	fs.Float64Var(&o.LR, "learning_rate", 0, "AdamW learning rate (default 1e-4 with --preset full, 1e-3 with tiny)")
	fs.Float64Var(&o.WeightDecay, "weight_decay", 0.02, "AdamW decoupled weight decay")
	fs.IntVar(&o.EmbeddingDim, "level_embeddings", 256, "size of the learned level embedding")
	fs.Var((*boolValue)(&o.Freeze), "freeze_backbone", "freeze the backbone but for its last --unfreeze_last_n parameter tensors: True or False (default True with --preset full, False with tiny, whose weights are random)")
	fs.IntVar(&o.UnfreezeLast, "unfreeze_last_n", 32, "backbone parameter tensors left trainable when --freeze_backbone is True")
	fs.Float64Var(&o.Dropout, "dropout", 0.1, "dropout in the head")
	fs.IntVar(&o.ImageSize, "image_size", 0, "input side in pixels (default 224 with --preset full, 64 with tiny; ViT and BEiT take only their configured size)")
	fs.IntVar(&o.Crop, "crop", -1, "crop this many source pixels around the labelled point before resizing; 0: whole slices, as the study (default 0 with --preset full, 64 with tiny)")
	fs.Var((*boolValue)(&o.Augment), "augment", "random horizontal flip and rotation (±15°) in training: True or False")
	fs.IntVar(&o.Studies, "synthetic_studies", 0, "studies of synthetic spines without --data (5 samples each; default 300 with --preset tiny, 20 with full)")
	fs.StringVar(&o.Grades, "synthetic_grades", "", "probabilities of normal/mild, moderate and severe in the synthetic spines (default 0.87,0.08,0.05 as the RSNA data with --preset full; 0.6,0.2,0.2 with tiny, so that every backbone learns the rare grades in minutes)")
	fs.Uint64Var(&o.Seed, "seed", 42, "seed of splits, initialisation, shuffling, augmentation and dropout")
	fs.IntVar(&o.Workers, "workers", runtime.GOMAXPROCS(0), "data-loading goroutines")
	fs.Var(choiceValue{&o.Select, []string{"macro_f1", "accuracy"}}, "select", "validation score that picks the best epoch: macro_f1, or accuracy (the original study's rule, which rewards always predicting normal/mild on data this imbalanced)")
	fs.Var(choiceValue{&o.SaveFormat, []string{"safetensors", "pth", "both"}}, "save_format", "checkpoint format: safetensors, pth (a torch.save zip the study's load_model reads), or both")
	fs.BoolVar(&o.SkipBadImages, "skip_bad_images", false, "skip images that cannot be decoded (listed in the log and summary.md) instead of stopping")
	fs.BoolVar(&o.Resume, "resume", false, "continue an interrupted model from its saved state in trained_models/")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `Usage: all [flags]

Runs the stenosis study: trains each backbone, keeps its best epoch and
evaluates it on the test set. Flags take the original study's spelling.

Examples:
  all                                            # synthetic spines, tiny preset, all six models
  all --models convnext efficientnet resnet152 --batch_size 32 --num_epochs 30 \
      --learning_rate 1e-4 --weight_decay 0.02 --level_embeddings 256 \
      --freeze_backbone True --unfreeze_last_n 32 --data RSNA_ROOT --weights DIR
  all --models vit swin beit --splits DIR --weights DIR --save_format both

Flags:
`)
		printFlags(fs)
	}
	if err := fs.Parse(joinListArgs(args)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "all: unexpected arguments %q (flags start with --; see --help)\n", fs.Args())
		return 2
	}
	o.Models = models_
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if err := o.resolve(set); err != nil {
		fmt.Fprintln(stderr, "all:", err)
		return 2
	}
	err := prepareAndRun(o, stdout)
	switch {
	case errors.Is(err, errInterrupted):
		fmt.Fprintln(stderr, "all:", err)
		return exitInterrupted
	case err != nil:
		fmt.Fprintln(stderr, "all:", err)
		return 1
	}
	return 0
}

// printFlags lists the flags in the study's --spelling, each with its
// default unless its text already says it.
func printFlags(fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		kind, usage := flag.UnquoteUsage(f)
		if kind == "" && !isBoolFlag(f) {
			kind = "value"
		}
		fmt.Fprintf(fs.Output(), "  --%s %s\n    \t%s", f.Name, kind, strings.ReplaceAll(usage, "\n", "\n    \t"))
		if !strings.Contains(usage, "(default") && f.DefValue != "" && f.DefValue != "false" {
			fmt.Fprintf(fs.Output(), " (default %s)", f.DefValue)
		}
		fmt.Fprintln(fs.Output())
	})
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// options are the command line after defaults.
type options struct {
	Models                                        []string
	Preset                                        string
	Data, Splits, TrainCSV, ValCSV, TestCSV       string
	Weights, Out, Device                          string
	BatchSize, Epochs, EmbeddingDim, UnfreezeLast int
	ImageSize, Crop, Studies, Workers             int
	LR, WeightDecay, Dropout                      float64
	Freeze, Augment                               bool
	Seed                                          uint64
	Select, SaveFormat, Grades                    string
	grades                                        [3]float64
	SkipBadImages, Resume                         bool

	specs []modelSpec
	dev   ag.Device
}

func defaultOptions() options {
	var short []string
	for _, m := range studyModels {
		short = append(short, m.Short)
	}
	return options{Models: short, Freeze: true, Augment: true, Select: "macro_f1", SaveFormat: "safetensors"}
}

func shortNames() string {
	var s []string
	for _, m := range studyModels {
		s = append(s, m.Short)
	}
	return strings.Join(s, ", ")
}

// resolve fills the preset's defaults into the flags not given and checks
// every value, naming the flag and what to fix.
func (o *options) resolve(set map[string]bool) error {
	csvs := o.TrainCSV != "" || o.ValCSV != "" || o.TestCSV != ""
	switch {
	case o.Data != "" && (o.Splits != "" || csvs):
		return errors.New("--data and --splits/--train_csv: give one data source")
	case o.Splits != "" && csvs:
		return errors.New("--splits and --train_csv/--val_csv/--test_csv: give one of them")
	case csvs && (o.TrainCSV == "" || o.ValCSV == "" || o.TestCSV == ""):
		return errors.New("--train_csv, --val_csv and --test_csv go together: give all three")
	}
	if o.Preset == "" {
		o.Preset = "full"
		if o.synthetic() {
			o.Preset = "tiny"
		}
	}
	p := profiles[o.Preset]
	if !set["num_epochs"] {
		o.Epochs = p.Epochs
	}
	if !set["learning_rate"] {
		o.LR = p.LR
	}
	if !set["image_size"] {
		o.ImageSize = p.ImageSize
	}
	if !set["crop"] {
		o.Crop = p.Crop
	}
	if !set["synthetic_studies"] {
		o.Studies = p.Studies
	}
	if !set["freeze_backbone"] {
		o.Freeze = p.Freeze
	}
	if !set["synthetic_grades"] {
		o.Grades = p.Grades
	}
	if err := parseGrades(o.Grades, &o.grades); err != nil {
		return fmt.Errorf("--synthetic_grades %q: %w", o.Grades, err)
	}
	if !o.Freeze {
		o.UnfreezeLast = -1 // every backbone tensor trains
	}
	switch {
	case o.Epochs < 1:
		return fmt.Errorf("--num_epochs %d: want at least 1", o.Epochs)
	case o.BatchSize < 1:
		return fmt.Errorf("--batch_size %d: want at least 1", o.BatchSize)
	case !(o.LR > 0):
		return fmt.Errorf("--learning_rate %g: want > 0", o.LR)
	case !(o.WeightDecay >= 0):
		return fmt.Errorf("--weight_decay %g: want >= 0", o.WeightDecay)
	case o.Freeze && o.UnfreezeLast < 0:
		return fmt.Errorf("--unfreeze_last_n %d: want >= 0", o.UnfreezeLast)
	case o.EmbeddingDim < 1:
		return fmt.Errorf("--level_embeddings %d: want at least 1", o.EmbeddingDim)
	case !(o.Dropout >= 0 && o.Dropout < 1):
		return fmt.Errorf("--dropout %g: want in [0, 1)", o.Dropout)
	case o.ImageSize < 16:
		return fmt.Errorf("--image_size %d: want at least 16", o.ImageSize)
	case o.Crop < 0:
		return fmt.Errorf("--crop %d: want >= 0 (0: whole slices)", o.Crop)
	case o.synthetic() && o.Studies < datasets.MinStudies:
		return fmt.Errorf("--synthetic_studies %d: want at least %d (one study each for training, validation and test)", o.Studies, datasets.MinStudies)
	case o.Workers < 1:
		return fmt.Errorf("--workers %d: want at least 1", o.Workers)
	}
	dev, err := devices.Open(o.Device)
	if err != nil {
		return fmt.Errorf("--device: %w", err)
	}
	o.dev = dev
	for _, d := range []struct{ flag, path string }{{"--data", o.Data}, {"--splits", o.Splits}, {"--weights", o.Weights}} {
		if d.path == "" {
			continue
		}
		if st, err := os.Stat(d.path); err != nil || !st.IsDir() {
			return fmt.Errorf("%s %s: not a folder", d.flag, d.path)
		}
	}
	for _, f := range []struct{ flag, path string }{{"--train_csv", o.TrainCSV}, {"--val_csv", o.ValCSV}, {"--test_csv", o.TestCSV}} {
		if f.path == "" {
			continue
		}
		if st, err := os.Stat(f.path); err != nil || st.IsDir() {
			return fmt.Errorf("%s %s: not a file", f.flag, f.path)
		}
	}
	seen := map[string]bool{}
	for _, name := range o.Models {
		if seen[name] {
			return fmt.Errorf("--models: %s given twice", name)
		}
		seen[name] = true
		spec, err := o.spec(name)
		if err != nil {
			return err
		}
		if err := models.CheckInputSize(spec.Backbone, o.ImageSize, o.ImageSize); err != nil {
			return fmt.Errorf("--image_size %d does not fit %s (preset %s): %w", o.ImageSize, name, spec.Preset, err)
		}
		if o.Weights != "" {
			if _, err := findWeights(o.Weights, spec.Preset); err != nil {
				return fmt.Errorf("--weights: %w", err)
			}
		}
		o.specs = append(o.specs, spec)
	}
	return nil
}

func (o *options) synthetic() bool {
	return o.Data == "" && o.Splits == "" && o.TrainCSV == ""
}

// spec resolves a --models name: a study short name builds the --preset
// variant, a preset name builds that preset.
func (o *options) spec(name string) (modelSpec, error) {
	preset := name
	for _, m := range studyModels {
		if m.Short == name {
			preset = m.Full
			if o.Preset == "tiny" {
				preset = m.Tiny
			}
		}
	}
	b, err := models.HeadlessSpec(preset)
	if err != nil {
		return modelSpec{}, fmt.Errorf("--models: unknown model %q: want one of the study's %s, or a preset (%s)", name, shortNames(), strings.Join(models.Presets(), ", "))
	}
	return modelSpec{Name: name, Preset: preset, Backbone: b}, nil
}

// prepareAndRun loads the data and runs every model.
func prepareAndRun(o options, log io.Writer) error {
	cfg := Config{
		Preset: o.Preset, Studies: o.Studies, Epochs: o.Epochs, BatchSize: o.BatchSize, LR: o.LR, WeightDecay: o.WeightDecay,
		FreezeBackbone: o.Freeze, UnfreezeLast: o.UnfreezeLast, EmbeddingDim: o.EmbeddingDim, Dropout: o.Dropout,
		SyntheticGrades: o.grades, ImageSize: o.ImageSize, Crop: o.Crop, Augment: o.Augment, Seed: o.Seed, Weights: o.Weights, Select: o.Select,
		SkipBadImages: o.SkipBadImages,
	}
	src := dataSource{RSNA: o.Data, Splits: o.Splits, CSVs: [3]string{o.TrainCSV, o.ValCSV, o.TestCSV}}
	data, desc, err := loadData(&cfg, src)
	if err != nil {
		return err
	}
	fmt.Fprintln(log, desc)
	run := runOptions{Out: o.Out, Workers: o.Workers, SaveFormat: o.SaveFormat, Resume: o.Resume, Device: o.dev, Progress: progressFor(log)}
	stop, cancel := notifyInterrupt()
	defer cancel()
	run.Stop = stop
	return runStudy(cfg, data, o.specs, run, log)
}

// parseGrades reads three non-negative probabilities with a positive sum.
func parseGrades(s string, g *[3]float64) error {
	f := strings.Split(s, ",")
	if len(f) != 3 {
		return fmt.Errorf("want three comma-separated probabilities (normal/mild, moderate, severe)")
	}
	var total float64
	for i, v := range f {
		x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || !(x >= 0) || math.IsInf(x, 0) {
			return fmt.Errorf("%q is not a probability", v)
		}
		g[i], total = x, total+x
	}
	if !(total > 0) {
		return fmt.Errorf("the probabilities sum to 0")
	}
	return nil
}

// dataSource is where the study's data come from: an RSNA folder, a
// folder of split CSVs, three CSVs, or (all empty) synthetic spines.
type dataSource struct {
	RSNA, Splits string
	CSVs         [3]string
}

// splitFileNames are the names tried in a --splits folder, the study's
// first.
var splitFileNames = [3][]string{
	{"train_df_spinal_canal_stenosis.csv", "train.csv"},
	{"val_df_spinal_canal_stenosis.csv", "valid_df_spinal_canal_stenosis.csv", "val.csv"},
	{"test_df_spinal_canal_stenosis.csv", "test.csv"},
}

// splitCSVs finds the three split files in dir.
func splitCSVs(dir string) ([3]string, error) {
	var out [3]string
	for i, names := range splitFileNames {
		for _, n := range names {
			if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
				out[i] = filepath.Join(dir, n)
				break
			}
		}
		if out[i] == "" {
			return out, fmt.Errorf("--splits %s: no %s", dir, strings.Join(names, " or "))
		}
	}
	return out, nil
}
