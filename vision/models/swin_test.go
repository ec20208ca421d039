package models

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/nn"
	"github.com/vertebra-ml/vertebra/nn/safetensors"
)

// TEMPORARY until the generic golden test lands.
func swinTmpGolden(t *testing.T, name string) {
	t.Helper()
	f, err := safetensors.ReadFile(filepath.Join("..", "..", "..", "shared", "goldens", "models", name+".safetensors"))
	if err != nil {
		t.Skip(err)
	}
	store := nn.NewStore(ag.Float32, 1)
	m, err := Build(f.Metadata["arch"], f.Metadata["naming"], []byte(f.Metadata["config"]), store.Root())
	if err != nil {
		t.Fatal(err)
	}
	if err := store.LoadFile(f, nn.LoadOptions{Strict: true, Skip: func(k string) bool { return strings.HasPrefix(k, "golden.") }}); err != nil {
		t.Fatal(err)
	}
	get := func(k string) *ag.Tensor {
		v, err := f.Tensors[k].Float32()
		if err != nil {
			t.Fatal(k, err)
		}
		return ag.FromFloat32(v, f.Tensors[k].Shape...)
	}
	relErr := func(got, want *ag.Tensor) float64 {
		if !slices.Equal(got.Shape(), want.Shape()) {
			t.Fatalf("shape %v want %v", got.Shape(), want.Shape())
		}
		g, w := got.Float32s(), want.Float32s()
		var md, mw float64
		for i := range g {
			md = max(md, math.Abs(float64(g[i]-w[i])))
			mw = max(mw, math.Abs(float64(w[i])))
		}
		return md / mw
	}
	x := get("golden.input").SetRequiresGrad(true)
	feat := m.Features(x)
	logits := m.Forward(x)
	t.Logf("features %.3g logits %.3g", relErr(feat, get("golden.features")), relErr(logits, get("golden.logits")))
	logits.BackwardWith(get("golden.dlogits"))
	worst := relErr(x.Grad(), get("golden.grad.input"))
	wk := "input"
	for _, e := range store.NamedParameters() {
		k := "golden.grad." + e.Name
		if _, ok := f.Tensors[k]; !ok {
			t.Errorf("no golden grad %s", k)
			continue
		}
		if e.Tensor.Grad() == nil {
			t.Errorf("no grad for %s", e.Name)
			continue
		}
		if r := relErr(e.Tensor.Grad(), get(k)); r > worst {
			worst, wk = r, e.Name
		}
	}
	t.Logf("worst grad %.3g at %s", worst, wk)
}

func swinTmpManifest(t *testing.T, name string) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "goldens", "manifests", name+".json"))
	if err != nil {
		t.Skip(err)
	}
	var man struct {
		Arch, Naming string
		Config       json.RawMessage
		Params       int
		Keys         [][]any
	}
	if err := json.Unmarshal(raw, &man); err != nil {
		t.Fatal(err)
	}
	store := nn.NewStore(ag.Float32, 1)
	if _, err := Build(man.Arch, man.Naming, man.Config, store.Root()); err != nil {
		t.Fatal(err)
	}
	es := store.Entries()
	if len(es) != len(man.Keys) {
		t.Errorf("%d keys want %d", len(es), len(man.Keys))
	}
	for i := range min(len(es), len(man.Keys)) {
		k := man.Keys[i]
		var shape []int
		if es[i].Ints != nil {
			shape = es[i].Ints.Shape
		} else {
			shape = es[i].Tensor.Shape()
		}
		var ws []int
		for _, d := range k[1].([]any) {
			ws = append(ws, int(d.(float64)))
		}
		if es[i].Name != k[0].(string) || !slices.Equal(shape, ws) || (es[i].Ints != nil) != (k[2] == "I64") {
			t.Fatalf("key %d: %s %v want %v", i, es[i].Name, shape, k)
		}
	}
	if store.NumParams() != man.Params {
		t.Errorf("params %d want %d", store.NumParams(), man.Params)
	}
	t.Logf("%d keys, %d params", len(es), store.NumParams())
}

func TestSwinTmp(t *testing.T) {
	for _, n := range []string{"swin_pad", "swin_shift", "swin_hf_a", "swin_hf_b"} {
		t.Run(n, func(t *testing.T) { swinTmpGolden(t, n) })
	}
	for _, n := range []string{"swin_b", "swin_base_patch4_window7_224_hf"} {
		t.Run(n, func(t *testing.T) { swinTmpManifest(t, n) })
	}
}
