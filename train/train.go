// Package train runs the study's training and evaluation loops: batches
// from a datasets.Loader become tensors on a device, a level-conditioned
// classifier is trained with class-weighted cross-entropy and AdamW, and
// evaluation yields a confusion matrix, per-sample predictions and the mean
// loss.
//
// It is not for models (vision/models), data (vision/datasets) or the
// study's outputs and plots (experiments/all).
package train

import (
	"fmt"
	"math"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/metrics"
	"github.com/vertebra-ml/vertebra/nn"
	"github.com/vertebra-ml/vertebra/vision/datasets"
)

// Model is a classifier the loops train and score: logits (N, classes)
// for a batch's inputs, the images first, then whatever else the data
// gives per sample (the study's loader adds the vertebral levels, and
// models.Stenosis reads them). Module adapts a one-input nn.Module.
type Model interface {
	Logits(inputs ...*ag.Tensor) *ag.Tensor
}

// Module adapts a model of the images alone (an nn.Sequential, a backbone
// with its head) to Model; further inputs are ignored.
func Module(m nn.Module) Model { return module{m} }

type module struct{ m nn.Module }

func (m module) Logits(inputs ...*ag.Tensor) *ag.Tensor { return m.m.Forward(inputs[0]) }

// Optimizer is what Epoch needs of an optimizer; *optim.AdamW is one.
type Optimizer interface {
	ZeroGrad()
	Step()
}

// Images returns the batch's images as an (N, C, H, W) float32 tensor on
// dev.
func Images(b datasets.Batch, dev ag.Device) *ag.Tensor {
	return ag.FromFloat32(b.Images, b.N, b.C, b.H, b.W).To(dev)
}

// Loss is the study's loss: cross-entropy with class weights (nil for
// none) and optional label smoothing.
type Loss struct {
	ClassWeights   []float64
	LabelSmoothing float64
}

// on returns the loss's cross-entropy options with the class weights on
// dev as float32, uploaded once for a whole pass rather than per batch.
func (l Loss) on(dev ag.Device) ag.CrossEntropyOptions {
	o := ag.CrossEntropyOptions{LabelSmoothing: l.LabelSmoothing}
	if l.ClassWeights != nil {
		o.Weight = ag.FromFloat64(l.ClassWeights, len(l.ClassWeights)).AsType(ag.Float32).To(dev)
	}
	return o
}

// EpochStats summarise one pass over a loader.
type EpochStats struct {
	Loss     float64 // mean loss per sample
	Accuracy float64
	Samples  int
}

// Epoch trains model for one epoch: for each batch, forward in training
// mode, the loss, Backward, one optimizer step. progress, if not nil, is
// called after each batch.
func Epoch(model Model, store *nn.Store, opt Optimizer, loader *datasets.Loader, epoch int, loss Loss, dev ag.Device, progress func(batch int, s EpochStats)) (EpochStats, error) {
	store.SetTraining(true)
	defer store.SetTraining(false)
	ce := loss.on(dev)
	var s EpochStats
	correct := 0
	var total float64
	i := 0
	for b, err := range loader.Epoch(epoch) {
		if err != nil {
			return s, fmt.Errorf("train: epoch %d: %w", epoch, err)
		}
		var lv float64
		var pred []int
		// Each step runs in a scope, so the next reuses its buffers; a
		// device failure (out of memory) ends the epoch with an error.
		derr := ag.CatchDeviceError(func() {
			ag.Scope(func() {
				opt.ZeroGrad()
				logits := model.Logits(b.Inputs(dev)...)
				l := ag.CrossEntropy(logits, b.Labels, ce)
				if lv = l.Item(); math.IsNaN(lv) || math.IsInf(lv, 0) {
					return
				}
				l.Backward()
				opt.Step()
				pred = argmax(logits)
			})
		})
		if derr != nil {
			return s, fmt.Errorf("train: epoch %d batch %d: %w", epoch, i, derr)
		}
		if math.IsNaN(lv) || math.IsInf(lv, 0) {
			return s, fmt.Errorf("train: epoch %d batch %d: loss is %g", epoch, i, lv)
		}
		total += lv * float64(b.N)
		for j, p := range pred {
			if p == b.Labels[j] {
				correct++
			}
		}
		s.Samples += b.N
		s.Loss, s.Accuracy = total/float64(s.Samples), float64(correct)/float64(s.Samples)
		i++
		if progress != nil {
			progress(i, s)
		}
	}
	return s, nil
}

// Prediction is one evaluated sample.
type Prediction struct {
	Index, Level, Label, Pred int
	Probs                     []float64
}

// Evaluation is the result of Evaluate.
type Evaluation struct {
	Loss        float64 // mean loss per sample
	Confusion   *metrics.Confusion
	Predictions []Prediction
}

// Evaluate runs model in eval mode without gradients over every batch.
func Evaluate(model Model, store *nn.Store, loader *datasets.Loader, classes int, loss Loss, dev ag.Device) (Evaluation, error) {
	store.SetTraining(false)
	ce := loss.on(dev)
	ev := Evaluation{Confusion: metrics.NewConfusion(classes)}
	var total float64
	n := 0
	var err error
	ag.NoGrad(func() {
		for b, e := range loader.Epoch(0) {
			if e != nil {
				err = fmt.Errorf("train: evaluate: %w", e)
				return
			}
			var probs []float64
			var pred []int
			if derr := ag.CatchDeviceError(func() {
				ag.Scope(func() {
					logits := model.Logits(b.Inputs(dev)...)
					total += ag.CrossEntropy(logits, b.Labels, ce).Item() * float64(b.N)
					probs = ag.Softmax(logits, 1).Float64s()
					pred = argmax(logits)
				})
			}); derr != nil {
				err = fmt.Errorf("train: evaluate: %w", derr)
				return
			}
			n += b.N
			for j, p := range pred {
				if e := ev.Confusion.Add(b.Labels[j], p); e != nil {
					err = e
					return
				}
				ev.Predictions = append(ev.Predictions, Prediction{
					Index: b.Indices[j], Level: b.Levels[j], Label: b.Labels[j], Pred: p,
					Probs: probs[j*classes : (j+1)*classes],
				})
			}
		}
	})
	if n > 0 {
		ev.Loss = total / float64(n)
	}
	return ev, err
}

// argmax returns the arg-max class of each row of logits (N, K).
func argmax(logits *ag.Tensor) []int {
	idx := ag.Argmax(logits, 1, false).Int32s()
	out := make([]int, len(idx))
	for i, k := range idx {
		out[i] = int(k)
	}
	return out
}
