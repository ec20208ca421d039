package dicom

import (
	"fmt"
	"strings"
	"testing"
)

// testHuffCounts gives codes of 2 to 12 bits for the 17 difference
// categories, so that both the 8-bit lookup and the slow path are used.
var testHuffCounts = [17]int{0, 0, 1, 3, 4, 0, 0, 0, 0, 4, 0, 0, 5}

// bitWriter writes JPEG entropy-coded data with 0xFF byte stuffing.
type bitWriter struct {
	out []byte
	acc uint32
	n   uint
}

func (w *bitWriter) put(v uint32, n uint) {
	for i := int(n) - 1; i >= 0; i-- {
		w.acc = w.acc<<1 | (v>>uint(i))&1
		w.n++
		if w.n == 8 {
			w.out = append(w.out, byte(w.acc))
			if byte(w.acc) == 0xFF {
				w.out = append(w.out, 0)
			}
			w.acc, w.n = 0, 0
		}
	}
}

// flush pads the last byte with 1 bits.
func (w *bitWriter) flush() {
	for w.n != 0 {
		w.put(1, 1)
	}
}

// encodeLossless is a test encoder for JPEG process 14 with one component.
func encodeLossless(samples []int32, rows, cols, precision, pred, pt, restart int) []byte {
	var codes [17]uint32
	var lens [17]uint
	code, sym := uint32(0), 0
	for l := 1; l <= 16; l++ {
		for i := 0; i < testHuffCounts[l]; i++ {
			codes[sym], lens[sym] = code, uint(l)
			code++
			sym++
		}
		code <<= 1
	}
	out := []byte{0xFF, mSOI}
	out = append(out, 0xFF, mSOF3, 0, 11, byte(precision), byte(rows>>8), byte(rows), byte(cols>>8), byte(cols), 1, 7, 0x11, 0)
	dht := []byte{0x00}
	for l := 1; l <= 16; l++ {
		dht = append(dht, byte(testHuffCounts[l]))
	}
	for s := 0; s <= 16; s++ {
		dht = append(dht, byte(s))
	}
	out = append(out, 0xFF, mDHT, byte((len(dht)+2)>>8), byte(len(dht)+2))
	out = append(out, dht...)
	if restart > 0 {
		out = append(out, 0xFF, mDRI, 0, 4, byte(restart>>8), byte(restart))
	}
	out = append(out, 0xFF, mSOS, 0, 8, 1, 7, 0x00, byte(pred), 0, byte(pt))
	w := &bitWriter{}
	v := func(y, x int) int32 { return samples[y*cols+x] >> uint(pt) }
	firstRow, firstCol, count, rst := 0, 0, 0, 0
	for y := 0; y < rows; y++ {
		for x := 0; x < cols; x++ {
			if restart > 0 {
				if count == restart {
					w.flush()
					w.out = append(w.out, 0xFF, byte(mRST0+rst%8))
					rst++
					count, firstRow, firstCol = 0, y, x
				}
				count++
			}
			var px int32
			switch {
			case y == firstRow && x == firstCol:
				px = 1 << uint(precision-pt-1)
			case y == firstRow:
				px = v(y, x-1)
			case x == 0:
				px = v(y-1, x)
			default:
				a, b, c := v(y, x-1), v(y-1, x), v(y-1, x-1)
				px = [8]int32{0, a, b, c, a + b - c, a + (b-c)>>1, b + (a-c)>>1, (a + b) >> 1}[pred]
			}
			d := (v(y, x) - px) & 0xFFFF
			if d >= 0x8000 {
				d -= 0x10000
			}
			if d == -0x8000 {
				d = 0x8000
			}
			mag := d
			if mag < 0 {
				mag = -mag
			}
			s := uint(0)
			for mag>>s != 0 {
				s++
			}
			w.put(codes[s], lens[s])
			if s > 0 && s < 16 {
				bits := d
				if d < 0 {
					bits = d + (1 << s) - 1
				}
				w.put(uint32(bits), s)
			}
		}
	}
	w.flush()
	out = append(out, w.out...)
	return append(out, 0xFF, mEOI)
}

// losslessTestImage has smooth areas, edges, and full-range jumps that
// give the extreme difference categories.
func losslessTestImage(rows, cols, precision int) []int32 {
	maxv := int32(1)<<uint(precision) - 1
	s := make([]int32, rows*cols)
	for y := 0; y < rows; y++ {
		for x := 0; x < cols; x++ {
			v := int32(y*97+x*31+x*y) & maxv
			if (x+y)%7 == 0 {
				v = maxv - v
			}
			if x == y {
				v = maxv
			}
			if x == cols-1 {
				v = 0
			}
			s[y*cols+x] = v
		}
	}
	return s
}

func TestJPEGLosslessPredictors(t *testing.T) {
	const rows, cols = 9, 13
	for _, precision := range []int{8, 12, 16} {
		for pred := 1; pred <= 7; pred++ {
			for _, restart := range []int{0, cols, 5} {
				for _, pt := range []int{0, 2} {
					name := fmt.Sprintf("P%d_SV%d_RI%d_Pt%d", precision, pred, restart, pt)
					t.Run(name, func(t *testing.T) {
						want := losslessTestImage(rows, cols, precision)
						for i := range want {
							want[i] &^= 1<<uint(pt) - 1
						}
						data := encodeLossless(want, rows, cols, precision, pred, pt, restart)
						got := make([]int32, rows*cols)
						if err := decodeJPEGLossless(data, rows, cols, got); err != nil {
							t.Fatal(err)
						}
						if i := firstDiff(got, want); i >= 0 {
							t.Fatalf("sample %d (row %d, column %d) = %d, want %d", i, i/cols, i%cols, got[i], want[i])
						}
					})
				}
			}
		}
	}
}

// TestJPEGLosslessExtremes covers the category-16 difference (32768),
// which has no extra bits.
func TestJPEGLosslessExtremes(t *testing.T) {
	want := []int32{0, 32768, 0, 65535, 1, 65534, 32767, 32768}
	data := encodeLossless(want, 2, 4, 16, 1, 0, 0)
	got := make([]int32, len(want))
	if err := decodeJPEGLossless(data, 2, 4, got); err != nil {
		t.Fatal(err)
	}
	if i := firstDiff(got, want); i >= 0 {
		t.Fatalf("sample %d = %d, want %d", i, got[i], want[i])
	}
}

func TestJPEGLosslessErrors(t *testing.T) {
	img := losslessTestImage(4, 5, 16)
	good := encodeLossless(img, 4, 5, 16, 1, 0, 0)
	sofAt := strings.Index(string(good), "\xff\xc3")
	sosAt := strings.Index(string(good), "\xff\xda")
	for _, tc := range []struct {
		name       string
		data       []byte
		rows, cols int
		want       string
	}{
		{"empty", nil, 4, 5, "no SOI"},
		{"size mismatch", good, 5, 4, "frame is 4x5, want 5x4"},
		{"truncated data", good[:len(good)-6], 4, 5, "ends before"},
		{"no scan", good[:sosAt], 4, 5, "want a marker"},
		{"baseline frame", func() []byte {
			b := append([]byte(nil), good...)
			b[sofAt+1] = mSOF0
			return b
		}(), 4, 5, "SOF0"},
		{"bad predictor", func() []byte {
			b := append([]byte(nil), good...)
			b[sosAt+4+3] = 0
			return b
		}(), 4, 5, "predictor 0"},
		{"missing table", func() []byte {
			b := append([]byte(nil), good...)
			b[sosAt+4+2] = 0x10
			return b
		}(), 4, 5, "undefined Huffman table"},
		{"two components", func() []byte {
			b := append([]byte(nil), good...)
			b[sofAt+4+5] = 3
			return b
		}(), 4, 5, "3 components"},
		{"segment length", func() []byte {
			b := append([]byte(nil), good...)
			b[sofAt+2] = 0x7F
			return b
		}(), 4, 5, "segment length"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := decodeJPEGLossless(tc.data, tc.rows, tc.cols, make([]int32, tc.rows*tc.cols))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}
