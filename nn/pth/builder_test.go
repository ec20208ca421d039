package pth

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"math"
	"testing"
)

// pk assembles protocol 2 pickles opcode by opcode, for hand-made fixtures.
type pk struct{ b []byte }

func (p *pk) op(ops ...byte) *pk { p.b = append(p.b, ops...); return p }
func (p *pk) str(s string) *pk {
	p.b = append(p.b, 'X')
	p.b = binary.LittleEndian.AppendUint32(p.b, uint32(len(s)))
	p.b = append(p.b, s...)
	return p
}
func (p *pk) int(n int) *pk {
	p.b = append(p.b, 'J')
	p.b = binary.LittleEndian.AppendUint32(p.b, uint32(int32(n)))
	return p
}
func (p *pk) global(module, name string) *pk {
	p.b = append(p.b, 'c')
	p.b = append(p.b, module+"\n"+name+"\n"...)
	return p
}
func (p *pk) ints(v []int) *pk {
	p.op('(')
	for _, n := range v {
		p.int(n)
	}
	return p.op('t')
}

// tspec describes one tensor of a hand-made state dict.
type tspec struct {
	name, storage, key string
	numel, offset      int
	size, stride       []int
	view               []any // legacy (view_key, offset, size), or nil
	param              bool  // wrap in _rebuild_parameter
}

// stateDict returns the pickle of OrderedDict{name: tensor, ...}; legacy
// selects the six-field persistent ids of the legacy format.
func stateDict(legacy bool, ts ...tspec) []byte {
	p := &pk{}
	p.op(0x80, 2).global("collections", "OrderedDict").op(')', 'R', '(')
	for _, t := range ts {
		p.str(t.name)
		if t.param {
			p.global("torch._utils", "_rebuild_parameter").op('(')
		}
		p.global("torch._utils", "_rebuild_tensor_v2").op('(')
		p.op('(').str("storage").global("torch", t.storage).str(t.key).str("cpu").int(t.numel)
		if legacy {
			if t.view == nil {
				p.op('N')
			} else {
				p.str(t.view[0].(string)).int(t.view[1].(int)).int(t.view[2].(int)).op(0x87)
			}
		}
		p.op('t', 'Q')
		p.int(t.offset).ints(t.size).ints(t.stride).op(0x89)
		p.global("collections", "OrderedDict").op(')', 'R')
		p.op('t', 'R')
		if t.param {
			p.op(0x88).global("collections", "OrderedDict").op(')', 'R', 't', 'R')
		}
	}
	return p.op('u', '.').b
}

type entry struct {
	name string
	data []byte
}

// zipCheckpoint lays out entries as torch.save does, under archive/; a
// name starting with "/" is put at the top level instead.
func zipCheckpoint(t testing.TB, pkl []byte, entries ...entry) []byte {
	t.Helper()
	return zipWith(t, zip.Store, pkl, entries...)
}

// zipWith is zipCheckpoint with the given compression method.
func zipWith(t testing.TB, method uint16, pkl []byte, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range append([]entry{{"data.pkl", pkl}, {"version", []byte("3\n")}}, entries...) {
		name := "archive/" + e.name
		if e.name[0] == '/' {
			name = e.name[1:]
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(e.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type storage struct {
	key   string
	count uint64
	data  []byte
}

// legacyCheckpoint lays out the pre-1.6 stream around the object pickle.
func legacyCheckpoint(pkl []byte, bigEndian bool, storages ...storage) []byte {
	p := &pk{}
	// 0x1950a86a20f9469cfc6c as LONG1, little-endian.
	p.op(0x80, 2, 0x8a, 10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, '.')
	p.op(0x80, 2, 'M', 0xe9, 0x03, '.')
	p.op(0x80, 2, '}', '(').str("protocol_version").op('M', 0xe9, 0x03).str("little_endian")
	if bigEndian {
		p.op(0x89)
	} else {
		p.op(0x88)
	}
	p.op('u', '.')
	p.op(pkl...)
	p.op(0x80, 2, ']', '(')
	for _, s := range storages {
		p.str(s.key)
	}
	p.op('e', '.')
	for _, s := range storages {
		if bigEndian {
			p.b = binary.BigEndian.AppendUint64(p.b, s.count)
		} else {
			p.b = binary.LittleEndian.AppendUint64(p.b, s.count)
		}
		p.op(s.data...)
	}
	return p.b
}

func le32(v ...float32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

func le64(v ...int64) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint64(b, uint64(x))
	}
	return b
}

func arange64(n int) []int64 {
	v := make([]int64, n)
	for i := range v {
		v[i] = int64(i)
	}
	return v
}
