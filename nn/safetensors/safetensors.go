// Package safetensors reads and writes the safetensors checkpoint format
// (https://github.com/huggingface/safetensors) as named tensors of raw,
// little-endian host data.
//
// A file is an 8-byte little-endian header length, a JSON header that maps
// each tensor name to its dtype, shape and byte range, and the tensors' bytes.
// Read validates the whole header (lengths, dtypes, shapes, ranges, overlaps)
// before it allocates any tensor data, so a hostile or truncated file yields
// an error that names the tensor and the problem, never a panic or an
// allocation larger than the file.
//
// The package deals in bytes only: it is not a tensor library and does no
// arithmetic beyond converting elements to float32, float64 or int64.
// Package nn turns these tensors into autograd tensors.
package safetensors

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"

	"github.com/vertebra-ml/vertebra/internal/atomicfile"
)

// MaxHeaderSize bounds the JSON header that Read accepts, as the reference
// implementation does, so that a corrupt length cannot force a huge read.
const MaxHeaderSize = 100 << 20

// metadataKey is the reserved header entry holding the string metadata.
const metadataKey = "__metadata__"

// Tensor is one named array: its element type, its shape (empty for a
// scalar) and its elements as little-endian bytes in row-major order.
type Tensor struct {
	DType DType
	Shape []int
	Data  []byte // exactly NumElements()*DType.Size() bytes
}

// NumElements returns the product of the shape: 1 for a scalar. It returns
// -1 if a dimension is negative or the product overflows.
func (t Tensor) NumElements() int {
	n, ok := numElements(t.Shape)
	if !ok {
		return -1
	}
	return n
}

// File is the content of a safetensors file.
type File struct {
	// Metadata is the header's __metadata__ (string to string); Read
	// returns an empty map when there is none.
	Metadata map[string]string
	// Names lists the tensors in the order of the file's header. Write
	// uses this order for the header and the data, or sorted order if
	// Names is nil.
	Names []string
	// Tensors maps each name to its tensor.
	Tensors map[string]Tensor
}

// FromFloat32 returns an F32 tensor of the given shape holding a copy of v.
// It panics if len(v) does not match the shape, as a slice index would.
func FromFloat32(shape []int, v []float32) Tensor {
	t := newTensor(F32, shape, len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(t.Data[4*i:], math.Float32bits(x))
	}
	return t
}

// FromFloat64 returns an F64 tensor of the given shape holding a copy of v.
// It panics if len(v) does not match the shape.
func FromFloat64(shape []int, v []float64) Tensor {
	t := newTensor(F64, shape, len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(t.Data[8*i:], math.Float64bits(x))
	}
	return t
}

// FromInt64 returns an I64 tensor of the given shape holding a copy of v.
// It panics if len(v) does not match the shape.
func FromInt64(shape []int, v []int64) Tensor {
	t := newTensor(I64, shape, len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(t.Data[8*i:], uint64(x))
	}
	return t
}

func newTensor(dt DType, shape []int, n int) Tensor {
	if want, ok := numElements(shape); !ok || want != n {
		panic(fmt.Sprintf("safetensors: shape %v does not hold %d elements", shape, n))
	}
	return Tensor{DType: dt, Shape: slices.Clone(shape), Data: make([]byte, n*dt.Size())}
}

// Read reads a safetensors file of the given size from r. Tensor data is
// copied into fresh slices, so r need not outlive the call.
func Read(r io.ReaderAt, size int64) (*File, error) {
	f, err := read(r, size)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	return f, nil
}

// ReadFile reads the safetensors file at path.
func ReadFile(path string) (*File, error) {
	fd, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	defer fd.Close()
	st, err := fd.Stat()
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	f, err := read(fd, st.Size())
	if err != nil {
		return nil, fmt.Errorf("safetensors: %s: %w", path, err)
	}
	return f, nil
}

func read(r io.ReaderAt, size int64) (*File, error) {
	var lenBuf [8]byte
	if size < 8 {
		return nil, fmt.Errorf("file is %d bytes, shorter than the 8-byte header length", size)
	}
	if err := readFull(r, lenBuf[:], 0); err != nil {
		return nil, fmt.Errorf("reading header length: %w", err)
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > MaxHeaderSize {
		return nil, fmt.Errorf("header length %d exceeds the limit of %d bytes", n, MaxHeaderSize)
	}
	if n > uint64(size-8) {
		return nil, fmt.Errorf("header length %d runs past the end of the %d-byte file", n, size)
	}
	hdr := make([]byte, n)
	if err := readFull(r, hdr, 8); err != nil {
		return nil, fmt.Errorf("reading %d-byte header: %w", n, err)
	}
	dataStart := 8 + int64(n)
	h, err := parseHeader(hdr, size-dataStart)
	if err != nil {
		return nil, err
	}
	f := &File{Metadata: h.metadata, Names: make([]string, len(h.entries)), Tensors: make(map[string]Tensor, len(h.entries))}
	for i, e := range h.entries {
		data := make([]byte, e.end-e.begin)
		if err := readFull(r, data, dataStart+e.begin); err != nil {
			return nil, fmt.Errorf("tensor %q: reading %d bytes at offset %d: %w", e.name, len(data), dataStart+e.begin, err)
		}
		f.Names[i] = e.name
		f.Tensors[e.name] = Tensor{DType: e.dtype, Shape: e.shape, Data: data}
	}
	return f, nil
}

// readFull fills p from offset off. io.ReaderAt may report io.EOF along
// with a full read at the end of the input, which is not an error here.
func readFull(r io.ReaderAt, p []byte, off int64) error {
	if len(p) == 0 {
		return nil
	}
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// Write writes f to w in safetensors format: the header lists the metadata
// and then the tensors in f.Names order (sorted if Names is nil), padded with
// spaces to a multiple of 8 bytes as the reference writer does, and the data
// follows in the same order without gaps.
func Write(w io.Writer, f *File) error {
	p, err := plan(f)
	if err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	if err := p.write(w); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	return nil
}

// WriteFile writes f to path atomically (see internal/atomicfile): a crash
// or error leaves either the old file or the complete new one, never a
// partial one. The file gets mode 0644 before the umask.
func WriteFile(path string, f *File) error {
	p, err := plan(f)
	if err != nil {
		return fmt.Errorf("safetensors: %s: %w", path, err)
	}
	if err := atomicfile.Write(path, 0o644, p.write); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	return nil
}

// writePlan is a validated File with its encoded header.
type writePlan struct {
	header []byte // length prefix, JSON and padding
	names  []string
	f      *File
}

func plan(f *File) (*writePlan, error) {
	if f == nil {
		return nil, errors.New("nil *File")
	}
	names := f.Names
	if names == nil {
		names = make([]string, 0, len(f.Tensors))
		for name := range f.Tensors {
			names = append(names, name)
		}
		slices.Sort(names)
	}
	if len(names) != len(f.Tensors) {
		return nil, fmt.Errorf("f.Names lists %d tensors, f.Tensors holds %d", len(names), len(f.Tensors))
	}
	seen := make(map[string]bool, len(names))
	for _, name := range names {
		if name == metadataKey {
			return nil, fmt.Errorf("tensor name %q is reserved for metadata", name)
		}
		if seen[name] {
			return nil, fmt.Errorf("tensor %q listed twice in Names", name)
		}
		seen[name] = true
		t, ok := f.Tensors[name]
		if !ok {
			return nil, fmt.Errorf("tensor %q is in Names but not in Tensors", name)
		}
		if _, err := t.check(); err != nil {
			return nil, fmt.Errorf("tensor %q: %w", name, err)
		}
	}
	hdr, err := encodeHeader(f, names)
	if err != nil {
		return nil, err
	}
	return &writePlan{header: hdr, names: names, f: f}, nil
}

func (p *writePlan) write(w io.Writer) error {
	if _, err := w.Write(p.header); err != nil {
		return err
	}
	for _, name := range p.names {
		if _, err := w.Write(p.f.Tensors[name].Data); err != nil {
			return fmt.Errorf("tensor %q: %w", name, err)
		}
	}
	return nil
}
