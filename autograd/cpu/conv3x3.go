package cpu

// Direct 3x3 convolutions. The product of a dense 3x3 stride-1
// convolution need not go through packed panels of the input: for a run
// of output positions along a row, tap (kh, kw) of channel c reads a run
// of the padded input at a fixed offset, so a micro-kernel can broadcast
// its operand straight from the phase image while the weights, packed
// once per call as strips of 32 output channels, are the vector operand.
// That drops the gather of every B strip (9 floats per input pixel), and
// tap rows that see only padding (the top and bottom output rows) are
// skipped rather than multiplied by zero. Output channels run along the
// vectors, so tiles are transposed into the NCHW output as they finish.

// conv3x3Run, conv3x3Positions and conv3x3Channels are the tile of
// conv3x3Tile (AVX-512): two runs of 7 output positions by 32 output
// channels. conv3x3Tile6 (AVX2) computes 6 positions anywhere by 16.
const (
	conv3x3Run        = 7
	conv3x3Positions  = 2 * conv3x3Run
	conv3x3Channels   = 32
	conv3x3Positions6 = 6
	conv3x3Channels6  = 16
)

// conv3x3Kernel names the direct 3x3 kernel that dense 3x3 convolutions
// use: none, conv3x3Tile or conv3x3Tile6.
type conv3x3Kernel int

const (
	conv3x3None   conv3x3Kernel = iota
	conv3x3Wide                 // conv3x3Tile, 14 positions x 32 channels
	conv3x3Narrow               // conv3x3Tile6, 6 positions x 16 channels
)

// channels returns the output channels of a tile of k.
func (k conv3x3Kernel) channels() int {
	if k == conv3x3Wide {
		return conv3x3Channels
	}
	return conv3x3Channels6
}

// conv3x3Fits reports whether conv3x3Forward computes s: float32 with a
// direct kernel on this machine, groups 1, 3x3 taps at stride 1 without
// dilation, enough channels that the kernel's loop is long (8, or
// conv3x3MinC6 for conv3x3Tile6), output rows of a multiple of 7
// positions for conv3x3Tile, and few enough output
// channels left over in the last strip (conv3x3Waste).
func conv3x3Fits[T Float](s ConvShape, d *convDims) bool {
	k := conv3x3Use
	if k == conv3x3None || !gemmIsF32[T]() || !conv3x3Dense(s) || s.C < 8 {
		return false
	}
	if k == conv3x3Wide && d.ow%conv3x3Run != 0 || k == conv3x3Narrow && s.C < conv3x3MinC6 {
		return false
	}
	// The packed product's strips: 12 rows with AVX-512, 6 with AVX2.
	mr := 6
	if k == conv3x3Wide {
		mr = 12
	}
	w := k.channels()
	padded := (s.O + w - 1) / w * w
	rows := (s.O + mr - 1) / mr * mr
	return float64(padded) <= conv3x3Waste*float64(rows)
}

// conv3x3Dense reports whether s is a dense 3x3 stride-1 convolution
// without dilation, the shapes the direct kernels compute.
func conv3x3Dense(s ConvShape) bool {
	return s.Groups == 1 && s.KH == 3 && s.KW == 3 && s.SH == 1 && s.SW == 1 && s.DH == 1 && s.DW == 1
}

// conv3x3MinC6 is the fewest input channels for which conv3x3Tile6 beats
// the packed product on the Zen 4 capped at AVX2 (best of 25 alternating
// calls): with 48 (EfficientNetV2's 48 -> 192 at 56x56) it ran 13-15 %
// slower, with 80 (80 -> 320 at 28x28) 2-3 % slower, with 64 (ResNet's
// 56x56 stage) level, with 128 to 512 (ResNet's later stages) 5-13 %
// faster. Tests lower it.
var conv3x3MinC6 = 96

// conv3x3Waste bounds the output channels a direct kernel computes
// (rounded up to its strips of 32 or 16) over those of the packed product
// (rounded up to its strips of 12 or 6): the direct kernel runs about 1.2
// times as fast per channel, so with AVX-512 48 channels (64 against 48)
// go to the product, 64 (64 against 72) do not. Tests raise it to run
// every shape through the kernels.
var conv3x3Waste = 1.1

// conv3x3Forward computes y = conv(x, w) + bias for a shape that
// conv3x3Fits, then applies e (nil for none) to it, 32 output channels of
// one image at a time while they are in cache.
func conv3x3Forward[T Float](s ConvShape, d *convDims, x, w, bias, y []T, e *convNorm[T]) {
	L := convLayoutOf(s, d)
	xbuf := gemmGetBuf[T](L.size(s.N))
	defer gemmPutBuf(xbuf)
	xq := *xbuf
	convPhaseFill(s, L, x, 0, s.N, xq, Workers)

	nr := conv3x3Use.channels()
	wp := conv3x3Strips(s, d, nr, func(o0, oc int, dst []T) {
		gemmPackB(true, w, d.k, 0, o0, d.k, oc, nr, dst)
	})
	defer gemmPutBuf(wp)
	conv3x3Apply(s, d, L, xq, *wp, bias, y, e)
}

// conv3x3Strips returns the weights of s packed for a direct kernel:
// strips of nr output channels, each d.k steps of nr values (zero past
// O), which pack(o0, oc, dst) writes for output channels [o0, o0+oc), in
// parallel.
func conv3x3Strips[T Float](s ConvShape, d *convDims, nr int, pack func(o0, oc int, dst []T)) *[]T {
	strips := (s.O + nr - 1) / nr
	strip := nr * d.k
	buf := gemmGetBuf[T](strips * strip)
	ParallelFor(strips, strip, func(lo, hi int) {
		for st := lo; st < hi; st++ {
			o0 := st * nr
			pack(o0, min(nr, s.O-o0), (*buf)[st*strip:][:strip])
		}
	})
	return buf
}

// conv3x3Apply computes y = conv(x, w) + bias from the phase image xq of x
// and the weight strips wp, then applies e (nil for none) to it.
func conv3x3Apply[T Float](s ConvShape, d *convDims, L *convLayout, xq, wp, bias, y []T, e *convNorm[T]) {
	if conv3x3Use == conv3x3Narrow {
		conv3x3Apply6(s, d, L, xq, wp, bias, y, e)
		return
	}
	strips := (s.O + conv3x3Channels - 1) / conv3x3Channels
	strip := conv3x3Channels * d.k

	// A tile pairs run h of image n with run h of image n+1: the same
	// output row, so that both skip the same padding rows. An odd last
	// image pairs its runs h and h+1.
	halves := d.ohw / conv3x3Run
	pairs := (s.N + 1) / 2
	cost := conv3x3Run * conv3x3Channels * d.k * 2 * halves
	ParallelFor(strips*pairs, cost, func(lo, hi int) {
		var tile [conv3x3Positions * conv3x3Channels]float32
		img := gemmF32(xq)
		for item := lo; item < hi; item++ {
			st, n := item/pairs, 2*(item%pairs)
			o0 := st * conv3x3Channels
			oc := min(conv3x3Channels, s.O-o0)
			ws := gemmF32(wp[st*strip:][:strip])
			alone := n+1 == s.N
			step := 1
			if alone {
				step = 2
			}
			for h := 0; h < halves; h += step {
				n1, h1 := n+1, h
				if alone {
					n1, h1 = n, min(h+1, halves-1)
				}
				a0, kh0, kh1 := conv3x3Half(s, d, L, h)
				a1, lo1, hi1 := conv3x3Half(s, d, L, h1)
				a0 += n * L.img
				a1 += n1 * L.img
				kh0, kh1 = min(kh0, lo1), max(kh1, hi1)
				if kh0 < kh1 {
					conv3x3Tile32(img, a0, a1, ws, tile[:], s.C, L.chans, L.wq, kh0, kh1)
				} else {
					clear(tile[:])
				}
				conv3x3Store(y, tile[:], conv3x3Channels, bias, s.O, d.ohw, n, h*conv3x3Run, conv3x3Run, 0, o0, oc)
				if n1 != n || h1 != h {
					conv3x3Store(y, tile[:], conv3x3Channels, bias, s.O, d.ohw, n1, h1*conv3x3Run, conv3x3Run, conv3x3Run, o0, oc)
				}
			}
			e.apply(y, s.O, d.ohw, n, o0, o0+oc)
			if !alone {
				e.apply(y, s.O, d.ohw, n+1, o0, o0+oc)
			}
		}
	})
}

// conv3x3Store writes positions [j0, j0+np) of a tile whose rows hold nr
// channels to output positions [p0, p0+np) of image n, channels [o0,
// o0+oc) of y (O planes of ohw per image), adding the bias.
func conv3x3Store[T Float](y []T, tile []float32, nr int, bias []T, O, ohw, n, p0, np, j0, o0, oc int) {
	for o := range oc {
		var b T
		if bias != nil {
			b = bias[o0+o]
		}
		dst := y[(n*O+o0+o)*ohw+p0:][:np]
		for j := range dst {
			dst[j] = T(tile[(j0+j)*nr+o]) + b
		}
	}
}

// conv3x3BackwardData computes dx for s as conv3x3Forward and reports
// whether it did. The data gradient of a 3x3 stride-1 convolution with
// padding p is the 3x3 stride-1 convolution of dy, padded by 2-p, with the
// weights flipped in both taps and their channels swapped; it runs where
// that convolution fits (p <= 2, input widths of a multiple of 7).
func conv3x3BackwardData[T Float](s ConvShape, d *convDims, dy, w, dx []T) bool {
	t, ok := conv3x3DataShape[T](s, d)
	if !ok {
		return false
	}
	td := dimsOf(t) // declared here: the packing closure moves it to the heap
	// Strip st holds input channels [c0, c0+cc) as steps (o, 8-tap) of
	// nr: each 9-tap filter w[o][c] goes, reversed, down one lane.
	nr := conv3x3Use.channels()
	wp := conv3x3Strips(t, &td, nr, func(c0, cc int, dst []T) {
		for o := range s.O {
			src := w[(o*s.C+c0)*9:][:cc*9]
			rows := dst[o*9*nr:][:9*nr]
			for j := range nr {
				if j >= cc {
					for k := range 9 {
						rows[k*nr+j] = 0
					}
					continue
				}
				f := src[j*9:][:9]
				for k, v := range f {
					rows[(8-k)*nr+j] = v
				}
			}
		}
	})
	defer gemmPutBuf(wp)
	L := convLayoutOf(t, &td)
	xbuf := gemmGetBuf[T](L.size(t.N))
	defer gemmPutBuf(xbuf)
	convPhaseFill(t, L, dy, 0, t.N, *xbuf, Workers)
	conv3x3Apply(t, &td, L, *xbuf, *wp, nil, dx, nil)
	return true
}

// conv3x3DataShape returns the convolution of dy whose output is the data
// gradient of s, and whether conv3x3Forward computes it.
func conv3x3DataShape[T Float](s ConvShape, d *convDims) (ConvShape, bool) {
	t := ConvShape{N: s.N, C: s.O, H: d.oh, W: d.ow, O: s.C, KH: 3, KW: 3, SH: 1, SW: 1,
		PH: 2 - s.PH, PW: 2 - s.PW, DH: 1, DW: 1, Groups: 1}
	td := dimsOf(t)
	return t, conv3x3Dense(s) && s.PH <= 2 && s.PW <= 2 && conv3x3Fits[T](t, &td)
}

// conv3x3Apply6 is conv3x3Apply with conv3x3Tile6: a tile is 6
// consecutive output positions of one image (across rows where a row
// ends), whose tap rows are those any of the 6 needs.
func conv3x3Apply6[T Float](s ConvShape, d *convDims, L *convLayout, xq, wp, bias, y []T, e *convNorm[T]) {
	const nr, np = conv3x3Channels6, conv3x3Positions6
	strips := (s.O + nr - 1) / nr
	strip := nr * d.k
	tiles := (d.ohw + np - 1) / np
	ParallelFor(strips*s.N, tiles*np*nr*d.k, func(lo, hi int) {
		var tile [np * nr]float32
		var offs [np]int
		img := gemmF32(xq)
		for item := lo; item < hi; item++ {
			st, n := item/s.N, item%s.N
			o0 := st * nr
			oc := min(nr, s.O-o0)
			ws := gemmF32(wp[st*strip:][:strip])
			oy, ox := 0, 0 // of the tile's first position
			for t := range tiles {
				p0 := t * np
				kh0, kh1 := 3, 0
				py, px := oy, ox
				for j := range offs {
					if p0+j < d.ohw {
						kh0 = min(kh0, max(0, s.PH-py))
						kh1 = max(kh1, min(3, s.PH+s.H-py))
						offs[j] = n*L.img + py*L.wq + px
					} else {
						offs[j] = offs[j-1] // a last partial tile repeats its last position
					}
					if px++; px == d.ow {
						py, px = py+1, 0
					}
				}
				oy, ox = py, px
				if kh0 < kh1 {
					conv3x3Tile6F32(img, &offs, ws, tile[:], s.C, L.chans, L.wq, kh0, kh1)
				} else {
					clear(tile[:])
				}
				conv3x3Store(y, tile[:], nr, bias, s.O, d.ohw, n, p0, min(np, d.ohw-p0), 0, o0, oc)
			}
			e.apply(y, s.O, d.ohw, n, o0, o0+oc)
		}
	})
}

// conv3x3Tile6Go is conv3x3Tile6 in Go.
func conv3x3Tile6Go(img []float32, offs *[conv3x3Positions6]int, b, c []float32, cn, chans, wq, kh0, kh1 int) {
	const nr = conv3x3Channels6
	for j, a := range offs {
		conv3x3Position(img, a, b, c[j*nr:][:nr], cn, chans, wq, kh0, kh1)
	}
}

// conv3x3Position is one output position of a Go tile: acc (the strip's
// len(acc) output channels) from the window whose top-left tap is img[a],
// over tap rows [kh0, kh1).
func conv3x3Position(img []float32, a int, b, acc []float32, cn, chans, wq, kh0, kh1 int) {
	nr := len(acc)
	clear(acc)
	for ch := range cn {
		for kh := kh0; kh < kh1; kh++ {
			for kw := range 3 {
				v := img[a+ch*chans+kh*wq+kw]
				ws := b[((ch*3+kh)*3+kw)*nr:][:nr]
				for o, wv := range ws {
					acc[o] += v * wv
				}
			}
		}
	}
}

// conv3x3Half returns where the top-left tap of run h (kept output
// positions 7h to 7h+6, which lie in one output row) reads the phase
// image of its image, and the tap rows [kh0, kh1) that see input rows
// rather than padding.
func conv3x3Half(s ConvShape, d *convDims, L *convLayout, h int) (off, kh0, kh1 int) {
	p := h * conv3x3Run
	oy, ox := p/d.ow, p%d.ow
	kh0 = max(0, s.PH-oy)
	kh1 = min(3, s.PH+s.H-oy)
	return oy*L.wq + ox, kh0, max(kh0, kh1)
}

// conv3x3TileGo is conv3x3Tile in Go: the tile whose runs start at
// img[a0] and img[a1], from the weight strip b, into c (14 x 32).
func conv3x3TileGo(img []float32, a0, a1 int, b, c []float32, cn, chans, wq, kh0, kh1 int) {
	for j := range conv3x3Positions {
		a := a0 + j
		if j >= conv3x3Run {
			a = a1 + j - conv3x3Run
		}
		conv3x3Position(img, a, b, c[j*conv3x3Channels:][:conv3x3Channels], cn, chans, wq, kh0, kh1)
	}
}
