package safetensors

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// goldens is where CI lays the shared reference fixtures: shared/ beside the
// repository root.
var goldens = filepath.Join("..", "..", "..", "shared", "goldens")

func goldenFiles(t *testing.T, sub string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(goldens, sub, "*.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skipf("no golden fixtures under %s", filepath.Join(goldens, sub))
	}
	return files
}

func TestGoldenModels(t *testing.T) {
	for _, path := range goldenFiles(t, "models") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, err := ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"format", "arch", "config"} {
				if f.Metadata[k] == "" {
					t.Errorf("metadata %q missing", k)
				}
			}
			in, ok := f.Tensors["golden.input"]
			if !ok || len(in.Shape) != 4 || in.DType != F32 {
				t.Errorf("golden.input = %s %v, want F32 with 4 dims", in.DType, in.Shape)
			}
			if _, err := in.Float32(); err != nil {
				t.Error(err)
			}
			ints := 0
			for _, name := range f.Names {
				tn := f.Tensors[name]
				buffer := strings.HasSuffix(name, "num_batches_tracked") || strings.HasSuffix(name, "relative_position_index")
				if buffer && tn.DType != I64 {
					t.Errorf("%s has dtype %s, want I64", name, tn.DType)
				}
				if tn.DType != I64 {
					continue
				}
				v, err := tn.Int64()
				if err != nil || len(v) != tn.NumElements() {
					t.Errorf("%s: Int64 gave %d values for shape %v, error %v", name, len(v), tn.Shape, err)
				}
				ints++
			}
			// BatchNorm and relative position tables carry int64 buffers;
			// torchvision's ConvNeXt and ViT have neither.
			if arch := f.Metadata["arch"]; ints == 0 && arch != "vit" && arch != "convnext" {
				t.Errorf("arch %s: no I64 tensors", arch)
			}
			// A file we write back reads the same.
			var buf bytes.Buffer
			if err := Write(&buf, f); err != nil {
				t.Fatal(err)
			}
			g, err := Read(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
			if err != nil {
				t.Fatal(err)
			}
			sameFile(t, g, f)
		})
	}
}

func TestGoldenOps(t *testing.T) {
	for _, path := range goldenFiles(t, "ops") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, err := ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if f.Metadata["op"] == "" {
				t.Error(`metadata "op" missing`)
			}
			if len(f.Names) == 0 {
				t.Error("no tensors")
			}
			for _, name := range f.Names {
				tn := f.Tensors[name]
				var err error
				if tn.DType.IsInteger() {
					_, err = tn.Int64()
				} else {
					_, err = tn.Float32()
				}
				if err != nil {
					t.Errorf("%s: %v", name, err)
				}
			}
		})
	}
}

// TestGoldenOrder checks that Names keeps the header's order, which for the
// reference writer is not alphabetical.
func TestGoldenOrder(t *testing.T) {
	path := filepath.Join(goldens, "models", "resnet_bottleneck.safetensors")
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		t.Skip("fixture missing")
	}
	if err != nil {
		t.Fatal(err)
	}
	f, err := Read(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	hdr := string(b[8:])
	last := -1
	for _, name := range f.Names {
		i := strings.Index(hdr, `"`+name+`"`)
		if i < last {
			t.Fatalf("%q appears before its predecessor in the header", name)
		}
		last = i
	}
}
