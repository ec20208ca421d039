package safetensors

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// raw builds a file from a literal header and data section.
func raw(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

func readBytes(b []byte) (*File, error) { return Read(bytes.NewReader(b), int64(len(b))) }

func sampleFile() *File {
	return &File{
		Metadata: map[string]string{"format": "pt", "note": `<a & b> "q"`},
		Names:    []string{"z.weight", "a.bias", "m.count", "s.scalar", "e.empty"},
		Tensors: map[string]Tensor{
			"z.weight": FromFloat32([]int{2, 3}, []float32{1, 2, 3, 4, 5, 6}),
			"a.bias":   {DType: F16, Shape: []int{3}, Data: []byte{0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00}},
			"m.count":  FromInt64([]int{1}, []int64{-7}),
			"s.scalar": FromFloat64([]int{}, []float64{math.Pi}),
			"e.empty":  {DType: I32, Shape: []int{0, 4}, Data: []byte{}},
		},
	}
}

func encode(t testing.TB, f *File) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, f); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sameFile(t *testing.T, got, want *File) {
	t.Helper()
	wantNames := want.Names
	if wantNames == nil {
		for n := range want.Tensors {
			wantNames = append(wantNames, n)
		}
		slices.Sort(wantNames)
	}
	if !slices.Equal(got.Names, wantNames) {
		t.Errorf("names = %q, want %q", got.Names, wantNames)
	}
	if len(got.Metadata) != len(want.Metadata) {
		t.Errorf("metadata = %q, want %q", got.Metadata, want.Metadata)
	}
	for k, v := range want.Metadata {
		if got.Metadata[k] != v {
			t.Errorf("metadata[%q] = %q, want %q", k, got.Metadata[k], v)
		}
	}
	for _, name := range wantNames {
		g, w := got.Tensors[name], want.Tensors[name]
		if g.DType != w.DType || !slices.Equal(g.Shape, w.Shape) || !bytes.Equal(g.Data, w.Data) {
			t.Errorf("tensor %q = %s %v % x, want %s %v % x", name, g.DType, g.Shape, g.Data, w.DType, w.Shape, w.Data)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    *File
	}{
		{"ordered", sampleFile()},
		{"sorted", func() *File { f := sampleFile(); f.Names = nil; return f }()},
		{"empty", &File{Tensors: map[string]Tensor{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := encode(t, tc.f)
			hlen := binary.LittleEndian.Uint64(b)
			if hlen%8 != 0 {
				t.Errorf("header length %d is not a multiple of 8", hlen)
			}
			if trimmed := strings.TrimRight(string(b[8:8+hlen]), " "); !strings.HasSuffix(trimmed, "}") {
				t.Errorf("header %q is not padded with spaces", b[8:8+hlen])
			}
			got, err := readBytes(b)
			if err != nil {
				t.Fatal(err)
			}
			sameFile(t, got, tc.f)
			if again := encode(t, got); !bytes.Equal(again, b) {
				t.Errorf("re-encoding differs:\n%q\n%q", again, b)
			}
		})
	}
}

func TestWriteRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    *File
		want string
	}{
		{"short data", &File{Tensors: map[string]Tensor{"w": {DType: F32, Shape: []int{2}, Data: make([]byte, 7)}}}, `tensor "w"`},
		{"unknown dtype", &File{Tensors: map[string]Tensor{"w": {DType: "F128", Shape: []int{1}, Data: make([]byte, 16)}}}, `unknown dtype "F128"`},
		{"names mismatch", &File{Names: []string{"x"}, Tensors: map[string]Tensor{"w": FromInt64(nil, []int64{1})}}, `"x" is in Names but not in Tensors`},
		{"duplicate name", &File{Names: []string{"w", "w"}, Tensors: map[string]Tensor{"w": FromInt64(nil, []int64{1})}}, "lists 2 tensors"},
		{"reserved", &File{Tensors: map[string]Tensor{"__metadata__": FromInt64(nil, []int64{1})}}, "reserved"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Write(&buf, tc.f)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Write error = %v, want one containing %q", err, tc.want)
			}
			if buf.Len() != 0 {
				t.Errorf("Write wrote %d bytes before failing", buf.Len())
			}
		})
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	f := sampleFile()
	if err := WriteFile(path, f); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sameFile(t, got, f)
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	// A failing write must leave the previous checkpoint intact.
	bad := &File{Tensors: map[string]Tensor{"w": {DType: F32, Shape: []int{4}, Data: make([]byte, 3)}}}
	if err := WriteFile(path, bad); err == nil {
		t.Fatal("WriteFile of an invalid tensor succeeded")
	}
	// So must a failure once the temporary file exists: the target's
	// directory entry cannot be replaced by a rename onto a directory.
	sub := filepath.Join(dir, "sub.safetensors")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(sub, f); err == nil {
		t.Fatal("WriteFile onto a directory succeeded")
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("failed WriteFile changed the existing file")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"model.safetensors", "sub.safetensors"}) {
		t.Errorf("directory holds %q, want only the checkpoint and the test's subdirectory", names)
	}
}

func TestReadFileNamesPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "broken.safetensors")
	if err := os.WriteFile(path, raw(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 4)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadFile(path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), `tensor "w"`) {
		t.Fatalf("error = %v, want one naming %s and tensor \"w\"", err, path)
	}
}

func TestReadErrors(t *testing.T) {
	valid := encode(t, sampleFile())
	hugeLen := binary.LittleEndian.AppendUint64(nil, 1<<40)
	pastEnd := binary.LittleEndian.AppendUint64(nil, 64)
	entry := func(dtype, shape, offs string) string {
		return `{"dtype":` + dtype + `,"shape":` + shape + `,"data_offsets":` + offs + `}`
	}
	for _, tc := range []struct {
		name string
		file []byte
		want []string // substrings of the error
	}{
		{"empty", nil, []string{"shorter than the 8-byte header length"}},
		{"truncated", valid[:len(valid)-5], []string{"run past", "data section"}},
		{"header length too big", append(hugeLen, "{}"...), []string{"header length 1099511627776 exceeds the limit"}},
		{"header past end", append(pastEnd, "{}"...), []string{"header length 64 runs past the end"}},
		{"not json", raw(`{"w":`, nil), []string{"header"}},
		{"not an object", raw(`[1,2]`, nil), []string{`expected "{"`}},
		{"trailing", raw(`{}{}`, nil), []string{"trailing data"}},
		{"invalid utf8", raw("{\"\xff\":1}", nil), []string{"UTF-8"}},
		{"duplicate tensor", raw(`{"w":`+entry(`"U8"`, `[1]`, `[0,1]`)+`,"w":`+entry(`"U8"`, `[1]`, `[1,2]`)+`}`, []byte{1, 2}), []string{`duplicate key "w"`}},
		{"unknown dtype", raw(`{"w":`+entry(`"F128"`, `[1]`, `[0,16]`)+`}`, make([]byte, 16)), []string{`tensor "w"`, `unknown dtype "F128"`}},
		{"dtype not string", raw(`{"w":`+entry(`4`, `[1]`, `[0,4]`)+`}`, make([]byte, 4)), []string{`tensor "w"`, "dtype: expected a string"}},
		{"shape mismatch", raw(`{"w":`+entry(`"F32"`, `[2,3]`, `[0,20]`)+`}`, make([]byte, 24)), []string{`tensor "w"`, "needs 24 bytes", "span 20"}},
		{"negative dim", raw(`{"w":`+entry(`"F32"`, `[-1]`, `[0,4]`)+`}`, make([]byte, 4)), []string{`tensor "w"`, "non-negative integer, found -1"}},
		{"fractional dim", raw(`{"w":`+entry(`"F32"`, `[1.5]`, `[0,4]`)+`}`, make([]byte, 4)), []string{`tensor "w"`, "found 1.5"}},
		{"overflowing shape", raw(`{"w":`+entry(`"F32"`, `[4294967296,4294967296]`, `[0,4]`)+`}`, make([]byte, 4)), []string{`tensor "w"`, "overflows"}},
		{"offsets past data", raw(`{"w":`+entry(`"U8"`, `[8]`, `[4,12]`)+`}`, make([]byte, 8)), []string{`tensor "w"`, "run past the 8-byte data section"}},
		{"begin after end", raw(`{"w":`+entry(`"U8"`, `[0]`, `[4,2]`)+`}`, make([]byte, 8)), []string{`tensor "w"`, "begin is after end"}},
		{"three offsets", raw(`{"w":`+entry(`"U8"`, `[1]`, `[0,1,2]`)+`}`, make([]byte, 8)), []string{`tensor "w"`, "expected 2 integers, found 3"}},
		{"overlap", raw(`{"a":`+entry(`"U8"`, `[4]`, `[0,4]`)+`,"b":`+entry(`"U8"`, `[4]`, `[2,6]`)+`}`, make([]byte, 8)), []string{`tensor "b"`, `overlap tensor "a"`}},
		{"missing shape", raw(`{"w":{"dtype":"U8","data_offsets":[0,1]}}`, make([]byte, 1)), []string{`tensor "w"`, `missing field "shape"`}},
		{"duplicate field", raw(`{"w":{"dtype":"U8","dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, make([]byte, 1)), []string{`tensor "w"`, `duplicate field "dtype"`}},
		{"metadata not strings", raw(`{"__metadata__":{"epoch":3}}`, nil), []string{"__metadata__", `key "epoch": expected a string value, found number 3`}},
		{"metadata not object", raw(`{"__metadata__":"x"}`, nil), []string{"__metadata__", "expected an object"}},
		{"metadata duplicate", raw(`{"__metadata__":{"a":"1","a":"2"}}`, nil), []string{"__metadata__", `duplicate key "a"`}},
		{"entry not object", raw(`{"w":[1]}`, nil), []string{`tensor "w"`, `expected "{"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := readBytes(tc.file)
			if err == nil {
				t.Fatalf("Read succeeded: %+v", f)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestReadLenient(t *testing.T) {
	// Accepted as the reference accepts them: null metadata, unknown
	// fields, gaps between tensors, empty tensors sharing an offset.
	hdr := `{"__metadata__":null,"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6],"extra":{"x":[1]}},` +
		`"a":{"dtype":"U8","shape":[0],"data_offsets":[4,4]},"c":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`
	f, err := readBytes(raw(hdr, []byte{9, 0, 0, 0, 7, 8}))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.Names, []string{"b", "a", "c"}) {
		t.Errorf("names = %q, want the header's order", f.Names)
	}
	if got := f.Tensors["b"].Data; !bytes.Equal(got, []byte{7, 8}) {
		t.Errorf("b = %v", got)
	}
	if f.Metadata == nil || len(f.Metadata) != 0 {
		t.Errorf("metadata = %#v, want an empty map", f.Metadata)
	}
}

func TestFloat16(t *testing.T) {
	for _, tc := range []struct {
		bits uint16
		want uint32 // float32 bits, so that -0 and NaN payloads are compared exactly
	}{
		{0x0000, 0x00000000},                               // +0
		{0x8000, 0x80000000},                               // -0
		{0x3c00, math.Float32bits(1)},                      // 1
		{0xc000, math.Float32bits(-2)},                     // -2
		{0x3555, math.Float32bits(0.333251953125)},         // 1/3 rounded: 0x155/1024/4 + 1/4
		{0x7bff, math.Float32bits(65504)},                  // largest finite
		{0x0400, math.Float32bits(6.103515625e-05)},        // smallest normal, 2^-14
		{0x0001, math.Float32bits(5.9604644775390625e-08)}, // smallest subnormal, 2^-24
		{0x8001, math.Float32bits(-5.9604644775390625e-08)},
		{0x03ff, math.Float32bits(6.0975551605224609375e-05)}, // largest subnormal, 1023 * 2^-24
		{0x0200, math.Float32bits(3.0517578125e-05)},          // 2^-15
		{0x7c00, 0x7f800000},                                  // +inf
		{0xfc00, 0xff800000},                                  // -inf
		{0x7e00, 0x7fc00000},                                  // quiet NaN
		{0x7c01, 0x7f802000},                                  // signalling NaN keeps its payload
		{0xfe01, 0xffc02000},                                  // negative NaN with payload
	} {
		if got := math.Float32bits(Float16ToFloat32(tc.bits)); got != tc.want {
			t.Errorf("Float16ToFloat32(%#04x) = %#08x (%g), want %#08x (%g)",
				tc.bits, got, math.Float32frombits(got), tc.want, math.Float32frombits(tc.want))
		}
	}
}

func TestBFloat16(t *testing.T) {
	for _, tc := range []struct {
		bits uint16
		want uint32
	}{
		{0x0000, 0x00000000},
		{0x8000, 0x80000000},
		{0x3f80, math.Float32bits(1)},
		{0xc049, math.Float32bits(-3.140625)},
		{0x7f7f, math.Float32bits(3.3895313892515355e+38)}, // largest finite
		{0x0080, math.Float32bits(1.1754943508222875e-38)}, // smallest normal, 2^-126
		{0x0001, math.Float32bits(9.183549615799121e-41)},  // smallest subnormal, 2^-133
		{0x7f80, 0x7f800000},
		{0xff80, 0xff800000},
		{0x7fc0, 0x7fc00000},
		{0x7f81, 0x7f810000},
	} {
		if got := math.Float32bits(BFloat16ToFloat32(tc.bits)); got != tc.want {
			t.Errorf("BFloat16ToFloat32(%#04x) = %#08x, want %#08x", tc.bits, got, tc.want)
		}
	}
}

func TestFloat8(t *testing.T) {
	for _, tc := range []struct {
		dtype DType
		bits  uint8
		want  float64 // NaN means any NaN
	}{
		{F8E4M3, 0x38, 1},
		{F8E4M3, 0xb8, -1},
		{F8E4M3, 0x7e, 448}, // largest finite: 1.75 * 2^8
		{F8E4M3, 0x08, 0.015625},
		{F8E4M3, 0x01, 0.001953125}, // smallest subnormal, 2^-9
		{F8E4M3, 0x07, 7 * 0.001953125},
		{F8E4M3, 0x7f, math.NaN()},
		{F8E4M3, 0xff, math.NaN()},
		{F8E4M3, 0x78, 256}, // exponent 15 is finite in E4M3FN
		{F8E5M2, 0x3c, 1},
		{F8E5M2, 0x7b, 57344},
		{F8E5M2, 0x01, 1.52587890625e-05}, // 2^-16
		{F8E5M2, 0x7c, math.Inf(1)},
		{F8E5M2, 0xfc, math.Inf(-1)},
		{F8E5M2, 0x7d, math.NaN()},
	} {
		got, err := Tensor{DType: tc.dtype, Shape: []int{1}, Data: []byte{tc.bits}}.Float64()
		if err != nil {
			t.Fatal(err)
		}
		if math.IsNaN(tc.want) && !math.IsNaN(got[0]) || !math.IsNaN(tc.want) && got[0] != tc.want {
			t.Errorf("%s %#02x = %g, want %g", tc.dtype, tc.bits, got[0], tc.want)
		}
	}
}

func TestConversions(t *testing.T) {
	le := binary.LittleEndian
	i32 := le.AppendUint32(le.AppendUint32(nil, uint32(0xffffffff)), 1<<31-1)
	f64 := le.AppendUint64(nil, math.Float64bits(0.1))
	for _, tc := range []struct {
		name  string
		t     Tensor
		f32   []float32
		f64   []float64
		i64   []int64
		error string // for Int64, or for all when f32 is nil
	}{
		{"F32", FromFloat32([]int{2}, []float32{1.5, -2}), []float32{1.5, -2}, []float64{1.5, -2}, nil, "not an integer type"},
		{"F64", Tensor{DType: F64, Shape: []int{1}, Data: f64}, []float32{0.1}, []float64{0.1}, nil, "not an integer type"},
		{"BF16", Tensor{DType: BF16, Shape: []int{2}, Data: []byte{0x80, 0x3f, 0x49, 0xc0}}, []float32{1, -3.140625}, []float64{1, -3.140625}, nil, "not an integer type"},
		{"I64", FromInt64([]int{3}, []int64{-1, 0, 1 << 40}), []float32{-1, 0, 1 << 40}, []float64{-1, 0, 1 << 40}, []int64{-1, 0, 1 << 40}, ""},
		{"I32", Tensor{DType: I32, Shape: []int{2}, Data: i32}, []float32{-1, 1<<31 - 1}, []float64{-1, 1<<31 - 1}, []int64{-1, 1<<31 - 1}, ""},
		{"U8", Tensor{DType: U8, Shape: []int{2}, Data: []byte{255, 3}}, []float32{255, 3}, []float64{255, 3}, []int64{255, 3}, ""},
		{"I8", Tensor{DType: I8, Shape: []int{2}, Data: []byte{255, 3}}, []float32{-1, 3}, []float64{-1, 3}, []int64{-1, 3}, ""},
		{"BOOL", Tensor{DType: BOOL, Shape: []int{3}, Data: []byte{0, 1, 2}}, []float32{0, 1, 1}, []float64{0, 1, 1}, []int64{0, 1, 1}, ""},
		{"U64 big", Tensor{DType: U64, Shape: []int{1}, Data: le.AppendUint64(nil, 1<<63)}, []float32{1 << 63}, []float64{1 << 63}, nil, "above the int64 range"},
		{"C64", Tensor{DType: C64, Shape: []int{1}, Data: make([]byte, 8)}, nil, nil, nil, "cannot convert C64"},
		{"short", Tensor{DType: F32, Shape: []int{2}, Data: make([]byte, 4)}, nil, nil, nil, "needs 2*4 bytes, has 4"},
		{"bad dtype", Tensor{DType: "X", Shape: []int{1}, Data: make([]byte, 4)}, nil, nil, nil, `unknown dtype "X"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f32, err32 := tc.t.Float32()
			f64, err64 := tc.t.Float64()
			i64, erri := tc.t.Int64()
			if tc.f32 == nil {
				for _, err := range []error{err32, err64, erri} {
					if err == nil || !strings.Contains(err.Error(), tc.error) {
						t.Errorf("error = %v, want one containing %q", err, tc.error)
					}
				}
				return
			}
			if err32 != nil || err64 != nil {
				t.Fatal(err32, err64)
			}
			if !slices.Equal(f32, tc.f32) || !slices.Equal(f64, tc.f64) {
				t.Errorf("Float32 = %v, Float64 = %v, want %v, %v", f32, f64, tc.f32, tc.f64)
			}
			if tc.i64 != nil {
				if erri != nil || !slices.Equal(i64, tc.i64) {
					t.Errorf("Int64 = %v, %v, want %v", i64, erri, tc.i64)
				}
			} else if erri == nil || !strings.Contains(erri.Error(), tc.error) {
				t.Errorf("Int64 error = %v, want one containing %q", erri, tc.error)
			}
		})
	}
}

func TestFromPanicsOnMismatch(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("FromFloat32 with 3 values for shape [2 2] did not panic")
		}
	}()
	FromFloat32([]int{2, 2}, []float32{1, 2, 3})
}

func TestNumElements(t *testing.T) {
	for _, tc := range []struct {
		shape []int
		want  int
	}{
		{nil, 1}, {[]int{}, 1}, {[]int{0, 5}, 0}, {[]int{2, 3, 4}, 24}, {[]int{-1}, -1}, {[]int{math.MaxInt, 2}, -1},
	} {
		if got := (Tensor{Shape: tc.shape}).NumElements(); got != tc.want {
			t.Errorf("NumElements(%v) = %d, want %d", tc.shape, got, tc.want)
		}
	}
}
