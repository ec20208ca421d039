package dicom

import (
	"errors"
	"fmt"
)

// losslessFrame is what the header of a lossless JPEG says.
type losslessFrame struct {
	precision, rows, cols int
	comp                  byte // component identifier
	restart               int  // restart interval in samples, 0 if none
	huff                  [2][4]*huffman
}

// decodeJPEGLossless decodes a single-component JPEG process 14 image
// (T.81 Annex H, Huffman coded) into raw samples.
func decodeJPEGLossless(data []byte, rows, cols int, dst []int32) error {
	r := &markerReader{b: data}
	if m, err := r.next(); err != nil || m != mSOI {
		return errors.New("JPEG: no SOI marker")
	}
	var fr losslessFrame
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
		case m == mSOF3:
			if err := fr.parseSOF(p); err != nil {
				return err
			}
			seenSOF = true
		case m >= 0xC0 && m <= 0xCF && m != mDHT && m != 0xC8 && m != 0xCC:
			return fmt.Errorf("JPEG: SOF%d frame, want SOF3 (lossless, Huffman)", m-0xC0)
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
				return errors.New("JPEG: SOS before SOF3")
			}
			if fr.rows != rows || fr.cols != cols {
				return fmt.Errorf("JPEG: frame is %dx%d, want %dx%d", fr.rows, fr.cols, rows, cols)
			}
			return fr.scan(p, data[r.pos:], dst)
		}
	}
}

// parseSOF reads a SOF3 segment.
func (fr *losslessFrame) parseSOF(p []byte) error {
	if len(p) < 6 {
		return errors.New("JPEG: truncated SOF3")
	}
	fr.precision = int(p[0])
	fr.rows = int(p[1])<<8 | int(p[2])
	fr.cols = int(p[3])<<8 | int(p[4])
	if nf := int(p[5]); nf != 1 || len(p) < 9 {
		return fmt.Errorf("JPEG: %d components, only 1 is supported", nf)
	}
	fr.comp = p[6]
	if fr.precision < 2 || fr.precision > 16 {
		return fmt.Errorf("JPEG: precision %d, want 2..16", fr.precision)
	}
	if fr.rows == 0 {
		return errors.New("JPEG: number of lines defined by DNL, not supported")
	}
	return nil
}

// scan decodes the entropy-coded data of the one scan.
func (fr *losslessFrame) scan(sos, data []byte, dst []int32) error {
	if len(sos) < 6 || sos[0] != 1 {
		return errors.New("JPEG: SOS must have exactly 1 component")
	}
	if sos[1] != fr.comp {
		return fmt.Errorf("JPEG: SOS component %d, frame has %d", sos[1], fr.comp)
	}
	td := sos[2] >> 4
	if td > 3 || fr.huff[0][td] == nil {
		return fmt.Errorf("JPEG: SOS uses undefined Huffman table %d", td)
	}
	h := fr.huff[0][td]
	pred, pt := int(sos[3]), int(sos[5]&15)
	if pred < 1 || pred > 7 {
		return fmt.Errorf("JPEG: predictor %d, want 1..7", pred)
	}
	if pt >= fr.precision {
		return fmt.Errorf("JPEG: point transform %d for precision %d", pt, fr.precision)
	}
	br := &bitReader{b: data}
	cols := fr.cols
	initial := int32(1) << uint(fr.precision-pt-1)
	firstRow, firstCol := 0, 0 // where the current restart interval starts
	count, rst := 0, 0
	for y := 0; y < fr.rows; y++ {
		row := dst[y*cols : (y+1)*cols]
		var up []int32
		if y > 0 {
			up = dst[(y-1)*cols : y*cols]
		}
		for x := 0; x < cols; x++ {
			if fr.restart > 0 {
				if count == fr.restart {
					if err := br.restart(rst); err != nil {
						return fmt.Errorf("JPEG: row %d: %w", y, err)
					}
					rst++
					count, firstRow, firstCol = 0, y, x
				}
				count++
			}
			var px int32
			switch {
			case y == firstRow && x == firstCol:
				px = initial
			case y == firstRow:
				px = row[x-1]
			case x == 0:
				px = up[0]
			default:
				ra, rb, rc := row[x-1], up[x], up[x-1]
				switch pred {
				case 1:
					px = ra
				case 2:
					px = rb
				case 3:
					px = rc
				case 4:
					px = ra + rb - rc
				case 5:
					px = ra + (rb-rc)>>1
				case 6:
					px = rb + (ra-rc)>>1
				case 7:
					px = (ra + rb) >> 1
				}
			}
			s, err := br.decode(h)
			if err != nil {
				return fmt.Errorf("JPEG: row %d column %d: %w", y, x, err)
			}
			var diff int32
			switch {
			case s == 16:
				diff = 32768
			case s > 16:
				return fmt.Errorf("JPEG: row %d column %d: difference category %d", y, x, s)
			default:
				v, err := br.bits(uint(s))
				if err != nil {
					return fmt.Errorf("JPEG: row %d column %d: %w", y, x, err)
				}
				diff = extend(v, uint(s))
			}
			row[x] = (px + diff) & 0xFFFF
		}
	}
	if pt > 0 {
		for i := range dst {
			dst[i] <<= uint(pt)
		}
	}
	return nil
}
