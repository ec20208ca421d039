package dicom

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
)

func TestSplitFrames(t *testing.T) {
	soi := func(s string) []byte { return append([]byte{0xFF, 0xD8}, s...) }
	bot := func(offs ...uint32) []byte {
		var b []byte
		for _, o := range offs {
			b = binary.LittleEndian.AppendUint32(b, o)
		}
		return b
	}
	for _, tc := range []struct {
		name  string
		items [][]byte
		n     int
		want  []string // frames, or the error
		err   string
	}{
		{"one frame, many fragments", [][]byte{nil, []byte("ab"), []byte("cd")}, 1, []string{"abcd"}, ""},
		{"one per frame", [][]byte{nil, []byte("ab"), []byte("cd")}, 2, []string{"ab", "cd"}, ""},
		{"offset table", [][]byte{bot(0, 20), []byte("ab"), []byte("cd"), []byte("ef")}, 2, []string{"abcd", "ef"}, ""},
		{"SOI grouping", [][]byte{nil, soi("a"), []byte("b"), soi("c"), []byte("d"), []byte("e")}, 2, []string{"\xff\xd8ab", "\xff\xd8cde"}, ""},
		{"no fragments", [][]byte{nil}, 1, nil, "no fragments"},
		{"ambiguous", [][]byte{nil, []byte("ab"), []byte("cd"), []byte("ef")}, 2, nil, "cannot tell"},
		{"offset table size", [][]byte{bot(0), []byte("ab"), []byte("cd")}, 2, nil, "Basic Offset Table of 4 bytes"},
		{"offset not at fragment", [][]byte{bot(0, 7), []byte("ab"), []byte("cd")}, 2, nil, "does not start"},
		{"offsets backwards", [][]byte{bot(10, 0), []byte("ab"), []byte("cd")}, 2, nil, "does not start"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := splitFrames(tc.items, tc.n)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tc.want) {
				t.Errorf("frames = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestElementValues(t *testing.T) {
	le := func(vs ...uint16) []byte {
		var b []byte
		for _, v := range vs {
			b = binary.LittleEndian.AppendUint16(b, v)
		}
		return b
	}
	for _, tc := range []struct {
		e     Element
		text  string
		strs  []string
		ints  []int
		float []float64
	}{
		{Element{VR: "DS", Value: []byte(` 1.5\-2 `)}, `1.5\-2`, []string{"1.5", "-2"}, nil, []float64{1.5, -2}},
		{Element{VR: "IS", Value: []byte(`12\-3 `)}, `12\-3`, []string{"12", "-3"}, []int{12, -3}, []float64{12, -3}},
		{Element{VR: "UI", Value: []byte("1.2.3\x00")}, "1.2.3", []string{"1.2.3"}, nil, nil},
		{Element{VR: "US", Value: le(1, 65535)}, "", nil, []int{1, 65535}, []float64{1, 65535}},
		{Element{VR: "SS", Value: le(0xFFFF)}, "", nil, []int{-1}, []float64{-1}},
		{Element{VR: "US", Value: []byte{0, 7}, BigEndian: true}, "", nil, []int{7}, []float64{7}},
		{Element{VR: "SL", Value: []byte{0xFE, 0xFF, 0xFF, 0xFF}}, "", nil, []int{-2}, []float64{-2}},
		{Element{VR: "LO", Value: []byte("")}, "", nil, nil, nil},
	} {
		if tc.e.VR == "DS" || tc.e.VR == "IS" || tc.e.VR == "UI" || tc.e.VR == "LO" {
			if got := tc.e.Text(); got != tc.text {
				t.Errorf("%s %q: Text = %q, want %q", tc.e.VR, tc.e.Value, got, tc.text)
			}
			if got := tc.e.Strings(); fmt.Sprint(got) != fmt.Sprint(tc.strs) {
				t.Errorf("%s %q: Strings = %q, want %q", tc.e.VR, tc.e.Value, got, tc.strs)
			}
		}
		if got, err := tc.e.Ints(); tc.ints != nil && (err != nil || fmt.Sprint(got) != fmt.Sprint(tc.ints)) {
			t.Errorf("%s %q: Ints = %v, %v; want %v", tc.e.VR, tc.e.Value, got, err, tc.ints)
		}
		if got, err := tc.e.Floats(); tc.float != nil && (err != nil || fmt.Sprint(got) != fmt.Sprint(tc.float)) {
			t.Errorf("%s %q: Floats = %v, %v; want %v", tc.e.VR, tc.e.Value, got, err, tc.float)
		}
	}
	for _, e := range []Element{
		{VR: "DS", Value: []byte("1.5")}, // Ints of a fraction
		{VR: "US", Value: []byte{1, 2, 3}},
		{VR: "LO", Value: []byte("7")},
		{VR: "IS", Value: []byte("x")},
	} {
		if got, err := e.Ints(); err == nil {
			t.Errorf("%s %q: Ints = %v, want an error", e.VR, e.Value, got)
		}
	}
}

func TestTag(t *testing.T) {
	tag := NewTag(0x7FE0, 0x0010)
	if tag != tagPixelData || tag.Group() != 0x7FE0 || tag.Element() != 0x0010 || tag.String() != "(7FE0,0010)" {
		t.Errorf("NewTag(0x7FE0, 0x0010) = %v", tag)
	}
}

func TestFrameMonochrome1(t *testing.T) {
	le := enc{}
	file := part10(ExplicitVRLittleEndian,
		le.image16(1, 4, le.str(tagPhotometric, "CS", "MONOCHROME1"), le.us(tagPixelRepresentation, 1)),
		le.str(tagRescaleIntercept, "DS", "-10"),
		le.str(tagRescaleSlope, "DS", "2"),
		le.pixels16(0xFFFF, 0, 5, 10),
	)
	im, err := Read(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	// Modality values -12, -10, 0, 10; inverted within [-12, 10].
	got, err := im.Frame(0)
	if want := []float32{10, 8, -2, -12}; err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Frame(0) = %v, %v; want %v", got, err, want)
	}
	if _, err := im.Frame(-1); err == nil {
		t.Error("Frame(-1) succeeded")
	}
	if _, err := new(Image).Stored(); err == nil {
		t.Error("Stored of a zero Image succeeded")
	}
}

func TestTransferSyntaxNames(t *testing.T) {
	for uid, want := range map[string]bool{
		ImplicitVRLittleEndian: true, ExplicitVRLittleEndian: true, DeflatedExplicitVRLE: true,
		ExplicitVRBigEndian: true, RLELossless: true, JPEGBaseline8Bit: true, JPEGExtended12Bit: true,
		JPEGLossless: true, JPEGLosslessSV1: true, JPEGLSLossless: true, JPEGLSNearLossless: true,
		"1.2.840.10008.1.2.4.90": false, "1.2.840.10008.1.2.4.91": false, "1.2.840.10008.1.2.4.100": false,
		"1.2.3.4": false,
	} {
		if got := SupportedTransferSyntax(uid); got != want {
			t.Errorf("SupportedTransferSyntax(%s) = %v, want %v", uid, got, want)
		}
		if name := TransferSyntaxName(uid); (name == "unknown transfer syntax") != (uid == "1.2.3.4") {
			t.Errorf("TransferSyntaxName(%s) = %q", uid, name)
		}
	}
}
