package dicom

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Element is one data element of a data set.
type Element struct {
	Tag Tag
	// VR is the value representation: from the file in explicit VR, from a
	// small dictionary of the attributes this package uses in implicit VR,
	// "SQ" for undefined-length sequences, and "UN" otherwise.
	VR string
	// Value holds the raw value bytes; it is nil for sequences and
	// encapsulated pixel data.
	Value []byte
	// Items holds the items of a sequence, each a list of elements. In
	// implicit VR only sequences of undefined length are recognised; others
	// keep their bytes in Value.
	Items [][]Element
	// Fragments holds the items of encapsulated pixel data: the Basic Offset
	// Table (possibly empty) first, then the fragments.
	Fragments [][]byte
	// BigEndian is set when Value is in big-endian byte order.
	BigEndian bool
}

// order returns the byte order of the element's binary values.
func (e *Element) order() binary.ByteOrder {
	if e.BigEndian {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// Text returns a string value with its padding (trailing spaces and NULs,
// and leading spaces) removed. Multiple values stay joined by '\'.
func (e *Element) Text() string {
	return strings.TrimLeft(strings.TrimRight(string(e.Value), " \x00"), " ")
}

// Strings returns the values of a string element, split at '\' and trimmed.
func (e *Element) Strings() []string {
	t := strings.TrimRight(string(e.Value), " \x00")
	if t == "" {
		return nil
	}
	parts := strings.Split(t, `\`)
	for i, p := range parts {
		parts[i] = strings.Trim(p, " \x00")
	}
	return parts
}

// Floats returns the values of a DS, IS, FL, FD, US, SS, UL or SL element
// as float64.
func (e *Element) Floats() ([]float64, error) {
	switch e.VR {
	case "DS", "IS":
		parts := e.Strings()
		out := make([]float64, 0, len(parts))
		for _, p := range parts {
			f, err := strconv.ParseFloat(p, 64)
			if err != nil {
				return nil, fmt.Errorf("%v %s: value %q is not a number", e.Tag, e.VR, p)
			}
			out = append(out, f)
		}
		return out, nil
	case "FL":
		return e.binary(4, func(b []byte) float64 { return float64(math.Float32frombits(e.order().Uint32(b))) })
	case "FD":
		return e.binary(8, func(b []byte) float64 { return math.Float64frombits(e.order().Uint64(b)) })
	case "US":
		return e.binary(2, func(b []byte) float64 { return float64(e.order().Uint16(b)) })
	case "SS":
		return e.binary(2, func(b []byte) float64 { return float64(int16(e.order().Uint16(b))) })
	case "UL":
		return e.binary(4, func(b []byte) float64 { return float64(e.order().Uint32(b)) })
	case "SL":
		return e.binary(4, func(b []byte) float64 { return float64(int32(e.order().Uint32(b))) })
	}
	return nil, fmt.Errorf("%v: VR %q is not numeric", e.Tag, e.VR)
}

// Ints returns the values of an IS, US, SS, UL or SL element (or a DS
// holding whole numbers) as int.
func (e *Element) Ints() ([]int, error) {
	fs, err := e.Floats()
	if err != nil {
		return nil, err
	}
	out := make([]int, len(fs))
	for i, f := range fs {
		if f != math.Trunc(f) || math.Abs(f) > math.MaxInt32 {
			return nil, fmt.Errorf("%v %s: value %v is not an integer", e.Tag, e.VR, f)
		}
		out[i] = int(f)
	}
	return out, nil
}

// binary decodes a value of fixed-size binary numbers.
func (e *Element) binary(size int, conv func([]byte) float64) ([]float64, error) {
	if len(e.Value)%size != 0 {
		return nil, fmt.Errorf("%v %s: length %d is not a multiple of %d", e.Tag, e.VR, len(e.Value), size)
	}
	out := make([]float64, len(e.Value)/size)
	for i := range out {
		out[i] = conv(e.Value[i*size:])
	}
	return out, nil
}

// find returns the first element with tag t in a list of elements.
func find(elems []Element, t Tag) (*Element, bool) {
	for i := range elems {
		if elems[i].Tag == t {
			return &elems[i], true
		}
	}
	return nil, false
}
