package autograd

import (
	"errors"
	"strings"
	"testing"
)

// failingDevice is the CPU whose allocations fail, as a full GPU's do.
type failingDevice struct{ Device }

var errFull = errors.New("out of memory (CUDA_ERROR_OUT_OF_MEMORY)")

func (failingDevice) Name() string { return "fake:0" }
func (failingDevice) Alloc(dt DType, n int) (Storage, error) {
	return nil, errFull
}
func (failingDevice) FromHost(data any) (Storage, error) { return nil, errFull }

func TestDeviceErrorIsCaught(t *testing.T) {
	err := CatchDeviceError(func() { FullOn(failingDevice{CPU}, Float32, 0, 1024) })
	var de *DeviceError
	if !errors.As(err, &de) || !errors.Is(err, errFull) {
		t.Fatalf("err = %v, want a DeviceError wrapping the device's", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "fake:0") || !strings.Contains(msg, "Alloc float32 x 1024") || !strings.Contains(msg, "CUDA_ERROR_OUT_OF_MEMORY") {
		t.Errorf("message %q should name the device, the allocation and the cause", msg)
	}
	// Other panics pass through.
	defer func() {
		if r := recover(); r != "other" {
			t.Errorf("recovered %v, want the original panic", r)
		}
	}()
	_ = CatchDeviceError(func() { panic("other") })
}

func TestGeneratorMasks(t *testing.T) {
	x := Ones(Float32, 4, 1000)
	a := Dropout(x, 0.25, true, NewGenerator(9)).Float32s()
	g := NewGenerator(9)
	b := Dropout(x, 0.25, true, g).Float32s()
	c := Dropout(x, 0.25, true, g).Float32s()
	same, kept := true, 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed, different masks at %d", i)
		}
		if a[i] != c[i] {
			same = false
		}
		switch a[i] {
		case 0:
		case 1 / 0.75:
			kept++
		default:
			t.Fatalf("mask value %g, want 0 or 1/(1-p)", a[i])
		}
	}
	if same {
		t.Error("the second mask of a generator repeats the first")
	}
	if f := float64(kept) / float64(len(a)); f < 0.72 || f > 0.78 {
		t.Errorf("kept %.3f of the elements, want about 0.75", f)
	}
	if seed, off := g.State(); seed != 9 || off != 2*1000 {
		t.Errorf("state after two masks of 4000 = (%d, %d), want (9, 2000)", seed, off)
	}
	// Stochastic depth keeps or drops whole samples.
	d := DropPath(Ones(Float32, 64, 3, 5), 0.5, true, NewGenerator(1)).Float32s()
	for i := 0; i < 64; i++ {
		for j := 1; j < 15; j++ {
			if d[i*15+j] != d[i*15] {
				t.Fatalf("sample %d is partly dropped", i)
			}
		}
	}
	if y := Dropout(x, 1, true, NewGenerator(1)).Float32s(); y[0] != 0 || y[len(y)-1] != 0 {
		t.Errorf("p=1 kept values")
	}
}

func TestIndexChecks(t *testing.T) {
	x := FromFloat32([]float32{1, 2, 3, 4, 5, 6}, 3, 2)
	for name, tc := range map[string]struct {
		fn   func()
		want string
	}{
		"host index":   {func() { Indices(CPU, []int{0, 3}, 3) }, "index 3 (position 1) out of range [0, 3)"},
		"device index": {func() { IndexSelect(x, 0, FromInt32([]int32{2, -1}, 2)) }, "IndexSelect: index -1 (position 1) out of range [0, 3)"},
		"float index":  {func() { IndexSelect(x, 0, Zeros(Float32, 2)) }, "want int32"},
		"gather shape": {func() { Gather(x, 1, FromInt32([]int32{0, 1}, 2)) }, "sizes must match"},
	} {
		func() {
			defer func() {
				msg, _ := recover().(string)
				if !strings.Contains(msg, tc.want) {
					t.Errorf("%s: panic %q, want one containing %q", name, msg, tc.want)
				}
			}()
			tc.fn()
		}()
	}
}

func TestMoveToAndAsType(t *testing.T) {
	w := FromFloat32([]float32{1.5, -2.5}, 2).SetRequiresGrad(true)
	Sum(Mul(w, w), nil, false).Backward()
	if err := w.MoveTo(CPU); err != nil {
		t.Fatal(err)
	}
	if err := Mul(w, w).MoveTo(CPU); err == nil || !strings.Contains(err.Error(), "only leaves move") {
		t.Errorf("MoveTo of an op result: %v", err)
	}
	if err := w.MoveTo(failingDevice{CPU}); !errors.Is(err, errFull) {
		t.Errorf("MoveTo a full device: %v, want its error", err)
	}
	if got := w.Float32s(); got[0] != 1.5 || w.Grad().Float32s()[1] != -5 {
		t.Errorf("a failed move changed the tensor: %v, grad %v", got, w.Grad().Float32s())
	}
	i := FromFloat32([]float32{2.9, -1.9, 7}, 3).AsType(Int32)
	if got := i.Int32s(); got[0] != 2 || got[1] != -1 || got[2] != 7 {
		t.Errorf("float32 to int32 = %v, want truncation [2 -1 7]", got)
	}
	if got := i.AsType(Float64).Float64s(); got[1] != -1 {
		t.Errorf("int32 to float64 = %v", got)
	}
}
