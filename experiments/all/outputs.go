package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/vertebra-ml/vertebra/metrics"
	"github.com/vertebra-ml/vertebra/train"
	"github.com/vertebra-ml/vertebra/vision/datasets"
)

// writeFileAtomic writes data through a temporary file in the same folder
// and a rename, so an interrupted run never leaves a half-written result.
func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

func csvBytes(rows [][]string) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.WriteAll(rows)
	return b.Bytes()
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'f', 6, 64) }

// splitOutput pairs a split's data with its evaluation.
type splitOutput struct {
	data datasets.Dataset
	eval train.Evaluation
}

// writeModelOutputs writes results/<model>/: metrics.json, history.csv,
// and per split predictions_<split>.csv and confusion_<split>.csv; then the
// model's plots. metrics.json goes last: it marks the model finished.
func writeModelOutputs(out string, r *result, splits map[string]splitOutput) error {
	dir := filepath.Join(out, "results", r.Model)
	hist := [][]string{{"epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "val_macro_f1", "seconds"}}
	for _, h := range r.History {
		hist = append(hist, []string{strconv.Itoa(h.Epoch), ftoa(h.TrainLoss), ftoa(h.TrainAcc), ftoa(h.ValLoss), ftoa(h.ValAcc), ftoa(h.ValMacroF1), ftoa(h.Seconds)})
	}
	if err := writeFileAtomic(filepath.Join(dir, "history.csv"), csvBytes(hist)); err != nil {
		return err
	}
	for name, s := range splits {
		rows := [][]string{{"index", "study_id", "series_id", "instance_number", "level", "label", "prediction", "p_normal_mild", "p_moderate", "p_severe", "image_path"}}
		for _, p := range s.eval.Predictions {
			smp := s.data.Sample(p.Index)
			rows = append(rows, []string{strconv.Itoa(p.Index), strconv.FormatInt(smp.StudyID, 10), strconv.FormatInt(smp.SeriesID, 10),
				strconv.Itoa(smp.InstanceNumber), datasets.LevelName(p.Level), datasets.GradeName(p.Label), datasets.GradeName(p.Pred),
				ftoa(p.Probs[0]), ftoa(p.Probs[1]), ftoa(p.Probs[2]), smp.ImagePath})
		}
		if err := writeFileAtomic(filepath.Join(dir, "predictions_"+name+".csv"), csvBytes(rows)); err != nil {
			return err
		}
		conf := [][]string{{"true \\ predicted", datasets.GradeName(0), datasets.GradeName(1), datasets.GradeName(2)}}
		for t, row := range s.eval.Confusion.M {
			line := []string{datasets.GradeName(t)}
			for _, v := range row {
				line = append(line, strconv.Itoa(v))
			}
			conf = append(conf, line)
		}
		if err := writeFileAtomic(filepath.Join(dir, "confusion_"+name+".csv"), csvBytes(conf)); err != nil {
			return err
		}
	}
	if err := plotModel(filepath.Join(out, "plots"), r); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, "metrics.json"), b)
}

// writeSummary writes results/summary.csv, one row per model and split,
// and the summary plot.
func writeSummary(out string, results []*result) error {
	rows := [][]string{{"model", "split", "accuracy", "macro_precision", "macro_recall", "macro_f1", "weighted_f1",
		"f1_normal_mild", "f1_moderate", "f1_severe", "loss", "best_epoch", "seconds"}}
	for _, r := range results {
		for _, sp := range []struct {
			name string
			rep  metrics.Report
			loss float64
		}{{"val", r.Val, r.ValLoss}, {"test", r.Test, r.TestLoss}} {
			p := sp.rep
			rows = append(rows, []string{r.Model, sp.name, ftoa(p.Accuracy), ftoa(p.MacroPrecision), ftoa(p.MacroRecall), ftoa(p.MacroF1), ftoa(p.WeightedF1),
				ftoa(p.F1[0]), ftoa(p.F1[1]), ftoa(p.F1[2]), ftoa(sp.loss), strconv.Itoa(r.BestEpoch), ftoa(r.Seconds)})
		}
	}
	if err := writeFileAtomic(filepath.Join(out, "results", "summary.csv"), csvBytes(rows)); err != nil {
		return err
	}
	return plotSummary(filepath.Join(out, "plots"), results)
}
