//go:build !amd64 || purego

package cpu

// dwUseAVX512 and dwUseAVX2 are always false here; they are variables
// only so that tests can switch them as they do on amd64.
var (
	dwUseAVX512 = false
	dwUseAVX2   = false
)

func dwCorr(y, x *float32, nblk int, offs *int, w *float32, ntap int, masks, ymask *uint16, b *float32) {
	panic("cpu: dwCorr without assembly")
}

func dwDots(dy, x *float32, nblk int, offs *int, ntap int, masks, ymask *uint16, nimg, dystride, xstride int, out *float32) {
	panic("cpu: dwDots without assembly")
}

func dwSplit2(even, odd, src *float32, n int) { panic("cpu: dwSplit2 without assembly") }

func dwMerge2(dst, even, odd *float32, n int) { panic("cpu: dwMerge2 without assembly") }
