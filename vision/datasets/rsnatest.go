package datasets

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
)

// The Kaggle test layout's file names.
const (
	TestSeriesCSV = "test_series_descriptions.csv"
	TestImagesDir = "test_images"
)

// LoadRSNATest lists what a submission grades in the RSNA 2024 test
// layout under root (test_series_descriptions.csv, test_images/): one
// unlabelled sample (Grade -1) per study with a Sagittal T2/STIR series and
// level. Without a coordinates CSV each sample is the series' middle slice
// with no point (X, Y NaN); with one (the layout of
// train_label_coordinates.csv) a level labelled on that series uses its
// slice and point, and the others the middle slice. Studies without a T2
// series are returned in noT2. Errors name the file.
func LoadRSNATest(root, coordinates string) (samples []Sample, noT2 []int64, err error) {
	t2, series, err := readSeriesDescriptions(filepath.Join(root, TestSeriesCSV))
	if err != nil {
		return nil, nil, err
	}
	var coords map[cellKey]Sample
	if coordinates != "" {
		if coords, _, err = readSCSCoordinates(coordinates, t2, series); err != nil {
			return nil, nil, err
		}
	}
	var studies []int64
	for _, s := range series {
		if !slices.Contains(studies, s.study) {
			studies = append(studies, s.study)
		}
	}
	slices.Sort(studies)
	for _, study := range studies {
		if len(t2[study]) == 0 {
			noT2 = append(noT2, study)
			continue
		}
		sid := t2[study][0]
		dir := filepath.Join(root, TestImagesDir, fmt.Sprint(study), fmt.Sprint(sid))
		files, err := seriesFiles(dir)
		if err != nil {
			return nil, nil, fmt.Errorf("datasets: study %d: %w", study, err)
		}
		if len(files) == 0 {
			return nil, nil, fmt.Errorf("datasets: study %d: no .dcm files in %s", study, dir)
		}
		for level := range Levels {
			s := Sample{StudyID: study, SeriesID: sid, Level: level, Grade: -1, X: math.NaN(), Y: math.NaN(), ImagePath: files[len(files)/2]}
			if c, ok := coords[cellKey{study, level}]; ok {
				s.SeriesID, s.InstanceNumber, s.X, s.Y = c.SeriesID, c.InstanceNumber, c.X, c.Y
				s.ImagePath = filepath.Join(root, TestImagesDir, fmt.Sprint(study), fmt.Sprint(c.SeriesID), fmt.Sprintf("%d.dcm", c.InstanceNumber))
			}
			samples = append(samples, s)
		}
	}
	return samples, noT2, nil
}
