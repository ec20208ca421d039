package golden

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/nn"
	"github.com/vertebra-ml/vertebra/nn/safetensors"
	"github.com/vertebra-ml/vertebra/optim"
	"github.com/vertebra-ml/vertebra/vision/models"
)

func isGolden(name string) bool { return strings.HasPrefix(name, "golden.") }

// checkModel builds the file's model, loads its weights, and compares the
// forward pass, the gradients and (stenosis) the loss and one AdamW step.
func checkModel(f *safetensors.File, r *Result) {
	if mode := f.Metadata["mode"]; mode != "" && mode != "eval" {
		r.Err = fmt.Errorf("mode %q: only eval goldens are defined", mode)
		return
	}
	store := nn.NewStore(ag.Float32, 0)
	cfg := []byte(f.Metadata["config"])
	var (
		forward  func(x *ag.Tensor) *ag.Tensor
		features func(x *ag.Tensor) *ag.Tensor
		sten     *models.Stenosis
		levels   []int
	)
	if r.Arch == "stenosis" {
		var sc models.StenosisConfig
		if err := json.Unmarshal(cfg, &sc); err != nil {
			r.Err = fmt.Errorf("config: %w", err)
			return
		}
		s, err := models.NewStenosis(store.Root(), sc)
		if err != nil {
			r.Err = err
			return
		}
		if levels, err = ints(f, "golden.levels"); err != nil {
			r.Err = err
			return
		}
		sten = s
		forward = func(x *ag.Tensor) *ag.Tensor { return s.Forward(x, levels) }
		features = s.Features
	} else {
		m, err := models.Build(r.Arch, r.Naming, cfg, store.Root())
		if err != nil {
			r.Err = err
			return
		}
		forward, features = m.Forward, m.Features
	}
	if err := store.LoadFile(f, nn.LoadOptions{Strict: true, Skip: isGolden}); err != nil {
		r.Err = err
		return
	}
	store.SetTraining(false)
	x, err := tensor(f, "golden.input")
	if err != nil {
		r.Err = err
		return
	}
	x.SetRequiresGrad(true)
	if sten != nil {
		sten.FreezeBackbone(store, "")
		if err := checkTrainable(f, store); err != nil {
			r.Problems = append(r.Problems, err.Error())
		}
	}

	var feat *ag.Tensor
	ag.NoGrad(func() { feat = features(x) })
	logits := forward(x)
	for key, got := range map[string]*ag.Tensor{"golden.features": feat, "golden.logits": logits} {
		want, err := tensor(f, key)
		if err != nil {
			r.Err = err
			return
		}
		r.Fwd = worst(r.Fwd, RelErr(got, want))
	}

	if sten != nil {
		labels, err := ints(f, "golden.labels")
		if err != nil {
			r.Err = err
			return
		}
		cw, err := tensor(f, "golden.class_weights")
		if err != nil {
			r.Err = err
			return
		}
		loss := ag.CrossEntropy(logits, labels, ag.CrossEntropyOptions{Weight: cw})
		want, err := tensor(f, "golden.loss")
		if err != nil {
			r.Err = err
			return
		}
		r.Grad = worst(r.Grad, RelErr(loss, want))
		loss.Backward()
	} else {
		dl, err := tensor(f, "golden.dlogits")
		if err != nil {
			r.Err = err
			return
		}
		logits.BackwardWith(dl)
	}
	grads := map[string]*ag.Tensor{"input": x.Grad()}
	for _, e := range store.NamedParameters() {
		grads[e.Name] = e.Tensor.Grad()
	}
	for _, k := range f.Names {
		name, ok := strings.CutPrefix(k, "golden.grad.")
		if !ok {
			continue
		}
		want, err := tensor(f, k)
		if err != nil {
			r.Err = err
			return
		}
		if _, known := grads[name]; !known {
			r.Problems = append(r.Problems, "gradient for unknown key "+name)
			continue
		}
		r.Grad = worst(r.Grad, RelErr(grads[name], want))
	}
	if sten != nil {
		checkStep(f, store, r)
	}
}

// checkTrainable compares the trainable set with the file's list.
func checkTrainable(f *safetensors.File, store *nn.Store) error {
	var want []string
	if err := json.Unmarshal([]byte(f.Metadata["trainable"]), &want); err != nil {
		return fmt.Errorf("trainable metadata: %w", err)
	}
	var got []string
	for _, e := range store.Trainable() {
		got = append(got, e.Name)
	}
	if !slices.Equal(got, want) {
		return fmt.Errorf("trainable tensors %v, want %v", got, want)
	}
	return nil
}

// checkStep applies one AdamW step with the stored gradients to the stored
// weights and compares the update with the file's; frozen weights must not
// move.
func checkStep(f *safetensors.File, store *nn.Store, r *Result) {
	var o struct {
		LR          float64    `json:"lr"`
		Betas       [2]float64 `json:"betas"`
		Eps         float64    `json:"eps"`
		WeightDecay float64    `json:"weight_decay"`
	}
	if err := json.Unmarshal([]byte(f.Metadata["optimizer"]), &o); err != nil {
		r.Err = fmt.Errorf("optimizer metadata: %w", err)
		return
	}
	fresh := nn.NewStore(ag.Float32, 0)
	var sc models.StenosisConfig
	json.Unmarshal([]byte(f.Metadata["config"]), &sc)
	s, err := models.NewStenosis(fresh.Root(), sc)
	if err != nil {
		r.Err = err
		return
	}
	if err := fresh.LoadFile(f, nn.LoadOptions{Strict: true, Skip: isGolden}); err != nil {
		r.Err = err
		return
	}
	s.FreezeBackbone(fresh, "")
	before := map[string][]float64{}
	var params []*ag.Tensor
	for _, e := range fresh.NamedParameters() {
		before[e.Name] = e.Tensor.Float64s()
		if e.Tensor.RequiresGrad() {
			g, err := tensor(f, "golden.grad."+e.Name)
			if err != nil {
				r.Err = err
				return
			}
			e.Tensor.SetGrad(g)
			params = append(params, e.Tensor)
		}
	}
	opt, err := optim.NewAdamW(params, exactAdamW(o.LR, o.Betas, o.Eps, o.WeightDecay))
	if err != nil {
		r.Err = err
		return
	}
	opt.Step()
	var num, den float64
	for _, e := range fresh.NamedParameters() {
		after := e.Tensor.Float64s()
		if !e.Tensor.RequiresGrad() {
			if !slices.Equal(after, before[e.Name]) {
				r.Problems = append(r.Problems, "frozen weight moved: "+e.Name)
			}
			continue
		}
		want, err := tensor(f, "golden.after_step."+e.Name)
		if err != nil {
			r.Err = err
			return
		}
		w := want.Float64s()
		for i := range after {
			d := (after[i] - before[e.Name][i]) - (w[i] - before[e.Name][i])
			num = max(num, math.Abs(d))
			den = max(den, math.Abs(w[i]-before[e.Name][i]))
		}
	}
	r.HasStep = true
	r.Step = num / den
}

// manifest is the JSON of a full-size architecture's state dict.
type manifest struct {
	Arch   string              `json:"arch"`
	Naming string              `json:"naming"`
	Config json.RawMessage     `json:"config"`
	Params int                 `json:"params"`
	Keys   [][]json.RawMessage `json:"keys"`
}

// checkManifest builds the full-size model and compares every key, shape
// and dtype, in order, and the parameter count.
func checkManifest(path string, r *Result) {
	b, err := os.ReadFile(path)
	if err != nil {
		r.Err = err
		return
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		r.Err = fmt.Errorf("manifest: %w", err)
		return
	}
	r.Arch, r.Naming = m.Arch, m.Naming
	store := nn.NewStore(ag.Float32, 0)
	if _, err := models.Build(m.Arch, m.Naming, m.Config, store.Root()); err != nil {
		r.Err = err
		return
	}
	entries := store.Entries()
	matched := 0
	for i, k := range m.Keys {
		var name, dtype string
		var shape []int
		if len(k) != 3 || json.Unmarshal(k[0], &name) != nil || json.Unmarshal(k[1], &shape) != nil || json.Unmarshal(k[2], &dtype) != nil {
			r.Err = fmt.Errorf("manifest key %d is not [name, shape, dtype]", i)
			return
		}
		if i >= len(entries) {
			r.Problems = append(r.Problems, fmt.Sprintf("missing %s", name))
			continue
		}
		e := entries[i]
		gotDT := "F32"
		if e.Ints != nil {
			gotDT = "I64"
		}
		switch {
		case e.Name != name:
			r.Problems = append(r.Problems, fmt.Sprintf("key %d is %s, want %s", i, e.Name, name))
		case !slices.Equal(e.Shape(), shape):
			r.Problems = append(r.Problems, fmt.Sprintf("%s has shape %v, want %v", name, e.Shape(), shape))
		case gotDT != dtype:
			r.Problems = append(r.Problems, fmt.Sprintf("%s is %s, want %s", name, gotDT, dtype))
		default:
			matched++
		}
	}
	for _, e := range entries[min(len(entries), len(m.Keys)):] {
		r.Problems = append(r.Problems, "unexpected "+e.Name)
	}
	if len(r.Problems) > 5 {
		r.Problems = append(r.Problems[:5], fmt.Sprintf("and %d more", len(r.Problems)-5))
	}
	r.Keys = fmt.Sprintf("%d/%d", matched, len(m.Keys))
	r.Params = store.NumParams()
	if r.Params != m.Params {
		r.Problems = append(r.Problems, fmt.Sprintf("%d parameters, want %d", r.Params, m.Params))
	}
}
