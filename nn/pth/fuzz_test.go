package pth

import (
	"bufio"
	"bytes"
	"testing"
)

// FuzzRead checks that no input makes Read or StateDict panic.
func FuzzRead(f *testing.F) {
	tensors := []tspec{
		{name: "w", storage: "FloatStorage", key: "0", numel: 4, size: []int{2, 2}, stride: []int{1, 2}},
		{name: "n", storage: "LongStorage", key: "1", numel: 1, size: []int{}, stride: []int{}, param: true},
	}
	f.Add(zipCheckpoint(f, stateDict(false, tensors...), entry{"data/0", le32(1, 2, 3, 4)}, entry{"data/1", le64(7)}))
	f.Add(legacyCheckpoint(stateDict(true, tensors...), false, storage{"0", 4, le32(1, 2, 3, 4)}, storage{"1", 1, le64(7)}))
	f.Add(zipCheckpoint(f, []byte("\x80\x02cos\nsystem\nq\x00.")))
	f.Add(zipCheckpoint(f, []byte("\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x02ab\x940]\x94(h\x00h\x00e.")))
	f.Add([]byte("\x80\x02}(K\x01K\x0aK\x02]q\x00h\x00au."))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Read(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		c.StateDict()
		c.FlatStateDict()
	})
}

// fakeSource serves every storage key as 64 zero bytes.
type fakeSource struct{}

func (fakeSource) size(string) (int64, error) { return 64, nil }
func (fakeSource) read(_ string, p []byte, off int64) error {
	if off < 0 || off+int64(len(p)) > 64 {
		panic("read outside the checked range")
	}
	clear(p)
	return nil
}

// FuzzUnpickle drives the pickle machine and tensor rebuilding directly,
// without the zip container in the way.
func FuzzUnpickle(f *testing.F) {
	f.Add(stateDict(false,
		tspec{name: "w", storage: "FloatStorage", key: "0", numel: 4, size: []int{2, 2}, stride: []int{1, 2}},
		tspec{name: "p", storage: "HalfStorage", key: "1", numel: 8, offset: 3, size: []int{2}, stride: []int{2}, param: true}))
	f.Add([]byte("\x80\x02cos\nsystem\nq\x00."))
	f.Add([]byte("\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x02ab\x940]\x94(h\x00h\x00e."))
	f.Add([]byte("\x80\x02(I01\nI-7\nL12L\nF2.5\nt."))
	f.Add([]byte("\x80\x02\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01."))
	f.Fuzz(func(t *testing.T, b []byte) {
		u := newTorchUnpickler(bufio.NewReader(bytes.NewReader(b)), 0, int64(len(b)), zipPersistentLoad)
		v, err := u.load()
		if err != nil {
			return
		}
		root, err := newResolver(fakeSource{}, 64, false).convert(v, "", 0)
		if err != nil {
			return
		}
		c := &Checkpoint{Root: root}
		c.StateDict()
		c.FlatStateDict()
	})
}
