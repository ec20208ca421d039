package models

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/nn"
	"github.com/vertebra-ml/vertebra/nn/safetensors"
)

// swinLoad builds the model of a golden file and loads its weights.
func swinLoad(t *testing.T, name string) (*Swin, *nn.Store, *safetensors.File) {
	t.Helper()
	f := goldenFile(t, name)
	store := newEvalStore(ag.Float32, 1)
	m, err := Build(f.Metadata["arch"], f.Metadata["naming"], []byte(f.Metadata["config"]), store.Root())
	if err != nil {
		t.Fatal(err)
	}
	if err := store.LoadFile(f, nn.LoadOptions{Strict: true, Skip: func(k string) bool { return strings.HasPrefix(k, "golden.") }}); err != nil {
		t.Fatal(err)
	}
	return m.(*Swin), store, f
}

func swinFinite(t *testing.T, x *ag.Tensor) {
	t.Helper()
	for _, v := range x.Float64s() {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("non-finite output %v", v)
		}
	}
}

// The index the model computes is the one the reference checkpoints carry.
func TestSwinRelativePositionIndex(t *testing.T) {
	for _, c := range []struct{ file, key string }{
		{"swin_pad", "features.1.0.attn.relative_position_index"},
		{"swin_shift", "features.3.1.attn.relative_position_index"},
		{"swin_hf_a", "swin.encoder.layers.0.blocks.1.attention.self.relative_position_index"},
	} {
		f := goldenFile(t, c.file)
		want, err := f.Tensors[c.key].Int64()
		if err != nil {
			t.Fatal(err)
		}
		w := int(math.Round(math.Sqrt(math.Sqrt(float64(len(want))))))
		if got := swinRelativePositionIndex(w, w); !slices.Equal(got, want) {
			t.Errorf("%s: index of a %dx%d window differs from %s", c.file, w, w, c.key)
		}
	}
	// A 2x3 window: token 0 is (0,0), token 5 is (1,2); the table has
	// (2*2-1)*(2*3-1) = 15 rows.
	idx := swinRelativePositionIndex(2, 3)
	if idx[0*6+5] != 0 || idx[5*6+0] != 14 || idx[0] != 1*5+2 {
		t.Errorf("2x3 window index: %v", idx)
	}
}

func swinMaskAt(m *ag.Tensor, w, p, q int) float64 {
	tokens := m.Dim(2)
	return m.Float64s()[(w*tokens+p)*tokens+q]
}

func TestSwinShiftMask(t *testing.T) {
	// 4x4 map, 2x2 windows, shift 1: regions are rows/cols {0,1}, {2}, {3},
	// labelled 0 0 1 2 / 0 0 1 2 / 3 3 4 5 / 6 6 7 8.
	m := swinShiftMask(4, 4, [2]int{2, 2}, [2]int{1, 1}, ag.Float64)
	if !slices.Equal(m.Shape(), []int{4, 1, 4, 4}) {
		t.Fatalf("shape %v", m.Shape())
	}
	labels := [4][4]int{{0, 0, 0, 0}, {1, 2, 1, 2}, {3, 3, 6, 6}, {4, 5, 7, 8}}
	for w := range 4 {
		for p := range 4 {
			for q := range 4 {
				want := 0.0
				if labels[w][p] != labels[w][q] {
					want = -100
				}
				if got := swinMaskAt(m, w, p, q); got != want {
					t.Errorf("window %d (%d,%d): %v, want %v", w, p, q, got, want)
				}
			}
		}
	}
	// A zero shift on one axis: torchvision's slices (0,-2), (-2,-0),
	// (-0,None) leave rows undivided, so only columns separate tokens.
	m = swinShiftMask(2, 4, [2]int{2, 2}, [2]int{0, 1}, ag.Float32)
	col := [2][4]int{{0, 0, 0, 0}, {2, 3, 2, 3}} // window 1 holds columns 2 and 3
	for w := range 2 {
		for p := range 4 {
			for q := range 4 {
				want := 0.0
				if col[w][p] != col[w][q] {
					want = -100
				}
				if got := swinMaskAt(m, w, p, q); got != want {
					t.Errorf("row-unshifted window %d (%d,%d): %v, want %v", w, p, q, got, want)
				}
			}
		}
	}
}

func TestSwinPlan(t *testing.T) {
	tv := &SwinBlock{shifted: true, window: [2]int{7, 7}}
	hf := &SwinBlock{clampWindow: true, shifted: true, window: [2]int{7, 7}}
	for _, c := range []struct {
		blk        *SwinBlock
		h, w       int
		shift      [2]int
		shouldFail bool
	}{
		{tv, 56, 56, [2]int{3, 3}, false},
		{tv, 8, 8, [2]int{3, 3}, false},   // padded to 14: shifts
		{tv, 7, 7, [2]int{0, 0}, false},   // the window covers the map
		{tv, 7, 20, [2]int{0, 3}, false},  // per axis
		{tv, 3, 20, [2]int{0, 3}, false},  // never shrunk: pads 3 to 7
		{hf, 56, 56, [2]int{3, 3}, false}, //
		{hf, 7, 20, [2]int{0, 0}, false},  // min(h, w) <= window: no shift at all
		{hf, 8, 9, [2]int{3, 3}, false},   //
		{hf, 5, 20, [2]int{}, true},       // transformers fails on the bias shape
		{&SwinBlock{window: [2]int{7, 7}}, 56, 56, [2]int{}, false},
	} {
		func() {
			defer func() {
				if r := recover(); (r != nil) != c.shouldFail {
					t.Errorf("clampWindow %v %dx%d: panic %v", c.blk.clampWindow, c.h, c.w, r)
				}
			}()
			win, shift := c.blk.plan(c.h, c.w)
			if win != c.blk.window || shift != c.shift {
				t.Errorf("clampWindow %v %dx%d: window %v shift %v, want %v %v", c.blk.clampWindow, c.h, c.w, win, shift, c.blk.window, c.shift)
			}
		}()
	}
}

// swinTVToHF maps an hf key of the same architecture to its torchvision
// key and, for query/key/value, the third of the fused qkv it takes.
func swinTVToHF(name string) (string, int) {
	r := strings.NewReplacer(
		"swin.embeddings.patch_embeddings.projection.", "features.0.0.",
		"swin.embeddings.norm.", "features.0.2.",
		"layernorm_before", "norm1", "layernorm_after", "norm2",
		"attention.self.relative", "attn.relative",
		"attention.output.dense", "attn.proj",
		"intermediate.dense", "mlp.0", "output.dense", "mlp.3",
		"swin.layernorm.", "norm.", "classifier.", "head.")
	part := -1
	for i, p := range []string{"query", "key", "value"} {
		if s := ".attention.self." + p + "."; strings.Contains(name, s) {
			name, part = strings.Replace(name, s, ".attn.qkv.", 1), i
		}
	}
	name = r.Replace(name)
	var s, blk int
	var rest string
	if n, _ := fmt.Sscanf(name, "swin.encoder.layers.%d.blocks.%d.%s", &s, &blk, &rest); n == 3 {
		name = fmt.Sprintf("features.%d.%d.%s", 2*s+1, blk, rest)
	} else if n, _ := fmt.Sscanf(name, "swin.encoder.layers.%d.downsample.%s", &s, &rest); n == 2 {
		name = fmt.Sprintf("features.%d.%s", 2*s+2, rest)
	}
	return name, part
}

// Both namings are one mechanism: given torchvision's weights, the hf model
// reproduces torchvision's golden logits where the two window rules agree
// (swin_shift: 16x16, 8x8, 4x4 maps with a window of 4).
func TestSwinNamingsAgree(t *testing.T) {
	f := goldenFile(t, "swin_shift")
	store := newEvalStore(ag.Float32, 1)
	m, err := Build("swin", "hf", []byte(`{"image_size":32,"patch_size":2,"embed_dim":8,"depths":[2,2,2],"num_heads":[1,2,4],"window_size":4,"num_labels":5}`), store.Root())
	if err != nil {
		t.Fatal(err)
	}
	hf := &safetensors.File{Tensors: map[string]safetensors.Tensor{}}
	for _, e := range store.Entries() {
		key, part := swinTVToHF(e.Name)
		src, ok := f.Tensors[key]
		if !ok {
			t.Fatalf("%s: no torchvision key %s", e.Name, key)
		}
		if e.Ints != nil {
			v, err := src.Int64()
			if err != nil {
				t.Fatal(err)
			}
			hf.Tensors[e.Name] = safetensors.FromInt64(e.Ints.Shape, v)
		} else {
			v, err := src.Float32()
			if err != nil {
				t.Fatal(err)
			}
			if part >= 0 {
				n := len(v) / 3
				v = v[part*n : (part+1)*n]
			}
			hf.Tensors[e.Name] = safetensors.FromFloat32(e.Tensor.Shape(), v)
		}
		hf.Names = append(hf.Names, e.Name)
	}
	if err := store.LoadFile(hf, nn.LoadOptions{Strict: true}); err != nil {
		t.Fatal(err)
	}
	got := m.Forward(goldenTensor(t, f, "golden.input"))
	if r := relErr(t, got, goldenTensor(t, f, "golden.logits")); r > 1e-4 {
		t.Errorf("hf model with torchvision weights: logits error %.3g", r)
	}
}

// Sizes the goldens do not cover: non-square maps, a patch remainder, odd
// maps for the merging, a shift on one axis only or none.
func TestSwinOtherSizes(t *testing.T) {
	tv, tvStore, _ := swinLoad(t, "swin_pad") // window 3, patch 4, two stages, 4 classes
	hf, _, _ := swinLoad(t, "swin_hf_b")      // window 4, patch 4, two stages, 3 classes
	rng := tvStore.RNG()
	for _, c := range []struct {
		m       *Swin
		h, w    int
		classes int
	}{
		{tv, 30, 45, 4}, // 7x11 (remainder dropped), merged to 4x6
		{tv, 12, 40, 4}, // 3x10: the 3-row window covers the map: columns shift only
		{tv, 4, 4, 4},   // 1x1: padded to one window
		{hf, 35, 38, 3}, // padded to 36x40: 9x10, merged to 5x5
		{hf, 32, 70, 3}, // 8x18, then 4x9: no shift at all (min <= window)
	} {
		x := ag.RandN(rng, ag.Float32, 2, 3, c.h, c.w)
		y := c.m.Forward(x)
		if !slices.Equal(y.Shape(), []int{2, c.classes}) {
			t.Fatalf("%dx%d: logits %v", c.h, c.w, y.Shape())
		}
		swinFinite(t, y)
		var same *ag.Tensor
		if c.m == tv {
			// torchvision's patch conv drops the remainder rows/columns.
			same = ag.Slice(ag.Slice(x, 2, 0, c.h/4*4, 1), 3, 0, c.w/4*4, 1)
		} else {
			// transformers zero-pads the image to whole patches.
			same = ag.Pad(x, [][2]int{{0, 0}, {0, 0}, {0, (4 - c.h%4) % 4}, {0, (4 - c.w%4) % 4}}, 0)
		}
		if r := relErr(t, c.m.Forward(same), y); r > 1e-6 {
			t.Errorf("%dx%d: patch remainder rule: %.3g", c.h, c.w, r)
		}
	}
	// A map smaller than the window in hf: transformers 4.27 fails too.
	func() {
		defer func() {
			if recover() == nil {
				t.Error("hf: 4x16 then 2x8 maps with window 4 did not panic")
			}
		}()
		hf.Forward(ag.RandN(rng, ag.Float32, 1, 3, 16, 61))
	}()
}

func TestSwinConfigErrors(t *testing.T) {
	tv := `"patch_size":[4,4],"embed_dim":12,"depths":[2,2],"num_heads":[3,6],"window_size":[3,3],"num_classes":4`
	hf := `"image_size":32,"patch_size":4,"embed_dim":16,"depths":[2,2],"num_heads":[2,4],"window_size":4,"num_labels":5`
	for _, c := range []struct{ naming, config, field string }{
		{"torchvision", `{` + tv + `,"patch_size":[4]}`, "patch_size"},
		{"torchvision", `{` + tv + `,"patch_size":[0,4]}`, "patch_size"},
		{"torchvision", `{` + tv + `,"window_size":null}`, "window_size"},
		{"torchvision", `{` + tv + `,"embed_dim":0}`, "embed_dim"},
		{"torchvision", `{` + tv + `,"depths":[]}`, "depths"},
		{"torchvision", `{` + tv + `,"depths":[2,-1]}`, "depths[1]"},
		{"torchvision", `{` + tv + `,"num_heads":[3]}`, "num_heads"},
		{"torchvision", `{` + tv + `,"num_heads":[5,6]}`, "num_heads[0]"},
		{"torchvision", `{` + tv + `,"mlp_ratio":0}`, "mlp_ratio"},
		{"torchvision", `{` + tv + `,"num_classes":-1}`, "num_classes"},
		{"torchvision", `{` + tv + `,"stochastic_depth_prob":1.5}`, "stochastic_depth_prob"},
		{"torchvision", `{` + tv + `,"embed_dim":"x"}`, "embed_dim"},
		{"hf", `{` + hf + `,"image_size":[32]}`, "size"},
		{"hf", `{` + hf + `,"patch_size":0}`, "patch_size"},
		{"hf", `{` + hf + `,"window_size":[4,4]}`, "window_size"},
		{"hf", `{` + hf + `,"window_size":0}`, "window_size"},
		{"hf", `{` + hf + `,"num_channels":0}`, "num_channels"},
		{"hf", `{` + hf + `,"num_heads":[3,4]}`, "num_heads[0]"},
		{"hf", `{` + hf + `,"hidden_act":"no_such_activation"}`, "hidden_act"},
		{"hf", `{` + hf + `,"layer_norm_eps":0}`, "layer_norm_eps"},
		{"hf", `{` + hf + `,"drop_path_rate":-0.1}`, "drop_path_rate"},
		{"hf", `{` + hf + `,"hidden_dropout_prob":2}`, "hidden_dropout_prob"},
		{"hf", `{` + hf + `,"num_labels":-2}`, "num_labels"},
	} {
		_, err := Build("swin", c.naming, []byte(c.config), newEvalStore(ag.Float32, 1).Root())
		if err == nil || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s %s: error %v, want one naming %s", c.naming, c.config, err, c.field)
		}
	}
}

func swinHasKey(store *nn.Store, prefix string) bool {
	for _, e := range store.Entries() {
		if strings.HasPrefix(e.Name, prefix) {
			return true
		}
	}
	return false
}

func TestSwinHeadless(t *testing.T) {
	for _, c := range []struct {
		naming, config, head string
		classes              int
	}{
		{"torchvision", `{"patch_size":[4,4],"embed_dim":8,"depths":[2,1],"num_heads":[2,4],"window_size":[2,2],"num_classes":null}`, "head.", 0},
		{"torchvision", `{"patch_size":[4,4],"embed_dim":8,"depths":[2,1],"num_heads":[2,4],"window_size":[2,2],"num_classes":0}`, "head.", 0},
		{"torchvision", `{"patch_size":[4,4],"embed_dim":8,"depths":[2,1],"num_heads":[2,4],"window_size":[2,2],"num_classes":3}`, "head.", 3},
		{"hf", `{"image_size":16,"patch_size":4,"embed_dim":8,"depths":[2,1],"num_heads":[2,4],"window_size":2}`, "classifier.", 0},
		{"hf", `{"image_size":16,"patch_size":4,"embed_dim":8,"depths":[2,1],"num_heads":[2,4],"window_size":2,"num_labels":0}`, "classifier.", 0},
		{"hf", `{"image_size":16,"patch_size":4,"embed_dim":8,"depths":[2,1],"num_heads":[2,4],"window_size":2,"id2label":{"0":"a","1":"b"}}`, "classifier.", 2},
	} {
		store := newEvalStore(ag.Float32, 1)
		m, err := Build("swin", c.naming, []byte(c.config), store.Root())
		if err != nil {
			t.Fatal(err)
		}
		if m.FeatureDim() != 16 {
			t.Errorf("%s: feature dim %d, want 16", c.config, m.FeatureDim())
		}
		if swinHasKey(store, c.head) != (c.classes > 0) {
			t.Errorf("%s: head keys %v, want %v", c.config, swinHasKey(store, c.head), c.classes > 0)
		}
		x := ag.RandN(store.RNG(), ag.Float32, 2, 3, 16, 16)
		f, y := m.Features(x), m.Forward(x)
		if !slices.Equal(f.Shape(), []int{2, 16}) {
			t.Errorf("%s: features %v", c.config, f.Shape())
		}
		if c.classes == 0 && relErr(t, y, f) != 0 {
			t.Errorf("%s: headless Forward differs from Features", c.config)
		}
		if c.classes > 0 && !slices.Equal(y.Shape(), []int{2, c.classes}) {
			t.Errorf("%s: logits %v", c.config, y.Shape())
		}
	}
}

// Stochastic depth and dropout act in training mode only.
func TestSwinTrainingMode(t *testing.T) {
	for _, c := range []struct{ naming, config string }{
		{"torchvision", `{"patch_size":[2,2],"embed_dim":8,"depths":[2,2],"num_heads":[2,4],"window_size":[2,2],"num_classes":3,"stochastic_depth_prob":0.9}`},
		{"hf", `{"image_size":8,"patch_size":2,"embed_dim":8,"depths":[2,2],"num_heads":[2,4],"window_size":2,"num_labels":3,"drop_path_rate":0.5}`},
		{"hf", `{"image_size":8,"patch_size":2,"embed_dim":8,"depths":[2,2],"num_heads":[2,4],"window_size":2,"num_labels":3,"drop_path_rate":0,"hidden_dropout_prob":0.3,"attention_probs_dropout_prob":0.3}`},
	} {
		store := newEvalStore(ag.Float32, 7)
		m, err := Build("swin", c.naming, []byte(c.config), store.Root())
		if err != nil {
			t.Fatal(err)
		}
		x := ag.RandN(store.RNG(), ag.Float32, 4, 3, 8, 8)
		eval := m.Forward(x)
		if relErr(t, m.Forward(x), eval) != 0 {
			t.Errorf("%s: eval forward is not deterministic", c.config)
		}
		store.SetTraining(true)
		differs := false
		for range 5 {
			y := m.Forward(x)
			swinFinite(t, y)
			differs = differs || relErr(t, y, eval) > 1e-6
		}
		store.SetTraining(false)
		if !differs {
			t.Errorf("%s: training forward never differs from eval", c.config)
		}
		if relErr(t, m.Forward(x), eval) != 0 {
			t.Errorf("%s: eval forward changed after training passes", c.config)
		}
	}
}

// use_absolute_embeddings: transformers 4.27 registers (1, patches+1, C)
// position embeddings before its children, and cannot add them to the
// patches: the key is there for checkpoints, the forward refuses.
func TestSwinHFAbsoluteEmbeddings(t *testing.T) {
	store := newEvalStore(ag.Float32, 1)
	m, err := Build("swin", "hf", []byte(`{"image_size":[16,24],"patch_size":4,"embed_dim":8,"depths":[2,0],"num_heads":[2,4],"window_size":2,"use_absolute_embeddings":true,"num_labels":3}`), store.Root())
	if err != nil {
		t.Fatal(err)
	}
	e := store.Entries()[0]
	if e.Name != "swin.embeddings.position_embeddings" || !slices.Equal(e.Tensor.Shape(), []int{1, 4*6 + 1, 8}) {
		t.Fatalf("first key %s %v", e.Name, e.Tensor.Shape())
	}
	defer func() {
		if recover() == nil {
			t.Error("forward with position embeddings did not panic")
		}
	}()
	m.Forward(ag.RandN(store.RNG(), ag.Float32, 1, 3, 16, 24))
}

// In float64 the goldens (computed in float64, stored as float32) agree to
// float32 rounding: the formulas are the references', not close to them.
func TestSwinFloat64(t *testing.T) {
	for _, name := range []string{"swin_pad", "swin_shift", "swin_hf_a", "swin_hf_b"} {
		f := goldenFile(t, name)
		store := newEvalStore(ag.Float64, 1)
		m, err := Build(f.Metadata["arch"], f.Metadata["naming"], []byte(f.Metadata["config"]), store.Root())
		if err != nil {
			t.Fatal(err)
		}
		if err := store.LoadFile(f, nn.LoadOptions{Strict: true, Skip: func(k string) bool { return strings.HasPrefix(k, "golden.") }}); err != nil {
			t.Fatal(err)
		}
		x := goldenTensor(t, f, "golden.input").AsType(ag.Float64)
		r := relErr(t, m.Forward(x), goldenTensor(t, f, "golden.logits"))
		if r > 1e-6 {
			t.Errorf("%s: float64 logits error %.3g", name, r)
		}
		t.Logf("%s: float64 logits error %.3g", name, r)
	}
}

// Both projection strategies of the fused qkv (one product for few rows,
// sliced weights for many) give the same q, k, v, and the key bias an
// exactly zero gradient.
func TestSwinQKVStrategies(t *testing.T) {
	m, store, _ := swinLoad(t, "swin_pad")
	a := m.Stages[0].Blocks[1].Attn // width 12, 3 heads, 3x3 windows
	for _, shape := range [][]int{{1, 1, 9, 12}, {2, 4, 9, 12}} {
		for _, p := range store.Parameters() {
			p.ZeroGrad()
		}
		x := ag.RandN(store.RNG(), ag.Float32, shape...)
		q, k, v, kb := a.qkv(x)
		if kb != nil {
			k = ag.Add(k, kb)
		}
		w := ag.Split(a.QKV.Weight.Detach(), 0, 12, 12, 12)
		bs := ag.Split(a.QKV.Bias.Detach(), 0, 12, 12, 12)
		want := func(i int, b *ag.Tensor) *ag.Tensor {
			y := ag.Reshape(ag.Linear(x, w[i], b), shape[0], shape[1], 9, 3, 4)
			return ag.Permute(y, 0, 1, 3, 2, 4)
		}
		for i, c := range []struct{ got, want *ag.Tensor }{{q, want(0, bs[0])}, {k, want(1, nil)}, {v, want(2, bs[2])}} {
			if r := relErr(t, c.got, c.want); r > 1e-6 {
				t.Errorf("rows %d: part %d differs by %.3g", shape[0]*shape[1]*9, i, r)
			}
		}
		ag.Sum(ag.Add(ag.Add(q, k), v), nil, false).Backward()
		g := a.QKV.Bias.Grad().Float32s()
		for i, gi := range g {
			if (i >= 12 && i < 24) != (gi == 0) {
				t.Errorf("rows %d: qkv.bias grad[%d] = %v", shape[0]*shape[1]*9, i, gi)
			}
		}
	}
}

// TestSwinHFActivations: Swin (hf) takes every hidden_act BEiT takes, one
// table for both (it refused gelu_accurate, sigmoid, tanh and linear).
func TestSwinHFActivations(t *testing.T) {
	for _, act := range []string{"gelu_accurate", "sigmoid", "tanh", "linear"} {
		cfg := `{"image_size":8,"patch_size":2,"embed_dim":8,"depths":[1],"num_heads":[2],"window_size":2,"num_labels":3,"hidden_act":"` + act + `"}`
		if _, err := Build("swin", "hf", []byte(cfg), newEvalStore(ag.Float32, 1).Root()); err != nil {
			t.Errorf("hidden_act %s: %v", act, err)
		}
	}
}
