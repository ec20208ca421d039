package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestConv3x3Tile checks the direct 3x3 tile kernel (assembly where this
// machine runs it) against conv3x3TileGo on channel counts 1 to 255 and
// every range of tap rows.
func TestConv3x3Tile(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, cn := range []int{1, 7, 17, 33, 255} {
		for _, kh := range [][2]int{{0, 3}, {1, 3}, {0, 2}, {1, 2}, {2, 3}} {
			const wq, hq = 19, 5
			chans := wq*hq + 3
			img := gemmRandSlice[float32](r, cn*chans+wq)
			b := gemmRandSlice[float32](r, 9*cn*conv3x3Channels)
			a0, a1 := 2, wq+9
			got := make([]float32, conv3x3Positions*conv3x3Channels)
			want := make([]float32, len(got))
			conv3x3Tile32(img, a0, a1, b, got, cn, chans, wq, kh[0], kh[1])
			conv3x3TileGo(img, a0, a1, b, want, cn, chans, wq, kh[0], kh[1])
			for i := range want {
				if d := math.Abs(float64(got[i] - want[i])); d > gemmTol[float32](9*cn) {
					t.Fatalf("cn %d taps %v: tile[%d] = %v, want %v", cn, kh, i, got[i], want[i])
				}
			}
		}
	}
}

// TestConv3x3Forward checks the direct 3x3 convolution against the naive
// one in float64, forward and as the data gradient, and Conv2dBatchNorm on
// it bit for bit against Conv2dForward then BatchNorm, on shapes that take
// it in one pass or both: output widths of 7 to 28, odd heights (a last
// tile of one run), padding 0 to 2 (tap rows skipped at the top and
// bottom, and none), channel counts that do not fill a strip of 32, one
// image and several, one worker and two. Without assembly it runs on
// conv3x3TileGo.
func TestConv3x3Forward(t *testing.T) {
	defer func(asm bool, waste float64) { conv3x3UseAsm, conv3x3Waste = asm, waste }(conv3x3UseAsm, conv3x3Waste)
	conv3x3UseAsm, conv3x3Waste = true, 100
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
