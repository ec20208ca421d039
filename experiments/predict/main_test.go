package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/nn"
	"github.com/vertebra-ml/vertebra/nn/pth"
	"github.com/vertebra-ml/vertebra/vision/models"
)

const rsnaMini = "../../../shared/rsna-mini"

// writeModel writes a tiny model as experiments/all does: checkpoint and
// sidecar, trained on crop-pixel crops (0: whole slices).
func writeModel(t *testing.T, dir string, crop int) string {
	t.Helper()
	spec, err := models.HeadlessSpec("tiny_resnet")
	if err != nil {
		t.Fatal(err)
	}
	store := nn.NewStore(ag.Float32, 1)
	if _, err := models.NewStenosis(store.Root(), models.StenosisConfig{Backbone: spec, EmbeddingDim: 8, NumLevels: 5, NumClasses: 3}); err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, "resnet152_model_best_model")
	if err := store.SaveFile(base+".safetensors", nil); err != nil {
		t.Fatal(err)
	}
	side, _ := json.Marshal(map[string]any{"model": "resnet152", "arch": spec.Arch, "naming": spec.Naming, "backbone": spec.Config,
		"config": map[string]any{"level_embeddings": 8, "image_size": 64, "crop": crop}})
	if err := os.WriteFile(base+".json", side, 0o644); err != nil {
		t.Fatal(err)
	}
	return base
}

func TestPredict(t *testing.T) {
	if _, err := os.Stat(rsnaMini); err != nil {
		t.Skip("rsna-mini not found")
	}
	dir := t.TempDir()
	base := writeModel(t, dir, 0)
	// The Kaggle test layout, made of rsna-mini's training files.
	series, err := os.ReadFile(filepath.Join(rsnaMini, "train_series_descriptions.csv"))
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "kaggle")
	os.MkdirAll(root, 0o755)
	os.WriteFile(filepath.Join(root, "test_series_descriptions.csv"), series, 0o644)
	abs, _ := filepath.Abs(filepath.Join(rsnaMini, "train_images"))
	if err := os.Symlink(abs, filepath.Join(root, "test_images")); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "submission.csv")
	var out, errOut bytes.Buffer
	if code := run([]string{"--model", base + ".safetensors", "--data", root, "--out", sub}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	b, _ := os.ReadFile(sub)
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil || len(rows) < 6 || strings.Join(rows[0], ",") != "row_id,normal_mild,moderate,severe" ||
		!strings.HasSuffix(rows[1][0], "_spinal_canal_stenosis_l1_l2") || (len(rows)-1)%5 != 0 {
		t.Errorf("submission: %v\n%s", err, b)
	}
	// One image: the first row's slice.
	var first string
	filepath.WalkDir(abs, func(p string, d os.DirEntry, err error) error {
		if first == "" && strings.HasSuffix(p, ".dcm") {
			first = p
		}
		return nil
	})
	out.Reset()
	if code := run([]string{"--model", base, "--image", first, "--level", "L4/L5"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "L4/L5: normal_mild 0.") {
		t.Errorf("exit %d: %s %s", code, out.String(), errOut.String())
	}
	// The study's .pth (torch.save dict) of the same weights reads too.
	f, err := nn.ReadCheckpoint(base + ".safetensors")
	if err != nil {
		t.Fatal(err)
	}
	sd := &pth.Dict{Ordered: true, Values: map[any]any{}}
	for _, n := range f.Names {
		sd.Keys = append(sd.Keys, n)
		sd.Values[n] = f.Tensors[n]
	}
	var pb bytes.Buffer
	if err := pth.Write(&pb, &pth.Dict{Keys: []any{"epoch", "model_state_dict"}, Values: map[any]any{"epoch": 0, "model_state_dict": sd}}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(base+".pth", pb.Bytes(), 0o644)
	want := out.String()
	out.Reset()
	if code := run([]string{"--model", base + ".pth", "--image", first, "--level", "L4/L5"}, &out, &errOut); code != 0 || out.String() != want {
		t.Errorf(".pth: exit %d: %q, want %q (%s)", code, out.String(), want, errOut.String())
	}
	// A model trained on crops needs the point.
	crop := writeModel(t, t.TempDir(), 64)
	errOut.Reset()
	if code := run([]string{"--model", crop, "--image", first, "--level", "L4/L5"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), first) ||
		!strings.Contains(errOut.String(), "--x") {
		t.Errorf("crop model without a point: exit %d, %s", code, errOut.String())
	}
	errOut.Reset()
	if code := run([]string{"--model", filepath.Join(dir, "nothing"), "--image", first, "--level", "L4/L5"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "nothing.json") {
		t.Errorf("missing model: exit %d, %s", code, errOut.String())
	}
}
