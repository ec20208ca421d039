package cpu

import (
	"math"
	"testing"
)

// TestPhilox4x32KAT checks the block function against Random123's
// known-answer vectors for philox4x32_10.
func TestPhilox4x32KAT(t *testing.T) {
	tests := []struct {
		ctr  [4]uint32
		key  [2]uint32
		want [4]uint32
	}{
		{[4]uint32{}, [2]uint32{}, [4]uint32{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
		{[4]uint32{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, [2]uint32{0xffffffff, 0xffffffff}, [4]uint32{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
		{[4]uint32{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, [2]uint32{0xa4093822, 0x299f31d0}, [4]uint32{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
	}
	for _, tc := range tests {
		if got := Philox4x32(tc.ctr, tc.key); got != tc.want {
			t.Errorf("Philox4x32(%#x, %#x) = %#x, want %#x", tc.ctr, tc.key, got, tc.want)
		}
	}
}

func TestPhiloxBlockLayout(t *testing.T) {
	seed, offset := uint64(0x299f31d0a4093822), uint64(0x85a308d3243f6a88)
	want := Philox4x32([4]uint32{0x243f6a88 + 5, 0x85a308d3, 0, 0}, [2]uint32{0xa4093822, 0x299f31d0})
	if got := PhiloxBlock(seed, offset, 5); got != want {
		t.Errorf("PhiloxBlock = %#x, want %#x", got, want)
	}
	// The block number carries into the third counter word.
	want = Philox4x32([4]uint32{1, 0, 1, 0}, [2]uint32{0xa4093822, 0x299f31d0})
	if got := PhiloxBlock(seed, math.MaxUint64, 2); got != want {
		t.Errorf("PhiloxBlock with carry = %#x, want %#x", got, want)
	}
}

func TestBernoulli(t *testing.T) {
	for _, n := range []int{1, 7, 17, 33, 255, 100003} {
		dst := make([]float32, n)
		Bernoulli(dst, 42, 9, 0.7, 2)
		kept := 0
		for i, v := range dst {
			u := PhiloxUniform(42, 9, i)
			if want := float32(0); u < 0.7 {
				want = 2
				if v != want {
					t.Fatalf("n=%d: dst[%d] = %g for u=%g, want %g", n, i, v, u, want)
				}
				kept++
			} else if v != want {
				t.Fatalf("n=%d: dst[%d] = %g for u=%g, want 0", n, i, v, u)
			}
		}
		if n == 100003 {
			if f := float64(kept) / float64(n); math.Abs(f-0.7) > 0.01 {
				t.Errorf("kept fraction %.4f, want about 0.7", f)
			}
		}
	}
}
