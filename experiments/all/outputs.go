package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/vertebra-ml/vertebra/internal/atomicfile"
	"github.com/vertebra-ml/vertebra/nn"
	"github.com/vertebra-ml/vertebra/nn/pth"
	"github.com/vertebra-ml/vertebra/train"
	"github.com/vertebra-ml/vertebra/vision/datasets"
)

// writeFile is the one way this program writes a file: atomically
// (temporary file, fsync, rename, fsync of the folder), mode 0644, so an
// interrupted run never leaves a half-written output.
func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, data, 0o644)
}

func csvBytes(rows [][]string) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.WriteAll(rows)
	return b.Bytes()
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'f', 6, 64) }

// rowID is the RSNA competition's row id of a sample's spinal canal
// stenosis grade, e.g. 4003253_spinal_canal_stenosis_l1_l2.
func rowID(s datasets.Sample) string {
	return fmt.Sprintf("%d_spinal_canal_stenosis_%s", s.StudyID, datasets.LevelSuffix(s.Level))
}

// writeModelOutputs writes a finished model's files: test predictions,
// history, plots, the checkpoint(s), and last the JSON sidecar that marks
// the model finished.
func (s *study) writeModelOutputs(files modelFiles, r *result, store *nn.Store, best epochRecord, test train.Evaluation) error {
	pred := [][]string{{"row_id", "true_label", "predicted_label", "prob_normal_mild", "prob_moderate", "prob_severe"}}
	for _, p := range test.Predictions {
		pred = append(pred, []string{rowID(s.data.Test.Sample(p.Index)), strconv.Itoa(p.Label), strconv.Itoa(p.Pred),
			ftoa(p.Probs[0]), ftoa(p.Probs[1]), ftoa(p.Probs[2])})
	}
	if err := writeFile(files.Predictions, csvBytes(pred)); err != nil {
		return err
	}
	hist := [][]string{{"epoch", "train_loss", "train_acc", "val_loss", "val_acc", "val_macro_f1"}}
	for _, h := range r.History {
		hist = append(hist, []string{strconv.Itoa(h.Epoch), ftoa(h.TrainLoss), ftoa(h.TrainAcc), ftoa(h.ValLoss), ftoa(h.ValAcc), ftoa(h.ValMacroF1)})
	}
	if err := writeFile(files.History, csvBytes(hist)); err != nil {
		return err
	}
	if err := plotHistory(files.HistoryPlot, r); err != nil {
		return err
	}
	if err := plotConfusion(files.ConfusionPlot, r.Model+": test confusion matrix", r.Test.Confusion); err != nil {
		return err
	}
	// The checkpoint's metadata are a function of the results only (no
	// times), so that a resumed run writes the same bytes.
	meta := map[string]string{"model": r.Model, "preset": r.Preset, "epoch": strconv.Itoa(r.BestEpoch), "config_hash": r.ConfigHash,
		"backbone_arch": r.Arch, "backbone_naming": r.Naming, "backbone": string(r.Backbone), "data": r.Config.Data,
		"data_fingerprint": r.Config.DataFingerprint, "weights": weightsOf(r.Config), "val_acc": ftoa(best.ValAcc), "val_loss": ftoa(best.ValLoss)}
	if s.run.SaveFormat != "pth" {
		if err := writeCheckpoint(files.Checkpoint, store, meta); err != nil {
			return err
		}
	}
	if s.run.SaveFormat != "safetensors" {
		if err := writePth(files.Pth, store, best); err != nil {
			return err
		}
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return writeFile(files.Sidecar, append(b, '\n'))
}

// writePth writes the checkpoint as the study's train_epoch saves it:
// torch.save({'epoch', 'model_state_dict', 'val_acc', 'val_loss',
// 'train_loss', 'train_acc'}), so the study's load_model reads it.
func writePth(path string, store *nn.Store, best epochRecord) error {
	sd := store.StateDict()
	state := &pth.Dict{Ordered: true, Values: map[any]any{}}
	for _, n := range sd.Names {
		state.Keys = append(state.Keys, n)
		state.Values[n] = sd.Tensors[n]
	}
	root := &pth.Dict{Values: map[any]any{}}
	for _, kv := range []struct {
		k string
		v any
	}{{"epoch", best.Epoch - 1}, {"model_state_dict", state}, {"val_acc", best.ValAcc}, {"val_loss", best.ValLoss},
		{"train_loss", best.TrainLoss}, {"train_acc", best.TrainAcc}} {
		root.Keys = append(root.Keys, kv.k)
		root.Values[kv.k] = kv.v
	}
	var b bytes.Buffer
	if err := pth.Write(&b, root); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return writeFile(path, b.Bytes())
}
