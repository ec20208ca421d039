package nn

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/nn/safetensors"
)

// tinyNet builds conv -> bn -> linear under a fresh store.
func tinyNet(seed uint64) (*Store, *Conv2d, *BatchNorm2d, *Linear) {
	s := NewStore(ag.Float32, seed)
	r := s.Root()
	c := NewConv2d(r.Sub("conv"), 3, 4, [2]int{3, 3}, ag.Conv2dOptions{Padding: [2]int{1, 1}}, false)
	bn := NewBatchNorm2d(r.Sub("bn"), 4, 1e-5, 0.1)
	fc := NewLinear(r.Sub("fc"), 4, 2, true)
	return s, c, bn, fc
}

func TestStoreOrderAndNames(t *testing.T) {
	s, _, _, _ := tinyNet(1)
	var names []string
	for _, e := range s.Entries() {
		names = append(names, e.Name)
	}
	want := []string{"conv.weight", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var", "bn.num_batches_tracked", "fc.weight", "fc.bias"}
	if !slices.Equal(names, want) {
		t.Fatalf("entries %v, want %v", names, want)
	}
	if got := len(s.Parameters()); got != 5 {
		t.Errorf("%d parameters, want 5", got)
	}
	if got, want := s.NumParams(), 4*3*9+4+4+2*4+2; got != want {
		t.Errorf("NumParams %d, want %d", got, want)
	}
}

func TestFreezeUnfreezeLast(t *testing.T) {
	s, c, bn, fc := tinyNet(1)
	s.Freeze("")
	s.UnfreezeLast("", 2)
	for _, p := range []*ag.Tensor{c.Weight, bn.Weight, bn.Bias} {
		if p.RequiresGrad() {
			t.Errorf("%v should be frozen", p.Shape())
		}
	}
	if !fc.Weight.RequiresGrad() || !fc.Bias.RequiresGrad() {
		t.Error("the last two parameters should train")
	}
	s.Freeze("fc.")
	if len(s.Trainable()) != 0 {
		t.Errorf("trainable after freezing all: %v", s.Trainable())
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	src, _, bn, _ := tinyNet(1)
	bn.NumBatchesTracked.Values[0] = 7
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := src.SaveFile(path, map[string]string{"epoch": "3"}); err != nil {
		t.Fatal(err)
	}
	f, err := ReadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Metadata["epoch"] != "3" {
		t.Errorf("metadata %v", f.Metadata)
	}
	dst, _, bn2, _ := tinyNet(2)
	if err := dst.LoadFile(f, LoadOptions{Strict: true}); err != nil {
		t.Fatal(err)
	}
	for i, e := range src.Entries() {
		d := dst.Entries()[i]
		if e.Tensor != nil && !slices.Equal(e.Tensor.Float32s(), d.Tensor.Float32s()) {
			t.Errorf("%s differs after the round trip", e.Name)
		}
	}
	if bn2.NumBatchesTracked.Values[0] != 7 {
		t.Errorf("num_batches_tracked %d, want 7", bn2.NumBatchesTracked.Values[0])
	}
}

func TestLoadReportsEveryProblemByName(t *testing.T) {
	src, _, _, _ := tinyNet(1)
	f := src.StateDict()
	delete(f.Tensors, "fc.bias")
	f.Names = slices.DeleteFunc(f.Names, func(n string) bool { return n == "fc.bias" })
	f.Tensors["extra.weight"] = safetensors.FromFloat32([]int{1}, []float32{1})
	f.Names = append(f.Names, "extra.weight")
	f.Tensors["fc.weight"] = safetensors.FromFloat32([]int{2, 5}, make([]float32, 10))
	dst, _, _, fc := tinyNet(2)
	before := fc.Weight.Float32s()
	err := dst.LoadFile(f, LoadOptions{Strict: true})
	if err == nil {
		t.Fatal("strict load of a broken state dict succeeded")
	}
	for _, want := range []string{"missing keys: fc.bias", "unexpected keys: extra.weight", "fc.weight: shape [2 5] in file, model has [2 4]"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if !slices.Equal(before, fc.Weight.Float32s()) {
		t.Error("a failed load changed the model")
	}
	// Non-strict loading tolerates missing and extra keys but not shapes.
	f.Tensors["fc.weight"] = safetensors.FromFloat32([]int{2, 4}, make([]float32, 8))
	if err := dst.LoadFile(f, LoadOptions{}); err != nil {
		t.Errorf("non-strict load: %v", err)
	}
}

func TestReadCheckpointBrokenFiles(t *testing.T) {
	src, _, _, _ := tinyNet(1)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.safetensors")
	if err := src.SaveFile(good, nil); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(good)
	cases := map[string][]byte{
		"truncated":        data[:len(data)-10],
		"corrupted-header": append(append([]byte{}, data[:8]...), append([]byte("{\"x\":"), data[13:]...)...),
		"huge-header":      append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, '{'}, data[9:]...),
		"empty":            {},
		"garbage":          []byte("not a checkpoint at all"),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, name+".safetensors")
			os.WriteFile(p, b, 0o644)
			f, err := ReadCheckpoint(p)
			if err == nil {
				t.Fatalf("read %d tensors from a broken file", len(f.Tensors))
			}
			if !strings.Contains(err.Error(), p) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

// TestReadCheckpointPth reads torchvision-style and study-style .pth files
// and compares them with the safetensors goldens holding the same tensors.
func TestReadCheckpointPth(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "goldens")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("goldens not found")
	}
	cases := []struct{ pth, st string }{
		{"pth/resnet_bottleneck.pth", "models/resnet_bottleneck.safetensors"},
		{"pth/resnet_bottleneck_legacy.pth", "models/resnet_bottleneck.safetensors"},
		{"pth/stenosis_resnet_study_checkpoint.pth", "models/stenosis_resnet.safetensors"},
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.pth), func(t *testing.T) {
			p, err := ReadCheckpoint(filepath.Join(dir, c.pth))
			if err != nil {
				t.Fatal(err)
			}
			s, err := ReadCheckpoint(filepath.Join(dir, c.st))
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, name := range p.Names {
				want, ok := s.Tensors[name]
				if !ok {
					continue
				}
				got := p.Tensors[name]
				if !slices.Equal(got.Shape, want.Shape) || string(got.Data) != string(want.Data) {
					t.Errorf("%s differs", name)
				}
				n++
			}
			if n == 0 || n < len(p.Names)-2 {
				t.Errorf("only %d of %d tensors found in the safetensors golden", n, len(p.Names))
			}
		})
	}
}

func TestInitialisers(t *testing.T) {
	s := NewStore(ag.Float64, 3)
	l := NewLinear(s.Root().Sub("l"), 100, 50, true)
	bound := 1 / math.Sqrt(100)
	for _, v := range l.Weight.Float64s() {
		if math.Abs(v) > bound {
			t.Fatalf("weight %g outside ±%g", v, bound)
		}
	}
	w := TruncNormal(0.02)(s.RNG(), []int{10000})
	var ss float64
	for _, v := range w {
		ss += v * v
	}
	if std := math.Sqrt(ss / 10000); math.Abs(std-0.02) > 0.002 {
		t.Errorf("trunc normal std %g, want 0.02", std)
	}
}

func TestBatchNormModes(t *testing.T) {
	s, _, bn, _ := tinyNet(1)
	x := ag.RandN(s.RNG(), ag.Float32, 2, 4, 3, 3)
	s.SetTraining(true)
	bn.Forward(x)
	if bn.NumBatchesTracked.Values[0] != 1 {
		t.Errorf("num_batches_tracked %d after one training step", bn.NumBatchesTracked.Values[0])
	}
	rm := bn.RunningMean.Float32s()
	s.SetTraining(false)
	bn.Forward(x)
	if !slices.Equal(rm, bn.RunningMean.Float32s()) || bn.NumBatchesTracked.Values[0] != 1 {
		t.Error("eval mode changed the running statistics")
	}
}

func TestOptionalRecomputedBuffers(t *testing.T) {
	src, _, _, _ := tinyNet(1)
	f := src.StateDict()
	delete(f.Tensors, "bn.num_batches_tracked")
	f.Names = slices.DeleteFunc(f.Names, func(n string) bool { return n == "bn.num_batches_tracked" })
	dst, _, _, _ := tinyNet(2)
	if err := dst.LoadFile(f, LoadOptions{Strict: true}); err == nil || !strings.Contains(err.Error(), "bn.num_batches_tracked") {
		t.Errorf("strict load without num_batches_tracked: %v", err)
	}
	if err := dst.LoadFile(f, LoadOptions{Strict: true, Optional: RecomputedBuffer}); err != nil {
		t.Errorf("with Optional: %v", err)
	}
}
