package pth

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vertebra-ml/vertebra/nn/safetensors"
)

// studyCheckpoint is what the study's train_epoch saves.
func studyCheckpoint() *Dict {
	sd := &Dict{Ordered: true, Values: map[any]any{}}
	for _, kv := range []struct {
		k string
		t safetensors.Tensor
	}{
		{"level_embedding.weight", safetensors.FromFloat32([]int{5, 2}, []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10})},
		{"classifier.0.bias", safetensors.FromFloat32([]int{3}, []float32{-1.5, 0, 2.25})},
		{"base_model.bn1.num_batches_tracked", safetensors.FromInt64([]int{}, []int64{7})},
	} {
		sd.Keys = append(sd.Keys, kv.k)
		sd.Values[kv.k] = kv.t
	}
	root := &Dict{Values: map[any]any{}}
	for _, kv := range []struct {
		k string
		v any
	}{{"epoch", 3}, {"model_state_dict", sd}, {"val_acc", 0.875}, {"val_loss", 0.25}, {"train_loss", 0.5}, {"train_acc", 0.75}} {
		root.Keys = append(root.Keys, kv.k)
		root.Values[kv.k] = kv.v
	}
	return root
}

func TestWriteReadsBack(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, studyCheckpoint()); err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	Write(&again, studyCheckpoint())
	if !bytes.Equal(b.Bytes(), again.Bytes()) {
		t.Error("two writes of the same checkpoint differ")
	}
	c, err := Read(bytes.NewReader(b.Bytes()), int64(b.Len()))
	if err != nil {
		t.Fatal(err)
	}
	root := c.Root.(*Dict)
	if !slices.Equal(root.Keys, []any{"epoch", "model_state_dict", "val_acc", "val_loss", "train_loss", "train_acc"}) {
		t.Errorf("keys %v", root.Keys)
	}
	if v, _ := root.Get("epoch"); v != int64(3) {
		t.Errorf("epoch %v", v)
	}
	if v, _ := root.Get("val_acc"); v != 0.875 {
		t.Errorf("val_acc %v", v)
	}
	names, tensors, err := c.StateDict()
	if err != nil {
		t.Fatal(err)
	}
	want := studyCheckpoint().Values["model_state_dict"].(*Dict)
	if len(names) != 3 || names[0] != "level_embedding.weight" {
		t.Errorf("state dict names %v", names)
	}
	for _, n := range names {
		w := want.Values[n].(safetensors.Tensor)
		g := tensors[n]
		if g.DType != w.DType || !slices.Equal(g.Shape, w.Shape) || !bytes.Equal(g.Data, w.Data) {
			t.Errorf("%s: read %v %v, wrote %v %v", n, g.DType, g.Shape, w.DType, w.Shape)
		}
	}
}

func TestWriteRefusesOtherValues(t *testing.T) {
	for _, v := range []any{[]int{1}, struct{}{}, nil, 1.5i} {
		d := &Dict{Keys: []any{"x"}, Values: map[any]any{"x": v}}
		if err := Write(&bytes.Buffer{}, d); err == nil || !strings.Contains(err.Error(), "cannot write") {
			t.Errorf("%T: error %v", v, err)
		}
	}
}

// TestTorchLoadsWrite checks with PyTorch itself, where it is installed,
// that torch.load, as the study's load_model calls it, reads what Write
// writes.
func TestTorchLoadsWrite(t *testing.T) {
	py := "/usr/bin/python3"
	if exec.Command(py, "-c", "import torch").Run() != nil {
		t.Skip("no PyTorch")
	}
	path := filepath.Join(t.TempDir(), "best_model.pth")
	var b bytes.Buffer
	if err := Write(&b, studyCheckpoint()); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	script := `import sys, torch
c = torch.load(sys.argv[1], map_location="cpu")
sd = c["model_state_dict"]
print(c["epoch"], c["val_acc"], type(sd).__name__, list(sd.keys()), sd["classifier.0.bias"].tolist(), sd["level_embedding.weight"].shape, sd["base_model.bn1.num_batches_tracked"].item())`
	out, err := exec.Command(py, "-c", script, path).CombinedOutput()
	if err != nil {
		t.Fatalf("torch.load: %v\n%s", err, out)
	}
	want := "3 0.875 OrderedDict ['level_embedding.weight', 'classifier.0.bias', 'base_model.bn1.num_batches_tracked'] [-1.5, 0.0, 2.25] torch.Size([5, 2]) 7"
	if got := strings.TrimSpace(string(out)); got != want {
		t.Errorf("torch read\n%s\nwant\n%s", got, want)
	}
}
