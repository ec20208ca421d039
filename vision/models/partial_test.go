package models

import (
	"encoding/json"
	"math/rand/v2"
	"testing"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/nn"
)

// TestPartialStepRecordsOnlyTheUnfrozenPart checks the study's partial
// mode (backbone frozen but for its last tensors): the graph that Backward
// walks holds the head and the unfrozen last stage only, so the frozen
// layers cost what inference costs.
func TestPartialStepRecordsOnlyTheUnfrozenPart(t *testing.T) {
	cfg := `{"block":"basic","layers":[1,1,1,1],"widths":[4,8,8,8],"stem_width":4,"groups":1,"width_per_group":64,"num_classes":null}`
	graph := func(unfreeze int) map[string]int {
		store := nn.NewStore(ag.Float64, 3)
		m, err := NewStenosis(store.Root(), StenosisConfig{
			Backbone:     BackboneSpec{Arch: "resnet", Naming: "torchvision", Config: json.RawMessage(cfg)},
			EmbeddingDim: 4, NumLevels: 5, NumClasses: 3, UnfreezeLast: max(unfreeze, 0), Hidden: [2]int{8, 6},
		})
		if err != nil {
			t.Fatal(err)
		}
		if unfreeze >= 0 {
			m.FreezeBackbone(store, "")
		}
		x := ag.RandN(rand.New(rand.NewPCG(1, 2)), ag.Float64, 2, 3, 32, 32)
		loss := ag.CrossEntropy(m.Forward(x, []int{0, 1}), []int{2, 0}, ag.CrossEntropyOptions{})
		return loss.GraphOps()
	}
	full, frozen, last := graph(-1), graph(0), graph(3) // layer4.0's conv2 weight and bn2
	// 12 convolutions: the stem, two per block, three downsamples.
	if full["conv2d"] != 12 {
		t.Fatalf("full training records %d convolutions, want 12 (%v)", full["conv2d"], full)
	}
	if frozen["conv2d"] != 0 || frozen["batch_norm"]+frozen["batch_norm_relu"] != 0 {
		t.Errorf("with the whole backbone frozen the graph holds backbone ops: %v", frozen)
	}
	if last["conv2d"] != 1 {
		t.Errorf("with the last conv and batch norm trainable the graph holds %d convolutions, want 1: %v", last["conv2d"], last)
	}
	t.Logf("full %v\nlast three tensors %v", full, last)
}
