package dicom

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// JPEG markers (ITU T.81 Table B.1) this package acts on.
const (
	mSOF0  = 0xC0 // baseline DCT
	mSOF1  = 0xC1 // extended sequential DCT, Huffman
	mSOF3  = 0xC3 // lossless, Huffman
	mDHT   = 0xC4
	mRST0  = 0xD0
	mSOI   = 0xD8
	mEOI   = 0xD9
	mSOS   = 0xDA
	mDQT   = 0xDB
	mDNL   = 0xDC
	mDRI   = 0xDD
	mSOF55 = 0xF7 // JPEG-LS (T.87)
	mLSE   = 0xF8 // JPEG-LS preset parameters
)

// errEndOfData reports entropy-coded data that stops before the image is
// complete.
var errEndOfData = errors.New("entropy-coded data ends before the image is complete")

// markerReader walks the marker segments of a JPEG stream.
type markerReader struct {
	b   []byte
	pos int
}

// next returns the next marker, skipping fill bytes (0xFF).
func (r *markerReader) next() (byte, error) {
	if r.pos >= len(r.b) || r.b[r.pos] != 0xFF {
		return 0, fmt.Errorf("offset %d: want a marker", r.pos)
	}
	for r.pos < len(r.b) && r.b[r.pos] == 0xFF {
		r.pos++
	}
	if r.pos >= len(r.b) {
		return 0, errors.New("stream ends inside a marker")
	}
	m := r.b[r.pos]
	r.pos++
	if m == 0 {
		return 0, fmt.Errorf("offset %d: stuffed zero where a marker belongs", r.pos-2)
	}
	return m, nil
}

// segment returns the payload of a marker segment (after its length).
func (r *markerReader) segment(m byte) ([]byte, error) {
	if len(r.b)-r.pos < 2 {
		return nil, fmt.Errorf("marker %02X: stream ends before the segment length", m)
	}
	n := int(binary.BigEndian.Uint16(r.b[r.pos:]))
	if n < 2 || n > len(r.b)-r.pos {
		return nil, fmt.Errorf("marker %02X: segment length %d, %d bytes left", m, n, len(r.b)-r.pos)
	}
	p := r.b[r.pos+2 : r.pos+n]
	r.pos += n
	return p, nil
}

// huffman is a decoding table built as in T.81 F.2.2.3, with an 8-bit
// lookup for short codes.
type huffman struct {
	maxcode [18]int32 // largest code of each length, -1 if none
	valptr  [17]int32
	mincode [17]int32
	vals    []byte
	lut     [256]uint16 // code length<<8 | value; 0 when the code is longer than 8 bits
}

// parseDHT reads the tables of a DHT segment into tabs[class][id].
func parseDHT(p []byte, tabs *[2][4]*huffman) error {
	for len(p) > 0 {
		if len(p) < 17 {
			return errors.New("DHT: truncated table header")
		}
		class, id := p[0]>>4, p[0]&15
		if class > 1 || id > 3 {
			return fmt.Errorf("DHT: bad table class %d id %d", class, id)
		}
		var counts [17]int
		total := 0
		for l := 1; l <= 16; l++ {
			counts[l] = int(p[l])
			total += counts[l]
		}
		if total > 256 || 17+total > len(p) {
			return fmt.Errorf("DHT: %d codes, %d bytes left", total, len(p)-17)
		}
		h, err := newHuffman(counts, p[17:17+total])
		if err != nil {
			return err
		}
		tabs[class][id] = h
		p = p[17+total:]
	}
	return nil
}

// newHuffman builds a decoding table from the number of codes of each
// length and the values in code order.
func newHuffman(counts [17]int, vals []byte) (*huffman, error) {
	h := &huffman{vals: vals}
	code, k := int32(0), int32(0)
	for l := 1; l <= 16; l++ {
		h.valptr[l] = k
		h.mincode[l] = code
		code += int32(counts[l])
		k += int32(counts[l])
		if code > 1<<l {
			return nil, fmt.Errorf("DHT: too many codes of length %d", l)
		}
		if counts[l] == 0 {
			h.maxcode[l] = -1
		} else {
			h.maxcode[l] = code - 1
		}
		if l <= 8 {
			for c := h.mincode[l]; c < code; c++ {
				v := vals[h.valptr[l]+c-h.mincode[l]]
				lo := c << (8 - l)
				for j := int32(0); j < 1<<(8-l); j++ {
					h.lut[lo+j] = uint16(l)<<8 | uint16(v)
				}
			}
		}
		code <<= 1
	}
	h.maxcode[17] = 1 << 30 // sentinel
	return h, nil
}

// bitReader reads the entropy-coded data of a JPEG scan, removing stuffed
// zero bytes and stopping at markers.
type bitReader struct {
	b   []byte
	pos int
	acc uint64 // bits, most significant first
	n   uint   // number of valid bits in acc
}

// fill loads whole bytes into acc until it holds more than 56 bits or a
// marker or the end of the data is reached.
func (br *bitReader) fill() {
	for br.n <= 56 && br.pos < len(br.b) {
		c := br.b[br.pos]
		if c == 0xFF {
			if br.pos+1 < len(br.b) && br.b[br.pos+1] == 0 {
				br.pos += 2
			} else {
				return // a marker: the scan's data ends here
			}
		} else {
			br.pos++
		}
		br.acc |= uint64(c) << (56 - br.n)
		br.n += 8
	}
}

// bits reads k (<= 16) bits.
func (br *bitReader) bits(k uint) (int32, error) {
	if k == 0 {
		return 0, nil
	}
	if br.n < k {
		br.fill()
		if br.n < k {
			return 0, errEndOfData
		}
	}
	v := int32(br.acc >> (64 - k))
	br.acc <<= k
	br.n -= k
	return v, nil
}

// decode reads one Huffman-coded value.
func (br *bitReader) decode(h *huffman) (byte, error) {
	if br.n < 16 {
		br.fill()
	}
	if br.n >= 8 {
		if e := h.lut[br.acc>>56]; e != 0 {
			l := uint(e >> 8)
			br.acc <<= l
			br.n -= l
			return byte(e), nil
		}
	}
	code := int32(0)
	for l := 1; l <= 16; l++ {
		b, err := br.bits(1)
		if err != nil {
			return 0, err
		}
		code = code<<1 | b
		if code <= h.maxcode[l] {
			return h.vals[h.valptr[l]+code-h.mincode[l]], nil
		}
	}
	return 0, errors.New("invalid Huffman code")
}

// restart discards the bits left in the current byte and consumes the
// expected RSTn marker.
func (br *bitReader) restart(n int) error {
	br.acc, br.n = 0, 0
	// Skip to the marker; fill stopped in front of it.
	for br.pos < len(br.b) && br.b[br.pos] != 0xFF {
		br.pos++
	}
	for br.pos < len(br.b) && br.b[br.pos] == 0xFF {
		br.pos++
	}
	if br.pos >= len(br.b) || br.b[br.pos] != byte(mRST0+n%8) {
		return fmt.Errorf("missing RST%d marker", n%8)
	}
	br.pos++
	return nil
}

// extend turns the t received bits v into a signed difference (T.81 F.12).
func extend(v int32, t uint) int32 {
	if t == 0 {
		return 0
	}
	if v < 1<<(t-1) {
		return v - (1 << t) + 1
	}
	return v
}
