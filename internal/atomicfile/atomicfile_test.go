package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestWriteFile(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	for _, tc := range []struct {
		name string
		perm os.FileMode
		want os.FileMode
	}{
		{"data file", 0o644, 0o644},
		{"group writable loses w to the umask", 0o664, 0o644},
		{"private", 0o600, 0o600},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out.bin")
			if err := os.WriteFile(path, []byte("old contents"), 0o600); err != nil {
				t.Fatal(err)
			}
			os.Remove(path) // a fresh file gets perm; see TestReplace for an existing one
			if err := WriteFile(path, []byte("new"), tc.perm); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil || string(got) != "new" {
				t.Fatalf("read back %q, %v", got, err)
			}
			st, _ := os.Stat(path)
			if st.Mode().Perm() != tc.want {
				t.Errorf("mode %v, want %v", st.Mode().Perm(), tc.want)
			}
			assertOnly(t, dir, "out.bin")
		})
	}
}

func TestReplace(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	for _, s := range []string{"first, longer contents", "second"} {
		if err := WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(path); string(got) != s {
			t.Fatalf("got %q, want %q", got, s)
		}
	}
	assertOnly(t, dir, "out.txt")
}

func TestWriteErrorKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keep.txt")
	if err := WriteFile(path, []byte("finished work"), 0o644); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Write(path, 0o644, func(w io.Writer) error {
		io.WriteString(w, "partial")
		return boom
	})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v, want boom naming %s", err, path)
	}
	if got, _ := os.ReadFile(path); string(got) != "finished work" {
		t.Fatalf("old file changed to %q", got)
	}
	assertOnly(t, dir, "keep.txt")
}

func TestWriteErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, path string }{
		{"missing folder", filepath.Join(dir, "no", "such", "f")},
		{"folder path", dir + "/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := WriteFile(tc.path, []byte("x"), 0o644)
			if err == nil || !strings.Contains(err.Error(), tc.path) {
				t.Fatalf("err = %v, want an error naming %q", err, tc.path)
			}
		})
	}
	// A rename onto a folder fails after the data was written: the temporary
	// file must still go.
	target := filepath.Join(dir, "sub")
	if err := os.MkdirAll(filepath.Join(target, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(target, []byte("x"), 0o644); err == nil {
		t.Fatal("renaming over a non-empty folder succeeded")
	}
	assertOnly(t, dir, "sub")
}

// assertOnly fails unless dir holds exactly the named entries (no leftover
// temporary files).
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Errorf("folder holds %v, want %v", got, names)
	}
}
