package datasets

import (
	"fmt"
	"strings"
)

// Reason says why a (study, level) cell was left out of a data set.
type Reason int

// The reasons a cell is skipped.
const (
	NoLabel         Reason = iota // the grade cell in train.csv is empty
	NoT2Series                    // the study has no Sagittal T2/STIR series
	NoCoordinate                  // no stenosis coordinate on the T2 series
	MissingImage                  // the labelled DICOM file does not exist
	UnreadableImage               // the labelled DICOM file does not decode
	NoTrainRow                    // coordinates for a study absent from train.csv
	numReasons
)

// String describes the reason in words.
func (r Reason) String() string {
	switch r {
	case NoLabel:
		return "no label"
	case NoT2Series:
		return "no Sagittal T2/STIR series"
	case NoCoordinate:
		return "no SCS coordinate on the T2 series"
	case MissingImage:
		return "missing image"
	case UnreadableImage:
		return "unreadable image"
	case NoTrainRow:
		return "study not in train.csv"
	}
	return fmt.Sprintf("Reason(%d)", int(r))
}

// Skip is one (study, level) cell left out, and why.
type Skip struct {
	StudyID int64
	Level   int
	Reason  Reason
	// Path is the image file for MissingImage and UnreadableImage.
	Path string
	// Detail adds what was found instead, e.g. the series that holds the
	// coordinate, or the decoder's error.
	Detail string
}

// String formats the skip on one line.
func (s Skip) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "study %d %s: %s", s.StudyID, LevelName(s.Level), s.Reason)
	if s.Path != "" {
		fmt.Fprintf(&b, " %s", s.Path)
	}
	if s.Detail != "" {
		fmt.Fprintf(&b, " (%s)", s.Detail)
	}
	return b.String()
}

// Summary reports what [LoadRSNA] kept and what it skipped.
type Summary struct {
	Root    string
	Studies int // rows of train.csv
	Samples int // samples kept
	Skipped []Skip
}

// Count returns the number of skipped cells with the given reason.
func (s Summary) Count(r Reason) int {
	n := 0
	for _, k := range s.Skipped {
		if k.Reason == r {
			n++
		}
	}
	return n
}

// String reports the counts per reason, then every skipped cell.
func (s Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d studies, %d samples kept, %d cells skipped\n", s.Root, s.Studies, s.Samples, len(s.Skipped))
	for r := range numReasons {
		if n := s.Count(r); n > 0 {
			fmt.Fprintf(&b, "  %-36s %d\n", r.String()+":", n)
		}
	}
	for _, k := range s.Skipped {
		fmt.Fprintf(&b, "  skipped %s\n", k)
	}
	return b.String()
}
