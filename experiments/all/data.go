package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/vertebra-ml/vertebra/vision/datasets"
)

// loadData returns the three splits: the study's CSVs as they are, or the
// RSNA layout or synthetic spines split 70/15/15 by study, stratified by
// grade. Every image is decoded once first: one that does not decode stops
// the run before its first step, naming the file, or with
// --skip_bad_images is left out and listed.
func loadData(cfg *Config, src dataSource) (splits, string, error) {
	csvs := src.CSVs
	if src.Splits != "" {
		var err error
		if csvs, err = splitCSVs(src.Splits); err != nil {
			return splits{}, "", err
		}
	}
	var sp splits
	var desc string
	if csvs[0] != "" {
		var sets [3]datasets.Dataset
		for i, path := range csvs {
			r, err := datasets.ReadRows(path)
			if err != nil {
				return splits{}, "", fmt.Errorf("%s: %w", []string{"--train_csv", "--val_csv", "--test_csv"}[i], err)
			}
			sets[i] = r
		}
		cfg.Studies, cfg.SyntheticGrades = 0, [3]float64{}
		cfg.Data = "splits:" + strings.Join(csvs[:], ",")
		sp = splits{Train: sets[0], Val: sets[1], Test: sets[2]}
		desc = fmt.Sprintf("data: the study's splits %s", strings.Join(csvs[:], ", "))
	} else {
		var all datasets.Dataset
		if src.RSNA == "" {
			syn, err := datasets.NewSynthetic(datasets.SyntheticConfig{Studies: cfg.Studies, Seed: cfg.Seed, GradeProbs: cfg.SyntheticGrades})
			if err != nil {
				return splits{}, "", fmt.Errorf("--synthetic_studies: %w", err)
			}
			all, desc = syn, fmt.Sprintf("data: %d synthetic studies (%d samples, grades drawn %g/%g/%g; no --data given)", cfg.Studies, syn.Len(),
				cfg.SyntheticGrades[0], cfg.SyntheticGrades[1], cfg.SyntheticGrades[2])
			cfg.Data = "synthetic"
		} else {
			cfg.Studies, cfg.SyntheticGrades = 0, [3]float64{}
			r, summary, err := datasets.LoadRSNA(src.RSNA)
			if err != nil {
				return splits{}, "", fmt.Errorf("--data: %w", err)
			}
			all, desc = r, "data: "+strings.TrimSpace(summary.String())
			cfg.Data = src.RSNA
		}
		idx, err := datasets.SplitByStudy(datasets.Samples(all), []float64{0.70, 0.15, 0.15}, cfg.Seed)
		if err != nil {
			return splits{}, "", fmt.Errorf("%s\n%w", desc, err)
		}
		sp = splits{
			Train: datasets.Subset{Data: all, Indices: idx[0]},
			Val:   datasets.Subset{Data: all, Indices: idx[1]},
			Test:  datasets.Subset{Data: all, Indices: idx[2]},
		}
		desc += "\nsplits by study (70/15/15, stratified by grade)"
	}
	var err error
	if sp, err = preflight(sp, cfg.SkipBadImages); err != nil {
		return splits{}, "", err
	}
	for _, d := range []struct {
		name string
		ds   datasets.Dataset
	}{{"training", sp.Train}, {"validation", sp.Val}, {"test", sp.Test}} {
		if d.ds.Len() == 0 {
			return splits{}, "", fmt.Errorf("%s\nthe %s split is empty; the study needs at least one study in each split", desc, d.name)
		}
	}
	desc += fmt.Sprintf(": %d train, %d validation, %d test samples", sp.Train.Len(), sp.Val.Len(), sp.Test.Len())
	if len(sp.Skipped) > 0 {
		desc += fmt.Sprintf("\nskipped %d images that do not decode (--skip_bad_images):\n  %s", len(sp.Skipped), strings.Join(sp.Skipped, "\n  "))
	}
	cfg.DataFingerprint = fingerprint(sp)
	return sp, desc, nil
}

// preflight decodes every image of the three splits once.
func preflight(sp splits, skip bool) (splits, error) {
	sets := []*datasets.Dataset{&sp.Train, &sp.Val, &sp.Test}
	var msgs []string
	for _, ds := range sets {
		bad := datasets.Preflight(*ds, 0)
		if len(bad) == 0 {
			continue
		}
		for _, b := range bad {
			msgs = append(msgs, b.Error())
		}
		if skip {
			*ds = datasets.Without(*ds, bad)
		}
	}
	if len(msgs) > 0 && !skip {
		return sp, fmt.Errorf("%d images do not decode (--skip_bad_images leaves them out):\n  %s", len(msgs), strings.Join(msgs, "\n  "))
	}
	sp.Skipped = msgs
	return sp, nil
}

// fingerprint hashes every sample of the three splits: the same data give
// the same fingerprint, recorded with each model's results.
func fingerprint(sp splits) string {
	h := sha256.New()
	for i, ds := range []datasets.Dataset{sp.Train, sp.Val, sp.Test} {
		for _, s := range datasets.Samples(ds) {
			fmt.Fprintf(h, "%d|%d|%d|%d|%d|%d|%g|%g|%s\n", i, s.StudyID, s.SeriesID, s.InstanceNumber, s.Level, s.Grade, s.X, s.Y, s.ImagePath)
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}
