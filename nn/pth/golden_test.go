package pth

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vertebra-ml/vertebra/nn/safetensors"
)

// goldens is where CI lays the shared reference fixtures: shared/ beside the
// repository root.
var goldens = filepath.Join("..", "..", "..", "shared", "goldens")

func golden(t *testing.T, elem ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{goldens}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("fixture missing: %v", err)
	}
	return p
}

// TestGoldenCheckpoints checks that each .pth fixture holds exactly the
// tensors of the safetensors file it was made from: same names in the same
// order, dtypes, shapes and bytes. The safetensors files also carry the
// golden.* reference outputs, which the .pth files do not.
func TestGoldenCheckpoints(t *testing.T) {
	for _, tc := range []struct {
		pth, ref string
		onlyPth  []string // keys the .pth adds
	}{
		{"resnet_bottleneck.pth", "resnet_bottleneck.safetensors", nil},
		{"resnet_bottleneck_legacy.pth", "resnet_bottleneck.safetensors", nil},
		{"resnet_bottleneck_views.pth", "resnet_bottleneck.safetensors", []string{"golden.view_t", "golden.view_slice"}},
		{"stenosis_resnet_study_checkpoint.pth", "stenosis_resnet.safetensors", nil},
	} {
		t.Run(tc.pth, func(t *testing.T) {
			c, err := ReadFile(golden(t, "pth", tc.pth))
			if err != nil {
				t.Fatal(err)
			}
			names, tensors, err := c.StateDict()
			if err != nil {
				t.Fatal(err)
			}
			ref, err := safetensors.ReadFile(golden(t, "models", tc.ref))
			if err != nil {
				t.Fatal(err)
			}
			var common, onlyPth, onlyRef []string
			for _, n := range names {
				if _, ok := ref.Tensors[n]; ok {
					common = append(common, n)
				} else {
					onlyPth = append(onlyPth, n)
				}
			}
			for _, n := range ref.Names {
				if _, ok := tensors[n]; !ok {
					onlyRef = append(onlyRef, n)
				}
			}
			if !slices.Equal(onlyPth, tc.onlyPth) {
				t.Errorf("keys only in %s: %q, want %q", tc.pth, onlyPth, tc.onlyPth)
			}
			// Everything the .pth lacks must be a golden.* output, not a weight.
			for _, n := range onlyRef {
				if !strings.HasPrefix(n, "golden.") {
					t.Errorf("weight %q of %s is missing from %s", n, tc.ref, tc.pth)
				}
			}
			refOrder := slices.DeleteFunc(slices.Clone(ref.Names), func(n string) bool { _, ok := tensors[n]; return !ok })
			if !slices.Equal(common, refOrder) {
				t.Errorf("order of the common keys differs:\n%q\n%q", common, refOrder)
			}
			for _, n := range common {
				got, want := tensors[n], ref.Tensors[n]
				if got.DType != want.DType || !slices.Equal(got.Shape, want.Shape) {
					t.Errorf("%s: %s %v, want %s %v", n, got.DType, got.Shape, want.DType, want.Shape)
				} else if !bytes.Equal(got.Data, want.Data) {
					t.Errorf("%s: values differ", n)
				}
			}
			t.Logf("%d common tensors; only in .pth: %q; only in .safetensors: %d golden.* outputs", len(common), onlyPth, len(onlyRef))
		})
	}
}

// TestGoldenViews checks the two views against values computed by hand from
// x = arange(24).reshape(4, 6): view_t = x.t() and view_slice = x[1:3, 2:5].
func TestGoldenViews(t *testing.T) {
	c, err := ReadFile(golden(t, "pth", "resnet_bottleneck_views.pth"))
	if err != nil {
		t.Fatal(err)
	}
	_, tensors, err := c.StateDict()
	if err != nil {
		t.Fatal(err)
	}
	var wantT []float32
	for i := range 6 {
		for j := range 4 {
			wantT = append(wantT, float32(j*6+i)) // x.t()[i][j] = x[j][i]
		}
	}
	for _, tc := range []struct {
		name  string
		shape []int
		want  []float32
	}{
		{"golden.view_t", []int{6, 4}, wantT},
		{"golden.view_slice", []int{2, 3}, []float32{8, 9, 10, 14, 15, 16}},
	} {
		v := tensors[tc.name]
		got, err := v.Float32()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !slices.Equal(v.Shape, tc.shape) || !slices.Equal(got, tc.want) {
			t.Errorf("%s = %v %v, want %v %v", tc.name, v.Shape, got, tc.shape, tc.want)
		}
	}
}

// TestGoldenStudyCheckpoint checks the rest of the study's layout: scalars,
// and the optimizer state keyed by parameter index.
func TestGoldenStudyCheckpoint(t *testing.T) {
	c, err := ReadFile(golden(t, "pth", "stenosis_resnet_study_checkpoint.pth"))
	if err != nil {
		t.Fatal(err)
	}
	root := c.Root.(*Dict)
	var keys []string
	for _, k := range root.Keys {
		keys = append(keys, k.(string))
	}
	for _, k := range []string{"epoch", "model_state_dict", "optimizer_state_dict", "val_acc", "val_loss", "train_loss", "train_acc"} {
		if !slices.Contains(keys, k) {
			t.Errorf("root lacks %q; has %q", k, keys)
		}
	}
	if _, ok := root.Values["epoch"].(int64); !ok {
		t.Errorf("epoch = %#v, want an int64", root.Values["epoch"])
	}
	if _, ok := root.Values["val_acc"].(float64); !ok {
		t.Errorf("val_acc = %#v, want a float64", root.Values["val_acc"])
	}
	opt := root.Values["optimizer_state_dict"].(*Dict)
	state, ok := opt.Values["state"].(*Dict)
	if !ok || state.Len() == 0 {
		t.Fatalf("optimizer state = %#v", opt.Values["state"])
	}
	p0, ok := state.Get(0)
	if !ok {
		t.Fatalf("optimizer state has keys %v, want int64 parameter indices", state.Keys[:min(3, len(state.Keys))])
	}
	step := p0.(*Dict).Values["step"].(safetensors.Tensor)
	if len(step.Shape) != 0 || step.NumElements() != 1 {
		t.Errorf("step has shape %v, want a scalar", step.Shape)
	}
	groups := opt.Values["param_groups"].([]any)
	lr, _ := groups[0].(*Dict).Get("lr")
	if lr != 0.0001 {
		t.Errorf("lr = %v, want 0.0001", lr)
	}
	// The nested optimizer state is not a state dict of the model.
	if _, _, err := (&Checkpoint{Root: opt}).StateDict(); err == nil || !strings.Contains(err.Error(), `"state"`) {
		t.Errorf("StateDict of the optimizer state: error %v, want one naming key \"state\"", err)
	}
}
