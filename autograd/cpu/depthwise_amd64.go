//go:build !purego

package cpu

// dwUseAVX512 reports whether float32 depthwise convolutions of the same
// input and output size use the AVX-512 kernels in depthwise_amd64.s
// (tests switch it off to check the Go loops).
var dwUseAVX512 = gemmUseAVX512

//go:noescape
func dwCorr16(y, x *float32, nblk int, offs *int, w *float32, ntap int, masks, ymask *uint16, b *float32)

//go:noescape
func dwDots16(dy, x *float32, nblk int, offs *int, ntap int, masks, ymask *uint16, nimg, dystride, xstride int, out *float32)
