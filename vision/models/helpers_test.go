package models

import (
	"math"
	"path/filepath"
	"slices"
	"testing"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/nn/safetensors"
)

// Helpers shared by the families' tests. The goldens themselves are scored
// by internal/golden (and experiments/goldens); these tests cover what the
// goldens do not.

// goldenFile reads ../shared/goldens/models/<name>.safetensors, skipping
// the test where the fixtures are absent.
func goldenFile(t *testing.T, name string) *safetensors.File {
	t.Helper()
	f, err := safetensors.ReadFile(filepath.Join("..", "..", "..", "shared", "goldens", "models", name+".safetensors"))
	if err != nil {
		t.Skipf("golden fixtures: %v", err)
	}
	return f
}

// goldenTensor returns the float tensor key of f.
func goldenTensor(t *testing.T, f *safetensors.File, key string) *ag.Tensor {
	t.Helper()
	st, ok := f.Tensors[key]
	if !ok {
		t.Fatalf("golden file has no %s", key)
	}
	v, err := st.Float32()
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	return ag.FromFloat32(v, st.Shape...)
}

// relErr is max|got-want| / max|want| (the absolute error where want is
// all zeros); a shape mismatch fails the test.
func relErr(t *testing.T, got, want *ag.Tensor) float64 {
	t.Helper()
	if !slices.Equal(got.Shape(), want.Shape()) {
		t.Fatalf("shape %v, want %v", got.Shape(), want.Shape())
	}
	g, w := got.Float64s(), want.Float64s()
	var d, m float64
	for i := range g {
		d = max(d, math.Abs(g[i]-w[i]))
		m = max(m, math.Abs(w[i]))
	}
	if m == 0 {
		return d
	}
	return d / m
}
