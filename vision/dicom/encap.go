package dicom

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// decodeEncapsulated splits encapsulated pixel data into frames and decodes
// each with the transfer syntax's codec.
func (im *Image) decodeEncapsulated(pd *Element, perFrame int) ([]int32, error) {
	frames, err := splitFrames(pd.Fragments, im.Frames)
	if err != nil {
		return nil, fmt.Errorf("%v pixel data: %w", pd.Tag, err)
	}
	// Bound the output by how much a codec can expand its input, so that a
	// small file cannot claim a huge image. Up to minLimit samples are
	// always allowed.
	total := 0
	for _, f := range frames {
		total += len(f)
	}
	if limit := max(int64(total)*im.maxExpansion(), minLimit); int64(perFrame)*int64(im.Frames) > limit {
		return nil, fmt.Errorf("%v pixel data: %d compressed bytes cannot hold %dx%dx%d samples",
			pd.Tag, total, im.Rows, im.Columns, im.Frames)
	}
	for i, f := range frames {
		if err := im.checkFrameSize(f); err != nil {
			return nil, fmt.Errorf("%v pixel data: frame %d: %w", pd.Tag, i, err)
		}
	}
	out := make([]int32, perFrame*im.Frames)
	for i, f := range frames {
		dst := out[i*perFrame : (i+1)*perFrame]
		if err := im.decodeFrame(f, dst); err != nil {
			if im.Frames > 1 {
				return nil, fmt.Errorf("%v pixel data: frame %d: %w", pd.Tag, i, err)
			}
			return nil, fmt.Errorf("%v pixel data: %w", pd.Tag, err)
		}
	}
	return out, nil
}

// minLimit is the number of samples (64 MiB decoded) that encapsulated
// pixel data may always claim, whatever its compressed size.
const minLimit = 1 << 24

// maxExpansion is how many samples one compressed byte may stand for. It
// is exact for RLE and the JPEG processes; JPEG-LS can code a whole line
// in one bit, and the bound of 4096 samples a byte only refuses images
// that are almost entirely uniform and larger than minLimit.
func (im *Image) maxExpansion() int64 {
	switch im.syn.codec {
	case codecRLE:
		return 64 // a 2-byte replicate run makes 128 bytes
	case codecJPEGLossless:
		return 8 // at least one bit per sample
	case codecJPEGBaseline, codecJPEGExtended:
		return 256 // at least two bits per 8x8 block
	case codecJPEGLS:
		return 4096
	}
	return 1
}

// checkFrameSize compares the size in a JPEG frame header with the image's
// before anything is allocated for the output.
func (im *Image) checkFrameSize(f []byte) error {
	switch im.syn.codec {
	case codecJPEGLossless, codecJPEGBaseline, codecJPEGExtended, codecJPEGLS:
	default:
		return nil
	}
	r := &markerReader{b: f}
	if m, err := r.next(); err != nil || m != mSOI {
		return errors.New("JPEG: no SOI marker")
	}
	for {
		m, err := r.next()
		if err != nil || m == mSOS || m == mEOI || (m >= mRST0 && m <= mRST0+7) {
			return nil // the decoder reports it
		}
		p, err := r.segment(m)
		if err != nil {
			return nil
		}
		isSOF := (m >= 0xC0 && m <= 0xCF && m != mDHT && m != 0xC8 && m != 0xCC) || m == mSOF55
		if isSOF && len(p) >= 5 {
			rows, cols := int(p[1])<<8|int(p[2]), int(p[3])<<8|int(p[4])
			if rows != im.Rows || cols != im.Columns {
				return fmt.Errorf("JPEG: frame is %dx%d, want %dx%d", rows, cols, im.Rows, im.Columns)
			}
			return nil
		}
	}
}

// decodeFrame decodes one compressed frame into raw samples.
func (im *Image) decodeFrame(f []byte, dst []int32) error {
	switch im.syn.codec {
	case codecRLE:
		return decodeRLE(f, im.Rows, im.Columns, im.BitsAllocated/8, dst)
	case codecJPEGLossless:
		return decodeJPEGLossless(f, im.Rows, im.Columns, dst)
	case codecJPEGBaseline:
		return decodeJPEGBaseline(f, im.Rows, im.Columns, dst)
	case codecJPEGExtended:
		return decodeJPEGExtended(f, im.Rows, im.Columns, dst)
	case codecJPEGLS:
		return decodeJPEGLS(f, im.Rows, im.Columns, dst)
	}
	return &UnsupportedTransferSyntaxError{UID: im.syn.uid}
}

// splitFrames groups the fragments of encapsulated pixel data (the Basic
// Offset Table first) into n frames (PS3.5 A.4).
func splitFrames(items [][]byte, n int) ([][]byte, error) {
	bot, frags := items[0], items[1:]
	if len(frags) == 0 {
		return nil, fmt.Errorf("no fragments after the Basic Offset Table")
	}
	switch {
	case n == 1:
		return [][]byte{concat(frags)}, nil
	case len(bot) > 0:
		return splitByOffsets(bot, frags, n)
	case len(frags) == n:
		return frags, nil
	}
	// No offset table: JPEG frames start with an SOI marker.
	var out [][]byte
	start := 0
	for i := 1; i <= len(frags); i++ {
		if i == len(frags) || (len(frags[i]) >= 2 && frags[i][0] == 0xFF && frags[i][1] == 0xD8) {
			out = append(out, concat(frags[start:i]))
			start = i
		}
	}
	if len(out) != n {
		return nil, fmt.Errorf("%d fragments and no Basic Offset Table: cannot tell the %d frames apart", len(frags), n)
	}
	return out, nil
}

// splitByOffsets groups fragments using the Basic Offset Table, whose
// offsets count from the first fragment's item tag.
func splitByOffsets(bot []byte, frags [][]byte, n int) ([][]byte, error) {
	if len(bot) != 4*n {
		return nil, fmt.Errorf("Basic Offset Table of %d bytes, want %d for %d frames", len(bot), 4*n, n)
	}
	starts := make(map[uint32]int, len(frags)) // item offset -> fragment index
	off := uint64(0)
	for i, f := range frags {
		starts[uint32(off)] = i
		off += 8 + uint64(len(f))
	}
	idx := make([]int, n+1)
	for k := 0; k < n; k++ {
		o := binary.LittleEndian.Uint32(bot[4*k:])
		i, ok := starts[o]
		if !ok || (k > 0 && i <= idx[k-1]) || (k == 0 && i != 0) {
			return nil, fmt.Errorf("Basic Offset Table entry %d (%d) does not start a new fragment", k, o)
		}
		idx[k] = i
	}
	idx[n] = len(frags)
	out := make([][]byte, n)
	for k := range out {
		out[k] = concat(frags[idx[k]:idx[k+1]])
	}
	return out, nil
}

// concat joins fragments, without copying a single one.
func concat(frags [][]byte) []byte {
	if len(frags) == 1 {
		return frags[0]
	}
	var out []byte
	for _, f := range frags {
		out = append(out, f...)
	}
	return out
}
