package dicom

import (
	"encoding/binary"
	"fmt"
)

// undefinedLength marks a sequence, item or pixel data element whose end is
// found by a delimiter.
const undefinedLength = 0xFFFFFFFF

// maxDepth bounds the nesting of sequences, so that hostile input cannot
// exhaust the stack.
const maxDepth = 32

// parser decodes data elements from a buffer holding the whole input.
// Elements keep slices of the buffer instead of copies.
type parser struct {
	buf      []byte
	pos      int
	explicit bool // explicit VR
	big      bool // big endian
}

func (p *parser) order() binary.ByteOrder {
	if p.big {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// longVR reports whether an explicit VR has the 2 reserved bytes and a
// 32-bit length (PS3.5 7.1.2).
func longVR(vr string) bool {
	switch vr {
	case "OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV":
		return true
	}
	return false
}

// validVR reports whether two bytes can be a VR: two upper-case letters.
func validVR(b []byte) bool {
	return len(b) >= 2 && b[0] >= 'A' && b[0] <= 'Z' && b[1] >= 'A' && b[1] <= 'Z'
}

// header reads an element header that must lie before end. Items and
// delimiters (group FFFE) have no VR, even in explicit VR.
func (p *parser) header(end int) (tag Tag, vr string, length uint32, err error) {
	if end-p.pos < 8 {
		return 0, "", 0, fmt.Errorf("offset %d: truncated element header: %d bytes left, want 8", p.pos, end-p.pos)
	}
	o := p.order()
	b := p.buf[p.pos:end]
	tag = NewTag(o.Uint16(b), o.Uint16(b[2:]))
	switch {
	case tag.Group() == 0xFFFE || !p.explicit:
		length = o.Uint32(b[4:])
		p.pos += 8
		if tag.Group() != 0xFFFE {
			vr = implicitVR(tag)
		}
	case !validVR(b[4:6]):
		return 0, "", 0, fmt.Errorf("offset %d: %v: invalid VR %q", p.pos, tag, b[4:6])
	case longVR(string(b[4:6])):
		if len(b) < 12 {
			return 0, "", 0, fmt.Errorf("offset %d: %v: truncated element header: %d bytes left, want 12", p.pos, tag, len(b))
		}
		vr, length = string(b[4:6]), o.Uint32(b[8:])
		p.pos += 12
	default:
		vr, length = string(b[4:6]), uint32(o.Uint16(b[6:]))
		p.pos += 8
	}
	return tag, vr, length, nil
}

// dataset reads elements up to end. With delimited set the data set is an
// undefined-length item and must end with an item delimitation item.
func (p *parser) dataset(end, depth int, delimited bool) ([]Element, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("offset %d: sequences nested deeper than %d", p.pos, maxDepth)
	}
	var elems []Element
	for p.pos < end {
		start := p.pos
		tag, vr, length, err := p.header(end)
		if err != nil {
			return nil, err
		}
		switch tag {
		case tagItemDelim:
			if delimited {
				return elems, nil
			}
			continue // stray delimiter in a defined-length item: harmless
		case tagItem, tagSequenceDelim:
			return nil, fmt.Errorf("offset %d: unexpected %v outside a sequence", start, tag)
		}
		e, err := p.value(tag, vr, length, end, depth)
		if err != nil {
			return nil, err
		}
		elems = append(elems, e)
	}
	if delimited {
		return nil, fmt.Errorf("offset %d: item of undefined length has no item delimiter", p.pos)
	}
	return elems, nil
}

// value reads the value of an element whose header has been read.
func (p *parser) value(tag Tag, vr string, length uint32, end, depth int) (Element, error) {
	e := Element{Tag: tag, VR: vr, BigEndian: p.big}
	if length == undefinedLength {
		switch {
		case tag == tagPixelData:
			frags, err := p.fragments(end)
			if err != nil {
				return e, fmt.Errorf("%v pixel data: %w", tag, err)
			}
			e.Fragments = frags
			return e, nil
		case vr == "UN" && p.explicit:
			// PS3.5 6.2.2: an undefined-length UN is a sequence in
			// implicit VR little endian.
			explicit, big := p.explicit, p.big
			p.explicit, p.big = false, false
			items, err := p.items(tag, end, depth, true)
			p.explicit, p.big = explicit, big
			e.VR, e.Items, e.BigEndian = "SQ", items, false
			return e, err
		case vr == "SQ" || !p.explicit:
			// In implicit VR, undefined length means a sequence.
			items, err := p.items(tag, end, depth, true)
			e.VR, e.Items = "SQ", items
			return e, err
		default:
			return e, fmt.Errorf("offset %d: %v %s: undefined length is allowed only for sequences and pixel data", p.pos, tag, vr)
		}
	}
	if int64(length) > int64(end-p.pos) {
		return e, fmt.Errorf("offset %d: %v %s: length %d exceeds the %d bytes left", p.pos, tag, vr, length, end-p.pos)
	}
	valEnd := p.pos + int(length)
	if vr == "SQ" {
		items, err := p.items(tag, valEnd, depth, false)
		e.Items = items
		return e, err
	}
	e.Value = p.buf[p.pos:valEnd:valEnd]
	p.pos = valEnd
	return e, nil
}

// items reads the items of a sequence up to end, or up to its sequence
// delimiter when undefined is set.
func (p *parser) items(seq Tag, end, depth int, undefined bool) ([][]Element, error) {
	var items [][]Element
	for undefined || p.pos < end {
		start := p.pos
		tag, _, length, err := p.header(end)
		if err != nil {
			return nil, fmt.Errorf("%v sequence: %w", seq, err)
		}
		switch tag {
		case tagSequenceDelim:
			if undefined {
				return items, nil
			}
			return nil, fmt.Errorf("offset %d: %v sequence: sequence delimiter in a sequence of defined length", start, seq)
		case tagItem:
		default:
			return nil, fmt.Errorf("offset %d: %v sequence: found %v, want an item", start, seq, tag)
		}
		var elems []Element
		if length == undefinedLength {
			elems, err = p.dataset(end, depth+1, true)
		} else {
			if int64(length) > int64(end-p.pos) {
				return nil, fmt.Errorf("offset %d: %v sequence: item length %d exceeds the %d bytes left", start, seq, length, end-p.pos)
			}
			elems, err = p.dataset(p.pos+int(length), depth+1, false)
		}
		if err != nil {
			return nil, err
		}
		items = append(items, elems)
	}
	return items, nil
}

// fragments reads the items of encapsulated pixel data: the Basic Offset
// Table, then the fragments, up to the sequence delimiter.
func (p *parser) fragments(end int) ([][]byte, error) {
	var frags [][]byte
	for {
		start := p.pos
		tag, _, length, err := p.header(end)
		if err != nil {
			return nil, err
		}
		switch tag {
		case tagSequenceDelim:
			if len(frags) == 0 {
				return nil, fmt.Errorf("offset %d: no Basic Offset Table item", start)
			}
			return frags, nil
		case tagItem:
		default:
			return nil, fmt.Errorf("offset %d: found %v, want a fragment item", start, tag)
		}
		if int64(length) > int64(end-p.pos) { // also rejects undefined length
			return nil, fmt.Errorf("offset %d: fragment length %d exceeds the %d bytes left", start, length, end-p.pos)
		}
		n := p.pos + int(length)
		frags = append(frags, p.buf[p.pos:n:n])
		p.pos = n
	}
}
