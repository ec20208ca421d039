package models

import (
	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/nn"
)

// newEvalStore is a new store in eval mode, where these tests compare
// outputs with references (a new store starts in training mode).
func newEvalStore(dt ag.DType, seed uint64) *nn.Store {
	s := nn.NewStore(dt, seed)
	s.SetTraining(false)
	return s
}
