package datasets

import (
	"fmt"
	"strings"

	"github.com/vertebra-ml/vertebra/vision/transforms"
)

// Levels is the number of lumbar levels graded per study.
const Levels = 5

// Grades is the number of stenosis grades.
const Grades = 3

// The grades, as class indices.
const (
	NormalMild = 0
	Moderate   = 1
	Severe     = 2
)

// Sample is one labelled slice: the spinal canal at one lumbar level of one
// study, graded 0 (Normal/Mild), 1 (Moderate) or 2 (Severe).
type Sample struct {
	StudyID, SeriesID int64
	// InstanceNumber is the labelled slice's instance number in its series.
	InstanceNumber int
	// Level is 0..4 for L1/L2..L5/S1.
	Level int
	// Grade is the class index, 0..2.
	Grade int
	// X, Y are the labelled point (column, row) in source pixels; NaN when
	// the source has no coordinates (a row CSV without x and y columns).
	X, Y float64
	// ImagePath is the image file; empty for generated samples.
	ImagePath string
}

// Dataset is an indexed collection of labelled slices.
type Dataset interface {
	// Len returns the number of samples.
	Len() int
	// Sample returns sample i, 0 <= i < Len().
	Sample(i int) Sample
	// Image decodes sample i's slice: one channel of raw modality values
	// (DICOM stored values after rescale, PNG gray levels).
	Image(i int) (transforms.Image, error)
}

func levelNames() [Levels]string { return [Levels]string{"L1/L2", "L2/L3", "L3/L4", "L4/L5", "L5/S1"} }

func gradeNames() [Grades]string { return [Grades]string{"Normal/Mild", "Moderate", "Severe"} }

// LevelName returns the level's name as the RSNA files spell it, e.g.
// "L4/L5", or "level(7)" for an index out of range.
func LevelName(level int) string {
	if level < 0 || level >= Levels {
		return fmt.Sprintf("level(%d)", level)
	}
	return levelNames()[level]
}

// LevelSuffix returns the level as column names spell it, e.g. "l4_l5".
func LevelSuffix(level int) string {
	return strings.ToLower(strings.ReplaceAll(LevelName(level), "/", "_"))
}

// ParseLevel accepts "L4/L5", "l4_l5", "L4-L5" and the like, any case.
func ParseLevel(s string) (int, error) {
	k := strings.ToLower(strings.TrimSpace(s))
	k = strings.NewReplacer("_", "/", "-", "/", " ", "/").Replace(k)
	for i, name := range levelNames() {
		if k == strings.ToLower(name) {
			return i, nil
		}
	}
	return 0, fmt.Errorf("unknown level %q, want one of L1/L2, L2/L3, L3/L4, L4/L5, L5/S1 (or l1_l2, ...)", s)
}

// GradeName returns the grade's label, e.g. "Moderate", or "grade(5)" for
// an index out of range.
func GradeName(grade int) string {
	if grade < 0 || grade >= Grades {
		return fmt.Sprintf("grade(%d)", grade)
	}
	return gradeNames()[grade]
}

// ParseGrade accepts "Normal/Mild", "Moderate" and "Severe", any case and
// with surrounding spaces, and the class indices "0", "1", "2".
func ParseGrade(s string) (int, error) {
	k := strings.ToLower(strings.TrimSpace(s))
	for i, name := range gradeNames() {
		if k == strings.ToLower(name) || k == fmt.Sprint(i) {
			return i, nil
		}
	}
	return 0, fmt.Errorf("unknown grade %q, want Normal/Mild, Moderate or Severe", s)
}
