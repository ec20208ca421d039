package pth

import (
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
