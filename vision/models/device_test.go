package models

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/autograd/devicetest"
	"github.com/vertebra-ml/vertebra/nn"
	"github.com/vertebra-ml/vertebra/optim"
)

// TestTrainingStepOnAnotherDevice moves each family's small model (with
// its dropout and stochastic depth on) to a second device, runs training
// steps there and on the CPU, and checks that the losses and updated
// weights agree bit for bit (the kernels are the CPU's, and the Philox
// masks are the same on every device) and that a warm step copies nothing
// between host and device beyond its inputs: the images, the levels and
// the targets go in, the loss comes out.
func TestTrainingStepOnAnotherDevice(t *testing.T) {
	golden := func(name, edit, with string) string {
		return strings.Replace(goldenFile(t, name).Metadata["config"], edit, with, 1)
	}
	cases := []struct {
		name, arch, naming string
		config             func() string
		h, w               int
	}{
		{"resnet", "resnet", "torchvision", func() string {
			return `{"block":"basic","layers":[1,1,1,1],"widths":[4,8,8,8],"stem_width":4,"groups":1,"width_per_group":64,"num_classes":null}`
		}, 32, 32},
		{"convnext", "convnext", "torchvision", func() string {
			return golden("convnext_a", `"stochastic_depth_prob":0.1`, `"stochastic_depth_prob":0.5`)
		}, 32, 32},
		{"efficientnetv2", "efficientnetv2", "torchvision", func() string { return goldenFile(t, "efficientnetv2_a").Metadata["config"] }, 32, 32},
		{"vit", "vit", "torchvision", func() string {
			return `{"image_size":16,"patch_size":8,"num_layers":2,"num_heads":2,"hidden_dim":8,"mlp_dim":16,"num_classes":null,"dropout":0.3,"attention_dropout":0.3}`
		}, 16, 16},
		{"swin", "swin", "torchvision", func() string {
			return `{"patch_size":[4,4],"embed_dim":8,"depths":[2,2],"num_heads":[2,4],"window_size":[2,2],"stochastic_depth_prob":0.5,"num_classes":null}`
		}, 16, 16},
		{"swin-hf", "swin", "hf", func() string {
			return `{"image_size":16,"patch_size":4,"embed_dim":8,"depths":[2,1],"num_heads":[2,4],"window_size":2,"drop_path_rate":0.5,"hidden_dropout_prob":0.2,"attention_probs_dropout_prob":0.2}`
		}, 16, 16},
		{"beit", "beit", "hf", func() string {
			return `{"image_size":16,"patch_size":8,"hidden_size":8,"num_hidden_layers":2,"num_attention_heads":2,"intermediate_size":12,"use_relative_position_bias":true,"use_shared_relative_position_bias":false,"drop_path_rate":0.5,"hidden_dropout_prob":0.2,"attention_probs_dropout_prob":0.2,"use_mean_pooling":true}`
		}, 16, 16},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := StenosisConfig{
				Backbone:     BackboneSpec{Arch: tc.arch, Naming: tc.naming, Config: json.RawMessage(tc.config())},
				EmbeddingDim: 4, NumLevels: 5, NumClasses: 3, Dropout: 0.3, UnfreezeLast: 4, Hidden: [2]int{8, 6},
			}
			type result struct {
				losses  []float64
				weights [][]float32
				in, out int64
			}
			run := func(dev ag.Device, count func() (int64, int64)) result {
				store := nn.NewStore(ag.Float32, 11)
				m, err := NewStenosis(store.Root(), cfg)
				if err != nil {
					t.Fatal(err)
				}
				m.FreezeBackbone(store, "")
				var params []*ag.Tensor
				for _, e := range store.Trainable() {
					params = append(params, e.Tensor)
				}
				opt, err := optim.NewAdamW(params, optim.AdamWOptions{LR: 1e-2})
				if err != nil {
					t.Fatal(err)
				}
				store.Attach(opt)
				if err := store.To(dev); err != nil {
					t.Fatal(err)
				}
				store.SetTraining(true)
				rng := rand.New(rand.NewPCG(5, 5))
				weights := ag.FromFloat64([]float64{1, 2, 4}, 3).AsType(ag.Float32).To(dev)
				var r result
				for step := range 3 {
					x := ag.RandN(rng, ag.Float32, 2, 3, tc.h, tc.w)
					levels, labels := []int{step % 5, 4}, []int{0, step % 3}
					var in0, out0 int64
					if count != nil {
						in0, out0 = count()
					}
					var loss *ag.Tensor
					ag.Scope(func() {
						opt.ZeroGrad()
						loss = ag.CrossEntropy(m.Forward(x.To(dev), levels), labels, ag.CrossEntropyOptions{Weight: weights})
						loss.Backward()
						opt.Step()
						if count != nil && step == 2 {
							in1, out1 := count()
							r.in, r.out = in1-in0, out1-out0
						}
						r.losses = append(r.losses, loss.Item())
					})
				}
				for _, p := range params {
					r.weights = append(r.weights, p.Float32s())
				}
				return r
			}
			want := run(ag.CPU, nil)
			sh := devicetest.NewShadow()
			got := run(sh, sh.Transfers)
			if !slices.Equal(got.losses, want.losses) {
				t.Errorf("losses on the second device %v, on the CPU %v", got.losses, want.losses)
			}
			for i := range want.weights {
				if !slices.Equal(got.weights[i], want.weights[i]) {
					t.Errorf("trainable tensor %d differs after three steps", i)
					break
				}
			}
			// Inputs: images, level indices, target indices.
			if got.in != 3 || got.out != 0 {
				t.Errorf("a warm step copied %d times to the device and %d times to the host; want 3 and 0", got.in, got.out)
			}
		})
	}
}
