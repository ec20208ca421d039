package dicom

import (
	"encoding/binary"
	"fmt"
)

// decodeRLE decodes one RLE Lossless frame (PS3.5 G) of a single-sample
// image into raw samples. The frame holds one segment per byte of the
// sample, most significant byte first, each a PackBits stream.
func decodeRLE(f []byte, rows, cols, bytesPerSample int, dst []int32) error {
	if len(f) < 64 {
		return fmt.Errorf("RLE header: %d bytes, want 64", len(f))
	}
	nseg := int(binary.LittleEndian.Uint32(f))
	if nseg != bytesPerSample {
		return fmt.Errorf("RLE header: %d segments, want %d for %d-byte samples", nseg, bytesPerSample, bytesPerSample)
	}
	var offs [16]int
	for i := 0; i < nseg; i++ {
		offs[i] = int(binary.LittleEndian.Uint32(f[4+4*i:]))
	}
	offs[nseg] = len(f)
	n := rows * cols
	plane := make([]byte, n)
	for s := 0; s < nseg; s++ {
		lo, hi := offs[s], offs[s+1]
		if lo < 64 || lo > hi || hi > len(f) {
			return fmt.Errorf("RLE segment %d: offsets %d..%d outside the %d-byte frame", s, lo, hi, len(f))
		}
		if err := unpackBits(f[lo:hi], plane); err != nil {
			return fmt.Errorf("RLE segment %d: %w", s, err)
		}
		shift := uint(8 * (nseg - 1 - s))
		for i, b := range plane {
			if s == 0 {
				dst[i] = 0
			}
			dst[i] |= int32(uint32(b) << shift)
		}
	}
	return nil
}

// unpackBits fills dst from a PackBits segment. Bytes left over after dst
// is full are padding and ignored.
func unpackBits(src, dst []byte) error {
	i, o := 0, 0
	for o < len(dst) {
		if i >= len(src) {
			return fmt.Errorf("decodes to %d bytes, want %d", o, len(dst))
		}
		h := int8(src[i])
		i++
		switch {
		case h >= 0: // literal run of h+1 bytes
			n := int(h) + 1
			if i+n > len(src) {
				return fmt.Errorf("literal run of %d bytes at offset %d passes the end of the segment", n, i-1)
			}
			if o+n > len(dst) {
				return fmt.Errorf("decodes to more than %d bytes", len(dst))
			}
			copy(dst[o:], src[i:i+n])
			i += n
			o += n
		case h != -128: // replicate the next byte 1-h times
			n := 1 - int(h)
			if i >= len(src) {
				return fmt.Errorf("replicate run at offset %d passes the end of the segment", i-1)
			}
			if o+n > len(dst) {
				return fmt.Errorf("decodes to more than %d bytes", len(dst))
			}
			b := src[i]
			i++
			for k := 0; k < n; k++ {
				dst[o+k] = b
			}
			o += n
		}
	}
	return nil
}
