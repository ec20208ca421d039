package dicom

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
)

// ErrNoPixelData is returned (wrapped) by [Image.Stored] when the data set
// has no (7FE0,0010) Pixel Data element.
var ErrNoPixelData = errors.New("no (7FE0,0010) pixel data")

// Image is a DICOM data set read for its pixels. The exported fields are
// filled from the header when the file is read; the pixels are decoded on
// the first call to Stored or Frame.
//
// Its methods are safe for concurrent use.
type Image struct {
	// Rows, Columns and Frames give the size; Frames is 1 when
	// NumberOfFrames is absent.
	Rows, Columns, Frames int
	// SamplesPerPixel is 1 for the grayscale images this package decodes.
	SamplesPerPixel int
	// BitsAllocated is the size of a sample in the uncompressed pixel data;
	// BitsStored of them carry the value, whose top bit is HighBit.
	BitsAllocated, BitsStored, HighBit int
	// Signed is PixelRepresentation 1 (two's complement samples).
	Signed bool
	// Photometric is the Photometric Interpretation, e.g. "MONOCHROME2".
	Photometric string
	// TransferSyntax is the transfer syntax UID; for a bare data set it is
	// the one the reader detected.
	TransferSyntax string
	// RescaleSlope and RescaleIntercept map stored values to modality
	// values; 1 and 0 when the elements are absent.
	RescaleSlope, RescaleIntercept float64
	// PixelSpacing is the row and column spacing in mm; zero if absent.
	PixelSpacing [2]float64
	// InstanceNumber is 0 when absent.
	InstanceNumber int

	// Identifying strings, without their padding; empty when absent.
	StudyInstanceUID, SeriesInstanceUID, SOPInstanceUID string
	SeriesDescription, PatientID                        string

	// ImagePositionPatient is the x, y, z position of the top left pixel in
	// mm; nil if absent.
	ImagePositionPatient []float64
	// ImageOrientationPatient is the direction cosines of the first row and
	// the first column; nil if absent.
	ImageOrientationPatient []float64

	name  string    // file name, for errors
	meta  []Element // group 0002
	elems []Element // the data set
	syn   syntax
	pix   *pixelCache
}

// pixelCache holds the decoded stored values, computed once.
type pixelCache struct {
	once   sync.Once
	values []int32
	err    error
}

// Element returns the element (group,element) of the data set or of the
// file meta information. Elements inside sequences are reached through the
// returned element's Items.
func (im *Image) Element(group, element uint16) (Element, bool) {
	t := NewTag(group, element)
	if e, ok := find(im.elems, t); ok {
		return *e, true
	}
	if e, ok := find(im.meta, t); ok {
		return *e, true
	}
	return Element{}, false
}

// Elements returns the top-level elements of the data set, in file order,
// without the file meta information.
func (im *Image) Elements() []Element { return im.elems }

// newImage fills an Image from the parsed header.
func newImage(meta, elems []Element, syn syntax) (*Image, error) {
	h := header{elems: elems}
	im := &Image{
		Rows:             h.us(tagRows, 0),
		Columns:          h.us(tagColumns, 0),
		Frames:           h.is(tagNumberOfFrames, 1),
		SamplesPerPixel:  h.us(tagSamplesPerPixel, 1),
		BitsAllocated:    h.us(tagBitsAllocated, 0),
		Photometric:      h.str(tagPhotometric),
		TransferSyntax:   syn.uid,
		RescaleSlope:     h.ds1(tagRescaleSlope, 1),
		RescaleIntercept: h.ds1(tagRescaleIntercept, 0),
		InstanceNumber:   h.is(tagInstanceNumber, 0),

		StudyInstanceUID:  h.str(tagStudyInstanceUID),
		SeriesInstanceUID: h.str(tagSeriesInstanceUID),
		SOPInstanceUID:    h.str(tagSOPInstanceUID),
		SeriesDescription: h.str(tagSeriesDescription),
		PatientID:         h.str(tagPatientID),

		ImagePositionPatient:    h.ds(tagImagePositionPatient, 3),
		ImageOrientationPatient: h.ds(tagImageOrientation, 6),

		meta:  meta,
		elems: elems,
		syn:   syn,
		pix:   new(pixelCache),
	}
	im.BitsStored = h.us(tagBitsStored, im.BitsAllocated)
	im.HighBit = h.us(tagHighBit, im.BitsStored-1)
	im.Signed = h.us(tagPixelRepresentation, 0) == 1
	if ps := h.ds(tagPixelSpacing, 2); ps != nil {
		im.PixelSpacing = [2]float64{ps[0], ps[1]}
	}
	if h.err != nil {
		return nil, h.err
	}
	return im, nil
}

// header reads typed attribute values, keeping the first error.
type header struct {
	elems []Element
	err   error
}

func (h *header) fail(e *Element, format string, args ...any) {
	if h.err == nil {
		h.err = fmt.Errorf("%v: %s", e.Tag, fmt.Sprintf(format, args...))
	}
}

// us reads an unsigned short; def when absent or empty.
func (h *header) us(t Tag, def int) int {
	e, ok := find(h.elems, t)
	if !ok || len(e.Value) == 0 {
		return def
	}
	if len(e.Value) < 2 {
		h.fail(e, "length %d, want 2 for US", len(e.Value))
		return def
	}
	return int(e.order().Uint16(e.Value))
}

// is reads an integer string; def when absent or empty.
func (h *header) is(t Tag, def int) int {
	e, ok := find(h.elems, t)
	if !ok {
		return def
	}
	s := e.Strings()
	if len(s) == 0 || s[0] == "" {
		return def
	}
	// Some writers put "3.0" in IS; a whole number is accepted.
	f, err := strconv.ParseFloat(s[0], 64)
	if err != nil || f != math.Trunc(f) || f < math.MinInt32 || f > math.MaxInt32 {
		h.fail(e, "value %q is not an integer string", s[0])
		return def
	}
	return int(f)
}

// ds reads n decimal strings; nil when absent or empty.
func (h *header) ds(t Tag, n int) []float64 {
	e, ok := find(h.elems, t)
	if !ok {
		return nil
	}
	s := e.Strings()
	if len(s) == 0 {
		return nil
	}
	if len(s) != n {
		h.fail(e, "%d values, want %d", len(s), n)
		return nil
	}
	out := make([]float64, n)
	for i, v := range s {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			h.fail(e, "value %q is not a decimal string", v)
			return nil
		}
		out[i] = f
	}
	return out
}

// ds1 reads one decimal string; def when absent or empty.
func (h *header) ds1(t Tag, def float64) float64 {
	if v := h.ds(t, 1); v != nil {
		return v[0]
	}
	return def
}

// str reads a string value without its padding.
func (h *header) str(t Tag) string {
	if e, ok := find(h.elems, t); ok {
		return e.Text()
	}
	return ""
}
