package models

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/nn"
)

// These tests cover headless builds, config errors, the rules the goldens'
// README states for configurations the goldens do not exercise, and the
// training-mode paths.

// cnnHeadless builds the golden file's model with num_classes null, loads
// its weights without the removed head (keys with a prefix in head) and
// checks that every other key loads, that Forward gives golden.features
// and that FeatureDim matches. It returns the store.
func cnnHeadless(t *testing.T, name string, head ...string) *nn.Store {
	t.Helper()
	f := goldenFile(t, name)
	cfg := strings.Replace(f.Metadata["config"], `"num_classes":`, `"num_classes":null,"_was":`, 1)
	store := newEvalStore(ag.Float32, 1)
	m, err := Build(f.Metadata["arch"], f.Metadata["naming"], []byte(cfg), store.Root())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range store.Entries() {
		for _, h := range head {
			if strings.HasPrefix(e.Name, h) {
				t.Errorf("headless model has %s", e.Name)
			}
		}
	}
	skip := func(k string) bool {
		if strings.HasPrefix(k, "golden.") {
			return true
		}
		for _, h := range head {
			if strings.HasPrefix(k, h) {
				return true
			}
		}
		return false
	}
	if err := store.LoadFile(f, nn.LoadOptions{Strict: true, Skip: skip}); err != nil {
		t.Fatal(err)
	}
	want := goldenTensor(t, f, "golden.features")
	var got *ag.Tensor
	ag.NoGrad(func() { got = m.Forward(goldenTensor(t, f, "golden.input")) })
	if e := relErr(t, got, want); e > 1e-4 {
		t.Errorf("headless Forward vs golden.features: rel err %.3g", e)
	}
	if m.FeatureDim() != want.Dim(1) {
		t.Errorf("FeatureDim %d, want %d", m.FeatureDim(), want.Dim(1))
	}
	return store
}

// cnnBuildErr checks that config fails to build with an error naming field.
func cnnBuildErr(t *testing.T, arch, config, field string) {
	t.Helper()
	store := newEvalStore(ag.Float32, 1)
	_, err := Build(arch, "torchvision", []byte(config), store.Root())
	if err == nil {
		t.Errorf("%s: no error for %s", arch, config)
		return
	}
	if !strings.Contains(err.Error(), field) {
		t.Errorf("%s: error %q does not name %q", arch, err, field)
	}
}

// cnnKeys builds config and lists its keys as "name[shape]" in order.
func cnnKeys(t *testing.T, arch, config string) (Backbone, *nn.Store, []string) {
	t.Helper()
	store := newEvalStore(ag.Float32, 1)
	m, err := Build(arch, "torchvision", []byte(config), store.Root())
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, e := range store.Entries() {
		if e.Ints != nil {
			keys = append(keys, fmt.Sprintf("%s%v", e.Name, e.Ints.Shape))
		} else {
			keys = append(keys, fmt.Sprintf("%s%v", e.Name, e.Tensor.Shape()))
		}
	}
	return m, store, keys
}

// cnnHasKeys checks that want are all present and absent all absent.
func cnnHasKeys(t *testing.T, keys, want, absent []string) {
	t.Helper()
	for _, w := range want {
		if !slices.Contains(keys, w) {
			t.Errorf("missing key %s", w)
		}
	}
	for _, a := range absent {
		for _, k := range keys {
			if strings.HasPrefix(k, a) {
				t.Errorf("unexpected key %s", k)
			}
		}
	}
}

// cnnParamCount builds a full-size preset-like config and compares its
// parameter count with torchvision's published number (construction only).
func cnnParamCount(t *testing.T, arch, config string, want int) {
	t.Helper()
	if testing.Short() {
		t.Skip("full-size model in -short mode")
	}
	store := newEvalStore(ag.Float32, 1)
	if _, err := Build(arch, "torchvision", []byte(config), store.Root()); err != nil {
		t.Fatal(err)
	}
	if got := store.NumParams(); got != want {
		t.Errorf("%d parameters, torchvision has %d", got, want)
	}
}

func TestResNetHeadless(t *testing.T) {
	cnnHeadless(t, "resnet_basic", "fc.")
	cnnHeadless(t, "resnet_bottleneck", "fc.")
}

func TestResNetConfigErrors(t *testing.T) {
	ok := `"layers":[1,1,1,1],"widths":[8,8,8,8],"stem_width":8,"num_classes":2`
	for _, c := range []struct{ cfg, field string }{
		{`{"block":"dense",` + ok + `,"groups":1,"width_per_group":64}`, "block"},
		{`{"block":"basic","layers":[1,1,1],"widths":[8,8,8,8],"stem_width":8,"groups":1,"width_per_group":64}`, "layers"},
		{`{"block":"basic","layers":[1,0,1,1],"widths":[8,8,8,8],"stem_width":8,"groups":1,"width_per_group":64}`, "layers[1]"},
		{`{"block":"basic","layers":[1,1,1,1],"widths":[8,8,-1,8],"stem_width":8,"groups":1,"width_per_group":64}`, "widths[2]"},
		{`{"block":"basic","layers":[1,1,1,1],"widths":[8,8,8,8],"stem_width":0,"groups":1,"width_per_group":64}`, "stem_width"},
		{`{"block":"basic",` + ok + `,"groups":2,"width_per_group":64}`, "groups"},
		{`{"block":"basic",` + ok + `,"groups":1,"width_per_group":32}`, "width_per_group"},
		{`{"block":"bottleneck",` + ok + `,"groups":0,"width_per_group":64}`, "groups"},
		{`{"block":"bottleneck",` + ok + `,"groups":1,"width_per_group":4}`, "width_per_group"},
		{`{"block":"bottleneck","layers":[1,1,1,1],"widths":[8,8,8,8],"stem_width":8,"groups":1,"width_per_group":64,"num_classes":-1}`, "num_classes"},
		{`{"block":"bottleneck","layers":"x"}`, "resnet config"},
		{`{"block":"bottleneck","layers":[1,1,1,1],"widths":[8,8,8,9223372036854775807],"stem_width":8,"groups":1,"width_per_group":64}`, "widths[3]"},
		{`{"block":"bottleneck","layers":[1,1,1,1],"widths":[8,8,8,8],"stem_width":8,"groups":1000000,"width_per_group":64}`, "groups"},
		{`{"block":"basic","layers":[1,1,1,100000000],"widths":[8,8,8,8],"stem_width":8,"groups":1,"width_per_group":64}`, "layers[3]"},
	} {
		cnnBuildErr(t, "resnet", c.cfg, c.field)
	}
}

// TestResNetGroupsAndDownsample checks the ResNeXt inner widths and
// torchvision's downsample rule (stride or width change) on a small net.
func TestResNetGroupsAndDownsample(t *testing.T) {
	m, _, keys := cnnKeys(t, "resnet", `{"block":"bottleneck","layers":[1,2,1,1],"widths":[16,16,32,32],"stem_width":64,"groups":4,"width_per_group":8,"num_classes":0}`)
	cnnHasKeys(t, keys, []string{
		"layer1.0.conv2.weight[8 2 3 3]", // int(16*8/64)*4 = 8, 4 groups
		"layer1.0.conv3.weight[64 8 1 1]",
		"layer2.0.downsample.0.weight[64 64 1 1]", // stride 2 alone asks for one
		"layer3.0.conv2.weight[16 4 3 3]",
		"layer3.0.downsample.0.weight[128 64 1 1]",
		"layer4.0.downsample.0.weight[128 128 1 1]",
	}, []string{"layer1.0.downsample", "layer2.1.downsample", "fc."})
	var y *ag.Tensor
	ag.NoGrad(func() { y = m.Forward(ag.Ones(ag.Float32, 2, 3, 40, 36)) })
	if !slices.Equal(y.Shape(), []int{2, 128}) || m.FeatureDim() != 128 {
		t.Errorf("headless output %v, FeatureDim %d; want [2 128], 128", y.Shape(), m.FeatureDim())
	}
}

// TestResNetTrainingMode checks that BatchNorm uses batch statistics in
// training mode (so a batch normalises itself) and updates its running
// statistics, and that eval mode is back to the running ones.
func TestResNetTrainingMode(t *testing.T) {
	f := goldenFile(t, "resnet_basic")
	store := newEvalStore(ag.Float32, 1)
	m, err := Build("resnet", "torchvision", []byte(f.Metadata["config"]), store.Root())
	if err != nil {
		t.Fatal(err)
	}
	if err := store.LoadFile(f, nn.LoadOptions{Strict: true, Skip: func(k string) bool { return strings.HasPrefix(k, "golden.") }}); err != nil {
		t.Fatal(err)
	}
	x := goldenTensor(t, f, "golden.input")
	rm := m.(*ResNet).BN1.RunningMean.Float32s()
	store.SetTraining(true)
	var train *ag.Tensor
	ag.NoGrad(func() { train = m.Forward(x) })
	store.SetTraining(false)
	if slices.Equal(rm, m.(*ResNet).BN1.RunningMean.Float32s()) {
		t.Error("training forward did not update bn1.running_mean")
	}
	if relErr(t, train, goldenTensor(t, f, "golden.logits")) < 1e-3 {
		t.Error("training forward matches the eval golden: batch statistics not used")
	}
}

// TestResNetParamCounts compares torchvision's published parameter counts
// of resnet18 (basic blocks) and resnext50_32x4d (groups).
func TestResNetParamCounts(t *testing.T) {
	cnnParamCount(t, "resnet", `{"block":"basic","layers":[2,2,2,2],"widths":[64,128,256,512],"stem_width":64,"groups":1,"width_per_group":64,"num_classes":1000}`, 11689512)
	cnnParamCount(t, "resnet", `{"block":"bottleneck","layers":[3,4,6,3],"widths":[64,128,256,512],"stem_width":64,"groups":32,"width_per_group":4,"num_classes":1000}`, 25028904)
}
