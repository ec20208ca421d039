package dicom

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/vertebra-ml/vertebra/internal/atomicfile"
)

// MR Image Storage, the SOP class of the files Write makes.
const mrImageStorage = "1.2.840.10008.5.1.4.1.1.4"

// implementationClassUID identifies files written by this package (a
// UUID-derived UID, PS3.5 B.2).
const implementationClassUID = "2.25.222140901265597150743248553314828274815"

// WriteSpec describes a single-frame MR image for Write: BitsAllocated 16,
// unsigned, MONOCHROME2.
type WriteSpec struct {
	Rows, Columns int
	// BitsStored is 12 or 16; with 12, every pixel must be below 4096.
	BitsStored int
	// Pixels holds Rows*Columns values, row-major.
	Pixels []uint16

	PatientID, StudyInstanceUID, SeriesInstanceUID, SOPInstanceUID, SeriesDescription string

	InstanceNumber int
	// PixelSpacing is the row and column spacing in mm; omitted when zero.
	PixelSpacing         [2]float64
	ImagePositionPatient [3]float64
	// ImageOrientationPatient holds the row and column direction cosines;
	// omitted when all zero.
	ImageOrientationPatient [6]float64
}

// WriteFile writes the image to path atomically (see internal/atomicfile),
// so that readers never see a partial file. The file gets mode 0644 before
// the umask.
func WriteFile(path string, s WriteSpec) error {
	b, err := encode(s)
	if err != nil {
		return fmt.Errorf("dicom: %s: %w", path, err)
	}
	if err := atomicfile.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("dicom: %w", err)
	}
	return nil
}

// Write writes the image as a DICOM Part 10 file in explicit VR little
// endian, with preamble and file meta information.
func Write(w io.Writer, s WriteSpec) error {
	b, err := encode(s)
	if err != nil {
		return fmt.Errorf("dicom: %w", err)
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("dicom: %w", err)
	}
	return nil
}

// encode checks the spec and returns the whole file.
func encode(s WriteSpec) ([]byte, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	var ds encoder
	ds.str(tagSOPClassUID, "UI", mrImageStorage)
	ds.str(tagSOPInstanceUID, "UI", s.SOPInstanceUID)
	ds.str(tagModality, "CS", "MR")
	ds.str(tagSeriesDescription, "LO", s.SeriesDescription)
	ds.str(tagPatientID, "LO", s.PatientID)
	ds.str(tagStudyInstanceUID, "UI", s.StudyInstanceUID)
	ds.str(tagSeriesInstanceUID, "UI", s.SeriesInstanceUID)
	ds.str(tagInstanceNumber, "IS", strconv.Itoa(s.InstanceNumber))
	ds.decimals(tagImagePositionPatient, s.ImagePositionPatient[:])
	if s.ImageOrientationPatient != [6]float64{} {
		ds.decimals(tagImageOrientation, s.ImageOrientationPatient[:])
	}
	ds.us(tagSamplesPerPixel, 1)
	ds.str(tagPhotometric, "CS", "MONOCHROME2")
	ds.us(tagRows, s.Rows)
	ds.us(tagColumns, s.Columns)
	if s.PixelSpacing != [2]float64{} {
		ds.decimals(tagPixelSpacing, s.PixelSpacing[:])
	}
	ds.us(tagBitsAllocated, 16)
	ds.us(tagBitsStored, s.BitsStored)
	ds.us(tagHighBit, s.BitsStored-1)
	ds.us(tagPixelRepresentation, 0)
	px := make([]byte, 2*len(s.Pixels))
	for i, v := range s.Pixels {
		binary.LittleEndian.PutUint16(px[2*i:], v)
	}
	ds.element(tagPixelData, "OW", px)
	if ds.err != nil {
		return nil, ds.err
	}

	var meta encoder
	meta.element(tagMetaVersion, "OB", []byte{0, 1})
	meta.str(tagMediaSOPClassUID, "UI", mrImageStorage)
	meta.str(tagMediaSOPInstanceUID, "UI", s.SOPInstanceUID)
	meta.str(tagTransferSyntaxUID, "UI", ExplicitVRLittleEndian)
	meta.str(tagImplementationClassUID, "UI", implementationClassUID)
	meta.str(tagImplementationVersion, "SH", "VERTEBRA")
	var out encoder
	out.b = make([]byte, 128, 128+4+12+len(meta.b)+len(ds.b))
	out.b = append(out.b, "DICM"...)
	out.element(tagMetaGroupLength, "UL", binary.LittleEndian.AppendUint32(nil, uint32(len(meta.b))))
	out.b = append(out.b, meta.b...)
	out.b = append(out.b, ds.b...)
	return out.b, nil
}

// check validates the spec against what the file can hold.
func (s *WriteSpec) check() error {
	if s.Rows < 1 || s.Rows > 65535 || s.Columns < 1 || s.Columns > 65535 {
		return fmt.Errorf("image size %dx%d: want 1..65535 each", s.Rows, s.Columns)
	}
	if s.BitsStored != 12 && s.BitsStored != 16 {
		return fmt.Errorf("bits stored %d: want 12 or 16", s.BitsStored)
	}
	if len(s.Pixels) != s.Rows*s.Columns {
		return fmt.Errorf("%d pixels, want %d for %dx%d", len(s.Pixels), s.Rows*s.Columns, s.Rows, s.Columns)
	}
	if 2*len(s.Pixels) > math.MaxUint32-1 {
		return fmt.Errorf("%d pixels do not fit one pixel data element", len(s.Pixels))
	}
	if s.BitsStored == 12 {
		for i, v := range s.Pixels {
			if v > 4095 {
				return fmt.Errorf("pixel %d (row %d, column %d) is %d, more than 12 bits", i, i/s.Columns, i%s.Columns, v)
			}
		}
	}
	for _, u := range []struct{ name, v string }{
		{"StudyInstanceUID", s.StudyInstanceUID},
		{"SeriesInstanceUID", s.SeriesInstanceUID},
		{"SOPInstanceUID", s.SOPInstanceUID},
	} {
		if err := checkUID(u.v); err != nil {
			return fmt.Errorf("%s %q: %w", u.name, u.v, err)
		}
	}
	for _, t := range []struct{ name, v string }{
		{"PatientID", s.PatientID},
		{"SeriesDescription", s.SeriesDescription},
	} {
		if len(t.v) > 64 {
			return fmt.Errorf("%s: %d characters, more than 64", t.name, len(t.v))
		}
		for _, c := range t.v {
			if c < ' ' || c > '~' || c == '\\' {
				return fmt.Errorf("%s %q: only printable ASCII without '\\' is allowed", t.name, t.v)
			}
		}
	}
	if s.InstanceNumber < math.MinInt32 || s.InstanceNumber > math.MaxInt32 {
		return fmt.Errorf("instance number %d does not fit IS", s.InstanceNumber)
	}
	return nil
}

// checkUID checks the syntax of a UID (PS3.5 9.1).
func checkUID(u string) error {
	if u == "" || len(u) > 64 {
		return errors.New("want 1..64 characters")
	}
	for _, c := range strings.Split(u, ".") {
		if c == "" || (len(c) > 1 && c[0] == '0') || strings.Trim(c, "0123456789") != "" {
			return errors.New("want dot-separated numbers without leading zeros")
		}
	}
	return nil
}

// formatDS formats a number as a decimal string of at most 16 characters,
// with as many digits as fit.
func formatDS(v float64) (string, error) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "", fmt.Errorf("%v is not a decimal string", v)
	}
	s := strconv.FormatFloat(v, 'g', -1, 64)
	for prec := 16; len(s) > 16 && prec > 0; prec-- {
		s = strconv.FormatFloat(v, 'g', prec, 64)
	}
	if len(s) > 16 {
		return "", fmt.Errorf("%v does not fit 16 characters", v)
	}
	return s, nil
}

// encoder appends explicit VR little endian elements, keeping the first
// error.
type encoder struct {
	b   []byte
	err error
}

// element appends one element, padding the value to even length.
func (e *encoder) element(t Tag, vr string, v []byte) {
	if len(v)%2 == 1 {
		pad := byte(' ')
		if vr == "UI" || vr == "OB" {
			pad = 0
		}
		v = append(v[:len(v):len(v)], pad)
	}
	e.b = binary.LittleEndian.AppendUint16(e.b, t.Group())
	e.b = binary.LittleEndian.AppendUint16(e.b, t.Element())
	e.b = append(e.b, vr...)
	if longVR(vr) {
		e.b = append(e.b, 0, 0)
		e.b = binary.LittleEndian.AppendUint32(e.b, uint32(len(v)))
	} else {
		if len(v) > 0xFFFF {
			e.err = fmt.Errorf("%v %s: value of %d bytes is too long", t, vr, len(v))
			return
		}
		e.b = binary.LittleEndian.AppendUint16(e.b, uint16(len(v)))
	}
	e.b = append(e.b, v...)
}

func (e *encoder) str(t Tag, vr, s string) { e.element(t, vr, []byte(s)) }

func (e *encoder) us(t Tag, v int) {
	e.element(t, "US", binary.LittleEndian.AppendUint16(nil, uint16(v)))
}

// decimals appends a multi-valued DS element.
func (e *encoder) decimals(t Tag, vs []float64) {
	parts := make([]string, len(vs))
	for i, v := range vs {
		s, err := formatDS(v)
		if err != nil {
			if e.err == nil {
				e.err = fmt.Errorf("%v: %w", t, err)
			}
			return
		}
		parts[i] = s
	}
	e.str(t, "DS", strings.Join(parts, `\`))
}
