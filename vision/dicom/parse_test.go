package dicom

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
)

// enc builds data sets by hand for the tests.
type enc struct {
	big, implicit bool
}

func (e enc) order() binary.AppendByteOrder {
	if e.big {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// el encodes one element; length -1 writes undefined length.
func (e enc) el(t Tag, vr string, length int, value ...[]byte) []byte {
	o := e.order()
	b := o.AppendUint16(nil, t.Group())
	b = o.AppendUint16(b, t.Element())
	v := bytes.Join(value, nil)
	n := uint32(len(v))
	if length < 0 {
		n = undefinedLength
	}
	switch {
	case e.implicit || t.Group() == 0xFFFE:
		b = o.AppendUint32(b, n)
	case longVR(vr):
		b = append(b, vr...)
		b = append(b, 0, 0)
		b = o.AppendUint32(b, n)
	default:
		b = append(b, vr...)
		b = o.AppendUint16(b, uint16(n))
	}
	return append(b, v...)
}

func (e enc) us(t Tag, v uint16) []byte { return e.el(t, "US", 0, e.order().AppendUint16(nil, v)) }
func (e enc) str(t Tag, vr, s string) []byte {
	if len(s)%2 == 1 {
		s += " "
	}
	return e.el(t, vr, 0, []byte(s))
}
func (e enc) item(content ...[]byte) []byte { return e.el(tagItem, "", 0, content...) }
func (e enc) uitem(content ...[]byte) []byte {
	return append(e.el(tagItem, "", -1, content...), e.el(tagItemDelim, "", 0)...)
}
func (e enc) useq(t Tag, vr string, items ...[]byte) []byte {
	return append(e.el(t, vr, -1, items...), e.el(tagSequenceDelim, "", 0)...)
}

// image16 is the header of a 16-bit unsigned rows x cols image; elements
// in repl replace those with the same tag.
func (e enc) image16(rows, cols int, repl ...[]byte) []byte {
	elems := [][]byte{
		e.us(tagSamplesPerPixel, 1),
		e.str(tagPhotometric, "CS", "MONOCHROME2"),
		e.us(tagRows, uint16(rows)),
		e.us(tagColumns, uint16(cols)),
		e.us(tagBitsAllocated, 16),
		e.us(tagBitsStored, 16),
		e.us(tagHighBit, 15),
		e.us(tagPixelRepresentation, 0),
	}
	for _, r := range repl {
		for i, el := range elems {
			if bytes.Equal(el[:4], r[:4]) {
				elems[i] = r
			}
		}
	}
	return bytes.Join(elems, nil)
}

func (e enc) pixels16(vs ...uint16) []byte {
	var b []byte
	for _, v := range vs {
		b = e.order().AppendUint16(b, v)
	}
	return e.el(tagPixelData, "OW", 0, b)
}

// part10 wraps a data set with preamble and meta group.
func part10(ts string, ds ...[]byte) []byte {
	le := enc{}
	meta := le.str(tagTransferSyntaxUID, "UI", ts)
	b := append(make([]byte, 128), "DICM"...)
	b = append(b, le.el(tagMetaGroupLength, "UL", 0, binary.LittleEndian.AppendUint32(nil, uint32(len(meta))))...)
	b = append(b, meta...)
	return append(b, bytes.Join(ds, nil)...)
}

func TestExplicitBigEndian(t *testing.T) {
	be := enc{big: true}
	fl := binary.BigEndian.AppendUint32(nil, 0x40490FDB) // float32 pi
	file := part10(ExplicitVRBigEndian,
		be.str(tagSOPInstanceUID, "UI", "1.2.3"),
		be.el(Tag(0x00181310), "US", 0, []byte{0, 1, 0, 2, 0, 3, 0, 4}), // AcquisitionMatrix
		be.el(Tag(0x00189087), "FD", 0, binary.BigEndian.AppendUint64(nil, 0x3FF8000000000000)),
		be.el(Tag(0x00191001), "FL", 0, fl),
		be.el(Tag(0x00209222), "SQ", 0, be.item(be.us(tagRows, 99))), // explicit-length SQ
		be.image16(2, 3),
		be.str(tagPixelSpacing, "DS", `0.5\0.25`),
		be.pixels16(1, 2, 0x0102, 0xFFFF, 0x8000, 7),
	)
	im, err := Read(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if im.Rows != 2 || im.Columns != 3 || im.BitsStored != 16 || im.PixelSpacing != [2]float64{0.5, 0.25} {
		t.Errorf("header: rows %d cols %d bits %d spacing %v", im.Rows, im.Columns, im.BitsStored, im.PixelSpacing)
	}
	got, err := im.Stored()
	if err != nil {
		t.Fatal(err)
	}
	if want := []int32{1, 2, 0x0102, 0xFFFF, 0x8000, 7}; firstDiff(got, want) >= 0 {
		t.Errorf("stored = %v, want %v", got, want)
	}
	checkFloats := func(g, e uint16, want ...float64) {
		t.Helper()
		el, ok := im.Element(g, e)
		if !ok {
			t.Fatalf("(%04X,%04X) missing", g, e)
		}
		f, err := el.Floats()
		if err != nil || len(f) != len(want) {
			t.Fatalf("(%04X,%04X) Floats = %v, %v; want %v", g, e, f, err, want)
		}
		for i := range f {
			if float32(f[i]) != float32(want[i]) {
				t.Errorf("(%04X,%04X)[%d] = %v, want %v", g, e, i, f[i], want[i])
			}
		}
	}
	checkFloats(0x0018, 0x1310, 1, 2, 3, 4)
	checkFloats(0x0018, 0x9087, 1.5)
	checkFloats(0x0019, 0x1001, 3.14159265)
	sq, _ := im.Element(0x0020, 0x9222)
	if len(sq.Items) != 1 || len(sq.Items[0]) != 1 || sq.Items[0][0].Tag != tagRows {
		t.Errorf("sequence items = %+v", sq.Items)
	}
}

func TestSequences(t *testing.T) {
	le, imp := enc{}, enc{implicit: true}
	decoy := func(e enc) []byte { return e.pixels16(9, 9, 9, 9, 9, 9, 9, 9) }
	for _, tc := range []struct {
		name   string
		ts     string
		ds     [][]byte
		seq    Tag
		nItems int
	}{
		{"explicit nested undefined", ExplicitVRLittleEndian, [][]byte{
			le.useq(Tag(0x00081140), "SQ",
				le.uitem(le.str(Tag(0x00081150), "UI", "1.2"),
					le.useq(Tag(0x00081199), "SQ", le.uitem(decoy(le)), le.uitem())),
				le.uitem(),
				le.item()),
			le.useq(Tag(0x00081250), "SQ"), // empty sequence
		}, Tag(0x00081140), 3},
		{"explicit defined in undefined", ExplicitVRLittleEndian, [][]byte{
			le.useq(Tag(0x00540016), "SQ", le.item(le.el(Tag(0x00540017), "SQ", 0, le.item(decoy(le))))),
		}, Tag(0x00540016), 1},
		{"private UN undefined is implicit", ExplicitVRLittleEndian, [][]byte{
			le.str(Tag(0x00290010), "LO", "ACME"),
			le.useq(Tag(0x00291010), "UN", imp.uitem(imp.str(Tag(0x00291011), "LO", "x"), decoy(imp))),
		}, Tag(0x00291010), 1},
		{"implicit private undefined", ImplicitVRLittleEndian, [][]byte{
			imp.str(Tag(0x00290010), "LO", "ACME"),
			imp.useq(Tag(0x00291010), "", imp.uitem(decoy(imp)), imp.item(imp.useq(Tag(0x00291020), "", imp.uitem(decoy(imp))))),
		}, Tag(0x00291010), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := le
			if tc.ts == ImplicitVRLittleEndian {
				e = imp
			}
			ds := append(tc.ds, e.image16(2, 2), e.pixels16(1, 2, 3, 4), e.el(Tag(0xFFFCFFFC), "OB", 0, make([]byte, 6)))
			im, err := Read(bytes.NewReader(part10(tc.ts, ds...)))
			if err != nil {
				t.Fatal(err)
			}
			got, err := im.Stored()
			if err != nil {
				t.Fatal(err)
			}
			if want := []int32{1, 2, 3, 4}; firstDiff(got, want) >= 0 {
				t.Errorf("stored = %v, want %v (a decoy was taken for the pixel data)", got, want)
			}
			sq, ok := im.Element(tc.seq.Group(), tc.seq.Element())
			if !ok || sq.VR != "SQ" || len(sq.Items) != tc.nItems {
				t.Errorf("%v: VR %q, %d items, want SQ with %d", tc.seq, sq.VR, len(sq.Items), tc.nItems)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	le, imp := enc{}, enc{implicit: true}
	deep := le.uitem()
	for i := 0; i < maxDepth+2; i++ {
		deep = le.uitem(le.useq(Tag(0x00081140), "SQ", deep))
	}
	for _, tc := range []struct {
		name string
		file []byte
		want string
	}{
		{"length past end", part10(ExplicitVRLittleEndian, le.us(tagRows, 2)[:9]), "exceeds"},
		{"truncated header", part10(ExplicitVRLittleEndian, le.us(tagRows, 2), []byte{0x28, 0, 0x11}), "truncated element header"},
		{"invalid VR", part10(ExplicitVRLittleEndian, []byte{0x28, 0, 0x10, 0, 'u', 's', 2, 0, 1, 0}), "invalid VR"},
		{"undefined OB", part10(ExplicitVRLittleEndian, le.el(Tag(0x00091001), "OB", -1)), "undefined length"},
		{"too deep", part10(ExplicitVRLittleEndian, le.useq(Tag(0x00081140), "SQ", deep)), "nested deeper"},
		{"no item delimiter", part10(ExplicitVRLittleEndian, le.el(Tag(0x00081140), "SQ", -1, le.el(tagItem, "", -1, le.us(tagRows, 1)))), "no item delimiter"},
		{"no sequence delimiter", part10(ExplicitVRLittleEndian, le.el(Tag(0x00081140), "SQ", -1, le.uitem())), "truncated"},
		{"item outside sequence", part10(ExplicitVRLittleEndian, le.item()), "outside a sequence"},
		{"non-item in sequence", part10(ExplicitVRLittleEndian, le.el(Tag(0x00081140), "SQ", 0, le.us(tagRows, 1))), "want an item"},
		{"item past sequence", part10(ExplicitVRLittleEndian, le.el(Tag(0x00081140), "SQ", 0, le.item(le.us(tagRows, 1))[:10])), "exceeds"},
		{"implicit length", part10(ImplicitVRLittleEndian, imp.us(tagRows, 1)[:9]), "exceeds"},
		{"fragment undefined", part10("1.2.840.10008.1.2.4.70", le.el(tagPixelData, "OB", -1, le.item(), le.el(tagItem, "", -1))), "fragment length"},
		{"fragment non-item", part10("1.2.840.10008.1.2.4.70", le.el(tagPixelData, "OB", -1, le.item(), le.us(tagRows, 1))), "want a fragment item"},
		{"no offset table", part10("1.2.840.10008.1.2.4.70", le.useq(tagPixelData, "OB")), "Basic Offset Table"},
		{"only meta", part10(ExplicitVRLittleEndian), "no data set"},
		{"bad deflate", part10(DeflatedExplicitVRLE, []byte{0xFF, 0xFF, 0xFF}), "deflated"},
		{"bare odd group", []byte{0x09, 0, 0x10, 0, 2, 0, 0, 0, 1, 0}, "not DICOM"},
		{"bare too short", []byte{0x08, 0, 0x10}, "too few"},
		{"bad Rows", part10(ExplicitVRLittleEndian, le.el(tagRows, "US", 0, []byte{1})), "(0028,0010): length 1"},
		{"bad spacing", part10(ExplicitVRLittleEndian, le.str(tagPixelSpacing, "DS", `1\x`)), "not a decimal string"},
		{"spacing count", part10(ExplicitVRLittleEndian, le.str(tagPixelSpacing, "DS", `1`)), "1 values, want 2"},
		{"bad frames", part10(ExplicitVRLittleEndian, le.str(tagNumberOfFrames, "IS", `x`)), "integer string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(bytes.NewReader(tc.file))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "dicom: ") {
				t.Errorf("err = %v, want one starting with \"dicom: \" and containing %q", err, tc.want)
			}
		})
	}
}

func TestBareDataSets(t *testing.T) {
	le, imp := enc{}, enc{implicit: true}
	for _, tc := range []struct {
		name, ts string
		file     []byte
	}{
		{"implicit", ImplicitVRLittleEndian, bytes.Join([][]byte{imp.str(tagSOPInstanceUID, "UI", "1.2"), imp.image16(1, 2), imp.pixels16(5, 6)}, nil)},
		{"explicit", ExplicitVRLittleEndian, bytes.Join([][]byte{le.str(tagSOPInstanceUID, "UI", "1.2"), le.image16(1, 2), le.pixels16(5, 6)}, nil)},
		{"DICM without preamble", ExplicitVRLittleEndian, part10(ExplicitVRLittleEndian, le.image16(1, 2), le.pixels16(5, 6))[128:]},
		{"meta without preamble", ExplicitVRLittleEndian, part10(ExplicitVRLittleEndian, le.image16(1, 2), le.pixels16(5, 6))[132:]},
		{"implicit meta", ImplicitVRLittleEndian, bytes.Join([][]byte{
			append(make([]byte, 128), "DICM"...),
			imp.str(tagTransferSyntaxUID, "", ImplicitVRLittleEndian),
			imp.image16(1, 2), imp.pixels16(5, 6)}, nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			im, err := Read(bytes.NewReader(tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if im.TransferSyntax != tc.ts {
				t.Errorf("TransferSyntax = %s, want %s", im.TransferSyntax, tc.ts)
			}
			got, err := im.Stored()
			if err != nil || firstDiff(got, []int32{5, 6}) >= 0 {
				t.Errorf("Stored = %v, %v; want [5 6]", got, err)
			}
		})
	}
}

func TestNativeLength(t *testing.T) {
	le := enc{}
	hdr8 := bytes.Join([][]byte{
		le.us(tagRows, 1), le.us(tagColumns, 3), le.us(tagBitsAllocated, 8),
		le.us(tagBitsStored, 8), le.us(tagHighBit, 7),
	}, nil)
	for _, tc := range []struct {
		name string
		px   []byte
		want string // "" for success
	}{
		{"padded odd", le.el(tagPixelData, "OB", 0, []byte{1, 2, 3, 0}), ""},
		{"exact odd", le.el(tagPixelData, "OB", 0, []byte{1, 2, 3}), ""},
		{"short", le.el(tagPixelData, "OB", 0, []byte{1, 2}), "dicom: (7FE0,0010) pixel data: length 2 bytes, want 3 for 1x3x1 8-bit"},
		{"long", le.el(tagPixelData, "OB", 0, []byte{1, 2, 3, 4, 5, 6}), "length 6 bytes, want 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			im, err := Read(bytes.NewReader(part10(ExplicitVRLittleEndian, hdr8, tc.px)))
			if err != nil {
				t.Fatal(err)
			}
			got, err := im.Stored()
			if tc.want == "" {
				if err != nil || firstDiff(got, []int32{1, 2, 3}) >= 0 {
					t.Errorf("Stored = %v, %v; want [1 2 3]", got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestGeometryErrors(t *testing.T) {
	le := enc{}
	for _, tc := range []struct {
		name string
		ds   []byte
		want string
	}{
		{"no rows", le.us(tagColumns, 2), "image size 0x2"},
		{"color", le.image16(1, 1, le.us(tagSamplesPerPixel, 3)), "samples per pixel 3"},
		{"bits 12 allocated", le.image16(1, 1, le.us(tagBitsAllocated, 12)), "bits allocated 12"},
		{"high bit", le.image16(1, 1, le.us(tagHighBit, 16)), "high bit 16"},
		{"zero frames", bytes.Join([][]byte{le.image16(1, 1), le.str(tagNumberOfFrames, "IS", "0")}, nil), "number of frames 0"},
		{"huge", bytes.Join([][]byte{le.image16(65535, 65535), le.str(tagNumberOfFrames, "IS", "100")}, nil), "larger than"},
		{"no pixel data", le.image16(1, 1), "no (7FE0,0010) pixel data"},
		{"unsupported", le.image16(1, 1), "unsupported transfer syntax 1.2.840.10008.1.2.4.91 (JPEG 2000 Image Compression)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := ExplicitVRLittleEndian
			ds := [][]byte{tc.ds}
			if tc.name == "unsupported" {
				ts = "1.2.840.10008.1.2.4.91"
				ds = append(ds, le.useq(tagPixelData, "OB", le.item(), le.item([]byte{1, 2})))
			}
			im, err := Read(bytes.NewReader(part10(ts, ds...)))
			if err != nil {
				t.Fatal(err)
			}
			_, err = im.Stored()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			}
			if tc.name == "no pixel data" && !errors.Is(err, ErrNoPixelData) {
				t.Errorf("err = %v, want ErrNoPixelData", err)
			}
		})
	}
}

func TestReadAllLimit(t *testing.T) {
	if _, err := readAll(io.LimitReader(zeros{}, 101), 100); err == nil {
		t.Error("readAll of 101 bytes with limit 100 succeeded")
	}
	if b, err := readAll(io.LimitReader(zeros{}, 100), 100); err != nil || len(b) != 100 {
		t.Errorf("readAll of 100 bytes = %d bytes, %v", len(b), err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestFinish(t *testing.T) {
	for _, tc := range []struct {
		name         string
		in           []int32
		stored, high int
		signed       bool
		want         []int32
	}{
		{"u12 dirty", []int32{0xF123, 0x0FFF, 0x1000}, 12, 11, false, []int32{0x123, 0xFFF, 0}},
		{"s12", []int32{0x0800, 0x0FFF, 0x07FF, 0xF800}, 12, 11, true, []int32{-2048, -1, 2047, -2048}},
		{"s16", []int32{0x8000, 0xFFFF, 0x7FFF}, 16, 15, true, []int32{-32768, -1, 32767}},
		{"u16", []int32{0xFFFF}, 16, 15, false, []int32{65535}},
		{"u8", []int32{0xFF, 0x1FF}, 8, 7, false, []int32{255, 255}},
		{"high bit shifted", []int32{0x0FF0, 0xFFFF}, 8, 11, false, []int32{0xFF, 0xFF}},
		{"s32", []int32{-5}, 32, 31, true, []int32{-5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := append([]int32(nil), tc.in...)
			finish(v, tc.stored, tc.high, tc.signed)
			if firstDiff(v, tc.want) >= 0 {
				t.Errorf("finish(%v) = %v, want %v", tc.in, v, tc.want)
			}
		})
	}
}
