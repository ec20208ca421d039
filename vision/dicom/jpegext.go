package dicom

import (
	"errors"
	"fmt"
)

// JPEG extended sequential DCT (process 2/4, Huffman coded) for 12-bit
// samples, which the standard library's decoder does not handle. The
// inverse DCT is libjpeg's integer "islow" method, the one dcmtk uses, so
// the output matches dcmtk's.

// zigzag maps the k-th coefficient in zig-zag order to its position in
// the 8x8 block.
var zigzag = [64]int{
	0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
}

// dctFrame is what the header of a sequential DCT JPEG says.
type dctFrame struct {
	precision, rows, cols int
	comp                  byte // component identifier
	tq                    int  // quantization table of the component
	restart               int  // restart interval in MCUs, 0 if none
	quant                 [4]*[64]int32
	huff                  [2][4]*huffman
}

// decodeJPEGExtended decodes a single-component sequential Huffman JPEG.
// 8-bit images go to the standard library; 12-bit ones are decoded here.
func decodeJPEGExtended(data []byte, rows, cols int, dst []int32) error {
	r := &markerReader{b: data}
	if m, err := r.next(); err != nil || m != mSOI {
		return errors.New("JPEG: no SOI marker")
	}
	var fr dctFrame
	seenSOF := false
	for {
		m, err := r.next()
		if err != nil {
			return fmt.Errorf("JPEG: %w", err)
		}
		switch {
		case m == mEOI:
			return errors.New("JPEG: EOI before any scan")
		case m >= mRST0 && m <= mRST0+7:
			continue
		}
		p, err := r.segment(m)
		if err != nil {
			return fmt.Errorf("JPEG: %w", err)
		}
		switch {
		case m == mSOF0 || m == mSOF1:
			if err := fr.parseSOF(p); err != nil {
				return err
			}
			if fr.precision == 8 {
				return decodeJPEGBaseline(data, rows, cols, dst)
			}
			seenSOF = true
		case m >= 0xC0 && m <= 0xCF && m != mDHT && m != 0xC8 && m != 0xCC:
			return fmt.Errorf("JPEG: SOF%d frame, want SOF0 or SOF1 (sequential, Huffman)", m-0xC0)
		case m == mDQT:
			if err := fr.parseDQT(p); err != nil {
				return err
			}
		case m == mDHT:
			if err := parseDHT(p, &fr.huff); err != nil {
				return fmt.Errorf("JPEG: %w", err)
			}
		case m == mDRI:
			if len(p) != 2 {
				return fmt.Errorf("JPEG: DRI segment of %d bytes, want 2", len(p))
			}
			fr.restart = int(p[0])<<8 | int(p[1])
		case m == mSOS:
			if !seenSOF {
				return errors.New("JPEG: SOS before SOF")
			}
			if fr.rows != rows || fr.cols != cols {
				return fmt.Errorf("JPEG: frame is %dx%d, want %dx%d", fr.rows, fr.cols, rows, cols)
			}
			return fr.scan(p, data[r.pos:], dst)
		}
	}
}

func (fr *dctFrame) parseSOF(p []byte) error {
	if len(p) < 6 {
		return errors.New("JPEG: truncated SOF")
	}
	fr.precision = int(p[0])
	fr.rows = int(p[1])<<8 | int(p[2])
	fr.cols = int(p[3])<<8 | int(p[4])
	if nf := int(p[5]); nf != 1 || len(p) < 9 {
		return fmt.Errorf("JPEG: %d components, only 1 is supported", nf)
	}
	fr.comp, fr.tq = p[6], int(p[8])
	if fr.precision != 8 && fr.precision != 12 {
		return fmt.Errorf("JPEG: precision %d, want 8 or 12", fr.precision)
	}
	if fr.tq > 3 {
		return fmt.Errorf("JPEG: quantization table %d", fr.tq)
	}
	if fr.rows == 0 {
		return errors.New("JPEG: number of lines defined by DNL, not supported")
	}
	return nil
}

// parseDQT reads quantization tables, storing them in natural order.
func (fr *dctFrame) parseDQT(p []byte) error {
	for len(p) > 0 {
		pq, tq := p[0]>>4, int(p[0]&15)
		size := 1 + 64*(1+int(pq))
		if pq > 1 || tq > 3 || len(p) < size {
			return errors.New("JPEG: bad DQT segment")
		}
		q := new([64]int32)
		for k := 0; k < 64; k++ {
			if pq == 0 {
				q[zigzag[k]] = int32(p[1+k])
			} else {
				q[zigzag[k]] = int32(p[1+2*k])<<8 | int32(p[2+2*k])
			}
		}
		fr.quant[tq] = q
		p = p[size:]
	}
	return nil
}

// scan decodes the one scan, block by block.
func (fr *dctFrame) scan(sos, data []byte, dst []int32) error {
	if len(sos) < 6 || sos[0] != 1 {
		return errors.New("JPEG: SOS must have exactly 1 component")
	}
	if sos[1] != fr.comp {
		return fmt.Errorf("JPEG: SOS component %d, frame has %d", sos[1], fr.comp)
	}
	td, ta := sos[2]>>4, sos[2]&15
	if td > 3 || ta > 3 || fr.huff[0][td] == nil || fr.huff[1][ta] == nil {
		return errors.New("JPEG: SOS uses an undefined Huffman table")
	}
	dc, ac := fr.huff[0][td], fr.huff[1][ta]
	q := fr.quant[fr.tq]
	if q == nil {
		return fmt.Errorf("JPEG: quantization table %d is not defined", fr.tq)
	}
	br := &bitReader{b: data}
	bw, bh := (fr.cols+7)/8, (fr.rows+7)/8
	var pred int32
	var coef [64]int32
	var out [64]int32
	mcu, rst := 0, 0
	for by := 0; by < bh; by++ {
		for bx := 0; bx < bw; bx++ {
			if fr.restart > 0 {
				if mcu == fr.restart {
					if err := br.restart(rst); err != nil {
						return fmt.Errorf("JPEG: %w", err)
					}
					rst++
					mcu, pred = 0, 0
				}
				mcu++
			}
			coef = [64]int32{}
			t, err := br.decode(dc)
			if err != nil {
				return fmt.Errorf("JPEG: block %d,%d: %w", by, bx, err)
			}
			if t > 15 {
				return fmt.Errorf("JPEG: block %d,%d: DC category %d", by, bx, t)
			}
			v, err := br.bits(uint(t))
			if err != nil {
				return fmt.Errorf("JPEG: block %d,%d: %w", by, bx, err)
			}
			pred += extend(v, uint(t))
			coef[0] = int32(int16(pred)) // libjpeg keeps coefficients in 16 bits
			for k := 1; k < 64; k++ {
				rs, err := br.decode(ac)
				if err != nil {
					return fmt.Errorf("JPEG: block %d,%d: %w", by, bx, err)
				}
				r, s := int(rs>>4), uint(rs&15)
				if s == 0 {
					if r != 15 {
						break // end of block
					}
					k += 15
					continue
				}
				k += r
				if k > 63 {
					return fmt.Errorf("JPEG: block %d,%d: coefficient index %d", by, bx, k)
				}
				v, err := br.bits(s)
				if err != nil {
					return fmt.Errorf("JPEG: block %d,%d: %w", by, bx, err)
				}
				coef[zigzag[k]] = int32(int16(extend(v, s)))
			}
			idct12(&coef, q, &out)
			for y := 0; y < 8 && by*8+y < fr.rows; y++ {
				for x := 0; x < 8 && bx*8+x < fr.cols; x++ {
					dst[(by*8+y)*fr.cols+bx*8+x] = out[8*y+x]
				}
			}
		}
	}
	return nil
}

// Constants of libjpeg's jidctint.c for 12-bit samples.
const (
	idctConstBits = 13
	idctPass1Bits = 1
	fix0298631336 = 2446
	fix0390180644 = 3196
	fix0541196100 = 4433
	fix0765366865 = 6270
	fix0899976223 = 7373
	fix1175875602 = 9633
	fix1501321110 = 12299
	fix1847759065 = 15137
	fix1961570560 = 16069
	fix2053119869 = 16819
	fix2562915447 = 20995
	fix3072711026 = 25172
	maxSample12   = 4095
	centerSample  = 2048
	rangeMask     = 4*(maxSample12+1) - 1
)

func descale(x int64, n uint) int64 { return (x + 1<<(n-1)) >> n }

// rangeLimit12 is libjpeg's post-IDCT range limit for 12-bit samples: it
// adds the level shift and clamps, after masking as libjpeg does.
func rangeLimit12(v int64) int32 {
	i := int32(v) & rangeMask
	switch {
	case i < maxSample12+1-centerSample:
		return i + centerSample
	case i < 2*(maxSample12+1):
		return maxSample12
	case i < 4*(maxSample12+1)-centerSample:
		return 0
	}
	return i - (4*(maxSample12+1) - centerSample)
}

// idct1D is the even/odd butterfly shared by both passes; in holds the 8
// inputs in natural order and the results are returned pre-descale.
func idct1D(in0, in1, in2, in3, in4, in5, in6, in7 int64) (o [8]int64) {
	z2, z3 := in2, in6
	z1 := (z2 + z3) * fix0541196100
	tmp2 := z1 + z3*(-fix1847759065)
	tmp3 := z1 + z2*fix0765366865
	tmp0 := (in0 + in4) << idctConstBits
	tmp1 := (in0 - in4) << idctConstBits
	tmp10, tmp13 := tmp0+tmp3, tmp0-tmp3
	tmp11, tmp12 := tmp1+tmp2, tmp1-tmp2

	tmp0, tmp1, tmp2, tmp3 = in7, in5, in3, in1
	z1, z2, z3 = tmp0+tmp3, tmp1+tmp2, tmp0+tmp2
	z4 := tmp1 + tmp3
	z5 := (z3 + z4) * fix1175875602
	tmp0 *= fix0298631336
	tmp1 *= fix2053119869
	tmp2 *= fix3072711026
	tmp3 *= fix1501321110
	z1 *= -fix0899976223
	z2 *= -fix2562915447
	z3 *= -fix1961570560
	z4 *= -fix0390180644
	z3 += z5
	z4 += z5
	tmp0 += z1 + z3
	tmp1 += z2 + z4
	tmp2 += z2 + z3
	tmp3 += z1 + z4
	return [8]int64{tmp10 + tmp3, tmp11 + tmp2, tmp12 + tmp1, tmp13 + tmp0,
		tmp13 - tmp0, tmp12 - tmp1, tmp11 - tmp2, tmp10 - tmp3}
}

// idct12 is jidctint.c's jpeg_idct_islow for 12-bit samples: columns
// first, then rows, with the same shortcuts for all-zero AC terms.
func idct12(coef *[64]int32, q *[64]int32, out *[64]int32) {
	var ws [64]int64
	for c := 0; c < 8; c++ {
		in := func(r int) int64 { return int64(coef[8*r+c]) * int64(q[8*r+c]) }
		if coef[8+c] == 0 && coef[16+c] == 0 && coef[24+c] == 0 && coef[32+c] == 0 &&
			coef[40+c] == 0 && coef[48+c] == 0 && coef[56+c] == 0 {
			dc := in(0) << idctPass1Bits
			for r := 0; r < 8; r++ {
				ws[8*r+c] = dc
			}
			continue
		}
		o := idct1D(in(0), in(1), in(2), in(3), in(4), in(5), in(6), in(7))
		for r := 0; r < 8; r++ {
			ws[8*r+c] = int64(int32(descale(o[r], idctConstBits-idctPass1Bits)))
		}
	}
	for r := 0; r < 8; r++ {
		w := ws[8*r : 8*r+8]
		if w[1] == 0 && w[2] == 0 && w[3] == 0 && w[4] == 0 && w[5] == 0 && w[6] == 0 && w[7] == 0 {
			v := rangeLimit12(descale(w[0], idctPass1Bits+3))
			for x := 0; x < 8; x++ {
				out[8*r+x] = v
			}
			continue
		}
		o := idct1D(w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7])
		for x := 0; x < 8; x++ {
			out[8*r+x] = rangeLimit12(descale(o[x], idctConstBits+idctPass1Bits+3))
		}
	}
}
