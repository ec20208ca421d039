package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestConv3x3Tile checks the direct 3x3 tile kernels (assembly where
// this machine runs it) against their Go versions on channel counts 1 to
// 255 and every range of tap rows.
func TestConv3x3Tile(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, cn := range []int{1, 7, 17, 33, 255} {
		for _, kh := range [][2]int{{0, 3}, {1, 3}, {0, 2}, {1, 2}, {2, 3}} {
			const wq, hq = 19, 5
			chans := wq*hq + 3
			img := gemmRandSlice[float32](r, cn*chans+wq)
			tol := gemmTol[float32](9 * cn)

			b := gemmRandSlice[float32](r, 9*cn*conv3x3Channels)
			got := make([]float32, conv3x3Positions*conv3x3Channels)
			want := make([]float32, len(got))
			conv3x3Tile32(img, 2, wq+9, b, got, cn, chans, wq, kh[0], kh[1])
			conv3x3TileGo(img, 2, wq+9, b, want, cn, chans, wq, kh[0], kh[1])
			conv3x3CheckTile(t, fmt.Sprintf("14x32 cn %d taps %v", cn, kh), got, want, tol)

			offs := [conv3x3Positions6]int{0, 1, 16, 17, wq + 3, 2*wq - 3}
			b6 := gemmRandSlice[float32](r, 9*cn*conv3x3Channels6)
			got6 := make([]float32, conv3x3Positions6*conv3x3Channels6)
			want6 := make([]float32, len(got6))
			conv3x3Tile6F32(img, &offs, b6, got6, cn, chans, wq, kh[0], kh[1])
			conv3x3Tile6Go(img, &offs, b6, want6, cn, chans, wq, kh[0], kh[1])
			conv3x3CheckTile(t, fmt.Sprintf("6x16 cn %d taps %v", cn, kh), got6, want6, tol)
		}
	}
}

func conv3x3CheckTile(t *testing.T, name string, got, want []float32, tol float64) {
	t.Helper()
	for i := range want {
		if d := math.Abs(float64(got[i] - want[i])); d > tol {
			t.Fatalf("%s: tile[%d] = %v, want %v", name, i, got[i], want[i])
		}
	}
}

// TestConv3x3Forward checks the direct 3x3 convolution against the naive
// one in float64, forward and as the data gradient, and Conv2dBatchNorm on
// it bit for bit against Conv2dForward then BatchNorm, on shapes that take
// it in one pass or both: output widths of 7 to 28, odd heights (a last
// tile of one run), padding 0 to 2 (tap rows skipped at the top and
// bottom, and none), channel counts that do not fill a strip of 32, one
// image and several, one worker and two; with each kernel (on the Go
// tiles where the CPU or the build has no assembly for it).
func TestConv3x3Forward(t *testing.T) {
	defer func(k conv3x3Kernel, waste float64, minC int) {
		conv3x3Use, conv3x3Waste, conv3x3MinC6 = k, waste, minC
	}(conv3x3Use, conv3x3Waste, conv3x3MinC6)
	conv3x3MinC6 = 8
	for _, k := range []struct {
		name string
		k    conv3x3Kernel
	}{{"14x32", conv3x3Wide}, {"6x16", conv3x3Narrow}} {
		t.Run(k.name, func(t *testing.T) {
			conv3x3Use, conv3x3Waste = k.k, 100
			testConv3x3Forward(t)
		})
	}
}

func testConv3x3Forward(t *testing.T) {
	conv := func(n, c, h, w, o, pad int) ConvShape {
		return ConvShape{N: n, C: c, H: h, W: w, O: o, KH: 3, KW: 3, SH: 1, SW: 1, PH: pad, PW: pad, DH: 1, DW: 1, Groups: 1}
	}
	shapes := []ConvShape{
		conv(1, 8, 7, 7, 1, 1),
		conv(3, 17, 7, 7, 33, 1),
		conv(2, 33, 14, 14, 70, 1),
		conv(1, 9, 5, 21, 7, 1),
		conv(2, 16, 9, 9, 40, 0),
		conv(3, 12, 3, 5, 17, 2),
		conv(1, 8, 1, 14, 32, 1),
		conv(2, 64, 28, 28, 64, 1),
		conv(2, 16, 7, 14, 24, 0),
		conv(3, 16, 7, 7, 24, 2),
	}
	for _, s := range shapes {
		d := dimsOf(s)
		fwd := conv3x3Fits[float32](s, &d)
		_, data := conv3x3DataShape[float32](s, &d)
		if !fwd && !data {
			t.Fatalf("%+v takes the direct kernel in neither pass", s)
		}
		for _, w := range []int{1, 2} {
			t.Run(fmt.Sprintf("%dx%dx%dx%d_o%d_p%d/fwd=%v/data=%v/w%d", s.N, s.C, s.H, s.W, s.O, s.PH, fwd, data, w), func(t *testing.T) {
				gemmWithWorkers(w, func() {
					r := rand.New(rand.NewPCG(9, uint64(s.C)))
					x := gemmRandSlice[float32](r, s.N*s.C*s.H*s.W)
					wt := gemmRandSlice[float32](r, s.O*d.k)
					bias := gemmRandSlice[float32](r, s.O)
					y := convNaNSlice[float32](s.N * s.O * d.ohw)
					Conv2dForward(s, x, wt, bias, y)
					convCheckClose(t, "forward", y, convNaiveForward(s, x, wt, bias), 2e-5)
					Conv2dForward(s, x, wt, nil, y)
					convCheckClose(t, "forward/nobias", y, convNaiveForward(s, x, wt, nil), 2e-5)
					dy := gemmRandSlice[float32](r, len(y))
					dx := convNaNSlice[float32](len(x))
					Conv2dBackwardData(s, dy, wt, dx)
					convCheckClose(t, "backward data", dx, convNaiveBackwardData(s, dy, wt), 2e-5)
					checkConv2dBatchNorm[float32](t, s, true, true, true, ActReLU)
					checkConv2dBatchNorm[float32](t, s, false, true, false, ActSiLU)
				})
			})
		}
	}
}
