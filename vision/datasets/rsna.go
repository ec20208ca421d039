package datasets

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/vertebra-ml/vertebra/vision/transforms"
)

// The RSNA 2024 Lumbar Spine layout's file names and vocabulary.
const (
	TrainCSV            = "train.csv"
	SeriesCSV           = "train_series_descriptions.csv"
	CoordinatesCSV      = "train_label_coordinates.csv"
	ImagesDir           = "train_images"
	SagittalT2          = "Sagittal T2/STIR"
	SagittalT1          = "Sagittal T1"
	SpinalCanalStenosis = "Spinal Canal Stenosis"
	scsColumnPrefix     = "spinal_canal_stenosis_"
)

// RSNA is the spinal canal stenosis part of an RSNA 2024 Lumbar Spine
// folder: one [Sample] per study and level that has a grade, a Sagittal
// T2/STIR series, a stenosis coordinate on that series and a readable
// image. Samples are ordered by study id, then level.
type RSNA struct {
	root    string
	samples []Sample
}

// Len returns the number of samples.
func (d *RSNA) Len() int { return len(d.samples) }

// Sample returns sample i.
func (d *RSNA) Sample(i int) Sample { return d.samples[i] }

// Image decodes sample i's DICOM slice.
func (d *RSNA) Image(i int) (transforms.Image, error) { return ReadImage(d.samples[i].ImagePath) }

// Root returns the folder the data set was read from.
func (d *RSNA) Root() string { return d.root }

// SeriesFiles returns the paths of a series' instance files in numeric
// order of their names (9.dcm before 10.dcm).
func (d *RSNA) SeriesFiles(studyID, seriesID int64) ([]string, error) {
	return seriesFiles(filepath.Join(d.root, ImagesDir, fmt.Sprint(studyID), fmt.Sprint(seriesID)))
}

func seriesFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	type file struct {
		n    int
		name string
	}
	var files []file
	for _, e := range entries {
		stem, ok := strings.CutSuffix(e.Name(), ".dcm")
		n, err := strconv.Atoi(stem)
		if !ok || err != nil || e.IsDir() {
			continue
		}
		files = append(files, file{n, e.Name()})
	}
	slices.SortFunc(files, func(a, b file) int { return cmp.Compare(a.n, b.n) })
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = filepath.Join(dir, f.name)
	}
	return paths, nil
}

// LoadRSNA reads the RSNA layout under root: train.csv,
// train_series_descriptions.csv, train_label_coordinates.csv and the
// labelled DICOM files under train_images/<study>/<series>/<instance>.dcm.
//
// For every study of train.csv and every level it keeps the spinal canal
// stenosis grade, the coordinate of that condition on the study's Sagittal
// T2/STIR series (coordinates on other series, such as a Sagittal T1, do
// not count), its instance and its (x, y). Cells without a grade, studies
// without a T2 series, levels without a coordinate on it, and images that
// are missing or do not decode are skipped and listed in the Summary. Every
// labelled image is decoded once here, in parallel, to find unreadable
// files early. Where one level has several coordinates on the T2 series
// the first row wins.
//
// A file that cannot be read as the layout describes (missing or wrong
// header, wrong field count, a non-numeric id or coordinate, an unknown
// grade or level) is an error naming the file, line, column and value.
func LoadRSNA(root string) (*RSNA, Summary, error) {
	sum := Summary{Root: root}
	t2, series, err := readSeriesDescriptions(filepath.Join(root, SeriesCSV))
	if err != nil {
		return nil, sum, err
	}
	grades, order, err := readTrainLabels(filepath.Join(root, TrainCSV))
	if err != nil {
		return nil, sum, err
	}
	coords, elsewhere, err := readSCSCoordinates(filepath.Join(root, CoordinatesCSV), t2, series)
	if err != nil {
		return nil, sum, err
	}
	sum.Studies = len(order)
	var candidates []Sample
	for _, study := range order {
		for level := range Levels {
			g := grades[study][level]
			skip := Skip{StudyID: study, Level: level}
			c, hasCoord := coords[cellKey{study, level}]
			switch {
			case g < 0:
				skip.Reason = NoLabel
			case len(t2[study]) == 0:
				skip.Reason = NoT2Series
				skip.Detail = describeSeries(series, study)
			case !hasCoord:
				skip.Reason = NoCoordinate
				if s, ok := elsewhere[cellKey{study, level}]; ok {
					skip.Detail = fmt.Sprintf("only on series %d (%s)", s, series[s].desc)
				}
			default:
				c.Grade = g
				c.ImagePath = filepath.Join(root, ImagesDir, fmt.Sprint(study), fmt.Sprint(c.SeriesID),
					fmt.Sprintf("%d.dcm", c.InstanceNumber))
				candidates = append(candidates, c)
				continue
			}
			sum.Skipped = append(sum.Skipped, skip)
		}
	}
	for k := range coords {
		if _, ok := grades[k.study]; !ok {
			sum.Skipped = append(sum.Skipped, Skip{StudyID: k.study, Level: k.level, Reason: NoTrainRow})
		}
	}
	bad := checkImages(candidates)
	d := &RSNA{root: root}
	for _, s := range candidates {
		if err, ok := bad[s.ImagePath]; ok {
			skip := Skip{StudyID: s.StudyID, Level: s.Level, Reason: UnreadableImage, Path: s.ImagePath, Detail: err.Error()}
			if errors.Is(err, fs.ErrNotExist) {
				skip.Reason, skip.Detail = MissingImage, ""
			}
			sum.Skipped = append(sum.Skipped, skip)
			continue
		}
		d.samples = append(d.samples, s)
	}
	slices.SortFunc(d.samples, func(a, b Sample) int {
		return cmp.Or(cmp.Compare(a.StudyID, b.StudyID), cmp.Compare(a.Level, b.Level))
	})
	slices.SortStableFunc(sum.Skipped, func(a, b Skip) int {
		return cmp.Or(cmp.Compare(a.StudyID, b.StudyID), cmp.Compare(a.Level, b.Level))
	})
	sum.Samples = len(d.samples)
	return d, sum, nil
}

type cellKey struct {
	study int64
	level int
}

type seriesInfo struct {
	study int64
	desc  string
}

// readSeriesDescriptions returns each study's Sagittal T2/STIR series and
// every series' study and description.
func readSeriesDescriptions(path string) (map[int64][]int64, map[int64]seriesInfo, error) {
	t, err := readTable(path, "study_id", "series_id", "series_description")
	if err != nil {
		return nil, nil, err
	}
	t2 := map[int64][]int64{}
	series := map[int64]seriesInfo{}
	for i := range t.rows {
		study, err := t.int64(i, "study_id")
		if err != nil {
			return nil, nil, err
		}
		s, err := t.int64(i, "series_id")
		if err != nil {
			return nil, nil, err
		}
		desc := t.str(i, "series_description")
		if prev, dup := series[s]; dup && prev.study != study {
			return nil, nil, t.errorf(i, "series_id", "series %d listed under studies %d and %d", s, prev.study, study)
		}
		series[s] = seriesInfo{study, desc}
		if strings.EqualFold(desc, SagittalT2) && !slices.Contains(t2[study], s) {
			t2[study] = append(t2[study], s)
		}
	}
	return t2, series, nil
}

func describeSeries(series map[int64]seriesInfo, study int64) string {
	var descs []string
	for _, s := range series {
		if s.study == study {
			descs = append(descs, s.desc)
		}
	}
	slices.Sort(descs)
	if len(descs) == 0 {
		return "no series listed"
	}
	return "series: " + strings.Join(descs, ", ")
}

// readTrainLabels returns each study's spinal canal stenosis grades (-1 for
// an empty cell) and the studies in file order. Every label column's value
// must be a known grade or empty.
func readTrainLabels(path string) (map[int64][Levels]int, []int64, error) {
	required := []string{"study_id"}
	for l := range Levels {
		required = append(required, scsColumnPrefix+LevelSuffix(l))
	}
	t, err := readTable(path, required...)
	if err != nil {
		return nil, nil, err
	}
	grades := map[int64][Levels]int{}
	var order []int64
	for i := range t.rows {
		study, err := t.int64(i, "study_id")
		if err != nil {
			return nil, nil, err
		}
		if _, dup := grades[study]; dup {
			return nil, nil, t.errorf(i, "study_id", "study %d appears twice", study)
		}
		for _, name := range t.header {
			if name == "study_id" {
				continue
			}
			if v := t.str(i, name); v != "" {
				if _, err := ParseGrade(v); err != nil {
					return nil, nil, t.errorf(i, name, "%v", err)
				}
			}
		}
		var g [Levels]int
		for l := range Levels {
			g[l] = -1
			if v := t.str(i, required[1+l]); v != "" {
				g[l], _ = ParseGrade(v) // checked above
			}
		}
		grades[study] = g
		order = append(order, study)
	}
	return grades, order, nil
}

// readSCSCoordinates returns the first spinal canal stenosis coordinate of
// each (study, level) on the study's Sagittal T2/STIR series, and for cells
// whose coordinates lie only on other series, one of those series.
func readSCSCoordinates(path string, t2 map[int64][]int64, series map[int64]seriesInfo) (map[cellKey]Sample, map[cellKey]int64, error) {
	t, err := readTable(path, "study_id", "series_id", "instance_number", "condition", "level", "x", "y")
	if err != nil {
		return nil, nil, err
	}
	coords := map[cellKey]Sample{}
	elsewhere := map[cellKey]int64{}
	for i := range t.rows {
		// Every row is parsed, so that a malformed file fails whatever
		// condition the bad row is about.
		var s Sample
		var err error
		if s.StudyID, err = t.int64(i, "study_id"); err != nil {
			return nil, nil, err
		}
		if s.SeriesID, err = t.int64(i, "series_id"); err != nil {
			return nil, nil, err
		}
		if s.InstanceNumber, err = t.int(i, "instance_number"); err != nil {
			return nil, nil, err
		}
		if s.Level, err = ParseLevel(t.str(i, "level")); err != nil {
			return nil, nil, t.errorf(i, "level", "%v", err)
		}
		if s.X, err = t.float(i, "x"); err != nil {
			return nil, nil, err
		}
		if s.Y, err = t.float(i, "y"); err != nil {
			return nil, nil, err
		}
		if !strings.EqualFold(t.str(i, "condition"), SpinalCanalStenosis) {
			continue
		}
		k := cellKey{s.StudyID, s.Level}
		if !slices.Contains(t2[s.StudyID], s.SeriesID) {
			if _, ok := series[s.SeriesID]; ok {
				elsewhere[k] = s.SeriesID
			}
			continue
		}
		if _, dup := coords[k]; !dup {
			coords[k] = s
		}
	}
	return coords, elsewhere, nil
}

// checkImages stats and decodes every distinct image path of samples on
// up to GOMAXPROCS goroutines and returns the errors by path.
func checkImages(samples []Sample) map[string]error {
	paths := map[string]bool{}
	for _, s := range samples {
		paths[s.ImagePath] = true
	}
	work := make(chan string)
	bad := map[string]error{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), max(len(paths), 1)) {
		wg.Go(func() {
			for p := range work {
				if _, err := os.Stat(p); err != nil {
					mu.Lock()
					bad[p] = err
					mu.Unlock()
					continue
				}
				if _, err := ReadImage(p); err != nil {
					mu.Lock()
					bad[p] = err
					mu.Unlock()
				}
			}
		})
	}
	for p := range paths {
		work <- p
	}
	close(work)
	wg.Wait()
	return bad
}
