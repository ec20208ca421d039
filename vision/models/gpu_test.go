package models

import (
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/autograd/devicetest"
	"github.com/vertebra-ml/vertebra/internal/devices"
	"github.com/vertebra-ml/vertebra/nn"
	"github.com/vertebra-ml/vertebra/optim"
)

// The study's six models on another device against the CPU, and their
// speed there. VERTEBRA_TEST_DEVICE names the device (cuda, cuda:1,
// cuda+tf32; scripts/gpu-check.sh sets it on a GPU machine; "shadow" runs
// them on devicetest.Shadow); without it these skip. Each model is the study's: the full-size backbone, the
// 256-d level embedding and the MLP head, backbone frozen except its last
// 32 parameter tensors.

// studyPresets are the six backbones of the study.
var studyPresets = []string{"resnet152", "efficientnet_v2_m", "convnext_base", "vit_b_16", "swin_b", "beit-base-patch16-224"}

// testDevice opens $VERTEBRA_TEST_DEVICE and returns it with the
// tolerance its results are held to (relative to the largest magnitude of
// the CPU's): 1e-4 for float32 logits and loss, ten times that for
// gradients (as the goldens); TF32 products round inputs to 10 bits, so
// with +tf32 both are 5e-2.
func testDevice(tb testing.TB) (dev ag.Device, tolFwd, tolGrad float64) {
	tb.Helper()
	name := os.Getenv("VERTEBRA_TEST_DEVICE")
	if name == "" {
		tb.Skip("VERTEBRA_TEST_DEVICE is unset (scripts/gpu-check.sh sets it on a GPU machine)")
	}
	if name == "shadow" { // the CPU's kernels behind a second device: checks this test without a GPU
		return devicetest.NewShadow(), 1e-4, 1e-3
	}
	dev, err := devices.Open(name)
	if err != nil {
		tb.Fatalf("VERTEBRA_TEST_DEVICE=%s: %v", name, err)
	}
	if strings.HasSuffix(name, "+tf32") {
		return dev, 5e-2, 5e-2
	}
	return dev, 1e-4, 1e-3
}

// studyModel builds the study's model on preset with the study's freezing.
func studyModel(tb testing.TB, preset string, seed uint64) (*nn.Store, *Stenosis) {
	tb.Helper()
	spec, err := HeadlessSpec(preset)
	if err != nil {
		tb.Fatal(err)
	}
	store := nn.NewStore(ag.Float32, seed)
	m, err := NewStenosis(store.Root(), StenosisConfig{Backbone: spec, EmbeddingDim: 256, NumLevels: 5, NumClasses: 3, Dropout: 0.1, UnfreezeLast: 32})
	if err != nil {
		tb.Fatal(err)
	}
	m.FreezeBackbone(store, "")
	return store, m
}

func trainable(store *nn.Store) []*ag.Tensor {
	var p []*ag.Tensor
	for _, e := range store.Trainable() {
		p = append(p, e.Tensor)
	}
	return p
}

// maxRel is max|got-want| / max|want|.
func maxRel(got, want []float32) float64 {
	var d, s float64
	for i := range want {
		d = math.Max(d, math.Abs(float64(got[i])-float64(want[i])))
		s = math.Max(s, math.Abs(float64(want[i])))
	}
	if s == 0 {
		return d
	}
	return d / s
}

// studyStep is one training step of the study: forward in training mode
// (dropout from the store's Philox generator), class-weighted cross
// entropy, backward. It returns the loss; the gradients stay on the
// parameters.
func studyStep(m *Stenosis, x *ag.Tensor, levels, labels []int, weights *ag.Tensor) *ag.Tensor {
	loss := ag.CrossEntropy(m.Forward(x, levels), labels, ag.CrossEntropyOptions{Weight: weights})
	loss.Backward()
	return loss
}

// TestDeviceMatchesCPU: for each study model, the logits (eval mode) and
// one training step (loss and every trainable tensor's gradient) on the
// device match the CPU's; then an AdamW step runs on the device.
func TestDeviceMatchesCPU(t *testing.T) {
	dev, tolFwd, tolGrad := testDevice(t)
	for _, preset := range studyPresets {
		t.Run(preset, func(t *testing.T) {
			cpuStore, cpuModel := studyModel(t, preset, 1)
			devStore, devModel := studyModel(t, preset, 1)
			if err := devStore.To(dev); err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(7, 8))
			x := ag.RandN(rng, ag.Float32, 2, 3, 224, 224)
			xd := x.To(dev)
			levels, labels := []int{1, 4}, []int{0, 2}
			w := ag.FromFloat32([]float32{1, 2, 4}, 3)
			wd := w.To(dev)

			cpuStore.SetTraining(false)
			devStore.SetTraining(false)
			var fwd float64
			ag.NoGrad(func() {
				fwd = maxRel(devModel.Forward(xd, levels).Float32s(), cpuModel.Forward(x, levels).Float32s())
			})

			cpuStore.SetTraining(true)
			devStore.SetTraining(true)
			lc := studyStep(cpuModel, x, levels, labels, w)
			ld := studyStep(devModel, xd, levels, labels, wd)
			loss := maxRel(ld.Float32s(), lc.Float32s())
			var grad float64
			worst := "-"
			cp, dp := trainable(cpuStore), trainable(devStore)
			for i := range cp {
				if cp[i].Grad() == nil || dp[i].Grad() == nil {
					t.Fatalf("trainable tensor %d has no gradient (cpu %v, device %v)", i, cp[i].Grad() != nil, dp[i].Grad() != nil)
				}
				if e := maxRel(dp[i].Grad().Float32s(), cp[i].Grad().Float32s()); e > grad {
					grad, worst = e, devStore.Trainable()[i].Name
				}
			}
			opt, err := optim.NewAdamW(dp, optim.AdamWOptions{LR: 1e-4, WeightDecay: 0.02})
			if err != nil {
				t.Fatal(err)
			}
			opt.Step()
			if err := dev.Synchronize(); err != nil {
				t.Fatalf("AdamW step on %s: %v", dev.Name(), err)
			}
			t.Logf("RESULT %s device=%s logits=%.2e loss=%.2e grads=%.2e (worst %s) tensors=%d", preset, dev.Name(), fwd, loss, grad, worst, len(dp))
			if fwd > tolFwd || loss > tolFwd || grad > tolGrad {
				t.Errorf("%s on %s: logits %.2e, loss %.2e (tolerance %.0e), gradients %.2e at %s (tolerance %.0e)",
					preset, dev.Name(), fwd, loss, tolFwd, grad, worst, tolGrad)
			}
		})
	}
}

// BenchmarkDevice times the study's models on the device at batch 32,
// 224x224: inference (eval mode, no graph) and the study's training step
// (forward, weighted cross entropy, backward through the unfrozen layers,
// AdamW), each synchronised, reporting images/s.
func BenchmarkDevice(b *testing.B) {
	dev, _, _ := testDevice(b)
	const batch = 32
	for _, preset := range studyPresets {
		for _, mode := range []string{"infer", "train"} {
			b.Run(preset+"/"+mode, func(b *testing.B) {
				store, m := studyModel(b, preset, 1)
				if err := store.To(dev); err != nil {
					b.Fatal(err)
				}
				rng := rand.New(rand.NewPCG(3, 4))
				x := ag.RandN(rng, ag.Float32, batch, 3, 224, 224).To(dev)
				levels, labels := make([]int, batch), make([]int, batch)
				for i := range levels {
					levels[i], labels[i] = i%5, i%3
				}
				w := ag.FromFloat32([]float32{1, 2, 4}, 3).To(dev)
				opt, err := optim.NewAdamW(trainable(store), optim.AdamWOptions{LR: 1e-4, WeightDecay: 0.02})
				if err != nil {
					b.Fatal(err)
				}
				step := func() {
					ag.Scope(func() {
						if mode == "infer" {
							store.SetTraining(false)
							ag.NoGrad(func() { m.Forward(x, levels) })
							return
						}
						store.SetTraining(true)
						studyStep(m, x, levels, labels, w)
						opt.Step()
						opt.ZeroGrad()
					})
					if err := dev.Synchronize(); err != nil {
						b.Fatal(err)
					}
				}
				step() // warm: kernels, allocator cache, optimizer state
				for b.Loop() {
					step()
				}
				b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "images/s")
			})
		}
	}
}
