package safetensors

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// FuzzRead checks that Read never panics and that whatever it accepts
// survives a Write and Read round trip unchanged.
func FuzzRead(f *testing.F) {
	valid := encode(f, sampleFile())
	f.Add(valid)
	f.Add(encode(f, &File{Tensors: map[string]Tensor{}}))
	f.Add(encode(f, &File{
		Metadata: map[string]string{"format": "pt"},
		Tensors: map[string]Tensor{
			"b": {DType: BF16, Shape: []int{2}, Data: []byte{0x80, 0x3f, 0x80, 0x7f}},
			"u": {DType: U64, Shape: []int{1, 1}, Data: binary.LittleEndian.AppendUint64(nil, 1<<63)},
			"8": {DType: F8E4M3, Shape: []int{3}, Data: []byte{0x7f, 0x38, 0x01}},
		},
	}))
	// Broken ones: truncated, bad length, overlap, mismatch, unknown dtype.
	f.Add(valid[:len(valid)-3])
	f.Add(valid[:12])
	f.Add(append(binary.LittleEndian.AppendUint64(nil, 1<<62), valid[8:]...))
	f.Add(raw(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}`, make([]byte, 8)))
	f.Add(raw(`{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}}`, make([]byte, 24)))
	f.Add(raw(`{"w":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}`, make([]byte, 16)))
	f.Add(raw(`{"__metadata__":{"a":"1","a":2},"w":{"dtype":"BOOL","shape":[],"data_offsets":[0,1]}}`, []byte{1}))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := Read(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		for _, name := range got.Names {
			tn := got.Tensors[name]
			if _, err := tn.check(); err != nil {
				t.Fatalf("Read returned inconsistent tensor %q: %v", name, err)
			}
			tn.Float32()
			tn.Float64()
			tn.Int64()
		}
		var buf bytes.Buffer
		if err := Write(&buf, got); err != nil {
			t.Fatalf("Write of a file Read accepted: %v", err)
		}
		again, err := Read(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatalf("Read of a file Write produced: %v", err)
		}
		if len(again.Names) != len(got.Names) || len(again.Metadata) != len(got.Metadata) {
			t.Fatalf("round trip changed the file: %d/%d names, %d/%d metadata",
				len(again.Names), len(got.Names), len(again.Metadata), len(got.Metadata))
		}
		for i, name := range got.Names {
			a, g := again.Tensors[name], got.Tensors[name]
			if again.Names[i] != name || a.DType != g.DType || !bytes.Equal(a.Data, g.Data) || len(a.Shape) != len(g.Shape) {
				t.Fatalf("round trip changed tensor %q", name)
			}
		}
		for k, v := range got.Metadata {
			if again.Metadata[k] != v {
				t.Fatalf("round trip changed metadata %q", k)
			}
		}
	})
}
