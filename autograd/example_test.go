package autograd_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/vertebra-ml/vertebra/autograd"
)

// A tiny model and its gradient: the README's example.
func Example() {
	rng := rand.New(rand.NewPCG(1, 2))
	w := autograd.RandN(rng, autograd.Float32, 3, 4).SetRequiresGrad(true)
	x := autograd.FromFloat32([]float32{1, 2, 3, 4, 5, 6, 7, 8}, 2, 4)
	loss := autograd.CrossEntropy(autograd.Linear(x, w, nil), []int{0, 2}, autograd.CrossEntropyOptions{})
	loss.Backward()
	fmt.Printf("%.4f\n%v\n", loss.Item(), w.Grad().Shape())
	// Output:
	// 10.5216
	// [3 4]
}
