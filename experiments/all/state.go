package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/nn"
	"github.com/vertebra-ml/vertebra/nn/safetensors"
	"github.com/vertebra-ml/vertebra/optim"
	"github.com/vertebra-ml/vertebra/train"
)

// trainingState is what an interrupted model needs to continue exactly
// as if it had not stopped. The loader's order and augmentation depend
// only on (seed, epoch, index) and dropout is seeded per step, so the
// random state is the position: epoch and batch.
type trainingState struct {
	ConfigHash string           `json:"config_hash"`
	Epoch      int              `json:"epoch"`   // epochs finished
	Partial    train.EpochStats `json:"partial"` // the running epoch so far
	History    []epochRecord    `json:"history"`
	BestEpoch  int              `json:"best_epoch"`
	BestScore  float64          `json:"best_score"`
	Best       epochRecord      `json:"best"`
	Steps      int              `json:"optimizer_steps"`
	Seconds    float64          `json:"seconds"`
}

// saveState writes the state, the model's tensors ("model.<key>") and the
// optimizer's per-parameter steps and moments ("optim.state.<i>.exp_avg"
// and so on, its StateDict) as
// one safetensors file, atomically.
func saveState(path string, st *trainingState, store *nn.Store, opt *optim.AdamW) error {
	st.Steps = opt.Steps()
	meta, err := json.Marshal(st)
	if err != nil {
		return err
	}
	sd := store.StateDict()
	f := &safetensors.File{Metadata: map[string]string{"training_state": string(meta)}, Tensors: map[string]safetensors.Tensor{}}
	for _, n := range sd.Names {
		f.Names = append(f.Names, "model."+n)
		f.Tensors["model."+n] = sd.Tensors[n]
	}
	for k, t := range opt.StateDict() {
		name := "optim." + k
		f.Names = append(f.Names, name)
		if t.DType() == ag.Float64 {
			f.Tensors[name] = safetensors.FromFloat64(t.Shape(), t.Float64s())
		} else {
			f.Tensors[name] = safetensors.FromFloat32(t.Shape(), t.Float32s())
		}
	}
	slices.Sort(f.Names[len(sd.Names):])
	var b bytes.Buffer
	if err := safetensors.Write(&b, f); err != nil {
		return err
	}
	return writeFile(path, b.Bytes())
}

// loadState reads a state saved under the same configuration into store
// and opt.
func loadState(path, hash string, store *nn.Store, opt *optim.AdamW) (*trainingState, error) {
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--resume: %w", err)
	}
	var st trainingState
	if err := json.Unmarshal([]byte(f.Metadata["training_state"]), &st); err != nil {
		return nil, fmt.Errorf("--resume: %s: no readable training state: %w", path, err)
	}
	if st.ConfigHash != hash {
		return nil, fmt.Errorf("--resume: %s was saved with other settings (configuration %s, now %s); rerun with the same flags, or without --resume to start over", path, st.ConfigHash, hash)
	}
	model := &safetensors.File{Metadata: map[string]string{}, Tensors: map[string]safetensors.Tensor{}}
	for _, name := range f.Names {
		if k, ok := strings.CutPrefix(name, "model."); ok {
			model.Names = append(model.Names, k)
			model.Tensors[k] = f.Tensors[name]
		}
	}
	if err := store.LoadFile(model, nn.LoadOptions{Strict: true}); err != nil {
		return nil, fmt.Errorf("--resume: %s: %w", path, err)
	}
	od := map[string]*ag.Tensor{}
	for _, name := range f.Names {
		k, ok := strings.CutPrefix(name, "optim.")
		if !ok {
			continue
		}
		v, err := f.Tensors[name].Float64()
		if err != nil {
			return nil, fmt.Errorf("--resume: %s: %s: %w", path, name, err)
		}
		od[k] = ag.FromFloat64(v, f.Tensors[name].Shape...)
	}
	if err := opt.LoadStateDict(od); err != nil {
		return nil, fmt.Errorf("--resume: %s: %w", path, err)
	}
	return &st, nil
}

// writeCheckpoint writes the store's state dict as safetensors with the
// given metadata, atomically.
func writeCheckpoint(path string, store *nn.Store, meta map[string]string) error {
	f := store.StateDict()
	for k, v := range meta {
		f.Metadata[k] = v
	}
	var b bytes.Buffer
	if err := safetensors.Write(&b, f); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return writeFile(path, b.Bytes())
}
