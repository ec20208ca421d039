//go:build !purego

package cpu

// dwUseAVX512 and dwUseAVX2 report whether float32 flat depthwise passes
// (see newDwFlat) use the AVX-512 or the AVX2 kernels in
// depthwise_amd64.s; AVX-512 wins when both are set (tests switch them to
// check every kernel).
var (
	dwUseAVX512 = gemmUseAVX512
	dwUseAVX2   = gemmUseAsm
)

// dwMaskLUT turns a byte of lane mask into the 8-lane mask VMASKMOVPS
// takes.
var dwMaskLUT = func() (t [256][8]uint32) {
	for m := range t {
		for l := range 8 {
			if m&(1<<l) != 0 {
				t[m][l] = 0xffffffff
			}
		}
	}
	return t
}()

//go:noescape
func dwCorr16(y, x *float32, nblk int, offs *int, w *float32, ntap int, masks, ymask *uint16, b *float32)

//go:noescape
func dwDots16(dy, x *float32, nblk int, offs *int, ntap int, masks, ymask *uint16, nimg, dystride, xstride int, out *float32)

//go:noescape
func dwCorr8(y, x *float32, nblk int, offs *int, w *float32, ntap int, masks, ymask *uint16, b *float32, lut *uint32)

//go:noescape
func dwDots8(dy, x *float32, nblk int, offs *int, ntap int, masks *uint16, nimg, dystride, xstride int, out *float32, lut *uint32)

// dwCorr runs the correlation kernel of the CPU.
func dwCorr(y, x *float32, nblk int, offs *int, w *float32, ntap int, masks, ymask *uint16, b *float32) {
	if dwUseAVX512 {
		dwCorr16(y, x, nblk, offs, w, ntap, masks, ymask, b)
		return
	}
	dwCorr8(y, x, nblk, offs, w, ntap, masks, ymask, b, &dwMaskLUT[0][0])
}

// dwDots runs the dot-product kernel of the CPU.
func dwDots(dy, x *float32, nblk int, offs *int, ntap int, masks, ymask *uint16, nimg, dystride, xstride int, out *float32) {
	if dwUseAVX512 {
		dwDots16(dy, x, nblk, offs, ntap, masks, ymask, nimg, dystride, xstride, out)
		return
	}
	dwDots8(dy, x, nblk, offs, ntap, masks, nimg, dystride, xstride, out, &dwMaskLUT[0][0])
}

// dwSplit2 writes the even elements of src[0:n] to even and the odd ones
// to odd (AVX-512).
//
//go:noescape
func dwSplit2(even, odd, src *float32, n int)

// dwMerge2 is the inverse of dwSplit2: dst[0:n] interleaves even and odd
// (AVX-512).
//
//go:noescape
func dwMerge2(dst, even, odd *float32, n int)
