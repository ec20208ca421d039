package pth

import (
	"archive/zip"
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
)

// readZip reads the archive layout of torch.save (PyTorch 1.6 and later):
// <name>/data.pkl, <name>/data/<key> for each storage, and optionally
// <name>/byteorder and <name>/version. <name> is whatever the file was
// called when saved, so it is found from the data.pkl entry.
func readZip(r io.ReaderAt, size int64) (*Checkpoint, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) { // odd names are harmless: nothing is extracted
		return nil, fmt.Errorf("zip archive: %w", err)
	}
	files := make(map[string]*zip.File, len(zr.File))
	var pkls []string
	for _, f := range zr.File {
		files[f.Name] = f
		if f.Name == "data.pkl" || strings.HasSuffix(f.Name, "/data.pkl") && strings.Count(f.Name, "/") == 1 {
			pkls = append(pkls, f.Name)
		}
	}
	if len(pkls) != 1 {
		return nil, fmt.Errorf("zip archive has %d data.pkl entries %q, want exactly one <archive>/data.pkl", len(pkls), pkls)
	}
	prefix := strings.TrimSuffix(pkls[0], "data.pkl")
	if _, ok := files[prefix+"constants.pkl"]; ok {
		return nil, errors.New("a TorchScript archive (torch.jit.save), not a torch.save checkpoint")
	}
	bigEndian := false
	if f, ok := files[prefix+"byteorder"]; ok {
		b, err := readSmall(f, 16)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		switch string(b) {
		case "little":
		case "big":
			bigEndian = true
		default:
			return nil, fmt.Errorf("%s: unknown byte order %q, want \"little\" or \"big\"", f.Name, b)
		}
	}

	pkl := files[pkls[0]]
	if pkl.UncompressedSize64 > math.MaxInt64 {
		return nil, fmt.Errorf("%s: size %d out of range", pkl.Name, pkl.UncompressedSize64)
	}
	limit := int64(pkl.UncompressedSize64)
	if pkl.Method != zip.Store {
		limit = min(limit, inflateCap(size))
	}
	rc, err := pkl.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pkl.Name, err)
	}
	defer rc.Close()
	u := newTorchUnpickler(bufio.NewReader(rc), 0, limit, zipPersistentLoad)
	obj, err := u.load()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pkl.Name, err)
	}
	src := &zipSource{files: files, prefix: prefix + "data/", r: r, fileSize: size, cache: map[string][]byte{}, inflateLeft: inflateCap(size)}
	root, err := newResolver(src, size, bigEndian).convert(obj, "", 0)
	if err != nil {
		return nil, err
	}
	return &Checkpoint{Root: root}, nil
}

// zipPersistentLoad decodes ('storage', storage_type, key, location, numel).
func zipPersistentLoad(pid any) (any, error) {
	_, dt, key, numel, err := storagePID(pid, 5)
	if err != nil {
		return nil, err
	}
	return &storageRef{key: key, dtype: dt, numel: numel}, nil
}

// readSmall reads a whole entry that must be at most max bytes.
func readSmall(f *zip.File, max int64) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("longer than %d bytes", max)
	}
	return b, nil
}

// inflateCap bounds what compressed entries of a file of the given size may
// inflate to: deflate cannot exceed about 1032:1, and torch.save does not
// compress at all, so this only stops decompression bombs.
func inflateCap(size int64) int64 {
	if size > (math.MaxInt64-1<<30)/16 {
		return math.MaxInt64
	}
	return 1<<30 + 16*size
}

// zipSource reads storages from data/<key> entries. torch.save stores them
// uncompressed, so they are read in place; compressed entries (an archive
// rewritten by another tool) are inflated once and kept.
type zipSource struct {
	files    map[string]*zip.File
	prefix   string
	r        io.ReaderAt
	fileSize int64
	cache    map[string][]byte
	// inflateLeft is what compressed storages may still inflate to.
	inflateLeft int64
}

func (s *zipSource) entry(key string) (*zip.File, error) {
	f, ok := s.files[s.prefix+key]
	if !ok {
		return nil, fmt.Errorf("storage %q: archive has no entry %s", key, s.prefix+key)
	}
	if f.UncompressedSize64 > math.MaxInt64 {
		return nil, fmt.Errorf("storage %q: entry size %d out of range", key, f.UncompressedSize64)
	}
	return f, nil
}

func (s *zipSource) size(key string) (int64, error) {
	f, err := s.entry(key)
	if err != nil {
		return 0, err
	}
	return int64(f.UncompressedSize64), nil
}

func (s *zipSource) read(key string, p []byte, off int64) error {
	f, err := s.entry(key)
	if err != nil {
		return err
	}
	n := int64(f.UncompressedSize64)
	if f.Method == zip.Store && f.CompressedSize64 == f.UncompressedSize64 {
		start, err := f.DataOffset()
		if err != nil {
			return fmt.Errorf("storage %q: %w", key, err)
		}
		if start < 0 || start > s.fileSize-n {
			return fmt.Errorf("storage %q: entry of %d bytes at offset %d runs past the end of the %d-byte file", key, n, start, s.fileSize)
		}
		if err := readFullAt(s.r, p, start+off); err != nil {
			return fmt.Errorf("storage %q: %w", key, err)
		}
		return nil
	}
	b, ok := s.cache[key]
	if !ok {
		if n > s.inflateLeft {
			return fmt.Errorf("storage %q: compressed entries would inflate to more than %d bytes", key, inflateCap(s.fileSize))
		}
		s.inflateLeft -= n
		rc, err := f.Open()
		if err != nil {
			return fmt.Errorf("storage %q: %w", key, err)
		}
		defer rc.Close()
		// The declared size may lie; read no more than it and grow only
		// as data arrives.
		b, err = io.ReadAll(io.LimitReader(rc, n))
		if err != nil {
			return fmt.Errorf("storage %q: %w", key, err)
		}
		if int64(len(b)) != n {
			return fmt.Errorf("storage %q: entry holds %d bytes, header says %d", key, len(b), n)
		}
		s.cache[key] = b
	}
	copy(p, b[off:])
	return nil
}

// readFullAt fills p from offset off, accepting io.EOF with a full read.
func readFullAt(r io.ReaderAt, p []byte, off int64) error {
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
