package cpu

import (
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"testing"
	"time"
)

func TestABHarness(t *testing.T) {
	if os.Getenv("AB") == "" {
		t.Skip()
	}
	type cfg struct {
		name  string
		apply func()
	}
	orig := gemmAsmBlocks
	cfgs := []cfg{
		{"base", func() { gemmAsmBlocks = orig }},
		{"kc512", func() { gemmAsmBlocks = orig; gemmAsmBlocks.kc = 512 }},
		{"kc384", func() { gemmAsmBlocks = orig; gemmAsmBlocks.kc = 384 }},
		{"kc512mc96", func() { gemmAsmBlocks = orig; gemmAsmBlocks.kc = 512; gemmAsmBlocks.mc = 96 }},
		{"mc96", func() { gemmAsmBlocks = orig; gemmAsmBlocks.mc = 96 }},
	}
	defer cfgs[0].apply()
	for _, tc := range convBenchCases() {
		if tc.s.Depthwise() || (os.Getenv("AB") != "all" && tc.name != "resnet1x1" && tc.name != "resnet3x3" && tc.name != "resnet1x1_expand") {
			continue
		}
		s := tc.s
		oh, ow := s.OutHW()
		flops := 2 * float64(s.N*s.O*oh*ow*s.C/s.Groups*s.KH*s.KW)
		r := rand.New(rand.NewPCG(1, 1))
		x := gemmRandSlice[float32](r, s.N*s.C*s.H*s.W)
		w := gemmRandSlice[float32](r, s.O*s.C/s.Groups*s.KH*s.KW)
		y := make([]float32, s.N*s.O*oh*ow)
		times := make([][]float64, len(cfgs))
		for it := 0; it < 21; it++ {
			for i, c := range cfgs {
				c.apply()
				t0 := time.Now()
				Conv2dForward(s, x, w, nil, y)
				times[i] = append(times[i], time.Since(t0).Seconds())
			}
		}
		line := fmt.Sprintf("%-18s", tc.name)
		for i, c := range cfgs {
			ts := times[i]
			sort.Float64s(ts)
			line += fmt.Sprintf(" %s %5.1f/%5.1f", c.name, flops/ts[len(ts)/2]/1e9, flops/ts[0]/1e9)
		}
		fmt.Println(line)
	}
}
