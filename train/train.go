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
	"errors"
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

// EpochStats summarise one pass over a loader, or the part of it done so
// far.
type EpochStats struct {
	Loss     float64 // mean loss per sample
	Accuracy float64
	Samples  int
	// Batches is the number of batches done: where a stopped epoch resumes.
	Batches int
	// LossSum and Correct are the running sums behind Loss and Accuracy,
	// kept so that a resumed epoch adds up exactly as an uninterrupted one.
	LossSum float64
	Correct int
}

// ErrStopped is returned by EpochWith when its Stop function asked it to
// stop; the stats returned with it say where to resume.
var ErrStopped = errors.New("train: stopped")

// NonFiniteLossError is returned when a step's loss is NaN or infinite;
// the step's update is not applied.
type NonFiniteLossError struct {
	Epoch, Batch int // 0-based
	Loss         float64
}

func (e *NonFiniteLossError) Error() string {
	return fmt.Sprintf("train: loss is %g at epoch %d, step %d", e.Loss, e.Epoch+1, e.Batch+1)
}

// EpochOptions control a (resumable) epoch of EpochWith.
type EpochOptions struct {
	// From resumes an epoch stopped after From.Batches batches, with its
	// running sums; the zero value starts at the first batch.
	From EpochStats
	// BeforeStep, if not nil, is called before each step with the batch
	// index (e.g. to seed the step's dropout, so a resumed run draws the
	// same masks).
	BeforeStep func(batch int)
	// Stop, if not nil, is asked after each step whether to stop; when it
	// says so the epoch ends with ErrStopped.
	Stop func() bool
	// Progress, if not nil, is called after each batch.
	Progress func(batch int, s EpochStats)
}

// Epoch trains model for one epoch: for each batch, forward in training
// mode, the loss, Backward, one optimizer step. progress, if not nil, is
// called after each batch.
func Epoch(model Model, store *nn.Store, opt Optimizer, loader *datasets.Loader, epoch int, loss Loss, dev ag.Device, progress func(batch int, s EpochStats)) (EpochStats, error) {
	return EpochWith(model, store, opt, loader, epoch, loss, dev, EpochOptions{Progress: progress})
}

// EpochWith is Epoch with the options of a resumable run. A NaN or
// infinite loss ends the epoch with a *NonFiniteLossError.
func EpochWith(model Model, store *nn.Store, opt Optimizer, loader *datasets.Loader, epoch int, loss Loss, dev ag.Device, o EpochOptions) (EpochStats, error) {
	store.SetTraining(true)
	defer store.SetTraining(false)
	ce := loss.on(dev)
	s := o.From
	for b, err := range loader.EpochFrom(epoch, s.Batches) {
		if err != nil {
			return s, fmt.Errorf("train: epoch %d: %w", epoch+1, err)
		}
		if o.BeforeStep != nil {
			o.BeforeStep(s.Batches)
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
			return s, fmt.Errorf("train: epoch %d, step %d: %w", epoch+1, s.Batches+1, derr)
		}
		if math.IsNaN(lv) || math.IsInf(lv, 0) {
			return s, &NonFiniteLossError{Epoch: epoch, Batch: s.Batches, Loss: lv}
		}
		s.LossSum += lv * float64(b.N)
		for j, p := range pred {
			if p == b.Labels[j] {
				s.Correct++
			}
		}
		s.Samples += b.N
		s.Batches++
		s.Loss, s.Accuracy = s.LossSum/float64(s.Samples), float64(s.Correct)/float64(s.Samples)
		if o.Progress != nil {
			o.Progress(s.Batches, s)
		}
		if o.Stop != nil && o.Stop() && s.Batches < loader.Len() {
			return s, ErrStopped
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
