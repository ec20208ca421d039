package golden

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// goldenDir is ../shared/goldens relative to the repository root.
func goldenDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "shared", "goldens")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("golden files not found at %s", dir)
	}
	return dir
}

func runDir(t *testing.T, sub string) {
	files, err := Files([]string{filepath.Join(goldenDir(t), sub)})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no golden files in %s", sub)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), filepath.Ext(f)), func(t *testing.T) {
			r := Check(f)
			t.Log(r.Line())
			if !r.Pass() {
				t.Error(r.Line())
			}
		})
	}
}

func TestOps(t *testing.T)    { runDir(t, "ops") }
func TestModels(t *testing.T) { runDir(t, "models") }
func TestManifests(t *testing.T) {
	if testing.Short() {
		t.Skip("full-size models in -short mode")
	}
	runDir(t, "manifests")
}
