package datasets

import (
	"flag"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

var gridOut = flag.String("grid", "", "also write the synthetic grid PNG to this path (the README's docs/synthetic_grid.png)")

func TestWriteGrid(t *testing.T) {
	d := newSynth(t, SyntheticConfig{Studies: 40, Seed: 1})
	paths := []string{filepath.Join(t.TempDir(), "grid.png")}
	if *gridOut != "" {
		paths = append(paths, *gridOut)
	}
	for _, path := range paths {
		if err := WriteGrid(path, d, GridOptions{PerGrade: 4, Tile: 128}); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := m.Bounds(); b.Dx() != 4*132-4 || b.Dy() != 3*132-4 {
		t.Errorf("grid is %v, want 524 x 392", b)
	}
	fi, _ := f.Stat()
	t.Logf("grid PNG: %d bytes", fi.Size())
	if err := WriteGrid(paths[0], d, GridOptions{Tile: 3}); err == nil {
		t.Error("tile of 3 pixels: no error")
	}
}
