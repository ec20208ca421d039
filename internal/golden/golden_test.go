package golden

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/nn/safetensors"
)

// goldenDir is ../shared/goldens relative to the repository root. The
// command's test (experiments/goldens) scores every file; these tests check
// that scoring catches what it must.
func goldenDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "shared", "goldens")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("golden files not found at %s", dir)
	}
	return dir
}

func TestRelErr(t *testing.T) {
	a := ag.FromFloat32([]float32{1, -4, 2}, 3)
	b := ag.FromFloat32([]float32{1, -3, 2}, 3)
	if got := RelErr(a, b); math.Abs(got-1.0/3) > 1e-7 {
		t.Errorf("RelErr = %g, want 1/3", got)
	}
	if got := RelErr(ag.FromFloat32([]float32{1, 2, 3}, 1, 3), b); !math.IsInf(got, 1) {
		t.Errorf("RelErr of mismatched shapes = %g, want +Inf", got)
	}
	if got := RelErr(nil, b); !math.IsInf(got, 1) {
		t.Errorf("RelErr of a missing tensor = %g, want +Inf", got)
	}
}

// tampered copies a golden file with one tensor scaled, into a temp dir.
func tampered(t *testing.T, src, key string, scale float32) string {
	f, err := safetensors.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	v, err := f.Tensors[key].Float32()
	if err != nil {
		t.Fatal(err)
	}
	for i := range v {
		v[i] *= scale
	}
	f.Tensors[key] = safetensors.FromFloat32(f.Tensors[key].Shape, v)
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	if err := safetensors.WriteFile(dst, f); err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestScoringCatchesWrongNumbers perturbs outputs, gradients and weights
// of golden files and checks that each file then fails.
func TestScoringCatchesWrongNumbers(t *testing.T) {
	dir := goldenDir(t)
	cases := []struct{ file, key, what string }{
		{"ops/gelu.safetensors", "out", "fwd"},
		{"ops/conv2d_groups2.safetensors", "grad.weight", "grad"},
		{"models/resnet_basic.safetensors", "golden.logits", "fwd"},
		{"models/vit_a.safetensors", "golden.grad.encoder.ln.weight", "grad"},
		{"models/stenosis_resnet.safetensors", "golden.after_step.classifier.8.bias", "step"},
	}
	for _, c := range cases {
		t.Run(c.file+"/"+c.key, func(t *testing.T) {
			if r := Check(filepath.Join(dir, c.file)); !r.Pass() {
				t.Fatalf("the untouched file fails: %s", r.Line())
			}
			r := Check(tampered(t, filepath.Join(dir, c.file), c.key, 1.01))
			if r.Pass() {
				t.Errorf("a 1%% change of %s passed: %s", c.key, r.Line())
			}
		})
	}
}

func TestManifestMismatchIsReported(t *testing.T) {
	dir := goldenDir(t)
	b, err := os.ReadFile(filepath.Join(dir, "manifests", "vit_b_16.json"))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "vit.json")
	os.WriteFile(p, []byte(strings.Replace(string(b), `"encoder.ln.weight"`, `"encoder.norm.weight"`, 1)), 0o644)
	r := Check(p)
	if r.Pass() || !strings.Contains(r.Line(), "encoder.norm.weight") {
		t.Errorf("renamed key not reported: %s", r.Line())
	}
}

// TestPanicBecomesFailure: a file whose shapes make the op panic is a
// FAIL line with the panic's message, not the end of the run.
func TestPanicBecomesFailure(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad_linear.safetensors")
	f := &safetensors.File{
		Metadata: map[string]string{"op": "linear"},
		Tensors: map[string]safetensors.Tensor{
			"in.x":      safetensors.FromFloat32([]int{2, 3}, make([]float32, 6)),
			"in.weight": safetensors.FromFloat32([]int{4, 5}, make([]float32, 20)),
			"out":       safetensors.FromFloat32([]int{2, 4}, make([]float32, 8)),
		},
	}
	if err := safetensors.WriteFile(p, f); err != nil {
		t.Fatal(err)
	}
	r := Check(p)
	line := r.Line()
	if r.Pass() || !strings.HasPrefix(line, "FAIL "+p) || !strings.Contains(line, `error="panic: `) {
		t.Errorf("got %q, want a FAIL line with the panic as its error", line)
	}
}

// TestEmbeddingNDIndices: an embedding file with (2, 3) indices, as
// torch.nn.functional.embedding takes them, is scored against the
// (2, 3, dim) output (the checker used to flatten the indices).
func TestEmbeddingNDIndices(t *testing.T) {
	f, err := safetensors.ReadFile(filepath.Join(goldenDir(t), "ops", "embedding.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"in.indices", "out", "dout"} {
		tt := f.Tensors[k]
		tt.Shape = append([]int{2, 3}, tt.Shape[1:]...)
		f.Tensors[k] = tt
	}
	p := filepath.Join(t.TempDir(), "embedding_2d.safetensors")
	if err := safetensors.WriteFile(p, f); err != nil {
		t.Fatal(err)
	}
	if r := Check(p); !r.Pass() {
		t.Errorf("N-d indices: %s", r.Line())
	}
}
