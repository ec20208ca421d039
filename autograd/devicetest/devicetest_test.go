package devicetest_test

import (
	"strings"
	"testing"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/autograd/devicetest"
	"github.com/vertebra-ml/vertebra/autograd/kernel"
)

// The CPU passes its own suite: this keeps the suite compiling, running
// and consistent with the reference, and checks that every kernel
// overwrites what it must (the destinations start as NaN on one side).
func TestCPU(t *testing.T) { devicetest.Run(t, ag.CPU) }

// offByOne is the CPU with one wrong kernel and one that is off by a
// rounding error too many.
type offByOne struct{ ag.Device }

func (d offByOne) Unary(op kernel.UnaryOp, dst, x ag.Storage, alpha float64) {
	if op == kernel.GELU {
		alpha = 0
		d.Device.Unary(kernel.MulScalar, dst, x, 0.5) // not GELU
		return
	}
	d.Device.Unary(op, dst, x, alpha)
}

func (d offByOne) Bernoulli(dst ag.Storage, seed, offset uint64, p, value float64) {
	d.Device.Bernoulli(dst, seed, offset+1, p, value) // the wrong counter block
}

func (d offByOne) MaxAxis(dst, arg, src ag.Storage, outer, n, inner int) {
	panic("not implemented")
}

// TestFindsMismatches runs the suite on a broken device: it must name each
// broken kernel and pass the rest.
func TestFindsMismatches(t *testing.T) {
	err := devicetest.Test(offByOne{ag.CPU})
	if err == nil {
		t.Fatal("a broken device passed")
	}
	msg := err.Error()
	for _, want := range []string{"Unary: gelu", "Bernoulli: n=1", "MaxAxis: panic: not implemented"} {
		if !strings.Contains(msg, want) {
			t.Errorf("report lacks %q:\n%s", want, msg)
		}
	}
	for _, clean := range []string{"Gemm", "Conv2d", "Softmax", "UnaryGrad"} {
		if strings.Contains(msg, clean+":") {
			t.Errorf("report blames %s:\n%s", clean, msg)
		}
	}
}

// The shadow device passes the suite (it is the CPU underneath) and
// refuses CPU storage.
func TestShadow(t *testing.T) {
	sh := devicetest.NewShadow()
	devicetest.Run(t, sh)
	x := ag.FromFloat32([]float32{1, 2}, 2)
	y := x.To(sh)
	if got := ag.Mul(y, y).Float32s(); got[1] != 4 {
		t.Errorf("shadow product = %v", got)
	}
	defer func() {
		if msg, _ := recover().(string); !strings.Contains(msg, "cpu") || !strings.Contains(msg, "shadow") {
			t.Errorf("mixing devices: panic %q, want one naming both devices", msg)
		}
	}()
	ag.Add(x, ag.Zeros(ag.Float32, 2).To(sh))
}
