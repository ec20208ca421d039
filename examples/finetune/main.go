// Command finetune fine-tunes a registry ResNet's last layers (which image half is brighter?), saves a safetensors checkpoint and scores a model loaded from it.
package main

import (
	"fmt"
	"math/rand/v2"
	"os"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/data"
	"github.com/vertebra-ml/vertebra/nn"
	"github.com/vertebra-ml/vertebra/optim"
	"github.com/vertebra-ml/vertebra/vision/models"
)

const config = `{"block": "basic", "layers": [1, 1, 1, 1], "widths": [8, 16, 24, 32], "stem_width": 8, "groups": 1, "width_per_group": 64, "num_classes": 2}`

func main() { fmt.Printf("test accuracy %.3f\n", run(os.TempDir()+"/finetune.safetensors", 1)) }

func run(path string, seed uint64) float64 {
	store := nn.NewStore(ag.Float32, seed)
	net := must(models.Build("resnet", "torchvision", []byte(config), store.Root()))
	store.Freeze("")
	store.UnfreezeLast("", 5) // layer4.0.downsample (conv, BatchNorm) and fc, as list(parameters())[-5:]
	opt := must(optim.NewAdamW(store.Parameters(), optim.AdamWOptions{LR: 0.01}))
	loader := must(data.NewLoader(must(data.NewTensorDataset(halves(256, seed))), data.Sampler{BatchSize: 32, Shuffle: true, Seed: seed}))
	for epoch := range 6 {
		for b := range loader.Epoch(epoch) {
			opt.ZeroGrad()
			ag.CrossEntropy(net.Forward(b[0]), b[1], ag.CrossEntropyOptions{}).Backward()
			opt.Step()
		}
	}
	check(store.SaveFile(path, map[string]string{"example": "finetune"}))
	fresh := nn.NewStore(ag.Float32, seed+1)
	reloaded := must(models.Build("resnet", "torchvision", []byte(config), fresh.Root()))
	check(fresh.LoadFile(must(nn.ReadCheckpoint(path)), nn.LoadOptions{Strict: true}))
	fresh.SetTraining(false)
	x, y := halves(128, seed+1)
	return ag.Accuracy(reloaded.Forward(x), y)
}

func halves(n int, seed uint64) (*ag.Tensor, *ag.Tensor) {
	pix, labels := make([]float32, n*3*16*16), make([]int32, n)
	for i := range pix {
		if labels[i/768] = int32(i / 768 % 2); (i%16 < 8) == (labels[i/768] == 0) {
			pix[i] = 0.5
		}
	}
	noise := ag.MulScalar(ag.RandN(rand.New(rand.NewPCG(seed, 2)), ag.Float32, n, 3, 16, 16), 0.5)
	return ag.Add(ag.FromFloat32(pix, n, 3, 16, 16), noise), ag.FromInt32(labels, n)
}

func must[T any](v T, err error) T { check(err); return v }
func check(err error) {
	if err != nil {
		panic(err)
	}
}
