package dicom

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// MaxInputSize is the largest input Read and ReadFile accept, and the
// largest data set a deflated file may inflate to.
const MaxInputSize = 1 << 30

// ReadFile reads the DICOM file at path. Errors name the path.
func ReadFile(path string) (*Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dicom: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > MaxInputSize {
		return nil, fmt.Errorf("dicom: %s: file is %d bytes, more than the %d allowed", path, fi.Size(), MaxInputSize)
	}
	b, err := readAll(f, MaxInputSize)
	if err != nil {
		return nil, fmt.Errorf("dicom: %s: %w", path, err)
	}
	im, err := parse(b)
	if err != nil {
		return nil, fmt.Errorf("dicom: %s: %w", path, err)
	}
	im.name = path
	return im, nil
}

// Read reads a DICOM file or bare data set from r. Inputs larger than
// MaxInputSize are refused.
func Read(r io.Reader) (*Image, error) {
	b, err := readAll(r, MaxInputSize)
	if err != nil {
		return nil, fmt.Errorf("dicom: %w", err)
	}
	im, err := parse(b)
	if err != nil {
		return nil, fmt.Errorf("dicom: %w", err)
	}
	return im, nil
}

// readAll reads r to the end, refusing more than limit bytes.
func readAll(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("input is larger than %d bytes", limit)
	}
	return b, nil
}

// parse decodes the header of a whole input held in memory.
func parse(b []byte) (*Image, error) {
	if len(b) == 0 {
		return nil, errors.New("empty input")
	}
	pos, part10 := 0, false
	switch {
	case len(b) >= 132 && string(b[128:132]) == "DICM":
		pos, part10 = 132, true
	case len(b) >= 4 && string(b[:4]) == "DICM": // preamble stripped
		pos, part10 = 4, true
	}
	var meta []Element
	if part10 || (len(b) >= 2 && binary.LittleEndian.Uint16(b) == 0x0002) {
		p := parser{buf: b, pos: pos, explicit: true}
		var err error
		if meta, err = p.metaGroup(); err != nil {
			return nil, fmt.Errorf("file meta information: %w", err)
		}
		pos = p.pos
	}
	if pos == len(b) {
		return nil, fmt.Errorf("no data set after the %d-byte header", pos)
	}
	ts := ""
	if e, ok := find(meta, tagTransferSyntaxUID); ok {
		ts = e.Text()
	}
	if ts == "" {
		var err error
		if ts, err = guessSyntax(b[pos:]); err != nil {
			return nil, err
		}
	}
	syn := lookupSyntax(ts)
	// Parse the whole buffer from pos, so that errors give file offsets.
	p := parser{buf: b, pos: pos, explicit: syn.explicit, big: syn.bigEndian}
	if syn.deflated {
		body, err := inflate(b[pos:])
		if err != nil {
			return nil, fmt.Errorf("deflated data set: %w", err)
		}
		p.buf, p.pos = body, 0
	}
	elems, err := p.dataset(len(p.buf), 0, false)
	if err != nil {
		if syn.deflated {
			return nil, fmt.Errorf("inflated data set: %w", err)
		}
		return nil, err
	}
	if len(elems) == 0 {
		return nil, errors.New("data set has no elements")
	}
	return newImage(meta, elems, syn)
}

// metaGroup reads the group 0002 elements, which are explicit VR little
// endian; elements without a VR, as some old writers make them, are read
// as implicit VR. It trusts the groups of the elements, not the group
// length, which writers get wrong.
func (p *parser) metaGroup() ([]Element, error) {
	var meta []Element
	for len(p.buf)-p.pos >= 8 && binary.LittleEndian.Uint16(p.buf[p.pos:]) == 0x0002 {
		p.explicit = validVR(p.buf[p.pos+4:])
		tag, vr, length, err := p.header(len(p.buf))
		if err != nil {
			return nil, err
		}
		if length == undefinedLength {
			return nil, fmt.Errorf("%v: undefined length", tag)
		}
		e, err := p.value(tag, vr, length, len(p.buf), 0)
		if err != nil {
			return nil, err
		}
		meta = append(meta, e)
	}
	return meta, nil
}

// guessSyntax decides the encoding of a data set without a transfer syntax,
// as dcmtk does: explicit VR little endian if the first element has a VR,
// implicit VR little endian otherwise. The first group must be one a data
// set starts with, so that arbitrary bytes are not taken for a data set.
func guessSyntax(b []byte) (string, error) {
	if len(b) < 8 {
		return "", fmt.Errorf("%d bytes are too few for a data set", len(b))
	}
	if g := binary.LittleEndian.Uint16(b); g > 0x0008 || g&1 == 1 {
		return "", fmt.Errorf("not DICOM: no \"DICM\" prefix, and the first element %v does not start a data set",
			NewTag(g, binary.LittleEndian.Uint16(b[2:])))
	}
	if validVR(b[4:6]) {
		return ExplicitVRLittleEndian, nil
	}
	return ImplicitVRLittleEndian, nil
}

// inflate decompresses a raw DEFLATE stream of at most MaxInputSize bytes.
func inflate(b []byte) ([]byte, error) {
	r := flate.NewReader(bytes.NewReader(b))
	defer r.Close()
	out, err := io.ReadAll(io.LimitReader(r, MaxInputSize+1))
	if err != nil {
		return nil, err
	}
	if len(out) > MaxInputSize {
		return nil, fmt.Errorf("inflates to more than %d bytes", MaxInputSize)
	}
	return out, nil
}
