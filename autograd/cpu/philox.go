package cpu

import "math/bits"

// Philox4x32-10's multipliers and Weyl key increments (Salmon et al.,
// "Parallel random numbers: as easy as 1, 2, 3", SC11), as in Random123,
// cuRAND and PyTorch.
const (
	philoxM0 = 0xD2511F53
	philoxM1 = 0xCD9E8D57
	philoxW0 = 0x9E3779B9
	philoxW1 = 0xBB67AE85
)

// Philox4x32 is the Philox4x32-10 block function: ten rounds over the
// 128-bit counter ctr under the 64-bit key, giving four 32-bit words.
func Philox4x32(ctr [4]uint32, key [2]uint32) [4]uint32 {
	for r := 0; r < 10; r++ {
		if r > 0 {
			key[0] += philoxW0
			key[1] += philoxW1
		}
		hi0, lo0 := bits.Mul32(philoxM0, ctr[0])
		hi1, lo1 := bits.Mul32(philoxM1, ctr[2])
		ctr = [4]uint32{hi1 ^ ctr[1] ^ key[0], lo1, hi0 ^ ctr[3] ^ key[1], lo0}
	}
	return ctr
}

// PhiloxBlock returns the four words of counter block b (a 128-bit number,
// offset + j carried into the upper words) under seed: the key is
// (low, high) 32 bits of seed, the counter (low, high) 32 bits of the
// 64-bit block number, then 0 (or the carry), 0.
func PhiloxBlock(seed, offset, j uint64) [4]uint32 {
	b, carry := bits.Add64(offset, j, 0)
	return Philox4x32([4]uint32{uint32(b), uint32(b >> 32), uint32(carry), 0}, [2]uint32{uint32(seed), uint32(seed >> 32)})
}

// PhiloxUniform is element i's uniform number in [0, 1) of the stream
// (seed, offset): word i%4 of block offset + i/4, keeping its top 24 bits,
// (w >> 8) * 2^-24, exact in float32 and float64.
func PhiloxUniform(seed, offset uint64, i int) float64 {
	w := PhiloxBlock(seed, offset, uint64(i)/4)[i%4]
	return float64(w>>8) * 0x1p-24
}

// Bernoulli writes dst[i] = value where element i's uniform number
// (PhiloxUniform) is below p, and 0 elsewhere.
func Bernoulli[T Float](dst []T, seed, offset uint64, p float64, value T) {
	ParallelFor((len(dst)+3)/4, 64, func(lo, hi int) {
		for j := lo; j < hi; j++ {
			w := PhiloxBlock(seed, offset, uint64(j))
			for k := 0; k < 4 && 4*j+k < len(dst); k++ {
				if float64(w[k]>>8)*0x1p-24 < p {
					dst[4*j+k] = value
				} else {
					dst[4*j+k] = 0
				}
			}
		}
	})
}
