package models

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/nn"
)

// beitSmall is a small config; extra is spliced into the JSON object.
func beitSmall(extra string) string {
	s := `{"image_size":16,"patch_size":8,"hidden_size":8,"num_hidden_layers":2,"num_attention_heads":2,"intermediate_size":12,"num_labels":3`
	if extra != "" {
		s += "," + extra
	}
	return s + "}"
}

// beitRandomise gives every float parameter non-trivial values, so that no
// term hides behind a zero or identity init.
func beitRandomise(store *nn.Store, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 9))
	ag.NoGrad(func() {
		for _, p := range store.Parameters() {
			p.CopyFrom(ag.MulScalar(ag.RandN(rng, p.DType(), p.Shape()...), 0.3))
		}
	})
}

func TestParseBeitConfig(t *testing.T) {
	c, err := ParseBeitConfig([]byte(`{}`))
	if err != nil || c.labels() != 2 || c.HiddenSize != 768 || c.ImageSize != (HFSize{224, 224}) || !c.UseMeanPooling || c.LayerNormEps != 1e-12 {
		t.Fatalf("defaults: %+v, %v", c, err)
	}
	c, err = ParseBeitConfig([]byte(beitSmall(`"id2label":{"0":"a","1":"b","2":"c","3":"d"},"some_future_field":1`)))
	if err != nil || c.labels() != 4 {
		t.Errorf("id2label must decide num_labels: %v, %v", c.labels(), err)
	}
	c, err = ParseBeitConfig([]byte(`{"num_labels":null,"image_size":[32,48],"patch_size":[8,16]}`))
	if err != nil || c.NumLabels != nil || c.ImageSize != (HFSize{32, 48}) || c.window() != [2]int{4, 3} {
		t.Errorf("null labels, pair sizes: %+v, %v", c, err)
	}
	for _, tc := range []struct{ json, field string }{
		{beitSmall(`"hidden_size":0`), "hidden_size"},
		{beitSmall(`"num_attention_heads":3`), "num_attention_heads"},
		{beitSmall(`"num_hidden_layers":-1`), "num_hidden_layers"},
		{beitSmall(`"intermediate_size":0`), "intermediate_size"},
		{beitSmall(`"num_channels":0`), "num_channels"},
		{beitSmall(`"image_size":[16]`), "size"},
		{beitSmall(`"image_size":"big"`), "size"},
		{beitSmall(`"patch_size":[8,32]`), "patch_size"},
		{beitSmall(`"patch_size":0`), "patch_size"},
		{beitSmall(`"hidden_act":"mish"`), "hidden_act"},
		{beitSmall(`"layer_norm_eps":0`), "layer_norm_eps"},
		{beitSmall(`"drop_path_rate":1.5`), "drop_path_rate"},
		{beitSmall(`"hidden_dropout_prob":-0.1`), "hidden_dropout_prob"},
		{beitSmall(`"attention_probs_dropout_prob":1`), "attention_probs_dropout_prob"},
		{beitSmall(`"initializer_range":-1`), "initializer_range"},
		{`{"num_labels":-1}`, "num_labels"},
		{`{"use_mean_pooling":"yes"}`, "beit config"},
	} {
		_, err := ParseBeitConfig([]byte(tc.json))
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: error %v, want one naming %s", tc.json, err, tc.field)
		}
		store := newEvalStore(ag.Float32, 1)
		if _, err := Build("beit", "hf", []byte(tc.json), store.Root()); err == nil {
			t.Errorf("Build accepted %s", tc.json)
		}
	}
}

func TestHFSizeJSON(t *testing.T) {
	for _, s := range []HFSize{{5, 5}, {4, 7}} {
		data, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var back HFSize
		if err := json.Unmarshal(data, &back); err != nil || back != s {
			t.Errorf("%v -> %s -> %v, %v", s, data, back, err)
		}
	}
}

// The computed relative_position_index is transformers' (the golden
// checkpoints carry it).
func TestBeitRelativePositionIndexGolden(t *testing.T) {
	for _, name := range []string{"beit_hf_a", "beit_hf_b"} {
		f := goldenFile(t, name)
		cfg, err := ParseBeitConfig([]byte(f.Metadata["config"]))
		if err != nil {
			t.Fatal(err)
		}
		got := beitRelativePositionIndex(cfg.window())
		n := 0
		for k, st := range f.Tensors {
			if !strings.HasSuffix(k, "relative_position_index") {
				continue
			}
			want, err := st.Int64()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s %s: computed index differs from the checkpoint's", name, k)
			}
			n++
		}
		if n == 0 {
			t.Errorf("%s: no relative_position_index", name)
		}
	}
}

// On a non-square grid every pair of patches with the same offset shares
// an entry, distinct offsets never do, and the CLS entries are the last
// three.
func TestBeitRelativePositionIndexRectangular(t *testing.T) {
	win := [2]int{2, 3}
	idx := beitRelativePositionIndex(win)
	T := win[0]*win[1] + 1
	R := int64((2*win[0]-1)*(2*win[1]-1) + 3)
	byOffset := map[[2]int]int64{}
	used := map[int64][2]int{}
	for i := range T {
		for j := range T {
			v := idx[i*T+j]
			switch {
			case i == 0 && j == 0:
				if v != R-1 {
					t.Errorf("cls-cls %d, want %d", v, R-1)
				}
			case i == 0:
				if v != R-3 {
					t.Errorf("cls-token %d, want %d", v, R-3)
				}
			case j == 0:
				if v != R-2 {
					t.Errorf("token-cls %d, want %d", v, R-2)
				}
			default:
				a, b := i-1, j-1
				off := [2]int{a/win[1] - b/win[1], a%win[1] - b%win[1]}
				if v < 0 || v >= R-3 {
					t.Fatalf("index %d out of the table", v)
				}
				if old, ok := byOffset[off]; ok && old != v {
					t.Errorf("offset %v maps to %d and %d", off, old, v)
				}
				if o, ok := used[v]; ok && o != off {
					t.Errorf("entry %d shared by offsets %v and %v", v, o, off)
				}
				byOffset[off], used[v] = v, off
				// transformers: (dh + Wh-1) * (2Ww-1) + (dw + Ww-1)
				if want := int64((off[0]+win[0]-1)*(2*win[1]-1) + off[1] + win[1] - 1); v != want {
					t.Errorf("offset %v: %d, want %d", off, v, want)
				}
			}
		}
	}
	if len(used) != int(R-3) {
		t.Errorf("%d table rows used, want %d", len(used), R-3)
	}
}

// Key names and order of the optional parts, as transformers' state_dict
// lists them.
func TestBeitKeyOrder(t *testing.T) {
	store := newEvalStore(ag.Float32, 1)
	_, err := Build("beit", "hf", []byte(beitSmall(`"num_hidden_layers":1,"use_mask_token":true,"use_absolute_position_embeddings":true,"use_relative_position_bias":true,"use_shared_relative_position_bias":true,"layer_scale_init_value":0,"use_mean_pooling":false`)), store.Root())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range store.Entries() {
		got = append(got, e.Name)
	}
	l := "beit.encoder.layer.0."
	want := []string{
		"beit.embeddings.cls_token", "beit.embeddings.mask_token", "beit.embeddings.position_embeddings",
		"beit.embeddings.patch_embeddings.projection.weight", "beit.embeddings.patch_embeddings.projection.bias",
		"beit.encoder.relative_position_bias.relative_position_bias_table", "beit.encoder.relative_position_bias.relative_position_index",
		l + "attention.attention.query.weight", l + "attention.attention.query.bias", l + "attention.attention.key.weight",
		l + "attention.attention.value.weight", l + "attention.attention.value.bias",
		l + "attention.attention.relative_position_bias.relative_position_bias_table", l + "attention.attention.relative_position_bias.relative_position_index",
		l + "attention.output.dense.weight", l + "attention.output.dense.bias",
		l + "intermediate.dense.weight", l + "intermediate.dense.bias", l + "output.dense.weight", l + "output.dense.bias",
		l + "layernorm_before.weight", l + "layernorm_before.bias", l + "layernorm_after.weight", l + "layernorm_after.bias",
		"beit.layernorm.weight", "beit.layernorm.bias", "classifier.weight", "classifier.bias",
	}
	if !slices.Equal(got, want) {
		t.Errorf("keys\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// beitReference recomputes the model's output from its weights with plain
// ops, following transformers' BeitLayer step by step (both bias tables,
// no layer scale, CLS pooling through beit.layernorm), on a non-square
// image and patch.
func beitReference(m *Beit, x *ag.Tensor) *ag.Tensor {
	c := m.Config
	n, d, H := x.Dim(0), c.HiddenSize, c.NumAttentionHeads
	e := m.Beit.Embeddings
	h := ag.Conv2d(x, e.PatchEmbeddings.Projection.Weight, e.PatchEmbeddings.Projection.Bias, ag.Conv2dOptions{Stride: [2]int(c.PatchSize)})
	h = ag.Permute(ag.Flatten(h, 2), 0, 2, 1)
	h = ag.Add(ag.Concat(1, ag.Expand(e.CLSToken, n, 1, d), h), e.PositionEmbeddings)
	T := h.Dim(1)
	table := func(p *BeitRelativePositionBias) *ag.Tensor {
		idx := beitRelativePositionIndex(c.window())
		rows := make([]*ag.Tensor, len(idx))
		for i, v := range idx {
			rows[i] = ag.Slice(p.RelativePositionBiasTable, 0, int(v), int(v)+1, 1)
		}
		return ag.Permute(ag.Reshape(ag.Concat(0, rows...), T, T, H), 2, 0, 1)
	}
	for _, l := range m.Beit.Encoder.Layer {
		a := l.Attention.Attention
		y := ag.LayerNorm(h, l.LayernormBefore.Weight, l.LayernormBefore.Bias, []int{d}, c.LayerNormEps)
		split := func(z *ag.Tensor) *ag.Tensor { return ag.Transpose(ag.Reshape(z, n, T, H, d/H), 1, 2) }
		q := split(ag.Linear(y, a.Query.Weight, a.Query.Bias))
		k := split(ag.Linear(y, a.Key.Weight, nil))
		v := split(ag.Linear(y, a.Value.Weight, a.Value.Bias))
		s := ag.Div(ag.MatMul(q, ag.Transpose(k, 2, 3)), ag.Full(q.DType(), math.Sqrt(float64(d/H))))
		s = ag.Add(ag.Add(s, ag.Unsqueeze(table(a.RelativePositionBias), 0)), table(m.Beit.Encoder.RelativePositionBias))
		ctx := ag.Reshape(ag.Transpose(ag.MatMul(ag.Softmax(s, 3), v), 1, 2), n, T, d)
		h = ag.Add(ag.Linear(ctx, l.Attention.Output.Dense.Weight, l.Attention.Output.Dense.Bias), h)
		y = ag.LayerNorm(h, l.LayernormAfter.Weight, l.LayernormAfter.Bias, []int{d}, c.LayerNormEps)
		y = ag.Linear(ag.GELUTanh(ag.Linear(y, l.Intermediate.Dense.Weight, l.Intermediate.Dense.Bias)), l.Output.Dense.Weight, l.Output.Dense.Bias)
		h = ag.Add(y, h)
	}
	h = ag.LayerNorm(h, m.Beit.Layernorm.Weight, m.Beit.Layernorm.Bias, []int{d}, c.LayerNormEps)
	cls := ag.Squeeze(ag.Slice(h, 1, 0, 1, 1), 1)
	return ag.Linear(cls, m.Classifier.Weight, m.Classifier.Bias)
}

func TestBeitRectangularSharedAndLayerBias(t *testing.T) {
	store := newEvalStore(ag.Float64, 2)
	b, err := Build("beit", "hf", []byte(`{"image_size":[16,24],"patch_size":[8,6],"num_channels":2,"hidden_size":8,"num_hidden_layers":2,"num_attention_heads":2,"intermediate_size":12,"num_labels":3,"hidden_act":"gelu_new","layer_scale_init_value":0,"use_absolute_position_embeddings":true,"use_relative_position_bias":true,"use_shared_relative_position_bias":true,"use_mean_pooling":false,"layer_norm_eps":1e-5}`), store.Root())
	if err != nil {
		t.Fatal(err)
	}
	m := b.(*Beit)
	if w := m.Config.window(); w != [2]int{2, 4} || m.Beit.Encoder.Layer[0].Lambda1 != nil {
		t.Fatalf("window %v, lambda %v", w, m.Beit.Encoder.Layer[0].Lambda1)
	}
	beitRandomise(store, 3)
	x := vitRandInput(4, 2, 2, 16, 24).AsType(ag.Float64)
	var got, want *ag.Tensor
	ag.NoGrad(func() { got, want = m.Forward(x), beitReference(m, x) })
	if e := relErr(t, got, want); e > 1e-12 {
		t.Errorf("differs from the step-by-step reference by %.3g", e)
	}
}

// Headless: no classifier, Forward returns the pooled features.
func TestBeitHeadless(t *testing.T) {
	for _, labels := range []string{`"num_labels":null`, `"num_labels":0`, `"id2label":{}`} {
		store := newEvalStore(ag.Float32, 1)
		m, err := Build("beit", "hf", []byte(strings.Replace(beitSmall(""), `"num_labels":3`, labels, 1)), store.Root())
		if err != nil {
			t.Fatal(labels, err)
		}
		for _, e := range store.Entries() {
			if strings.HasPrefix(e.Name, "classifier") {
				t.Errorf("%s: headless model has %s", labels, e.Name)
			}
		}
		beitRandomise(store, 1)
		x := vitRandInput(2, 2, 3, 16, 16)
		var out, f *ag.Tensor
		ag.NoGrad(func() { out, f = m.Forward(x), m.Features(x) })
		if !ag.AllClose(out, f, 0, 0) || !slices.Equal(out.Shape(), []int{2, m.FeatureDim()}) {
			t.Errorf("%s: Forward %v is not the features %v", labels, out.Shape(), f.Shape())
		}
	}
}

// Dropout and stochastic depth act only in training mode.
func TestBeitTrainingMode(t *testing.T) {
	store := newEvalStore(ag.Float64, 1)
	m, err := Build("beit", "hf", []byte(beitSmall(`"use_relative_position_bias":true,"drop_path_rate":0.5,"hidden_dropout_prob":0.2,"attention_probs_dropout_prob":0.2`)), store.Root())
	if err != nil {
		t.Fatal(err)
	}
	ref := newEvalStore(ag.Float64, 1)
	r, _ := Build("beit", "hf", []byte(beitSmall(`"use_relative_position_bias":true,"drop_path_rate":0`)), ref.Root())
	beitRandomise(store, 5)
	beitRandomise(ref, 5)
	if l := m.(*Beit).Beit.Encoder.Layer; l[0].DropPath.P != 0 || l[1].DropPath.P != 0.5 {
		t.Errorf("drop path rates %g, %g: want linspace(0, 0.5, 2)", l[0].DropPath.P, l[1].DropPath.P)
	}
	x := vitRandInput(3, 4, 3, 16, 16).AsType(ag.Float64)
	var e1, e2, plain, tr *ag.Tensor
	ag.NoGrad(func() {
		e1, e2, plain = m.Forward(x), m.Forward(x), r.Forward(x)
		store.SetTraining(true)
		tr = m.Forward(x)
		store.SetTraining(false)
	})
	if !ag.AllClose(e1, e2, 0, 0) || !ag.AllClose(e1, plain, 0, 0) {
		t.Error("eval mode is not deterministic or not dropout-free")
	}
	if ag.AllClose(e1, tr, 1e-6, 1e-6) {
		t.Error("training mode applies no dropout")
	}
}

func TestBeitRejectsWrongInputSize(t *testing.T) {
	store := newEvalStore(ag.Float32, 1)
	m, err := Build("beit", "hf", []byte(beitSmall("")), store.Root())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "BEiT") {
			t.Errorf("panic %v, want one naming BEiT", r)
		}
	}()
	m.Forward(vitRandInput(1, 1, 3, 24, 16))
}
