// Command cnn trains a small CNN on noisy 8x8 images of three shapes and prints its test accuracy.
package main

import (
	"fmt"
	"math/rand/v2"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/data"
	"github.com/vertebra-ml/vertebra/nn"
	"github.com/vertebra-ml/vertebra/optim"
)

func main() { fmt.Printf("test accuracy %.3f\n", run(1, 12)) }

func run(seed uint64, epochs int) float64 {
	store := nn.NewStore(ag.Float32, seed)
	s := nn.NewSequential(store.Root())
	s.Add(nn.NewConv2d(s.Next(), 1, 8, ag.Pair(3), ag.Conv2dOptions{Padding: ag.Pair(1)}, true), nn.ReLU{}, nn.NewMaxPool2d(2))
	s.Add(nn.NewConv2d(s.Next(), 8, 16, ag.Pair(3), ag.Conv2dOptions{Padding: ag.Pair(1)}, true), nn.ReLU{})
	s.Add(nn.AdaptiveAvgPool2d{H: 1, W: 1}, nn.Flatten{})
	s.Add(nn.NewLinear(s.Next(), 16, 3, true))
	net := s.Sequential()
	opt := must(optim.NewAdamW(store.Parameters(), optim.AdamWOptions{LR: 0.01}))
	loader := must(data.NewLoader(must(data.NewTensorDataset(shapes(600, seed))), data.Sampler{BatchSize: 32, Shuffle: true, Seed: seed}))
	for epoch := range epochs {
		for b := range loader.Epoch(epoch) {
			opt.ZeroGrad()
			ag.CrossEntropy(net.Forward(b[0]), b[1], ag.CrossEntropyOptions{}).Backward()
			opt.Step()
		}
	}
	store.SetTraining(false) // model.eval()
	x, y := shapes(300, seed+1)
	return ag.Accuracy(net.Forward(x), y)
}

// shapes makes n noisy images (n, 1, 8, 8) of a horizontal bar (label 0), a
// vertical bar (1) or a diagonal (2) anywhere, and their labels (n).
func shapes(n int, seed uint64) (*ag.Tensor, *ag.Tensor) {
	rng := rand.New(rand.NewPCG(seed, 8))
	pix, labels := make([]float32, n*64), make([]int32, n)
	for i := range labels {
		c, r, col := rng.IntN(3), rng.IntN(5), rng.IntN(5)
		for k := range 4 { // 4 pixels from (r, col) right, down or diagonally
			pix[i*64+(r+[3]int{0, k, k}[c])*8+col+[3]int{k, 0, k}[c]] += 1
		}
		labels[i] = int32(c)
	}
	noise := ag.MulScalar(ag.RandN(rng, ag.Float32, n, 1, 8, 8), 0.3)
	return ag.Add(ag.FromFloat32(pix, n, 1, 8, 8), noise), ag.FromInt32(labels, n)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
