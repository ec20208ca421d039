package datasets

import ag "github.com/vertebra-ml/vertebra/autograd"

// Inputs returns the batch as a model's inputs on dev: the images (N, C,
// H, W) float32, then the vertebral levels (N) as an int32 tensor.
func (b Batch) Inputs(dev ag.Device) []*ag.Tensor {
	return []*ag.Tensor{
		ag.FromFloat32(b.Images, b.N, b.C, b.H, b.W).To(dev),
		ag.Indices(dev, b.Levels, Levels),
	}
}
