package cpu

import (
	"fmt"
	"testing"
)

// depthwiseCases crosses awkward plane sizes with the strides, paddings,
// kernels, channel multipliers and batches of depthwise layers; shapes
// whose kernel does not fit the padded plane are left out.
func depthwiseCases() []ConvShape {
	var cases []ConvShape
	for _, hw := range [][2]int{{1, 1}, {7, 7}, {17, 17}, {33, 5}, {255, 3}} {
		for _, k := range []int{3, 5, 7} {
			for _, stride := range []int{1, 2} {
				for pad := range 4 {
					for _, mult := range []int{1, 2} {
						for _, n := range []int{1, 3} {
							s := ConvShape{N: n, C: 2, H: hw[0], W: hw[1], O: 2 * mult, KH: k, KW: k,
								SH: stride, SW: stride, PH: pad, PW: pad, DH: 1, DW: 1, Groups: 2}
							if s.Validate() == nil {
								cases = append(cases, s)
							}
						}
					}
				}
			}
		}
	}
	// Dilation and unequal sides.
	cases = append(cases,
		ConvShape{N: 2, C: 3, H: 17, W: 9, O: 3, KH: 3, KW: 3, SH: 1, SW: 1, PH: 2, PW: 2, DH: 2, DW: 2, Groups: 3},
		ConvShape{N: 1, C: 2, H: 9, W: 17, O: 4, KH: 3, KW: 5, SH: 1, SW: 1, PH: 1, PW: 2, DH: 1, DW: 1, Groups: 2},
		ConvShape{N: 3, C: 4, H: 14, W: 14, O: 4, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1, Groups: 4},
		ConvShape{N: 2, C: 3, H: 56, W: 56, O: 3, KH: 7, KW: 7, SH: 1, SW: 1, PH: 3, PW: 3, DH: 1, DW: 1, Groups: 3},
	)
	return cases
}

// TestDepthwise checks all three passes of every depthwise kernel this
// machine runs against the float64 reference.
func TestDepthwise(t *testing.T) {
	kernels := []struct {
		name         string
		avx2, avx512 bool
	}{{"go", false, false}, {"avx2", true, false}, {"avx512", false, true}}
	old2, old512 := dwUseAVX2, dwUseAVX512
	defer func() { dwUseAVX2, dwUseAVX512 = old2, old512 }()
	for _, k := range kernels {
		if k.avx2 && !old2 || k.avx512 && !old512 {
			continue
		}
		dwUseAVX2, dwUseAVX512 = k.avx2, k.avx512
		on := k.avx2 || k.avx512
		g := newConvGeom(7, 7, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1)
		if fp := newDwFlat[float32](g); (fp != nil) != on {
			t.Fatalf("%s: flat plan %v for a 7x7 plane", k.name, fp)
		}
		for _, s := range depthwiseCases() {
			name := fmt.Sprintf("%s/N%d_C%d_O%d_%dx%d_k%dx%d_s%d_p%d_d%d", k.name, s.N, s.C, s.O, s.H, s.W, s.KH, s.KW, s.SH, s.PH, s.DH)
			t.Run(name, func(t *testing.T) {
				convTestPasses[float32](t, s, 2e-5)
			})
		}
	}
	dwUseAVX2, dwUseAVX512 = old2, old512
	// float64 never takes the flat kernels and stays exact.
	for _, s := range depthwiseCases()[:40] {
		convTestPasses[float64](t, s, 1e-12)
	}
}
