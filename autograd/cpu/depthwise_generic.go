//go:build !amd64 || purego

package cpu

// dwUseAVX512 is always false here; it is a variable only so that tests
// can switch it as they do on amd64.
var dwUseAVX512 = false

func dwCorr16(y, x *float32, nblk int, offs *int, w *float32, ntap int, masks, ymask *uint16, b *float32) {
	panic("cpu: dwCorr16 without assembly")
}

func dwDots16(dy, x *float32, nblk int, offs *int, ntap int, masks, ymask *uint16, nimg, dystride, xstride int, out *float32) {
	panic("cpu: dwDots16 without assembly")
}
