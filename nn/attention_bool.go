package nn

import (
	ag "github.com/vertebra-ml/vertebra/autograd"
)

// boolBias is a boolean mask as 0 / -inf.
func boolBias(mask, like *ag.Tensor) *ag.Tensor {
	panic("nn: MultiheadAttention: boolean masks need int32 tensors (not yet)")
}
