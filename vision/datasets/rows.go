package datasets

import (
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vertebra-ml/vertebra/vision/transforms"
)

// Rows is a data set read from one of the study's split CSVs: columns
// image_path, row_id, level and severity, one row per sample, and
// optionally study_id, series_id, instance_number, x and y. Image paths may
// name PNG or DICOM files; relative ones are relative to the CSV's folder.
type Rows struct {
	path    string
	samples []Sample
}

// Len returns the number of rows.
func (d *Rows) Len() int { return len(d.samples) }

// Sample returns row i's sample; its ImagePath is resolved against the
// CSV's folder.
func (d *Rows) Sample(i int) Sample { return d.samples[i] }

// Image decodes row i's image (PNG or DICOM).
func (d *Rows) Image(i int) (transforms.Image, error) { return ReadImage(d.samples[i].ImagePath) }

// ReadRows reads a split CSV. Columns are found by header name. level may
// be written "L1/L2" or "l1_l2", severity "Normal/Mild", "Moderate" or
// "Severe". When the optional id columns are absent, the study id is taken
// from row_id ("<study>_spinal_canal_stenosis_l1_l2") or from the path
// (".../<study>/<series>/<instance>.dcm"), and X, Y are NaN without x and
// y columns. Unknown levels or grades and malformed numbers are errors
// naming the file, line, column and value.
func ReadRows(path string) (*Rows, error) {
	t, err := readTable(path, "image_path", "row_id", "level", "severity")
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	d := &Rows{path: path}
	for i := range t.rows {
		s := Sample{X: math.NaN(), Y: math.NaN()}
		if s.ImagePath = t.str(i, "image_path"); s.ImagePath == "" {
			return nil, t.errorf(i, "image_path", "empty")
		}
		if !filepath.IsAbs(s.ImagePath) {
			s.ImagePath = filepath.Join(dir, filepath.FromSlash(s.ImagePath))
		}
		if s.Level, err = ParseLevel(t.str(i, "level")); err != nil {
			return nil, t.errorf(i, "level", "%v", err)
		}
		if s.Grade, err = ParseGrade(t.str(i, "severity")); err != nil {
			return nil, t.errorf(i, "severity", "%v", err)
		}
		s.StudyID, s.SeriesID, s.InstanceNumber = idsFromPath(t.str(i, "image_path"))
		if id, ok := studyFromRowID(t.str(i, "row_id")); ok {
			s.StudyID = id
		}
		if err := readOptional(t, i, &s); err != nil {
			return nil, err
		}
		d.samples = append(d.samples, s)
	}
	return d, nil
}

// readOptional fills the sample's ids and point from the optional columns
// that are present and non-empty.
func readOptional(t *table, i int, s *Sample) error {
	var err error
	if t.has("study_id") && t.str(i, "study_id") != "" {
		if s.StudyID, err = t.int64(i, "study_id"); err != nil {
			return err
		}
	}
	if t.has("series_id") && t.str(i, "series_id") != "" {
		if s.SeriesID, err = t.int64(i, "series_id"); err != nil {
			return err
		}
	}
	if t.has("instance_number") && t.str(i, "instance_number") != "" {
		if s.InstanceNumber, err = t.int(i, "instance_number"); err != nil {
			return err
		}
	}
	if t.has("x") && t.has("y") && t.str(i, "x") != "" && t.str(i, "y") != "" {
		if s.X, err = t.float(i, "x"); err != nil {
			return err
		}
		if s.Y, err = t.float(i, "y"); err != nil {
			return err
		}
	}
	return nil
}

// studyFromRowID parses the leading study id of "<study>_<condition>_<level>".
func studyFromRowID(id string) (int64, bool) {
	head, _, ok := strings.Cut(id, "_")
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(head, 10, 64)
	return v, err == nil
}

// idsFromPath reads study, series and instance from ".../<study>/<series>/<instance>.<ext>".
func idsFromPath(p string) (study, series int64, instance int) {
	parts := strings.Split(filepath.ToSlash(p), "/")
	if len(parts) < 3 {
		return 0, 0, 0
	}
	n := len(parts)
	st, err1 := strconv.ParseInt(parts[n-3], 10, 64)
	se, err2 := strconv.ParseInt(parts[n-2], 10, 64)
	in, err3 := strconv.Atoi(strings.TrimSuffix(parts[n-1], filepath.Ext(parts[n-1])))
	if err1 != nil || err2 != nil || err3 != nil {
		return 0, 0, 0
	}
	return st, se, in
}

// WriteRows writes samples as a split CSV that [ReadRows] and the study's
// Python code read: image_path (relative to the CSV's folder), row_id
// ("<study>_spinal_canal_stenosis_l1_l2"), level ("L1/L2"), severity
// ("Normal/Mild"), then study_id, series_id, instance_number, x and y
// (empty when NaN).
func WriteRows(path string, samples []Sample) error {
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("datasets: WriteRows %s: %w", path, err)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("datasets: WriteRows: %w", err)
	}
	w := csv.NewWriter(f)
	w.Write([]string{"image_path", "row_id", "level", "severity", "study_id", "series_id", "instance_number", "x", "y"})
	for i, s := range samples {
		if s.Level < 0 || s.Level >= Levels || s.Grade < 0 || s.Grade >= Grades {
			f.Close()
			return fmt.Errorf("datasets: WriteRows %s: sample %d has level %d and grade %d, want 0..4 and 0..2",
				path, i, s.Level, s.Grade)
		}
		p := s.ImagePath
		if abs, err := filepath.Abs(p); err == nil && p != "" {
			if rel, err := filepath.Rel(dir, abs); err == nil {
				p = rel
			}
		}
		w.Write([]string{
			filepath.ToSlash(p),
			fmt.Sprintf("%d_spinal_canal_stenosis_%s", s.StudyID, LevelSuffix(s.Level)),
			LevelName(s.Level), GradeName(s.Grade),
			strconv.FormatInt(s.StudyID, 10), strconv.FormatInt(s.SeriesID, 10), strconv.Itoa(s.InstanceNumber),
			formatCoord(s.X), formatCoord(s.Y),
		})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return fmt.Errorf("datasets: WriteRows %s: %w", path, err)
	}
	return f.Close()
}

func formatCoord(v float64) string {
	if math.IsNaN(v) {
		return ""
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
