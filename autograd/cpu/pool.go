package cpu

import "math"

// MaxPool2d writes the window maxima to y and their flat in-plane input
// positions to arg. Padding acts as -inf, as in PyTorch.
//
// As PyTorch's CPU kernel, the first maximum in scan order (rows, then
// columns) wins, and so does every NaN, the last one being the argmax. The
// window is taken in two passes that keep that order: each input row's
// maxima over the window's columns (first wins, NaN wins), then the output
// rows' over the window's rows, by the same rule. Both passes compare whole
// rows at a time, without a branch per tap: on a ReLU's output, half
// zeros, the branch per tap mispredicted often enough to make the stem's
// pooling 3 % of ResNet-152 inference.
func MaxPool2d[T Float](s PoolShape, y []T, arg []int32, x []T) {
	dh, dw := max(s.DH, 1), max(s.DW, 1)
	span := (s.KW - 1) * dw // a window's width less one
	// The taps of each output column that fall inside the input, computed
	// once; inner marks the columns whose window lies wholly inside.
	kx0, kx1 := make([]int, s.OW), make([]int, s.OW)
	for ox := range s.OW {
		kx0[ox], kx1[ox] = convRange(ox*s.SW-s.PW, dw, s.W, s.KW)
	}
	inner := max(s.W-span, 0) // window starts with every tap inside
	ParallelFor(s.Planes, s.OH*s.OW*s.KH*s.KW, func(lo, hi int) {
		// rowMax/rowArg hold each input row's column maxima per output
		// column; slide/slideArg one row's maxima per window start.
		rowMax, rowArg := make([]T, s.H*s.OW), make([]int32, s.H*s.OW)
		slide, slideArg := make([]T, inner), make([]int32, inner)
		for p := lo; p < hi; p++ {
			xp := x[p*s.H*s.W : (p+1)*s.H*s.W]
			for iy := range s.H {
				xr := xp[iy*s.W : (iy+1)*s.W]
				base := int32(iy * s.W)
				windowMax(slide, slideArg, xr, s.KW, dw, base)
				rm, ra := rowMax[iy*s.OW:(iy+1)*s.OW], rowArg[iy*s.OW:(iy+1)*s.OW]
				for ox := range rm {
					ix0 := ox*s.SW - s.PW
					if ix0 >= 0 && ix0 < inner {
						rm[ox], ra[ox] = slide[ix0], slideArg[ix0]
						continue
					}
					best, bi := T(math.Inf(-1)), int32(-1)
					for kx := kx0[ox]; kx < kx1[ox]; kx++ {
						if v := xr[ix0+kx*dw]; v > best || bi < 0 || v != v {
							best, bi = v, base+int32(ix0+kx*dw)
						}
					}
					rm[ox], ra[ox] = best, bi
				}
			}
			for oy := range s.OH {
				iy0 := oy*s.SH - s.PH
				ky0, ky1 := convRange(iy0, dh, s.H, s.KH)
				o := (p*s.OH + oy) * s.OW
				yr, ar := y[o:o+s.OW], arg[o:o+s.OW]
				if ky0 == ky1 {
					for ox := range yr {
						yr[ox], ar[ox] = T(math.Inf(-1)), -1
					}
					continue
				}
				r := (iy0 + ky0*dh) * s.OW
				copy(yr, rowMax[r:r+s.OW])
				copy(ar, rowArg[r:r+s.OW])
				for ky := ky0 + 1; ky < ky1; ky++ {
					r := (iy0 + ky*dh) * s.OW
					maxMerge(yr, ar, rowMax[r:r+s.OW], rowArg[r:r+s.OW])
				}
			}
		}
	})
}

// windowMax sets best[c], arg[c] to the maximum of x[c + k*step] over
// the taps k and its index idx + c + k*step, scanning k upwards: the first
// maximum wins, and so does every NaN. x must hold the last window.
func windowMax[T Float](best []T, arg []int32, x []T, taps, step int, idx int32) {
	n := len(best)
	if n == 0 {
		return
	}
	_ = x[n-1+(taps-1)*step]
	c := 0
	if b32, ok := any(best).([]float32); ok {
		c = windowMaxF32(b32, arg, any(x).([]float32), taps, step, idx)
	}
	arg = arg[:n]
	for ; c < n; c++ {
		b, bi := x[c], idx+int32(c)
		for k := 1; k < taps; k++ {
			if v := x[c+k*step]; v > b || v != v {
				b, bi = v, idx+int32(c+k*step)
			}
		}
		best[c], arg[c] = b, bi
	}
}

// maxMerge sets best[i], arg[i] = v[i], varg[i] where v[i] > best[i] or
// v[i] is NaN: a later row of a window scan.
func maxMerge[T Float](best []T, arg []int32, v []T, varg []int32) {
	if b32, ok := any(best).([]float32); ok {
		k := maxMergeF32(b32, arg, any(v).([]float32), varg)
		best, arg, v, varg = best[k:], arg[k:], v[k:], varg[k:]
	}
	v = v[:len(best)]
	arg, varg = arg[:len(best)], varg[:len(best)]
	for i, x := range v {
		if x > best[i] || x != x {
			best[i], arg[i] = x, varg[i]
		}
	}
}

// MaxPool2dGrad routes dy to the arg positions; dx is overwritten.
func MaxPool2dGrad[T Float](s PoolShape, dx, dy []T, arg []int32) {
	ParallelFor(s.Planes, s.OH*s.OW+s.H*s.W, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			d := dx[p*s.H*s.W : (p+1)*s.H*s.W]
			clear(d)
			for o := p * s.OH * s.OW; o < (p+1)*s.OH*s.OW; o++ {
				if arg[o] >= 0 {
					d[arg[o]] += dy[o]
				}
			}
		}
	})
}

// adaptiveBin is PyTorch's adaptive pooling bin: [floor(i*in/out),
// ceil((i+1)*in/out)).
func adaptiveBin(i, in, out int) (int, int) {
	return i * in / out, ((i+1)*in + out - 1) / out
}

// AdaptiveAvgPool2d averages over PyTorch's adaptive bins.
func AdaptiveAvgPool2d[T Float](s PoolShape, y, x []T) {
	ParallelFor(s.Planes, s.H*s.W, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			xp := x[p*s.H*s.W : (p+1)*s.H*s.W]
			if s.OH == 1 && s.OW == 1 {
				// The global average (every backbone's last pooling): the
				// norms' vectorised float64 sum.
				y[p] = T(normSum(xp) / float64(len(xp)))
				continue
			}
			for oy := 0; oy < s.OH; oy++ {
				y0, y1 := adaptiveBin(oy, s.H, s.OH)
				for ox := 0; ox < s.OW; ox++ {
					x0, x1 := adaptiveBin(ox, s.W, s.OW)
					var sum float64
					for iy := y0; iy < y1; iy++ {
						for _, v := range xp[iy*s.W+x0 : iy*s.W+x1] {
							sum += float64(v)
						}
					}
					y[(p*s.OH+oy)*s.OW+ox] = T(sum / float64((y1-y0)*(x1-x0)))
				}
			}
		}
	})
}

// AdaptiveAvgPool2dGrad spreads each output gradient evenly over its bin;
// dx is overwritten.
func AdaptiveAvgPool2dGrad[T Float](s PoolShape, dx, dy []T) {
	ParallelFor(s.Planes, s.H*s.W, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			d := dx[p*s.H*s.W : (p+1)*s.H*s.W]
			clear(d)
			for oy := 0; oy < s.OH; oy++ {
				y0, y1 := adaptiveBin(oy, s.H, s.OH)
				for ox := 0; ox < s.OW; ox++ {
					x0, x1 := adaptiveBin(ox, s.W, s.OW)
					g := dy[(p*s.OH+oy)*s.OW+ox] / T((y1-y0)*(x1-x0))
					for iy := y0; iy < y1; iy++ {
						row := d[iy*s.W+x0 : iy*s.W+x1]
						for i := range row {
							row[i] += g
						}
					}
				}
			}
		}
	})
}

// bilinearTaps returns, for every output index along one axis, the two
// input indices and the weight of the second, following PyTorch's
// upsample_bilinear2d.
func bilinearTaps(in, out int, alignCorners bool) (i0, i1 []int, l1 []float64) {
	i0, i1, l1 = make([]int, out), make([]int, out), make([]float64, out)
	for o := 0; o < out; o++ {
		var src float64
		if alignCorners {
			if out > 1 {
				src = float64(o) * float64(in-1) / float64(out-1)
			}
		} else {
			src = (float64(o)+0.5)*float64(in)/float64(out) - 0.5
			if src < 0 {
				src = 0
			}
		}
		a := min(int(src), in-1)
		i0[o], i1[o], l1[o] = a, min(a+1, in-1), src-float64(a)
	}
	return i0, i1, l1
}

// Bilinear resizes every plane from H x W to OH x OW.
func Bilinear[T Float](s PoolShape, y, x []T, alignCorners bool) {
	y0, y1, ly := bilinearTaps(s.H, s.OH, alignCorners)
	x0, x1, lx := bilinearTaps(s.W, s.OW, alignCorners)
	ParallelFor(s.Planes, 8*s.OH*s.OW, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			xp := x[p*s.H*s.W : (p+1)*s.H*s.W]
			for oy := 0; oy < s.OH; oy++ {
				r0, r1, wy := xp[y0[oy]*s.W:], xp[y1[oy]*s.W:], ly[oy]
				for ox := 0; ox < s.OW; ox++ {
					wx := lx[ox]
					top := (1-wx)*float64(r0[x0[ox]]) + wx*float64(r0[x1[ox]])
					bot := (1-wx)*float64(r1[x0[ox]]) + wx*float64(r1[x1[ox]])
					y[(p*s.OH+oy)*s.OW+ox] = T((1-wy)*top + wy*bot)
				}
			}
		}
	})
}

// BilinearGrad is the adjoint of Bilinear; dx is overwritten.
func BilinearGrad[T Float](s PoolShape, dx, dy []T, alignCorners bool) {
	y0, y1, ly := bilinearTaps(s.H, s.OH, alignCorners)
	x0, x1, lx := bilinearTaps(s.W, s.OW, alignCorners)
	ParallelFor(s.Planes, 8*s.OH*s.OW, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			d := dx[p*s.H*s.W : (p+1)*s.H*s.W]
			clear(d)
			for oy := 0; oy < s.OH; oy++ {
				wy := ly[oy]
				for ox := 0; ox < s.OW; ox++ {
					g, wx := float64(dy[(p*s.OH+oy)*s.OW+ox]), lx[ox]
					d[y0[oy]*s.W+x0[ox]] += T(g * (1 - wy) * (1 - wx))
					d[y0[oy]*s.W+x1[ox]] += T(g * (1 - wy) * wx)
					d[y1[oy]*s.W+x0[ox]] += T(g * wy * (1 - wx))
					d[y1[oy]*s.W+x1[ox]] += T(g * wy * wx)
				}
			}
		}
	})
}
