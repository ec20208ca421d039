package pth

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/vertebra-ml/vertebra/nn/safetensors"
)

func readBytes(b []byte) (*Checkpoint, error) { return Read(bytes.NewReader(b), int64(len(b))) }

func mustStateDict(t *testing.T, b []byte) ([]string, map[string]safetensors.Tensor) {
	t.Helper()
	c, err := readBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	names, tensors, err := c.StateDict()
	if err != nil {
		t.Fatal(err)
	}
	return names, tensors
}

func int64s(t *testing.T, tn safetensors.Tensor) []int64 {
	t.Helper()
	v, err := tn.Int64()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// permuted is arange(24).reshape(2, 3, 4).permute(2, 0, 1) computed by hand:
// element [i][j][k] is x[j][k][i] = 12j + 4k + i.
func permuted() []int64 {
	var v []int64
	for i := range 4 {
		for j := range 2 {
			for k := range 3 {
				v = append(v, int64(12*j+4*k+i))
			}
		}
	}
	return v
}

func TestViewsAndTypes(t *testing.T) {
	specs := []tspec{
		{name: "w", storage: "FloatStorage", key: "0", numel: 6, size: []int{2, 3}, stride: []int{3, 1}},
		{name: "perm", storage: "LongStorage", key: "1", numel: 24, size: []int{4, 2, 3}, stride: []int{1, 12, 4}},
		{name: "tail", storage: "LongStorage", key: "1", numel: 24, offset: 21, size: []int{3}, stride: []int{1}},
		{name: "col", storage: "LongStorage", key: "1", numel: 24, offset: 2, size: []int{6, 1}, stride: []int{4, 1}},
		{name: "bcast", storage: "LongStorage", key: "1", numel: 24, offset: 5, size: []int{2, 2}, stride: []int{0, 1}},
		{name: "p", storage: "FloatStorage", key: "0", numel: 6, offset: 4, size: []int{2}, stride: []int{1}, param: true},
		{name: "scalar", storage: "HalfStorage", key: "2", numel: 1, size: []int{}, stride: []int{}},
		{name: "empty", storage: "BoolStorage", key: "3", numel: 0, size: []int{0, 5}, stride: []int{5, 1}},
	}
	storages := map[string][]byte{
		"0": le32(1, 2, 3, 4, 5, 6),
		"1": le64(arange64(24)...),
		"2": {0x00, 0x3c}, // 1.0 in float16
		"3": {},
	}
	zipFile := zipCheckpoint(t, stateDict(false, specs...),
		entry{"data/0", storages["0"]}, entry{"data/1", storages["1"]}, entry{"data/2", storages["2"]}, entry{"data/3", storages["3"]})
	var legacySpecs []tspec
	for _, s := range specs {
		s.view = nil
		legacySpecs = append(legacySpecs, s)
	}
	legacyFile := legacyCheckpoint(stateDict(true, legacySpecs...), false,
		storage{"0", 6, storages["0"]}, storage{"1", 24, storages["1"]}, storage{"2", 1, storages["2"]}, storage{"3", 0, nil})

	for _, tc := range []struct {
		name string
		file []byte
	}{{"zip", zipFile}, {"legacy", legacyFile}} {
		t.Run(tc.name, func(t *testing.T) {
			names, ts := mustStateDict(t, tc.file)
			if want := []string{"w", "perm", "tail", "col", "bcast", "p", "scalar", "empty"}; !slices.Equal(names, want) {
				t.Errorf("names = %q, want %q", names, want)
			}
			if w, _ := ts["w"].Float32(); !slices.Equal(w, []float32{1, 2, 3, 4, 5, 6}) || ts["w"].DType != safetensors.F32 {
				t.Errorf("w = %s %v", ts["w"].DType, w)
			}
			for _, c := range []struct {
				name  string
				shape []int
				want  []int64
			}{
				{"perm", []int{4, 2, 3}, permuted()},
				{"tail", []int{3}, []int64{21, 22, 23}},
				{"col", []int{6, 1}, []int64{2, 6, 10, 14, 18, 22}},
				{"bcast", []int{2, 2}, []int64{5, 6, 5, 6}},
			} {
				if got := int64s(t, ts[c.name]); !slices.Equal(got, c.want) || !slices.Equal(ts[c.name].Shape, c.shape) {
					t.Errorf("%s = %v %v, want %v %v", c.name, ts[c.name].Shape, got, c.shape, c.want)
				}
			}
			if p, _ := ts["p"].Float32(); !slices.Equal(p, []float32{5, 6}) {
				t.Errorf("parameter p = %v, want [5 6]", p)
			}
			if s, _ := ts["scalar"].Float32(); len(ts["scalar"].Shape) != 0 || !slices.Equal(s, []float32{1}) {
				t.Errorf("scalar = %v %v", ts["scalar"].Shape, s)
			}
			if e := ts["empty"]; e.DType != safetensors.BOOL || !slices.Equal(e.Shape, []int{0, 5}) || len(e.Data) != 0 {
				t.Errorf("empty = %+v", e)
			}
		})
	}
}

// TestDeflated reads an archive whose entries another tool compressed.
func TestDeflated(t *testing.T) {
	pkl := stateDict(false, tspec{name: "v", storage: "LongStorage", key: "0", numel: 6, offset: 1, size: []int{2, 2}, stride: []int{1, 2}})
	_, ts := mustStateDict(t, zipWith(t, zip.Deflate, pkl, entry{"data/0", le64(arange64(6)...)}))
	if got := int64s(t, ts["v"]); !slices.Equal(got, []int64{1, 3, 2, 4}) {
		t.Errorf("v = %v, want [1 3 2 4]", got)
	}
}

func TestBigEndian(t *testing.T) {
	be := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, 1), 0xfffffffe)
	spec := tspec{name: "i", storage: "IntStorage", key: "0", numel: 2, size: []int{2}, stride: []int{1}}
	for _, tc := range []struct {
		name string
		file []byte
	}{
		{"zip", zipCheckpoint(t, stateDict(false, spec), entry{"byteorder", []byte("big")}, entry{"data/0", be})},
		{"legacy", legacyCheckpoint(stateDict(true, spec), true, storage{"0", 2, be})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, ts := mustStateDict(t, tc.file)
			if got := int64s(t, ts["i"]); !slices.Equal(got, []int64{1, -2}) {
				t.Errorf("i = %v, want [1 -2]", got)
			}
		})
	}
}

// TestLegacyStorageViews covers the legacy format's storage views: a
// persistent id may name a slice (view_key, offset, size) of a root storage.
func TestLegacyStorageViews(t *testing.T) {
	pkl := stateDict(true,
		tspec{name: "whole", storage: "LongStorage", key: "r", numel: 10, size: []int{10}, stride: []int{1}},
		tspec{name: "part", storage: "LongStorage", key: "r", numel: 10, offset: 1, size: []int{2}, stride: []int{1}, view: []any{"v", 4, 3}},
	)
	_, ts := mustStateDict(t, legacyCheckpoint(pkl, false, storage{"r", 10, le64(arange64(10)...)}))
	if got := int64s(t, ts["part"]); !slices.Equal(got, []int64{5, 6}) {
		t.Errorf("part = %v, want [5 6]", got)
	}
	if got := int64s(t, ts["whole"]); !slices.Equal(got, arange64(10)) {
		t.Errorf("whole = %v", got)
	}
}

// TestStateDictMetadata checks that BUILD's attributes (the _metadata of a
// module's state_dict) are kept apart from the tensors.
func TestStateDictMetadata(t *testing.T) {
	pkl := stateDict(false, tspec{name: "w", storage: "FloatStorage", key: "0", numel: 1, size: []int{1}, stride: []int{1}})
	p := &pk{b: pkl[:len(pkl)-1]} // drop STOP
	p.op('}').str("_metadata").global("collections", "OrderedDict").op(')', 'R')
	p.str("").op('}').str("version").op('K', 1, 's', 's', 's', 'b', '.')
	c, err := readBytes(zipCheckpoint(t, p.b, entry{"data/0", le32(7)}))
	if err != nil {
		t.Fatal(err)
	}
	root := c.Root.(*Dict)
	if root.Attrs == nil {
		t.Fatal("Attrs is nil, want _metadata")
	}
	meta, _ := root.Attrs.Get("_metadata")
	v, _ := meta.(*Dict).Values[""].(*Dict).Get("version")
	if v != int64(1) {
		t.Errorf("_metadata[''].version = %v, want 1", v)
	}
	names, _, err := c.StateDict()
	if err != nil || !slices.Equal(names, []string{"w"}) {
		t.Errorf("StateDict = %q, %v", names, err)
	}
}

func TestStateDictSelection(t *testing.T) {
	tensor := safetensors.FromFloat32([]int{1}, []float32{1})
	dict := func(kv ...any) *Dict {
		d := &Dict{Values: map[any]any{}}
		for i := 0; i < len(kv); i += 2 {
			d.Keys = append(d.Keys, kv[i])
			d.Values[kv[i]] = kv[i+1]
		}
		return d
	}
	for _, tc := range []struct {
		name    string
		root    any
		flat    bool
		want    []string
		wantErr string
	}{
		{"plain", dict("a", tensor, "b", tensor), false, []string{"a", "b"}, ""},
		{"study", dict("epoch", int64(3), "model_state_dict", dict("x", tensor), "val_acc", 0.5), false, []string{"x"}, ""},
		{"state_dict", dict("state_dict", dict("y", tensor), "optimizer", dict()), false, []string{"y"}, ""},
		{"model", dict("model", dict("z", tensor), "args", nil), false, []string{"z"}, ""},
		{"not a dict", []any{tensor}, false, nil, "root is a list, not a dict"},
		{"nested", dict("enc", dict("w", tensor)), false, nil, `key "enc" holds a nested dict`},
		{"nested in study", dict("model_state_dict", dict("enc", dict("w", tensor))), false, nil, `key "model_state_dict.enc" holds a nested dict`},
		{"flattened", dict("enc", dict("w", tensor, "b", tensor), "head", tensor), true, []string{"enc.w", "enc.b", "head"}, ""},
		{"non-tensor", dict("a", tensor, "epoch", int64(3)), false, nil, `key "epoch" holds a int, not a tensor`},
		{"non-string key", dict(1.5, tensor), false, nil, "key 1.5 is a float"},
		{"flattened clash", dict("a.b", tensor, "a", dict("b", tensor)), true, nil, `"a.b" appears twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Checkpoint{Root: tc.root}
			f := c.StateDict
			if tc.flat {
				f = c.FlatStateDict
			}
			names, tensors, err := f()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(names, tc.want) || len(tensors) != len(tc.want) {
				t.Errorf("names = %q, want %q", names, tc.want)
			}
		})
	}
}

// TestUnpickle covers values the fixtures do not: protocol 4 opcodes,
// big integers, memo, bytes, sets.
func TestUnpickle(t *testing.T) {
	for _, tc := range []struct {
		name string
		pkl  string
		want string // fmt %v of the converted value
	}{
		{"long1 negative", "\x80\x02\x8a\x02\x00\xff.", "-256"},
		{"long1 big", "\x80\x02\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01.", "18446744073709551616"},
		{"long1 empty", "\x80\x02\x8a\x00.", "0"},
		{"binint negative", "\x80\x02J\xfe\xff\xff\xff.", "-2"},
		{"binfloat", "\x80\x02G?\xf8\x00\x00\x00\x00\x00\x00.", "1.5"},
		{"protocol 4", "\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x02ab\x940]\x94(h\x00h\x00e.", "[ab ab]"},
		{"memoize", "\x80\x04\x8c\x01x\x94h\x00\x86.", "[x x]"},
		{"bytes", "\x80\x03C\x02hi.", "[104 105]"},
		{"text ints", "\x80\x02(I01\nI-7\nL12L\nF2.5\nt.", "[true -7 12 2.5]"},
		{"set", "\x80\x04\x8f(K\x01K\x02\x90.", "[1 2]"},
		{"dict", "\x80\x02(X\x01\x00\x00\x00aK\x01X\x01\x00\x00\x00bNd.", "map[a:1 b:<nil>]"},
		{"pop mark", "\x80\x02K\x01(K\x02K\x031.", "1"},
		{"dup", "\x80\x02K\x012\x86.", "[1 1]"},
		{"setitem keeps first position", "\x80\x02}(K\x01K\x0aK\x02K\x14K\x01K\x1eu.", "map[1:30 2:20]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := unpickleForTest([]byte(tc.pkl))
			if err != nil {
				t.Fatal(err)
			}
			if got := formatValue(v); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func unpickleForTest(b []byte) (any, error) {
	u := newTorchUnpickler(bufio.NewReader(bytes.NewReader(b)), 0, int64(len(b)), zipPersistentLoad)
	v, err := u.load()
	if err != nil {
		return nil, err
	}
	return newResolver(nil, int64(len(b)), false).convert(v, "", 0)
}

func formatValue(v any) string {
	switch v := v.(type) {
	case *Dict:
		var parts []string
		for _, k := range v.Keys {
			parts = append(parts, formatValue(k)+":"+formatValue(v.Values[k]))
		}
		return "map[" + strings.Join(parts, " ") + "]"
	case []any:
		var parts []string
		for _, x := range v {
			parts = append(parts, formatValue(x))
		}
		return "[" + strings.Join(parts, " ") + "]"
	case nil:
		return "<nil>"
	}
	return fmt.Sprint(v)
}

func TestErrors(t *testing.T) {
	tensor := tspec{name: "w", storage: "FloatStorage", key: "0", numel: 4, size: []int{2, 2}, stride: []int{2, 1}}
	good := zipCheckpoint(t, stateDict(false, tensor), entry{"data/0", le32(1, 2, 3, 4)})
	bad := func(ts tspec, data []byte) []byte {
		return zipCheckpoint(t, stateDict(false, ts), entry{"data/0", data})
	}
	with := func(f func(*tspec)) tspec { s := tensor; f(&s); return s }
	inZip := func(pkl string) []byte { return zipCheckpoint(t, []byte(pkl)) }
	nested := &pk{}
	nested.op(0x80, 2)
	for range 2000 {
		nested.op(']')
	}
	for range 1999 {
		nested.op('a')
	}
	nested.op('.')
	legacyGood := legacyCheckpoint(stateDict(true, tensor), false, storage{"0", 4, le32(1, 2, 3, 4)})

	for _, tc := range []struct {
		name string
		file []byte
		want []string
	}{
		{"forbidden global", inZip("\x80\x02cos\nsystem\nq\x00."), []string{"forbidden global os.system", "GLOBAL", "offset 2"}},
		{"forbidden global in legacy", legacyCheckpoint([]byte("\x80\x02cos\nsystem\nq\x00."), false), []string{"forbidden global os.system"}},
		{"forbidden stack global", inZip("\x80\x04\x8c\x08builtins\x8c\x04eval\x93."), []string{"forbidden global builtins.eval", "STACK_GLOBAL"}},
		{"forbidden torch global", inZip("\x80\x02ctorch\nload\n."), []string{"forbidden global torch.load"}},
		{"unknown opcode", inZip("\x80\x02\xff."), []string{"unknown opcode", "0xff", "offset 2"}},
		{"global before INST", inZip("\x80\x02(cos\nsystem\ni."), []string{"forbidden global os.system"}},
		{"inst", inZip("\x80\x02(i."), []string{"INST is not supported"}},
		{"truncated pickle", inZip("\x80\x02}q\x00(X\x05\x00\x00\x00ab"), []string{"truncated"}},
		{"no stop", inZip("\x80\x02N"), []string{"truncated", "expected an opcode or STOP"}},
		{"stack underflow", inZip("\x80\x02R."), []string{"REDUCE", "stack underflow"}},
		{"underflow past mark", inZip("\x80\x02](a."), []string{"APPEND", "stack underflow"}},
		{"memo miss", inZip("\x80\x02h\x05."), []string{"memo index 5 was never stored"}},
		{"two values at stop", inZip("\x80\x02NN."), []string{"STOP with 2 values"}},
		{"protocol 6", inZip("\x80\x06N."), []string{"unsupported pickle protocol 6"}},
		{"call storage type", inZip("\x80\x02ctorch\nFloatStorage\n)R."), []string{"torch.FloatStorage is not callable"}},
		{"newobj tensor", inZip("\x80\x02ctorch._utils\n_rebuild_tensor_v2\n)\x81."), []string{"cannot instantiate torch._utils._rebuild_tensor_v2"}},
		{"unhashable key", inZip("\x80\x02}]Ns."), []string{"unsupported dict key of type list"}},
		{"self-containing list", inZip("\x80\x02]q\x00h\x00a."), []string{"contains itself"}},
		{"deep nesting", inZip(string(nested.b)), []string{"deeper than 1000"}},
		{"module pid", inZip("\x80\x02(X\x06\x00\x00\x00moduleNNNtQ."), []string{"whole nn.Module"}},
		{"bad pid", inZip("\x80\x02X\x01\x00\x00\x00xQ."), []string{"persistent id must be a non-empty tuple"}},
		{"missing storage", zipCheckpoint(t, stateDict(false, tensor)), []string{`tensor ["w"]`, `storage "0": archive has no entry archive/data/0`}},
		{"storage too small", bad(tensor, le32(1, 2, 3)), []string{`tensor ["w"]`, `4 elements of F32`, "12 bytes"}},
		{"view past storage", bad(with(func(s *tspec) { s.offset = 1 }), le32(1, 2, 3, 4)), []string{`tensor ["w"]`, "reaches element 4 of a storage of 4 elements"}},
		{"negative stride", bad(with(func(s *tspec) { s.stride = []int{-2, 1} }), le32(1, 2, 3, 4)), []string{"negative entry"}},
		{"size stride mismatch", bad(with(func(s *tspec) { s.stride = []int{1} }), le32(1, 2, 3, 4)), []string{"differ in length"}},
		{"expanded beyond budget", bad(with(func(s *tspec) { s.size, s.stride = []int{1 << 30, 1 << 30}, []int{0, 0} }), le32(1, 2, 3, 4)), []string{"twice the file size"}},
		{"two data.pkl", zipCheckpoint(t, stateDict(false, tensor), entry{"/other/data.pkl", nil}), []string{"2 data.pkl entries"}},
		{"no data.pkl", func() []byte {
			b := bytes.Clone(good)
			return bytes.ReplaceAll(b, []byte("archive/data.pkl"), []byte("archive/data.pkX"))
		}(), []string{"0 data.pkl entries"}},
		{"torchscript", zipCheckpoint(t, stateDict(false, tensor), entry{"data/0", le32(1, 2, 3, 4)}, entry{"constants.pkl", nil}), []string{"TorchScript"}},
		{"bad byteorder", zipCheckpoint(t, stateDict(false, tensor), entry{"data/0", le32(1, 2, 3, 4)}, entry{"byteorder", []byte("middle")}), []string{`unknown byte order "middle"`}},
		{"truncated zip", good[:len(good)/2], []string{"zip"}},
		{"truncated legacy", legacyGood[:len(legacyGood)-3], []string{`storage "0"`, "run past the end"}},
		{"legacy bad magic", append([]byte("\x80\x02K\x07."), legacyGood[15:]...), []string{"magic number is 7"}},
		{"legacy bad count", legacyCheckpoint(stateDict(true, tensor), false, storage{"0", 5, le32(1, 2, 3, 4, 5)}), []string{"file holds 5 elements, pickle says 4"}},
		{"legacy unused key", legacyCheckpoint(stateDict(true, tensor), false, storage{"0", 4, le32(1, 2, 3, 4)}, storage{"9", 1, le32(1)}), []string{`storage "9" is listed but no tensor uses it`}},
		{"legacy view outside", legacyCheckpoint(stateDict(true, with(func(s *tspec) { s.view = []any{"v", 3, 4} })), false, storage{"0", 4, le32(1, 2, 3, 4)}), []string{"view of 4 elements at 3 outside"}},
		{"not a checkpoint", []byte("hello, world"), []string{"not a torch.save file"}},
		{"empty", nil, []string{"file is empty"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := readBytes(tc.file)
			if err == nil {
				t.Fatalf("Read succeeded: %#v", c.Root)
			}
			t.Log(err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestTruncatedGoldens cuts each fixture at many points: every cut must give
// an error, never a panic.
func TestTruncatedGoldens(t *testing.T) {
	for _, name := range []string{"resnet_bottleneck.pth", "resnet_bottleneck_legacy.pth"} {
		b, err := os.ReadFile(golden(t, "pth", name))
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i < 64; i++ {
			n := len(b) * i / 64
			if _, err := readBytes(b[:n]); err == nil {
				t.Errorf("%s cut to %d bytes: no error", name, n)
			}
		}
	}
}

func TestReadFileNamesPath(t *testing.T) {
	_, err := ReadFile("no/such/file.pth")
	if err == nil || !strings.Contains(err.Error(), "no/such/file.pth") {
		t.Errorf("error = %v, want one naming the path", err)
	}
	path := t.TempDir() + "/evil.pth"
	if err := os.WriteFile(path, zipCheckpoint(t, []byte("\x80\x02cos\nsystem\nq\x00.")), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = ReadFile(path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "os.system") {
		t.Errorf("error = %v, want one naming %s and os.system", err, path)
	}
}
