// Package atomicfile writes files so that a reader, or the file system
// after a crash, sees either the old file or the complete new one, never a
// partial one: the data goes to a temporary file in the same folder, which
// is synced, renamed over the target, and the folder synced so the rename
// itself is durable.
//
// It is for every writer of finished work in this module (checkpoints,
// DICOM files, study results); it is not a locking or append mechanism.
package atomicfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"
)

// WriteFile writes data to path atomically with permissions perm (before
// the umask, as os.WriteFile). An existing file at path is replaced.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return Write(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Write calls fn with a buffered writer onto a temporary file next to path
// and, if fn and every file operation succeed, renames that file over path.
// The file gets permissions perm (before the umask, as os.WriteFile). On
// any error the temporary file is removed and path is left untouched; the
// error names path.
func Write(path string, perm os.FileMode, fn func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if base == "" {
		return fmt.Errorf("atomicfile: %q names a folder, not a file", path)
	}
	f, err := createTemp(dir, base, perm)
	if err != nil {
		return fmt.Errorf("atomicfile: %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
			err = fmt.Errorf("atomicfile: %s: %w", path, err)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err = fn(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	syncDir(dir)
	return nil
}

var tempCounter atomic.Uint64

// createTemp makes a new file in dir with mode perm. os.CreateTemp would
// fix the mode at 0600; opening with O_EXCL under a fresh name keeps the
// caller's permissions and the umask, as os.WriteFile does.
func createTemp(dir, base string, perm os.FileMode) (*os.File, error) {
	seed := uint64(time.Now().UnixNano()) ^ uint64(os.Getpid())<<32
	for try := 0; ; try++ {
		n := seed + tempCounter.Add(1)*0x9E3779B97F4A7C15
		name := filepath.Join(dir, "."+base+".tmp-"+strconv.FormatUint(n%1e12, 36))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, perm)
		if errors.Is(err, fs.ErrExist) && try < 100 {
			continue
		}
		return f, err
	}
}

// syncDir makes a rename in dir durable. Not every platform can sync a
// folder, and the data itself is already synced, so failure is ignored.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
