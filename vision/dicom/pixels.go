package dicom

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// maxValues bounds the decoded size of an image: 1 GiB of int32.
const maxValues = 1 << 28

// Stored returns the stored pixel values, Frames*Rows*Columns of them in
// row-major order (frame, row, column): masked to BitsStored and, for
// signed data, sign-extended from HighBit; before rescale and before any
// MONOCHROME1 inversion. The pixels are decoded on the first call; later
// calls return the same slice, which the caller must not modify.
func (im *Image) Stored() ([]int32, error) {
	if im.pix == nil {
		return nil, errors.New("dicom: Image was not made by Read or ReadFile")
	}
	im.pix.once.Do(func() {
		im.pix.values, im.pix.err = im.decode()
		if im.pix.err != nil {
			if im.name != "" {
				im.pix.err = fmt.Errorf("dicom: %s: %w", im.name, im.pix.err)
			} else {
				im.pix.err = fmt.Errorf("dicom: %w", im.pix.err)
			}
		}
	})
	return im.pix.values, im.pix.err
}

// Frame returns frame i (counted from 0) as modality values: stored values
// times RescaleSlope plus RescaleIntercept. MONOCHROME1 frames are inverted
// within their own range (min+max-v), so that bright always means high
// signal.
func (im *Image) Frame(i int) ([]float32, error) {
	if i < 0 || i >= im.Frames {
		return nil, fmt.Errorf("dicom: frame %d out of range [0,%d)", i, im.Frames)
	}
	stored, err := im.Stored()
	if err != nil {
		return nil, err
	}
	n := im.Rows * im.Columns
	src := stored[i*n : (i+1)*n]
	out := make([]float32, n)
	lo, hi := float32(0), float32(0)
	for j, v := range src {
		f := float32(float64(v)*im.RescaleSlope + im.RescaleIntercept)
		out[j] = f
		if j == 0 || f < lo {
			lo = f
		}
		if j == 0 || f > hi {
			hi = f
		}
	}
	if im.Photometric == "MONOCHROME1" {
		for j, f := range out {
			out[j] = lo + hi - f
		}
	}
	return out, nil
}

// geometry returns the number of samples per frame after checking the
// attributes that describe the pixel data.
func (im *Image) geometry() (int, error) {
	switch {
	case im.Rows <= 0 || im.Columns <= 0:
		return 0, fmt.Errorf("(0028,0010)/(0028,0011) image size %dx%d: want both positive", im.Rows, im.Columns)
	case im.Frames <= 0:
		return 0, fmt.Errorf("(0028,0008) number of frames %d: want at least 1", im.Frames)
	case im.SamplesPerPixel != 1:
		return 0, fmt.Errorf("(0028,0002) samples per pixel %d: only 1 (grayscale) is supported", im.SamplesPerPixel)
	case im.BitsAllocated != 8 && im.BitsAllocated != 16 && im.BitsAllocated != 32:
		return 0, fmt.Errorf("(0028,0100) bits allocated %d: want 8, 16 or 32", im.BitsAllocated)
	case im.BitsStored < 1 || im.BitsStored > im.BitsAllocated:
		return 0, fmt.Errorf("(0028,0101) bits stored %d: want 1..%d", im.BitsStored, im.BitsAllocated)
	case im.HighBit < im.BitsStored-1 || im.HighBit >= im.BitsAllocated:
		return 0, fmt.Errorf("(0028,0102) high bit %d: want %d..%d for %d bits stored", im.HighBit, im.BitsStored-1, im.BitsAllocated-1, im.BitsStored)
	case im.BitsStored == 32 && !im.Signed:
		return 0, errors.New("(0028,0101) 32 unsigned bits stored do not fit int32")
	}
	n := int64(im.Rows) * int64(im.Columns)
	if n*int64(im.Frames) > maxValues {
		return 0, fmt.Errorf("image of %dx%dx%d samples is larger than the %d allowed", im.Rows, im.Columns, im.Frames, maxValues)
	}
	return int(n), nil
}

// decode decodes all frames into stored values.
func (im *Image) decode() ([]int32, error) {
	perFrame, err := im.geometry()
	if err != nil {
		return nil, err
	}
	pd, ok := find(im.elems, tagPixelData)
	if !ok {
		return nil, ErrNoPixelData
	}
	if im.syn.codec == codecNone {
		return nil, &UnsupportedTransferSyntaxError{UID: im.syn.uid}
	}
	var out []int32
	if im.syn.encapsulated {
		if pd.Fragments == nil {
			return nil, fmt.Errorf("%v pixel data: %s needs encapsulated pixel data (undefined length)", pd.Tag, im.syn.uid)
		}
		out, err = im.decodeEncapsulated(pd, perFrame)
	} else {
		if pd.Fragments != nil {
			return nil, fmt.Errorf("%v pixel data: encapsulated, but %s is not a compressed transfer syntax", pd.Tag, im.syn.uid)
		}
		out, err = im.decodeNative(pd, perFrame)
	}
	if err != nil {
		return nil, err
	}
	finish(out, im.BitsStored, im.HighBit, im.Signed)
	return out, nil
}

// decodeNative unpacks uncompressed samples in the data set's byte order.
func (im *Image) decodeNative(pd *Element, perFrame int) ([]int32, error) {
	n := perFrame * im.Frames
	size := im.BitsAllocated / 8
	want := n * size
	b := pd.Value
	if len(b) != want && !(size == 1 && want%2 == 1 && len(b) == want+1) {
		return nil, fmt.Errorf("%v pixel data: length %d bytes, want %d for %dx%dx%d %d-bit",
			pd.Tag, len(b), want, im.Rows, im.Columns, im.Frames, im.BitsAllocated)
	}
	var o binary.ByteOrder = binary.LittleEndian
	if pd.BigEndian {
		o = binary.BigEndian
	}
	out := make([]int32, n)
	switch size {
	case 1:
		if pd.BigEndian && pd.VR == "OW" {
			// 8-bit samples in OW words: big endian swaps each pair.
			for i := range out {
				out[i] = int32(b[i^1])
			}
			break
		}
		for i := range out {
			out[i] = int32(b[i])
		}
	case 2:
		for i := range out {
			out[i] = int32(o.Uint16(b[2*i:]))
		}
	case 4:
		for i := range out {
			out[i] = int32(o.Uint32(b[4*i:]))
		}
	}
	return out, nil
}

// finish turns raw samples into stored values in place: it shifts the
// value down to bit 0, keeps BitsStored bits and sign-extends signed values
// from their top bit. Bits outside the value are junk by definition.
func finish(v []int32, bitsStored, highBit int, signed bool) {
	shift := uint(highBit + 1 - bitsStored)
	mask := uint32(1)<<uint(bitsStored) - 1
	if bitsStored == 32 {
		mask = ^uint32(0)
	}
	ext := uint(32 - bitsStored)
	for i, x := range v {
		u := (uint32(x) >> shift) & mask
		if signed {
			v[i] = int32(u<<ext) >> ext
		} else {
			v[i] = int32(u)
		}
	}
}
