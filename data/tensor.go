package data

import (
	"fmt"
	"iter"

	ag "github.com/vertebra-ml/vertebra/autograd"
)

// TensorDataset is torch.utils.data.TensorDataset: sample i is row i (along
// the first dimension) of each of its tensors, e.g. images (N, C, H, W)
// and int32 labels (N).
type TensorDataset struct {
	Tensors []*ag.Tensor
}

// NewTensorDataset checks that the tensors share their first dimension
// and one device.
func NewTensorDataset(tensors ...*ag.Tensor) (*TensorDataset, error) {
	if len(tensors) == 0 {
		return nil, fmt.Errorf("data: NewTensorDataset: no tensors")
	}
	for i, t := range tensors {
		if t == nil || t.Rank() == 0 {
			return nil, fmt.Errorf("data: NewTensorDataset: tensor %d is nil or a scalar; want (N, ...)", i)
		}
		if t.Dim(0) != tensors[0].Dim(0) {
			return nil, fmt.Errorf("data: NewTensorDataset: tensor %d has %d rows, tensor 0 has %d (shapes %v and %v)", i, t.Dim(0), tensors[0].Dim(0), t.Shape(), tensors[0].Shape())
		}
		if t.Device() != tensors[0].Device() {
			return nil, fmt.Errorf("data: NewTensorDataset: tensor %d is on %s, tensor 0 on %s", i, t.Device().Name(), tensors[0].Device().Name())
		}
	}
	return &TensorDataset{Tensors: tensors}, nil
}

// Len is the number of samples.
func (d *TensorDataset) Len() int { return d.Tensors[0].Dim(0) }

// Rows returns the samples idx of each tensor, in the order of idx: one
// tensor per data-set tensor, with len(idx) rows, on the data set's device.
func (d *TensorDataset) Rows(idx []int) []*ag.Tensor {
	out := make([]*ag.Tensor, len(d.Tensors))
	ag.NoGrad(func() {
		for i, t := range d.Tensors {
			if t.DType() == ag.Int32 {
				out[i] = int32Rows(t, idx) // no int32 gather kernel: labels are small
				continue
			}
			out[i] = ag.IndexSelect(t, 0, idx)
		}
	})
	return out
}

// int32Rows picks rows of an int32 tensor on the host.
func int32Rows(t *ag.Tensor, idx []int) *ag.Tensor {
	v := t.Int32s()
	row := t.Len() / t.Dim(0)
	out := make([]int32, 0, len(idx)*row)
	for _, i := range idx {
		out = append(out, v[i*row:(i+1)*row]...)
	}
	shape := t.Shape()
	shape[0] = len(idx)
	return ag.FromInt32(out, shape...).To(t.Device())
}

// Loader is torch.utils.data.DataLoader over a TensorDataset: batches of
// rows in the Sampler's order.
type Loader struct {
	ds      *TensorDataset
	sampler Sampler
}

// NewLoader checks s and returns a loader over ds.
func NewLoader(ds *TensorDataset, s Sampler) (*Loader, error) {
	if ds == nil {
		return nil, fmt.Errorf("data: NewLoader: nil data set")
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("data: NewLoader: %w", err)
	}
	return &Loader{ds: ds, sampler: s}, nil
}

// Len is the number of batches per epoch.
func (l *Loader) Len() int { return l.sampler.Len(l.ds.Len()) }

// Epoch yields the batches of one epoch: for each, one tensor per data-set
// tensor, holding the batch's rows.
func (l *Loader) Epoch(epoch int) iter.Seq[[]*ag.Tensor] {
	return func(yield func([]*ag.Tensor) bool) {
		for idx := range l.sampler.Batches(l.ds.Len(), epoch, 0) {
			if !yield(l.ds.Rows(idx)) {
				return
			}
		}
	}
}
