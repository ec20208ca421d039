package main

import (
	"path/filepath"
	"testing"

	"github.com/vertebra-ml/vertebra/nn"
)

// TestFinetune: the reloaded model scores as the README states, and the
// checkpoint holds the backbone's torchvision key names.
func TestFinetune(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ft.safetensors")
	if acc := run(path, 1); acc < 0.9 {
		t.Errorf("test accuracy %.3f of the reloaded model, want >= 0.90 (chance: 0.5)", acc)
	}
	f, err := nn.ReadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.Tensors["layer4.0.conv2.weight"]; !ok || f.Metadata["example"] != "finetune" {
		t.Errorf("checkpoint keys/metadata: %d tensors, metadata %v", len(f.Tensors), f.Metadata)
	}
}
