package pth

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/big"

	"github.com/vertebra-ml/vertebra/nn/safetensors"
)

// legacyMagic (in hex) and legacyProtocol open every legacy torch.save
// stream.
const (
	legacyMagic    = "1950a86a20f9469cfc6c"
	legacyProtocol = 1001
)

// legacyRoot is a storage of the legacy format as its persistent ids
// describe it; its bytes follow the pickles.
type legacyRoot struct {
	dtype safetensors.DType
	numel int64
}

// readLegacy reads the stream torch.save wrote before PyTorch 1.6: the
// pickles of the magic number, the protocol version and the system info,
// the object pickle, the pickle of the storage keys, then for each key in
// that order an 8-byte element count and the storage's bytes.
func readLegacy(r io.ReaderAt, size int64) (*Checkpoint, error) {
	br := bufio.NewReaderSize(io.NewSectionReader(r, 0, size), 64<<10)
	u := newUnpickler(br, 0, size)
	magic, err := u.load()
	if err != nil {
		return nil, fmt.Errorf("legacy format: magic number: %w", err)
	}
	if m, ok := magic.(*big.Int); !ok || m.Text(16) != legacyMagic {
		return nil, fmt.Errorf("legacy format: magic number is %s, want 0x%s", describeValue(magic), legacyMagic)
	}
	proto, err := u.load()
	if err != nil {
		return nil, fmt.Errorf("legacy format: protocol version: %w", err)
	}
	if proto != int64(legacyProtocol) {
		return nil, fmt.Errorf("legacy format: protocol version %s, want %d", describeValue(proto), legacyProtocol)
	}
	info, err := u.load()
	if err != nil {
		return nil, fmt.Errorf("legacy format: system info: %w", err)
	}
	bigEndian := false
	if d, ok := info.(*pyDict); ok {
		if le, ok := d.vals["little_endian"].(bool); ok {
			bigEndian = !le
		}
	}

	roots := map[string]*legacyRoot{}
	pid := func(pid any) (any, error) { return legacyPersistentLoad(pid, roots) }
	// Only the object pickle may name torch globals and storages.
	refuseGlobal, refuseReduce, refusePID := u.findGlobal, u.reduce, u.persistentLoad
	u.findGlobal, u.reduce, u.persistentLoad = torchGlobal, torchReduce, pid
	obj, err := u.load()
	if err != nil {
		return nil, fmt.Errorf("legacy format: object: %w", err)
	}
	u.findGlobal, u.reduce, u.persistentLoad = refuseGlobal, refuseReduce, refusePID
	keysVal, err := u.load()
	if err != nil {
		return nil, fmt.Errorf("legacy format: storage keys: %w", err)
	}
	keys, ok := keysVal.(*pyList)
	if !ok {
		return nil, fmt.Errorf("legacy format: storage keys are a %s, want a list", typeName(keysVal))
	}

	src := &legacySource{r: r, blobs: map[string]legacyBlob{}}
	pos := u.pos
	for _, kv := range keys.items {
		key, ok := asString(kv)
		if !ok {
			return nil, fmt.Errorf("legacy format: storage key is a %s, want a str", typeName(kv))
		}
		root, ok := roots[key]
		if !ok {
			return nil, fmt.Errorf("legacy format: storage %q is listed but no tensor uses it", key)
		}
		if _, dup := src.blobs[key]; dup {
			return nil, fmt.Errorf("legacy format: storage %q is listed twice", key)
		}
		var cnt [8]byte
		if err := readFullAt(r, cnt[:], pos); err != nil {
			return nil, fmt.Errorf("legacy format: storage %q: element count at offset %d: %w", key, pos, err)
		}
		var n uint64
		if bigEndian {
			n = binary.BigEndian.Uint64(cnt[:])
		} else {
			n = binary.LittleEndian.Uint64(cnt[:])
		}
		if n != uint64(root.numel) {
			return nil, fmt.Errorf("legacy format: storage %q: file holds %d elements, pickle says %d", key, n, root.numel)
		}
		es := int64(root.dtype.Size())
		start := pos + 8
		if root.numel > (size-start)/es {
			return nil, fmt.Errorf("legacy format: storage %q: %d elements of %s at offset %d run past the end of the %d-byte file",
				key, root.numel, root.dtype, start, size)
		}
		src.blobs[key] = legacyBlob{off: start, size: root.numel * es}
		pos = start + root.numel*es
	}
	root, err := newResolver(src, size, bigEndian).convert(obj, "", 0)
	if err != nil {
		return nil, fmt.Errorf("legacy format: %w", err)
	}
	return &Checkpoint{Root: root}, nil
}

// legacyPersistentLoad decodes ('storage', storage_type, root_key,
// location, numel, view_metadata), where view_metadata is None or
// (view_key, offset, view_size) for a slice of the root storage, counted in
// elements.
func legacyPersistentLoad(pid any, roots map[string]*legacyRoot) (any, error) {
	items, dt, key, numel, err := storagePID(pid, 6)
	if err != nil {
		return nil, err
	}
	if r, ok := roots[key]; ok {
		if r.dtype != dt || r.numel != numel {
			return nil, fmt.Errorf("storage %q is described as %d %s elements and as %d %s elements", key, r.numel, r.dtype, numel, dt)
		}
	} else {
		roots[key] = &legacyRoot{dtype: dt, numel: numel}
	}
	ref := &storageRef{key: key, dtype: dt, numel: numel}
	if items[5] == nil {
		return ref, nil
	}
	view, err := intTupleAfterKey(items[5])
	if err != nil {
		return nil, fmt.Errorf("storage %q: view metadata: %w", key, err)
	}
	off, n := view[0], view[1]
	if off < 0 || n < 0 || off > math.MaxInt64-n || off+n > numel {
		return nil, fmt.Errorf("storage %q: view of %d elements at %d outside its %d elements", key, n, off, numel)
	}
	ref.base, ref.numel = off, n
	return ref, nil
}

// intTupleAfterKey decodes (view_key, offset, size) into offset and size.
func intTupleAfterKey(v any) ([2]int64, error) {
	t, ok := v.(*pyTuple)
	if !ok || len(t.items) != 3 {
		return [2]int64{}, fmt.Errorf("expected (key, offset, size), found %s", typeName(v))
	}
	a, ok1 := t.items[1].(int64)
	b, ok2 := t.items[2].(int64)
	if !ok1 || !ok2 {
		return [2]int64{}, fmt.Errorf("offset and size must be ints, found %s and %s", typeName(t.items[1]), typeName(t.items[2]))
	}
	return [2]int64{a, b}, nil
}

type legacyBlob struct{ off, size int64 }

// legacySource reads storages in place from the file.
type legacySource struct {
	r     io.ReaderAt
	blobs map[string]legacyBlob
}

func (s *legacySource) size(key string) (int64, error) {
	b, ok := s.blobs[key]
	if !ok {
		return 0, fmt.Errorf("storage %q is not in the file's storage list", key)
	}
	return b.size, nil
}

func (s *legacySource) read(key string, p []byte, off int64) error {
	b := s.blobs[key]
	if err := readFullAt(s.r, p, b.off+off); err != nil {
		return fmt.Errorf("storage %q: %w", key, err)
	}
	return nil
}
