package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/gofrs/flock"

	"github.com/vertebra-ml/vertebra/vision/datasets"
)

// summaryHeader is results/model_performance_summary.csv's header: the
// study's columns first, then per-class and macro scores, the RSNA
// competition's two spinal canal terms, and where the row came from.
var summaryHeader = func() []string {
	h := []string{"model_name", "avg_loss", "accuracy"}
	for _, k := range []string{"precision", "recall", "f1"} {
		for g := range datasets.Grades {
			h = append(h, k+"_"+gradeColumn(g))
		}
	}
	return append(h, "macro_precision", "macro_recall", "macro_f1", "weighted_log_loss", "any_severe_log_loss",
		"best_epoch", "preset", "data", "data_fingerprint", "weights", "config_hash")
}()

func gradeColumn(g int) string {
	return strings.ToLower(strings.ReplaceAll(datasets.GradeName(g), "/", "_"))
}

// weightsOf names the backbone weights a model started from.
func weightsOf(c Config) string {
	if c.Weights == "" {
		return "random"
	}
	return c.Weights
}

func summaryRow(r *result) []string {
	t := r.Test
	row := []string{r.Model, ftoa(r.TestLoss), ftoa(t.Accuracy)}
	for _, v := range [][]float64{t.Precision, t.Recall, t.F1} {
		for _, x := range v {
			row = append(row, ftoa(x))
		}
	}
	return append(row, ftoa(t.MacroPrecision), ftoa(t.MacroRecall), ftoa(t.MacroF1), ftoa(r.TestRSNA.WeightedLogLoss),
		ftoa(r.TestRSNA.AnySevere), strconv.Itoa(r.BestEpoch), r.Preset, r.Config.Data, r.Config.DataFingerprint, weightsOf(r.Config), r.ConfigHash)
}

// mergeSummary adds this run's models to results/model_performance_summary.csv
// (a model's row replaces its earlier one; other models' rows stay), then
// rewrites results/summary.md and plots/model_comparison.png from the
// merged rows. Several processes sharing one --out (a SLURM job array) may
// do this at once: a lock file serialises them, and every file is
// replaced by an atomic rename.
func mergeSummary(out string, results []*result, skipped []string) error {
	dir := filepath.Join(out, "results")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	lock := flock.New(filepath.Join(dir, ".summary.lock"))
	if err := lock.Lock(); err != nil {
		return fmt.Errorf("locking %s: %w", lock.Path(), err)
	}
	defer lock.Unlock()
	path := filepath.Join(dir, "model_performance_summary.csv")
	rows, err := readSummary(path)
	if err != nil {
		return err
	}
	for _, r := range results {
		row := summaryRow(r)
		i := slices.IndexFunc(rows, func(x []string) bool { return x[0] == r.Model })
		if i >= 0 {
			rows[i] = row
		} else {
			rows = append(rows, row)
		}
	}
	if err := writeFile(path, csvBytes(append([][]string{summaryHeader}, rows...))); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, "summary.md"), summaryMarkdown(rows, skipped)); err != nil {
		return err
	}
	return plotComparison(filepath.Join(out, "plots", "model_comparison.png"), rows)
}

// readSummary reads the rows (without header) of an existing summary; a
// summary with other columns (an older layout) is an error, not silently
// rewritten.
func readSummary(path string) ([][]string, error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	all, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(all) == 0 || !slices.Equal(all[0], summaryHeader) {
		return nil, fmt.Errorf("%s: not this program's summary (header differs); move it away", path)
	}
	return all[1:], nil
}

// col returns a summary row's value by column name.
func col(row []string, name string) string {
	i := slices.Index(summaryHeader, name)
	if i < 0 || i >= len(row) {
		return ""
	}
	return row[i]
}

func colFloat(row []string, name string) float64 {
	v, _ := strconv.ParseFloat(col(row, name), 64)
	return v
}

// summaryMarkdown is results/summary.md: the test scores of every model
// in the summary, with links to the plots.
func summaryMarkdown(rows [][]string, skipped []string) []byte {
	var b bytes.Buffer
	b.WriteString("# Stenosis study: test set\n\n")
	b.WriteString("| model | preset | best epoch | accuracy | macro precision | macro recall | macro F1 | weighted log loss | any-severe log loss | data | weights |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %.3f | %.3f | %.3f | %.3f | %.4f | %.4f | %s (%s) | %s |\n", col(r, "model_name"), col(r, "preset"), col(r, "best_epoch"),
			colFloat(r, "accuracy"), colFloat(r, "macro_precision"), colFloat(r, "macro_recall"), colFloat(r, "macro_f1"),
			colFloat(r, "weighted_log_loss"), colFloat(r, "any_severe_log_loss"), col(r, "data"), col(r, "data_fingerprint"), col(r, "weights"))
	}
	b.WriteString("\nWeighted log loss: the RSNA 2024 competition's, sample weights 1, 2, 4 for normal/mild, moderate, severe; " +
		"any-severe: its per-study term (is any level severe).\n\n")
	b.WriteString("![comparison](../plots/model_comparison.png)\n\n")
	for _, r := range rows {
		m := col(r, "model_name")
		fmt.Fprintf(&b, "- %s: [history](../plots/%s_model_training_history.png), [confusion matrix](../plots/%s_confusion_matrix.png), "+
			"[predictions](%s_predictions.csv), checkpoint `trained_models/%s_model_best_model.*`\n", m, m, m, m, m)
	}
	if len(skipped) > 0 {
		fmt.Fprintf(&b, "\n## Images skipped (--skip_bad_images)\n\n")
		for _, s := range skipped {
			fmt.Fprintf(&b, "- %s\n", s)
		}
	}
	return b.Bytes()
}
