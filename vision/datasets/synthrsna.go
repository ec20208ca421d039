package datasets

import (
	"cmp"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"

	"github.com/vertebra-ml/vertebra/vision/dicom"
)

// rsnaConditions are the condition prefixes of train.csv's label
// columns, in the Kaggle file's order.
func rsnaConditions() []string {
	return []string{
		"spinal_canal_stenosis", "left_neural_foraminal_narrowing", "right_neural_foraminal_narrowing",
		"left_subarticular_stenosis", "right_subarticular_stenosis",
	}
}

// uidRoot prefixes the UIDs of the files WriteRSNA makes.
const uidRoot = "2.25.80185120243"

// WriteRSNA writes the data set under dir in the RSNA 2024 Lumbar Spine
// layout: train.csv (all 25 label columns; those other than spinal canal
// stenosis are Normal/Mild), train_series_descriptions.csv (a Sagittal
// T2/STIR series per study, and a Sagittal T1 one when Config().T1 is
// set), train_label_coordinates.csv (the stenosis points on the T2
// series) and train_images/<study>/<series>/<instance>.dcm: Slices 16-bit
// unsigned DICOM files per series with BitsStored 12 or 16, the labelled
// slice in the middle. [LoadRSNA] on dir gives back the same samples and
// images. dir is created if needed; existing files are overwritten.
func (d *Synthetic) WriteRSNA(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("datasets: WriteRSNA: %w", err)
	}
	order := make([]int, len(d.studies))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(d.studies[a].id, d.studies[b].id) })

	train := [][]string{{"study_id"}}
	for _, c := range rsnaConditions() {
		for l := range Levels {
			train[0] = append(train[0], c+"_"+LevelSuffix(l))
		}
	}
	series := [][]string{{"study_id", "series_id", "series_description"}}
	coords := [][]string{{"study_id", "series_id", "instance_number", "condition", "level", "x", "y"}}
	for _, i := range order {
		st := &d.studies[i]
		id := strconv.FormatInt(st.id, 10)
		row := []string{id}
		for c := range rsnaConditions() {
			for l := range Levels {
				g := NormalMild
				if c == 0 {
					g = st.grades[l]
				}
				row = append(row, GradeName(g))
			}
		}
		train = append(train, row)
		series = append(series, []string{id, strconv.FormatInt(st.seriesT2, 10), SagittalT2})
		if d.cfg.T1 {
			series = append(series, []string{id, strconv.FormatInt(st.seriesT1, 10), SagittalT1})
		}
		for l := range Levels {
			s := d.samples[i*Levels+l]
			coords = append(coords, []string{id, strconv.FormatInt(s.SeriesID, 10), strconv.Itoa(s.InstanceNumber),
				SpinalCanalStenosis, LevelName(l), formatCoord(s.X), formatCoord(s.Y)})
		}
	}
	for name, rows := range map[string][][]string{TrainCSV: train, SeriesCSV: series, CoordinatesCSV: coords} {
		if err := writeCSV(filepath.Join(dir, name), rows); err != nil {
			return err
		}
	}
	return d.writeImages(dir)
}

// writeImages writes every study's series on GOMAXPROCS goroutines and
// returns the first error.
func (d *Synthetic) writeImages(dir string) error {
	work := make(chan int)
	errs := make(chan error, len(d.studies))
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(d.studies)) {
		wg.Go(func() {
			for i := range work {
				if err := d.writeStudy(dir, &d.studies[i]); err != nil {
					errs <- err
				}
			}
		})
	}
	for i := range d.studies {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	return <-errs // nil when the channel is empty
}

func (d *Synthetic) writeStudy(dir string, st *synthStudy) error {
	type seriesSpec struct {
		id   int64
		desc string
		con  contrast
	}
	all := []seriesSpec{{st.seriesT2, SagittalT2, contrastT2}}
	if d.cfg.T1 {
		all = append(all, seriesSpec{st.seriesT1, SagittalT1, contrastT1})
	}
	mmPerPixel := 28 / st.unit
	for _, se := range all {
		sdir := filepath.Join(dir, ImagesDir, strconv.FormatInt(st.id, 10), strconv.FormatInt(se.id, 10))
		if err := os.MkdirAll(sdir, 0o755); err != nil {
			return fmt.Errorf("datasets: WriteRSNA: %w", err)
		}
		for j := range d.cfg.Slices {
			off := j - d.cfg.Slices/2
			img := st.render(off, se.con)
			pix := make([]uint16, len(img.Pix))
			for k, v := range img.Pix {
				pix[k] = uint16(v) // whole numbers within BitsStored by construction
			}
			side := float64(off) * 4 // mm; instance order runs left to right or back
			if st.reverse {
				side = -side
			}
			inst := st.firstInstance + j
			spec := dicom.WriteSpec{
				Rows: st.h, Columns: st.w, BitsStored: st.bits, Pixels: pix,
				PatientID:         strconv.FormatInt(st.id, 10),
				StudyInstanceUID:  fmt.Sprintf("%s.%d", uidRoot, st.id),
				SeriesInstanceUID: fmt.Sprintf("%s.%d.%d", uidRoot, st.id, se.id),
				SOPInstanceUID:    fmt.Sprintf("%s.%d.%d.%d", uidRoot, st.id, se.id, inst),
				SeriesDescription: se.desc,
				InstanceNumber:    inst,
				PixelSpacing:      [2]float64{mmPerPixel, mmPerPixel},
				// Sagittal: rows run anterior to posterior, columns head to feet.
				ImagePositionPatient:    [3]float64{side, -float64(st.w) / 2 * mmPerPixel, float64(st.h) / 2 * mmPerPixel},
				ImageOrientationPatient: [6]float64{0, 1, 0, 0, 0, -1},
			}
			if err := dicom.WriteFile(filepath.Join(sdir, fmt.Sprintf("%d.dcm", inst)), spec); err != nil {
				return fmt.Errorf("datasets: WriteRSNA: %w", err)
			}
		}
	}
	return nil
}

func writeCSV(path string, rows [][]string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("datasets: %w", err)
	}
	w := csv.NewWriter(f)
	w.WriteAll(rows) // flushes
	if err := w.Error(); err != nil {
		f.Close()
		return fmt.Errorf("datasets: %s: %w", path, err)
	}
	return f.Close()
}
