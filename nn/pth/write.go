package pth

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"strconv"

	"github.com/vertebra-ml/vertebra/nn/safetensors"
)

// Write writes root as torch.save does (the zip layout of PyTorch 1.6 and
// later, pickle protocol 2), so that torch.load, weights_only included,
// reads it back. Values may only be *Dict (string, integer or bool keys),
// string, int, int64, float64, bool and safetensors.Tensor: nothing that
// names a Python class other than the tensor rebuilder, the storage types
// and collections.OrderedDict (for a Dict marked Ordered, as a state dict
// is). Each tensor gets its own storage, in the order met. The output is a
// function of root only (no timestamps), with storages 64-byte aligned in
// the archive as PyTorch aligns them.
func Write(w io.Writer, root *Dict) error {
	p := &pickler{}
	p.buf.Write([]byte{opProto, 2})
	if err := p.value(root, 0); err != nil {
		return fmt.Errorf("pth: Write: %w", err)
	}
	p.buf.WriteByte(opStop)

	cw := &countingWriter{w: w}
	zw := zip.NewWriter(cw)
	const dir = "archive/"
	put := func(name string, data []byte) error {
		return writeStored(zw, cw, dir+name, data)
	}
	if err := put("data.pkl", p.buf.Bytes()); err != nil {
		return err
	}
	if err := put("byteorder", []byte("little")); err != nil {
		return err
	}
	for i, data := range p.storages {
		if err := put("data/"+strconv.Itoa(i), data); err != nil {
			return err
		}
	}
	if err := put("version", []byte("3\n")); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("pth: Write: %w", err)
	}
	return nil
}

// Pickle opcodes the writer emits (protocol 2).
const (
	opProto      = 0x80
	opStop       = '.'
	opMark       = '('
	opEmptyDict  = '}'
	opEmptyTuple = ')'
	opSetItems   = 'u'
	opTuple      = 't'
	opBinUnicode = 'X'
	opBinInt     = 'J'
	opLong1      = 0x8a
	opBinFloat   = 'G'
	opNewTrue    = 0x88
	opNewFalse   = 0x89
	opGlobal     = 'c'
	opReduce     = 'R'
	opBinPersID  = 'Q'
)

type pickler struct {
	buf      bytes.Buffer
	storages [][]byte
}

func (p *pickler) value(v any, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("nested deeper than %d", maxDepth)
	}
	switch x := v.(type) {
	case *Dict:
		return p.dict(x, depth)
	case string:
		p.str(x)
	case int:
		p.int(int64(x))
	case int64:
		p.int(x)
	case float64:
		p.buf.WriteByte(opBinFloat)
		binary.Write(&p.buf, binary.BigEndian, math.Float64bits(x))
	case bool:
		if x {
			p.buf.WriteByte(opNewTrue)
		} else {
			p.buf.WriteByte(opNewFalse)
		}
	case safetensors.Tensor:
		return p.tensor(x)
	default:
		return fmt.Errorf("cannot write a %T: only dicts, strings, numbers, bools and tensors", v)
	}
	return nil
}

func (p *pickler) dict(d *Dict, depth int) error {
	if d == nil {
		return fmt.Errorf("nil dict")
	}
	if d.Ordered {
		p.global("collections", "OrderedDict")
		p.buf.WriteByte(opEmptyTuple)
		p.buf.WriteByte(opReduce)
	} else {
		p.buf.WriteByte(opEmptyDict)
	}
	if len(d.Keys) == 0 {
		return nil
	}
	p.buf.WriteByte(opMark)
	for _, k := range d.Keys {
		switch k.(type) {
		case string, int, int64, bool:
		default:
			return fmt.Errorf("dict key %v (%T): only strings, integers and bools", k, k)
		}
		v, ok := d.Get(k)
		if !ok {
			return fmt.Errorf("dict key %v has no value", k)
		}
		if err := p.value(k, depth+1); err != nil {
			return err
		}
		if err := p.value(v, depth+1); err != nil {
			return fmt.Errorf("%v: %w", k, err)
		}
	}
	p.buf.WriteByte(opSetItems)
	return nil
}

func (p *pickler) str(s string) {
	p.buf.WriteByte(opBinUnicode)
	binary.Write(&p.buf, binary.LittleEndian, uint32(len(s)))
	p.buf.WriteString(s)
}

func (p *pickler) int(v int64) {
	if v >= math.MinInt32 && v <= math.MaxInt32 {
		p.buf.WriteByte(opBinInt)
		binary.Write(&p.buf, binary.LittleEndian, int32(v))
		return
	}
	// LONG1: little-endian two's complement, 8 bytes is always enough.
	p.buf.Write([]byte{opLong1, 8})
	binary.Write(&p.buf, binary.LittleEndian, v)
}

func (p *pickler) global(module, name string) {
	p.buf.WriteByte(opGlobal)
	p.buf.WriteString(module + "\n" + name + "\n")
}

// storageTypes name the storage class of each element type.
var storageTypes = map[safetensors.DType]string{
	safetensors.F64: "DoubleStorage", safetensors.F32: "FloatStorage", safetensors.F16: "HalfStorage",
	safetensors.BF16: "BFloat16Storage", safetensors.I64: "LongStorage", safetensors.I32: "IntStorage",
	safetensors.I16: "ShortStorage", safetensors.I8: "CharStorage", safetensors.U8: "ByteStorage", safetensors.BOOL: "BoolStorage",
}

// tensor writes torch._utils._rebuild_tensor_v2(storage, 0, size, stride,
// False, OrderedDict()) with a contiguous row-major stride.
func (p *pickler) tensor(t safetensors.Tensor) error {
	st, ok := storageTypes[t.DType]
	if !ok {
		return fmt.Errorf("tensor of dtype %s has no torch storage type", t.DType)
	}
	n := t.NumElements()
	if len(t.Data) != n*t.DType.Size() {
		return fmt.Errorf("tensor %v of %s has %d bytes, want %d", t.Shape, t.DType, len(t.Data), n*t.DType.Size())
	}
	key := strconv.Itoa(len(p.storages))
	p.storages = append(p.storages, t.Data)
	p.global("torch._utils", "_rebuild_tensor_v2")
	p.buf.WriteByte(opMark)
	// persistent id ('storage', torch.<Type>Storage, key, 'cpu', numel)
	p.buf.WriteByte(opMark)
	p.str("storage")
	p.global("torch", st)
	p.str(key)
	p.str("cpu")
	p.int(int64(n))
	p.buf.WriteByte(opTuple)
	p.buf.WriteByte(opBinPersID)
	p.int(0)
	stride := make([]int64, len(t.Shape))
	s := int64(1)
	for i := len(t.Shape) - 1; i >= 0; i-- {
		stride[i] = s
		s *= int64(t.Shape[i])
	}
	p.buf.WriteByte(opMark)
	for _, d := range t.Shape {
		p.int(int64(d))
	}
	p.buf.WriteByte(opTuple)
	p.buf.WriteByte(opMark)
	for _, d := range stride {
		p.int(d)
	}
	p.buf.WriteByte(opTuple)
	p.buf.WriteByte(opNewFalse)
	p.global("collections", "OrderedDict")
	p.buf.WriteByte(opEmptyTuple)
	p.buf.WriteByte(opReduce)
	p.buf.WriteByte(opTuple)
	p.buf.WriteByte(opReduce)
	return nil
}

// countingWriter tracks the archive offset, for aligning entries.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// writeStored adds an uncompressed entry whose data start on a 64-byte
// boundary, padding the local header's extra field as PyTorch does.
func writeStored(zw *zip.Writer, cw *countingWriter, name string, data []byte) error {
	if err := zw.Flush(); err != nil {
		return err
	}
	const align, localHeader, extraHeader = 64, 30, 4
	pad := (align - (cw.n+localHeader+int64(len(name))+extraHeader)%align) % align
	extra := make([]byte, extraHeader+pad)
	copy(extra, "FB") // PyTorch's padding field id
	binary.LittleEndian.PutUint16(extra[2:], uint16(pad))
	fh := &zip.FileHeader{
		Name: name, Method: zip.Store, Extra: extra,
		CRC32: crc32.ChecksumIEEE(data), CompressedSize64: uint64(len(data)), UncompressedSize64: uint64(len(data)),
	}
	w, err := zw.CreateRaw(fh)
	if err != nil {
		return fmt.Errorf("pth: Write: %s: %w", name, err)
	}
	if _, err := w.Write(data); err != nil {
		return fmt.Errorf("pth: Write: %s: %w", name, err)
	}
	return nil
}
