package nn

import (
	"errors"
	"slices"
	"strings"
	"testing"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/autograd/devicetest"
	"github.com/vertebra-ml/vertebra/nn/safetensors"
)

// mover records the device it was moved to.
type mover struct {
	dev ag.Device
	err error
}

func (m *mover) To(dev ag.Device) error { m.dev = dev; return m.err }

func TestStoreTo(t *testing.T) {
	s, c, bn, fc := tinyNet(1)
	ib := s.Root().Sub("attn").IntBuffer("relative_position_index", []int{2, 2}, []int64{3, 1, 0, 2})
	if got := ib.Index().Int32s(); !slices.Equal(got, []int32{3, 1, 0, 2}) || ib.Index().Device() != ag.CPU {
		t.Fatalf("Index = %v on %s", got, ib.Index().Device().Name())
	}
	m := &mover{}
	s.Attach(m)
	sh := devicetest.NewShadow()
	if err := s.To(sh); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*ag.Tensor{c.Weight, bn.Weight, bn.RunningMean, fc.Bias} {
		if p.Device() != sh {
			t.Errorf("%v stayed on %s", p.Shape(), p.Device().Name())
		}
	}
	if ib.Index().Device() != sh || m.dev != sh || s.Device() != sh {
		t.Errorf("index on %s, attached state on %v, store on %s", ib.Index().Device().Name(), m.dev, s.Device().Name())
	}
	if !fc.Weight.RequiresGrad() {
		t.Error("a moved parameter lost RequiresGrad")
	}
	// New tensors are built on the store's device.
	if w := s.Root().Sub("extra").Param("weight", []int{2}, Zeros()); w.Device() != sh {
		t.Errorf("a new parameter is on %s", w.Device().Name())
	}
	// Loading a checkpoint rebuilds the index from the new values.
	f := &safetensors.File{Tensors: map[string]safetensors.Tensor{"attn.relative_position_index": safetensors.FromInt64([]int{2, 2}, []int64{0, 0, 1, 1})}}
	if err := s.LoadFile(f, LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := ib.Index().Int32s(); !slices.Equal(got, []int32{0, 0, 1, 1}) {
		t.Errorf("Index after loading = %v", got)
	}
	m.err = errors.New("no room")
	if err := s.To(ag.CPU); err == nil || !strings.Contains(err.Error(), "no room") {
		t.Errorf("a failing attached state: err = %v", err)
	}
}
