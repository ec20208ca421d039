package golden

import (
	"encoding/json"
	"fmt"
	"strings"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/nn"
	"github.com/vertebra-ml/vertebra/nn/safetensors"
	"github.com/vertebra-ml/vertebra/optim"
)

// pair reads PyTorch's int-or-pair arguments.
type pair [2]int

func (p *pair) UnmarshalJSON(b []byte) error {
	var n int
	if err := json.Unmarshal(b, &n); err == nil {
		*p = pair{n, n}
		return nil
	}
	var a []int
	if err := json.Unmarshal(b, &a); err != nil || len(a) != 2 {
		return fmt.Errorf("want an int or a pair, got %s", b)
	}
	*p = pair{a[0], a[1]}
	return nil
}

// opArgs is the union of the arguments the op files use.
type opArgs struct {
	Stride, Padding, Dilation pair
	Groups                    int
	Bias                      *bool
	Training                  bool
	Momentum, Eps             float64
	NormalizedShape           []int `json:"normalized_shape"`
	Approximate               string
	Dim                       int
	OutputSize                pair `json:"output_size"`
	KernelSize                pair `json:"kernel_size"`
	CeilMode                  bool `json:"ceil_mode"`
	Size                      pair
	AlignCorners              bool `json:"align_corners"`
	Antialias                 bool
	LabelSmoothing            float64 `json:"label_smoothing"`
	EmbedDim                  int     `json:"embed_dim"`
	NumHeads                  int     `json:"num_heads"`
	BatchFirst                *bool   `json:"batch_first"`
	AttnMask                  bool    `json:"attn_mask"`
	LR                        float64 `json:"lr"`
	Betas                     [2]float64
	WeightDecay               float64 `json:"weight_decay"`
	Steps                     int
	Amsgrad                   bool
}

func checkOp(f *safetensors.File, r *Result) {
	var a opArgs
	if err := jsonArgs(f, &a); err != nil {
		r.Err = fmt.Errorf("args: %w", err)
		return
	}
	if r.Op == "adamw" {
		checkAdamW(f, a, r)
		return
	}
	in := map[string]*ag.Tensor{}
	for _, k := range f.Names {
		name, ok := strings.CutPrefix(k, "in.")
		if !ok || !f.Tensors[k].DType.IsFloat() {
			continue
		}
		t, err := tensor(f, k)
		if err != nil {
			r.Err = err
			return
		}
		if _, hasGrad := f.Tensors["grad."+name]; hasGrad {
			t.SetRequiresGrad(true)
		}
		in[name] = t
	}
	out, extra, err := runOp(r.Op, a, in, f)
	if err != nil {
		r.Err = err
		return
	}
	want, err := tensor(f, "out")
	if err != nil {
		r.Err = err
		return
	}
	r.Fwd = RelErr(out, want)
	for key, got := range extra {
		w, err := tensor(f, key)
		if err != nil {
			r.Err = err
			return
		}
		r.Fwd = worst(r.Fwd, RelErr(got, w))
	}
	if _, ok := f.Tensors["dout"]; !ok {
		return
	}
	dout, err := tensor(f, "dout")
	if err != nil {
		r.Err = err
		return
	}
	out.BackwardWith(dout)
	for _, k := range f.Names {
		name, ok := strings.CutPrefix(k, "grad.")
		if !ok {
			continue
		}
		w, err := tensor(f, k)
		if err != nil {
			r.Err = err
			return
		}
		t := in[name]
		if t == nil {
			r.Err = fmt.Errorf("gradient %s for no input", k)
			return
		}
		r.Grad = worst(r.Grad, RelErr(t.Grad(), w))
	}
}

// runOp computes the op's output from the inputs, plus any further outputs
// keyed by their file names.
func runOp(op string, a opArgs, in map[string]*ag.Tensor, f *safetensors.File) (*ag.Tensor, map[string]*ag.Tensor, error) {
	x := in["x"]
	switch op {
	case "conv2d":
		return ag.Conv2d(x, in["weight"], in["bias"], ag.Conv2dOptions{Stride: a.Stride, Padding: a.Padding, Dilation: a.Dilation, Groups: a.Groups}), nil, nil
	case "linear":
		return ag.Linear(x, in["weight"], in["bias"]), nil, nil
	case "batch_norm":
		rm, rv := in["running_mean"].Detach().Clone(), in["running_var"].Detach().Clone()
		y := ag.BatchNorm(x, in["weight"], in["bias"], rm, rv, ag.BatchNormOptions{Training: a.Training, Momentum: a.Momentum, Eps: a.Eps})
		extra := map[string]*ag.Tensor{}
		if a.Training {
			extra["out.running_mean"], extra["out.running_var"] = rm, rv
		}
		return y, extra, nil
	case "layer_norm":
		return ag.LayerNorm(x, in["weight"], in["bias"], a.NormalizedShape, a.Eps), nil, nil
	case "layer_norm2d":
		return ag.LayerNorm2d(x, in["weight"], in["bias"], a.Eps), nil, nil
	case "gelu":
		if a.Approximate == "tanh" {
			return ag.GELUTanh(x), nil, nil
		}
		return ag.GELU(x), nil, nil
	case "silu":
		return ag.SiLU(x), nil, nil
	case "sigmoid":
		return ag.Sigmoid(x), nil, nil
	case "relu":
		return ag.ReLU(x), nil, nil
	case "softmax":
		return ag.Softmax(x, a.Dim), nil, nil
	case "log_softmax":
		return ag.LogSoftmax(x, a.Dim), nil, nil
	case "adaptive_avg_pool2d":
		return ag.AdaptiveAvgPool2d(x, a.OutputSize[0], a.OutputSize[1]), nil, nil
	case "max_pool2d":
		return ag.MaxPool2d(x, ag.MaxPool2dOptions{Kernel: a.KernelSize, Stride: a.Stride, Padding: a.Padding, Dilation: a.Dilation, CeilMode: a.CeilMode}), nil, nil
	case "interpolate":
		if a.Antialias {
			return ag.InterpolateBilinearAA(x, a.Size[0], a.Size[1], a.AlignCorners), nil, nil
		}
		return ag.InterpolateBilinear(x, a.Size[0], a.Size[1], a.AlignCorners), nil, nil
	case "embedding":
		idx, err := ints(f, "in.indices")
		if err != nil {
			return nil, nil, err
		}
		w := in["weight"]
		if w.Rank() != 2 {
			return nil, nil, fmt.Errorf("embedding: weight %v must be 2-d", w.Shape())
		}
		for _, k := range idx {
			if k < 0 || k >= w.Dim(0) {
				return nil, nil, fmt.Errorf("embedding: index %d outside [0, %d)", k, w.Dim(0))
			}
		}
		// Indices of any shape: the result is indices.shape + (dim,).
		return ag.Embedding(w, ag.Reshape(ag.Indices(w.Device(), idx, w.Dim(0)), f.Tensors["in.indices"].Shape...)), nil, nil
	case "cross_entropy":
		t, err := ints(f, "in.target")
		if err != nil {
			return nil, nil, err
		}
		return ag.CrossEntropy(in["logits"], t, ag.CrossEntropyOptions{Weight: in["weight"], LabelSmoothing: a.LabelSmoothing}), nil, nil
	case "multihead_attention":
		masks := nn.AttentionMasks{AttnMask: in["attn_mask"], KeyPaddingMask: in["key_padding_mask"]}
		if a.AttnMask && masks.AttnMask == nil {
			return nil, nil, fmt.Errorf("attn_mask is set but the file has no in.attn_mask")
		}
		m := &nn.MultiheadAttention{
			InProjWeight: in["in_proj_weight"], InProjBias: in["in_proj_bias"],
			OutProj: &nn.Linear{Weight: in["out_proj.weight"], Bias: in["out_proj.bias"]},
			Heads:   a.NumHeads,
		}
		if a.BatchFirst != nil && !*a.BatchFirst {
			x = ag.Transpose(x, 0, 1)
			return ag.Transpose(m.Attend(x, x, x, masks), 0, 1), nil, nil
		}
		return m.Attend(x, x, x, masks), nil, nil
	}
	return nil, nil, fmt.Errorf("unknown op %q", op)
}

// checkAdamW replays the file's gradient steps through optim.AdamW.
func checkAdamW(f *safetensors.File, a opArgs, r *Result) {
	if a.Amsgrad {
		r.Err = fmt.Errorf("amsgrad is not supported")
		return
	}
	p, err := tensor(f, "in.param")
	if err != nil {
		r.Err = err
		return
	}
	p.SetRequiresGrad(true)
	opt, err := optim.NewAdamW([]*ag.Tensor{p}, exactAdamW(a.LR, a.Betas, a.Eps, a.WeightDecay))
	if err != nil {
		r.Err = err
		return
	}
	for s := 1; s <= a.Steps; s++ {
		g, err := tensor(f, fmt.Sprintf("in.grad_step%d", s))
		if err != nil {
			r.Err = err
			return
		}
		p.SetGrad(g)
		opt.Step()
		key := fmt.Sprintf("out.step%d", s)
		if s == a.Steps {
			key = "out"
		}
		w, err := tensor(f, key)
		if err != nil {
			r.Err = err
			return
		}
		r.Fwd = worst(r.Fwd, RelErr(p, w))
	}
	st := opt.State(0)
	m, v := st.ExpAvg, st.ExpAvgSq
	for key, got := range map[string]*ag.Tensor{"out.exp_avg": m, "out.exp_avg_sq": v} {
		w, err := tensor(f, key)
		if err != nil {
			r.Err = err
			return
		}
		r.Fwd = worst(r.Fwd, RelErr(got, w))
	}
}

// exactAdamW gives the file's hyper-parameters as written: a 0 there is a
// 0, not PyTorch's default.
func exactAdamW(lr float64, betas [2]float64, eps, wd float64) optim.AdamWOptions {
	x := optim.Exactly
	return optim.AdamWOptions{LR: x(lr), Betas: [2]float64{x(betas[0]), x(betas[1])}, Eps: x(eps), WeightDecay: x(wd)}
}
