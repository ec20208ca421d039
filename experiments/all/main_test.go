package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/nn"
	"github.com/vertebra-ml/vertebra/vision/datasets"
	"github.com/vertebra-ml/vertebra/vision/models"
)

// tinySpec is a small ResNet standing in for the full-size backbones.
func tinySpec(classes string) modelSpec {
	cfg := `{"block":"basic","layers":[1,1,1,1],"widths":[8,8,16,16],"stem_width":8,"groups":1,"width_per_group":64,"num_classes":` + classes + `}`
	return modelSpec{Name: "tiny-resnet", Backbone: models.BackboneSpec{Arch: "resnet", Naming: "torchvision", Config: json.RawMessage(cfg)}}
}

func tinyConfig(t *testing.T) Config {
	return Config{Studies: 16, Epochs: 2, BatchSize: 8, LR: 1e-3, WeightDecay: 0.02, UnfreezeLast: 4,
		EmbeddingDim: 8, Dropout: 0.1, ImageSize: 48, Crop: 96, Augment: true, Seed: 3}
}

func TestStudyWritesEverythingAndResumes(t *testing.T) {
	out := t.TempDir()
	weights := t.TempDir()
	// "Pretrained" weights with an ImageNet head the study model lacks.
	src := nn.NewStore(ag.Float32, 9)
	if _, err := models.Build("resnet", "torchvision", tinySpec("10").Backbone.Config, src.Root()); err != nil {
		t.Fatal(err)
	}
	if err := src.SaveFile(filepath.Join(weights, "tiny-resnet.safetensors"), nil); err != nil {
		t.Fatal(err)
	}
	cfg := tinyConfig(t)
	cfg.Weights = weights
	data, _, err := loadData(&cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	if err := runStudy(cfg, data, []modelSpec{tinySpec("null")}, out, 2, &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if !strings.Contains(log.String(), "ignored 2 keys the headless backbone does not have: fc.weight, fc.bias") {
		t.Errorf("log does not report the ignored head:\n%s", log.String())
	}
	for _, f := range []string{
		"results/summary.csv", "results/tiny-resnet/metrics.json", "results/tiny-resnet/history.csv",
		"results/tiny-resnet/predictions_val.csv", "results/tiny-resnet/predictions_test.csv",
		"results/tiny-resnet/confusion_test.csv", "trained_models/tiny-resnet.safetensors",
		"plots/tiny-resnet_loss.png", "plots/tiny-resnet_accuracy.png", "plots/tiny-resnet_confusion_test.png", "plots/summary.png",
	} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s missing or empty", f)
		}
	}
	r, err := readResult(filepath.Join(out, "results/tiny-resnet/metrics.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.History) != 2 || r.BestEpoch < 1 || r.Test.Confusion == nil || !strings.HasPrefix(r.Pretrained, "from ") {
		t.Errorf("metrics.json: %d epochs, best %d, pretrained %q", len(r.History), r.BestEpoch, r.Pretrained)
	}
	ckpt, err := nn.ReadCheckpoint(filepath.Join(out, "trained_models/tiny-resnet.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ckpt.Tensors["classifier.8.weight"]; !ok || ckpt.Metadata["epoch"] == "" {
		t.Errorf("checkpoint lacks the head or its metadata: %v", ckpt.Metadata)
	}
	// A second run with the same settings keeps the finished model.
	log.Reset()
	if err := runStudy(cfg, data, []modelSpec{tinySpec("null")}, out, 2, &log); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "skipping") {
		t.Errorf("rerun did not skip the finished model:\n%s", log.String())
	}
}

func TestFlagErrorsNameTheFlag(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-epochs", "-1"}, 1, "-epochs -1"},
		{[]string{"-models", "resnet9000"}, 1, "-models"},
		{[]string{"-weights", "/nonexistent/folder"}, 1, "-weights /nonexistent/folder"},
		{[]string{"-data", "/nonexistent/rsna"}, 1, "-data"},
		{[]string{"-splits", "/nonexistent/splits"}, 1, "-splits"},
		{[]string{"-lr", "0"}, 1, "-lr"},
		{[]string{"-no-such-flag"}, 2, "no-such-flag"},
		{[]string{"extra"}, 2, "unexpected arguments"},
	}
	for _, c := range cases {
		var out, errOut bytes.Buffer
		code := run(c.args, &out, &errOut)
		if code != c.code || !strings.Contains(errOut.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d mentioning %q", c.args, code, errOut.String(), c.code, c.want)
		}
	}
}

func TestMissingWeightsFailThatModelOnly(t *testing.T) {
	cfg := tinyConfig(t)
	cfg.Epochs = 1
	cfg.Weights = t.TempDir()
	data, _, err := loadData(&cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	err = runStudy(cfg, data, []modelSpec{tinySpec("null")}, t.TempDir(), 2, &log)
	if err == nil || !strings.Contains(err.Error(), "no pretrained weights") || !strings.Contains(err.Error(), "tiny-resnet.safetensors") {
		t.Errorf("missing weights: %v", err)
	}
}

// TestStudyOnRSNADicomsThroughSplits runs the study on rsna-mini's DICOM
// files through the study's own split CSVs (-splits): the real-data path,
// with images decoded from DICOM.
func TestStudyOnRSNADicomsThroughSplits(t *testing.T) {
	root := filepath.Join("..", "..", "..", "shared", "rsna-mini")
	if _, err := os.Stat(root); err != nil {
		t.Skip("rsna-mini not found")
	}
	rsna, _, err := datasets.LoadRSNA(root)
	if err != nil {
		t.Fatal(err)
	}
	// One study in each of validation and test, the rest for training.
	samples := datasets.Samples(rsna)
	studies := map[int64]int{}
	var order []int64
	for _, s := range samples {
		if _, ok := studies[s.StudyID]; !ok {
			studies[s.StudyID] = len(order)
			order = append(order, s.StudyID)
		}
	}
	var parts [3][]datasets.Sample
	for _, s := range samples {
		var k int
		switch studies[s.StudyID] {
		case len(order) - 1:
			k = 2
		case len(order) - 2:
			k = 1
		default:
			k = 0
		}
		parts[k] = append(parts[k], s)
	}
	dir := t.TempDir()
	for i, name := range []string{"train.csv", "val.csv", "test.csv"} {
		if err := datasets.WriteRows(filepath.Join(dir, name), parts[i]); err != nil {
			t.Fatal(err)
		}
	}
	cfg := tinyConfig(t)
	cfg.Epochs, cfg.Crop = 1, 64
	data, desc, err := loadData(&cfg, dir)
	if err != nil {
		t.Fatal(err)
	}
	if data.Train.Len()+data.Val.Len()+data.Test.Len() != len(samples) {
		t.Errorf("%s: want %d samples", desc, len(samples))
	}
	var log bytes.Buffer
	out := t.TempDir()
	if err := runStudy(cfg, data, []modelSpec{tinySpec("null")}, out, 2, &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	b, err := os.ReadFile(filepath.Join(out, "results", "tiny-resnet", "predictions_test.csv"))
	if err != nil || !strings.Contains(string(b), ".dcm") {
		t.Errorf("test predictions should name their DICOM files: %v\n%s", err, b)
	}
}

// TestModelPanicBecomesItsError: ViT-style models refuse other input sizes
// by panicking inside the forward; the study reports it for that model.
func TestModelPanicBecomesItsError(t *testing.T) {
	cfg := tinyConfig(t)
	cfg.Epochs = 1
	data, _, err := loadData(&cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	vit := modelSpec{Name: "tiny-vit", Backbone: models.BackboneSpec{Arch: "vit", Naming: "torchvision",
		Config: json.RawMessage(`{"image_size":32,"patch_size":8,"num_layers":1,"num_heads":2,"hidden_dim":16,"mlp_dim":32,"num_classes":null}`)}}
	var log bytes.Buffer
	out := t.TempDir()
	err = runStudy(cfg, data, []modelSpec{vit, tinySpec("null")}, out, 2, &log) // images are 48x48
	if err == nil || !strings.Contains(err.Error(), "tiny-vit") {
		t.Fatalf("error %v should name the failing model", err)
	}
	if _, err := os.Stat(filepath.Join(out, "results", "tiny-resnet", "metrics.json")); err != nil {
		t.Errorf("the model after the failing one did not run: %v", err)
	}
}
