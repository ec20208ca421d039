package train

import (
	"encoding/json"
	"testing"
	"time"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/nn"
	"github.com/vertebra-ml/vertebra/optim"
	"github.com/vertebra-ml/vertebra/vision/datasets"
	"github.com/vertebra-ml/vertebra/vision/models"
	"github.com/vertebra-ml/vertebra/vision/transforms"
)

// TestSmallModelLearnsSyntheticSpines trains a small ResNet stenosis model
// for a few epochs on synthetic spines (crops around the labelled level)
// and checks that its macro F1 on held-out studies beats chance clearly.
func TestSmallModelLearnsSyntheticSpines(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	start := time.Now()
	data, err := datasets.NewSynthetic(datasets.SyntheticConfig{Studies: 300, Seed: 11, MinSize: 192, MaxSize: 256})
	if err != nil {
		t.Fatal(err)
	}
	split, err := datasets.SplitByStudy(datasets.Samples(data), []float64{0.7, 0.3}, 1)
	if err != nil {
		t.Fatal(err)
	}
	trainSet := datasets.Subset{Data: data, Indices: split[0]}
	testSet := datasets.Subset{Data: data, Indices: split[1]}
	cfg := transforms.Config{Size: 64, Crop: 96, Augment: true, FlipProb: 0.5, RotationDegrees: 10}
	trainT, _ := transforms.Train(cfg)
	evalT, _ := transforms.Eval(cfg)
	trainLoader, err := datasets.NewLoader(trainSet, datasets.LoaderConfig{BatchSize: 32, Shuffle: true, Seed: 1, Transform: trainT})
	if err != nil {
		t.Fatal(err)
	}
	testLoader, _ := datasets.NewLoader(testSet, datasets.LoaderConfig{BatchSize: 64, Transform: evalT})

	backbone, _ := json.Marshal(map[string]any{"block": "basic", "layers": []int{1, 1, 1, 1}, "widths": []int{16, 32, 48, 64},
		"stem_width": 16, "groups": 1, "width_per_group": 64, "num_classes": nil})
	store := nn.NewStore(ag.Float32, 3)
	model, err := models.NewStenosis(store.Root(), models.StenosisConfig{
		Backbone:     models.BackboneSpec{Arch: "resnet", Naming: "torchvision", Config: backbone},
		EmbeddingDim: 16, NumLevels: 5, NumClasses: 3, Dropout: 0.1, Hidden: [2]int{64, 32},
	})
	if err != nil {
		t.Fatal(err)
	}
	counts := datasets.ClassCounts(datasets.Samples(trainSet))
	w, err := datasets.ClassWeights(counts)
	if err != nil {
		t.Fatal(err)
	}
	loss := Loss{ClassWeights: w[:]}
	opt, err := optim.NewAdamW(store.Parameters(), optim.AdamWOptions{WeightDecay: 0.02})
	if err != nil {
		t.Fatal(err)
	}
	for epoch := range 6 {
		s, err := Epoch(model, store, opt, trainLoader, epoch, loss, ag.CPU, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("epoch %d: loss %.3f accuracy %.3f", epoch, s.Loss, s.Accuracy)
	}
	ev, err := Evaluate(model, store, testLoader, 3, loss, ag.CPU)
	if err != nil {
		t.Fatal(err)
	}
	r := ev.Confusion.Report()
	t.Logf("test: %d samples, accuracy %.3f, macro F1 %.3f, per-class F1 %.3f, confusion %v (%s)",
		len(ev.Predictions), r.Accuracy, r.MacroF1, r.F1, r.Confusion, time.Since(start).Round(time.Second))
	// Always predicting the majority class scores a macro F1 of about 0.31.
	if r.MacroF1 < 0.5 {
		t.Errorf("macro F1 %.3f does not beat chance (0.31) clearly", r.MacroF1)
	}
}

// countingOptimizer is an Optimizer that records its calls.
type countingOptimizer struct{ zero, steps int }

func (o *countingOptimizer) ZeroGrad() { o.zero++ }
func (o *countingOptimizer) Step()     { o.steps++ }

// TestEpochTakesInterfaces: any Optimizer and a model of the images alone
// (no vertebral levels) train through Epoch and Evaluate.
func TestEpochTakesInterfaces(t *testing.T) {
	data, err := datasets.NewSynthetic(datasets.SyntheticConfig{Studies: 4, Seed: 2, MinSize: 64, MaxSize: 64})
	if err != nil {
		t.Fatal(err)
	}
	evalT, _ := transforms.Eval(transforms.Config{Size: 16, Crop: 32})
	loader, err := datasets.NewLoader(data, datasets.LoaderConfig{BatchSize: 8, Transform: evalT})
	if err != nil {
		t.Fatal(err)
	}
	store := nn.NewStore(ag.Float32, 1)
	net := nn.Sequential{nn.AdaptiveAvgPool2d{H: 2, W: 2}, nn.Flatten{}, nn.NewLinear(store.Root().Sub("fc"), 3*2*2, 3, true)}
	opt := &countingOptimizer{}
	s, err := Epoch(Module(net), store, opt, loader, 0, Loss{}, ag.CPU, nil)
	if err != nil {
		t.Fatal(err)
	}
	if opt.steps != loader.Len() || opt.zero != loader.Len() || s.Samples != data.Len() {
		t.Errorf("%d steps, %d ZeroGrad for %d batches; %d samples of %d", opt.steps, opt.zero, loader.Len(), s.Samples, data.Len())
	}
	ev, err := Evaluate(Module(net), store, loader, 3, Loss{}, ag.CPU)
	if err != nil || len(ev.Predictions) != data.Len() {
		t.Errorf("Evaluate: %d predictions, %v", len(ev.Predictions), err)
	}
}
