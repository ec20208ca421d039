package cpu

import "sync"

// Packed convolutions. Rather than writing the im2col matrix and packing
// it again for the product, the products read their B panels straight
// from a phase image of the input: for strides SH x SW, phase (a, b) of
// input channel c is the plane xq[i][j] = xp[i*SH+a][j*SW+b] of the
// zero-padded input xp. Kernel tap (kh, kw) at output (oy, ox) reads
// xp[oy*SH+kh*DH][ox*SW+kw*DW], which is phase ((kh*DH)%SH, (kw*DW)%SW) at
// (oy + kh*DH/SH, ox + kw*DW/SW). With the output indexed oy*wq + ox over a
// phase plane's width wq (columns ox >= OW are computed and dropped), row
// p of the im2col matrix is then a contiguous run of the phase image from
// rowOff[p], and packing a strip of B is a copy of nr floats per row.
//
// The forward product computes only the kept columns: its B strips are
// gathered from the runs of the phase image that the output rows are
// (convPackBKept), 8 lanes a load or two blended, so that ResNet's 3x3
// convolutions do not compute 224 columns for 196 at 14x14 and 63 for 49
// at 7x7. The data gradient keeps the padded columns (zeros in dy).
//
// The products cover several images when planes are small, so that a 7x7
// plane does not leave most of a 32-wide micro-tile empty, and the weight
// gradient sums over all images inside one product.

// convLayout describes the phase image of a shape.
type convLayout struct {
	hq, wq int   // phase plane
	cols   int   // oh*wq: the data gradient's product columns per image
	ow     int   // output columns kept per row
	ohw    int   // oh*ow: output positions kept per image
	plane  int   // hq*wq
	phases int   // phases kept per channel (only those some tap reads)
	chans  int   // phases*plane: per input channel
	img    int   // C*chans: per image
	pa, pb []int // the row and column phases kept
	rowOff []int // offset of im2col row p from its group's first channel
	// direct: the phase image is x itself (pointwise shapes).
	direct bool
}

// convLayouts caches the layouts of the shapes seen: a network has few,
// and the passes then allocate nothing of their own.
var convLayouts sync.Map // ConvShape -> *convLayout

// convLayoutOf returns the (shared, read-only) layout of s.
func convLayoutOf(s ConvShape, d *convDims) *convLayout {
	if L, ok := convLayouts.Load(s); ok {
		return L.(*convLayout)
	}
	L, _ := convLayouts.LoadOrStore(s, newConvLayout(s, d))
	return L.(*convLayout)
}

func newConvLayout(s ConvShape, d *convDims) *convLayout {
	L := &convLayout{hq: d.oh + (s.KH-1)*s.DH/s.SH, wq: d.ow + (s.KW-1)*s.DW/s.SW}
	L.direct = s.Pointwise()
	L.cols = d.oh * L.wq
	L.ow, L.ohw = d.ow, d.ohw
	L.plane = L.hq * L.wq
	idxA, idxB := make([]int, s.SH), make([]int, s.SW)
	L.pa = convPhaseSet(s.KH, s.DH, s.SH, idxA)
	L.pb = convPhaseSet(s.KW, s.DW, s.SW, idxB)
	L.phases = len(L.pa) * len(L.pb)
	L.chans = L.phases * L.plane
	L.img = s.C * L.chans
	L.rowOff = make([]int, d.k)
	for c := range d.cg {
		for kh := range s.KH {
			for kw := range s.KW {
				a, b := kh*s.DH, kw*s.DW
				ph := idxA[a%s.SH]*len(L.pb) + idxB[b%s.SW]
				L.rowOff[(c*s.KH+kh)*s.KW+kw] = c*L.chans + ph*L.plane + a/s.SH*L.wq + b/s.SW
			}
		}
	}
	return L
}

// convPhaseSet returns the phases (k*dil)%stride that the k taps reach,
// in increasing order, and records each one's index in idx.
func convPhaseSet(k, dil, stride int, idx []int) []int {
	seen := make([]bool, stride)
	for t := range k {
		seen[t*dil%stride] = true
	}
	var set []int
	for a, ok := range seen {
		if ok {
			idx[a] = len(set)
			set = append(set, a)
		}
	}
	return set
}

// size returns the length of a phase image of n images: products read up
// to (KW-1)*DW/SW < wq elements past the last plane.
func (L *convLayout) size(n int) int { return n*L.img + L.wq }

// convPhaseFill writes the phase images of images [n0, n1) of x to xq.
func convPhaseFill[T Float](s ConvShape, L *convLayout, x []T, n0, n1 int, xq []T, workers int) {
	hw := s.H * s.W
	planes := (n1 - n0) * s.C
	body := func(lo, hi int) {
		for q := lo; q < hi; q++ {
			src := x[(n0*s.C+q)*hw:][:hw]
			dst := xq[q*L.chans:][:L.chans]
			for ai, a := range L.pa {
				for bi, b := range L.pb {
					convPhasePlane(s, L, src, a, b, dst[(ai*len(L.pb)+bi)*L.plane:][:L.plane])
				}
			}
		}
	}
	if workers <= 1 || planes*L.chans < convParallelCopy {
		body(0, planes)
	} else {
		ParallelFor(planes, L.chans, body)
	}
	clear(xq[planes*L.chans : planes*L.chans+L.wq])
}

// convPhasePlane writes phase (a, b) of the input plane src to dst.
func convPhasePlane[T Float](s ConvShape, L *convLayout, src []T, a, b int, dst []T) {
	off := b - s.PW
	lo, hi := convRange(off, s.SW, s.W, L.wq)
	for i := range L.hq {
		row := dst[i*L.wq : (i+1)*L.wq]
		h := i*s.SH + a - s.PH
		if h < 0 || h >= s.H || lo >= hi {
			clear(row)
			continue
		}
		sr := src[h*s.W : (h+1)*s.W]
		if s.SW == 1 && hi-lo <= convShortRow {
			// Short rows (7x7 to 28x28 planes): plain loops, as a call to
			// memmove or memclr per row costs more than the copy itself.
			for o := range lo {
				row[o] = 0
			}
			dr, ss := row[lo:hi], sr[lo+off:hi+off]
			o := 0
			if gemmIsF32[T]() {
				d32, s32 := gemmF32(dr), gemmF32(ss)
				for ; o+8 <= len(d32); o += 8 {
					*(*[8]float32)(d32[o:]) = *(*[8]float32)(s32[o:])
				}
			}
			for ; o < len(dr); o++ {
				dr[o] = ss[o]
			}
			for o := hi; o < len(row); o++ {
				row[o] = 0
			}
			continue
		}
		clear(row[:lo])
		clear(row[hi:])
		if s.SW == 1 {
			copy(row[lo:hi], sr[lo+off:hi+off])
			continue
		}
		for o := lo; o < hi; o++ {
			row[o] = sr[o*s.SW+off]
		}
	}
}

// convShortRow is the row length up to which convPhasePlane copies with
// plain loops rather than calls to copy and clear.
const convShortRow = 32

// convPhaseGather is the adjoint of convPhaseFill for one image: it
// writes to the input plane dst the sum of its pixels' entries in the
// phase image src of one channel. Every pixel sits at one place in at most
// one phase; pixels no tap reads get zero.
func convPhaseGather[T Float](s ConvShape, L *convLayout, src []T, dst []T) {
	clear(dst)
	for ai, a := range L.pa {
		for bi, b := range L.pb {
			ps := src[(ai*len(L.pb)+bi)*L.plane:][:L.plane]
			off := b - s.PW
			lo, hi := convRange(off, s.SW, s.W, L.wq)
			if lo >= hi {
				continue
			}
			for i := range L.hq {
				h := i*s.SH + a - s.PH
				if h < 0 || h >= s.H {
					continue
				}
				row := ps[i*L.wq+lo : i*L.wq+hi]
				dr := dst[h*s.W : (h+1)*s.W]
				if s.SW == 1 {
					copy(dr[lo+off:hi+off], row)
					continue
				}
				for o, v := range row {
					dr[(lo+o)*s.SW+off] = v
				}
			}
		}
	}
}

// convPackB packs rows [p0, p0+kb) x columns [j0, j0+nb) of the im2col
// matrix of a run of images whose phase images start at xq[base] (column
// j of image n is column n*cols + j) into nr-wide strips.
func convPackB[T Float](L *convLayout, xq []T, base, p0, j0, kb, nb, nr int, dst []T) {
	rows := L.rowOff[p0 : p0+kb]
	for s := 0; s < nb; s += nr {
		d := dst[s*kb : (s+nr)*kb]
		j := j0 + s
		w := min(nr, nb-s)
		n, r := j/L.cols, j%L.cols
		start := base + n*L.img + r
		if w == nr && r+nr <= L.cols && nr%16 == 0 && gemmIsF32[T]() {
			convCopyRows(gemmF32(xq), rows, start, nr, gemmF32(d))
			continue
		}
		for p, ro := range rows {
			dp := d[p*nr : (p+1)*nr]
			got, nn, rr := 0, n, r
			for got < w {
				l := min(w-got, L.cols-rr)
				copy(dp[got:got+l], xq[base+nn*L.img+ro+rr:])
				got += l
				nn, rr = nn+1, 0
			}
			clear(dp[w:])
		}
	}
}

// keptOffset returns where kept output position j (image j/ohw, then
// row-major over oh x ow) of a run of images starts in their phase image.
func (L *convLayout) keptOffset(j int) int {
	n, r := j/L.ohw, j%L.ohw
	return n*L.img + r/L.ow*L.wq + r%L.ow
}

// convPackBKept is convPackB for a product over the kept output positions
// only: column j of a run of images whose phase images start at xq[base]
// is kept position j. A strip's columns are runs of the phase image, the
// same for every row, so each row is a gather at fixed offsets.
func convPackBKept[T Float](L *convLayout, xq []T, base, p0, j0, kb, nb, nr int, dst []T) {
	rows := L.rowOff[p0 : p0+kb]
	lo, hi := rows[0], rows[0]
	for _, r := range rows {
		lo, hi = min(lo, r), max(hi, r)
	}
	var offs [convMaxNR]int
	for s := 0; s < nb; s += nr {
		d := dst[s*kb : (s+nr)*kb]
		w := min(nr, nb-s)
		for l := range w {
			offs[l] = base + L.keptOffset(j0+s+l)
		}
		if w == nr && gemmIsF32[T]() && convGatherRows(gemmF32(xq), rows, lo, hi, offs[:nr], gemmF32(d)) {
			continue
		}
		for p, ro := range rows {
			dp := d[p*nr : (p+1)*nr]
			for l, o := range offs[:w] {
				dp[l] = xq[ro+o]
			}
			clear(dp[w:])
		}
	}
}

// convMaxNR bounds the micro-kernels' strip widths.
const convMaxNR = 32

// convGatherPlan16 is how one 16-column block of a kept strip loads: per
// half of 8 lanes, a load at off[2h] and one at off[2h+1] whose lanes
// with mask bit 31 set replace the first's (the next output row's run).
type convGatherPlan16 struct {
	off  [4]int
	mask [16]int32
}

// planGather16 plans the loads of the 16 columns at element offsets offs
// (from a row's start), which must be at most two runs of consecutive
// elements per half; it reports false otherwise.
func planGather16(offs []int) (pl convGatherPlan16, ok bool) {
	for h := range 2 {
		o := offs[8*h : 8*h+8]
		cut := 8
		for l := 1; l < 8; l++ {
			if o[l] != o[0]+l {
				cut = l
				break
			}
		}
		second := o[0]
		if cut < 8 {
			second = o[cut] - cut
			for l := cut; l < 8; l++ {
				if o[l] != second+l {
					return pl, false
				}
				pl.mask[8*h+l] = -1
			}
		}
		pl.off[2*h], pl.off[2*h+1] = o[0], second
	}
	return pl, true
}

// convAddGo is the portable convAdd.
func convAddGo[T Float](dst, src []T) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] += v
	}
}

// convCopyRowsGo is the portable convCopyRows.
func convCopyRowsGo(src []float32, rows []int, start, nr int, dst []float32) {
	for p, ro := range rows {
		copy(dst[p*nr:(p+1)*nr], src[start+ro:][:nr])
	}
}

// convPackBT packs rows [j0, j0+kb) x columns [p0, p0+nb) of the
// transposed im2col matrix (rows are the output positions of a run of
// images whose phase images start at xq[base], without the dropped
// columns; columns are im2col rows) into nr-wide strips, for the weight
// gradient.
func convPackBT[T Float](L *convLayout, xq []T, base, j0, p0, kb, nb, nr int, dst []T) {
	var buf [128]convRun
	runs := L.runs(base, j0, kb, buf[:0])
	for s := 0; s < nb; s += nr {
		d := dst[s*kb : (s+nr)*kb]
		w := min(nr, nb-s)
		convPackRunsT(xq, L.rowOff[p0+s:p0+s+w], runs, nr, d)
		if w < nr {
			for q := range kb {
				clear(d[q*nr+w : (q+1)*nr])
			}
		}
	}
}

// convRun is a run of l output positions, k steps [q, q+l) of a packed
// strip, that lie contiguously in the phase image from start.
type convRun struct{ start, q, l int }

// runs appends to buf the runs of output positions [j0, j0+kb) of images
// whose phase images start at base: whole images when no columns are
// dropped, output rows otherwise.
func (L *convLayout) runs(base, j0, kb int, buf []convRun) []convRun {
	for q := 0; q < kb; {
		j := j0 + q
		r := j % L.ohw
		l := min(kb-q, L.ohw-r)
		if L.wq != L.ow {
			l = min(kb-q, L.ow-r%L.ow)
		}
		buf = append(buf, convRun{base + L.keptOffset(j), q, l})
		q += l
	}
	return buf
}

// convPackRunsT writes, for each run and k step q < run.l,
// x[run.start+rows[jj]+q] to dst[(run.q+q)*nr+jj], four columns a pass.
func convPackRunsT[T Float](x []T, rows []int, runs []convRun, nr int, dst []T) {
	jj := 0
	if gemmIsF32[T]() {
		for ; jj+8 <= len(rows); jj += 8 {
			if !convPackRunsT8(gemmF32(x), rows, runs, nr, jj, gemmF32(dst)) {
				break
			}
		}
	}
	for ; jj+4 <= len(rows); jj += 4 {
		o0, o1, o2, o3 := rows[jj], rows[jj+1], rows[jj+2], rows[jj+3]
		for _, rn := range runs {
			r0 := x[rn.start+o0:][:rn.l]
			r1 := x[rn.start+o1:][:rn.l]
			r2 := x[rn.start+o2:][:rn.l]
			r3 := x[rn.start+o3:][:rn.l]
			d := dst[rn.q*nr:]
			for q := range r0 {
				dp := d[q*nr+jj : q*nr+jj+4 : q*nr+jj+4]
				dp[0], dp[1], dp[2], dp[3] = r0[q], r1[q], r2[q], r3[q]
			}
		}
	}
	for ; jj < len(rows); jj++ {
		for _, rn := range runs {
			d := dst[rn.q*nr:]
			for q, v := range x[rn.start+rows[jj]:][:rn.l] {
				d[q*nr+jj] = v
			}
		}
	}
}

// convChunk returns how many images each product of the forward and data
// passes covers: enough for about convChunkCols columns, in a number of
// products that splits evenly between the workers.
func convChunk(s ConvShape, L *convLayout) int {
	chunks := min(s.N, max(1, (s.N*L.cols+convChunkCols-1)/convChunkCols))
	if w := Workers; chunks > 1 && chunks < 4*w {
		chunks = min(s.N, (chunks+w-1)/w*w)
	}
	return (s.N + chunks - 1) / chunks
}

// convChunkCols is the product width worth reaching by covering several
// images: 16 micro-tile strips.
const convChunkCols = 512

// convPadRows copies rows [0, rows) of images [n0, n1) of the
// (N x rows x ohw) tensor src into dst, a (rows x (n1-n0)*cols) matrix
// whose row r holds image n's row at (n-n0)*cols, with zeros in the
// columns past OW of each output row.
func convPadRows[T Float](d *convDims, L *convLayout, src []T, total, n0, n1 int, dst []T) {
	ld := (n1 - n0) * L.cols
	for r := range total {
		for n := n0; n < n1; n++ {
			sr := src[(n*total+r)*d.ohw:][:d.ohw]
			dr := dst[r*ld+(n-n0)*L.cols:][:L.cols]
			if L.wq == d.ow {
				copy(dr, sr)
				continue
			}
			for y := range d.oh {
				row := dr[y*L.wq : (y+1)*L.wq]
				copy(row, sr[y*d.ow:(y+1)*d.ow])
				clear(row[d.ow:])
			}
		}
	}
}

// convPackedForward computes y for a shape that is not depthwise, then
// applies e (nil for none) to it.
func convPackedForward[T Float](s ConvShape, d *convDims, x, w, bias, y []T, e *convNorm[T]) {
	if conv3x3Fits[T](s, d) {
		conv3x3Forward(s, d, x, w, bias, y, e)
		return
	}
	L := convLayoutOf(s, d)
	xq := x
	if !L.direct {
		buf := gemmGetBuf[T](L.size(s.N))
		defer gemmPutBuf(buf)
		xq = *buf
		convPhaseFill(s, L, x, 0, s.N, xq, Workers)
	}
	per := convChunk(s, L)
	chunks := (s.N + per - 1) / per
	work := per * s.O * d.k * L.cols
	pre := convPrepack(s, d, w, false)
	defer convRelease(pre)
	if gemmSplitBatch(chunks, work) {
		ParallelFor(chunks, work, func(lo, hi int) {
			for c := lo; c < hi; c++ {
				convForwardChunk(s, d, L, xq, w, bias, y, pre, e, c*per, min(s.N, (c+1)*per), 1)
			}
		})
		return
	}
	for c := range chunks {
		convForwardChunk(s, d, L, xq, w, bias, y, pre, e, c*per, min(s.N, (c+1)*per), Workers)
	}
}

// convForwardChunk computes output images [n0, n1). A single image goes
// straight to y; several go to scratch, copied out with the bias. e (nil
// for none) finishes the chunk's planes: those of a single image after
// its product, the others as they are copied out.
func convForwardChunk[T Float](s ConvShape, d *convDims, L *convLayout, xq, w, bias, y []T, pre []*gemmPrepacked[T], e *convNorm[T], n0, n1, workers int) {
	cn := n1 - n0
	ncols := cn * d.ohw
	packer := convPackB[T]
	if L.wq != d.ow {
		packer = convPackBKept[T]
	}
	if cn == 1 {
		var beta T
		if bias != nil {
			for o := range s.O {
				convFill(y[(n0*s.O+o)*d.ohw:][:d.ohw], bias[o])
			}
			beta = 1
		}
		for g := range s.Groups {
			base := n0*L.img + g*d.cg*L.chans
			pack := func(p0, j0, kb, nb, nr int, dst []T) { packer(L, xq, base, p0, j0, kb, nb, nr, dst) }
			gemmRunPre(convGroupPre(pre, g), pack, false, false, d.og, ncols, d.k, 1, w[g*d.og*d.k:], d.k, nil, 0, beta, y[(n0*s.O+g*d.og)*d.ohw:], d.ohw, workers)
		}
		e.applyAll(y, s.O, d.ohw, n0, n1, workers)
		return
	}
	buf := gemmGetBuf[T](s.O * ncols)
	defer gemmPutBuf(buf)
	yq := *buf
	for g := range s.Groups {
		base := n0*L.img + g*d.cg*L.chans
		pack := func(p0, j0, kb, nb, nr int, dst []T) { packer(L, xq, base, p0, j0, kb, nb, nr, dst) }
		gemmRunPre(convGroupPre(pre, g), pack, false, false, d.og, ncols, d.k, 1, w[g*d.og*d.k:], d.k, nil, 0, 0, yq[g*d.og*ncols:], ncols, workers)
	}
	if workers <= 1 || s.O*ncols < convParallelCopy {
		convCopyOut(s, d, yq, bias, y, e, n0, n1, 0, s.O)
		return
	}
	ParallelFor(s.O, ncols, func(lo, hi int) { convCopyOut(s, d, yq, bias, y, e, n0, n1, lo, hi) })
}

// convCopyOut writes output channels [o0, o1) of images [n0, n1) from the
// product yq (kept columns only) to y, adding the bias, and applies e
// (nil for none) to every convNormBlock channels as they are written.
func convCopyOut[T Float](s ConvShape, d *convDims, yq, bias, y []T, e *convNorm[T], n0, n1, o0, o1 int) {
	if e != nil {
		for ob := o0; ob < o1; ob += convNormBlock {
			oe := min(o1, ob+convNormBlock)
			convCopyOut(s, d, yq, bias, y, nil, n0, n1, ob, oe)
			for n := n0; n < n1; n++ {
				e.apply(y, s.O, d.ohw, n, ob, oe)
			}
		}
		return
	}
	ncols := (n1 - n0) * d.ohw
	for o := o0; o < o1; o++ {
		var b T
		if bias != nil {
			b = bias[o]
		}
		for n := n0; n < n1; n++ {
			dst := y[(n*s.O+o)*d.ohw:][:d.ohw]
			copy(dst, yq[o*ncols+(n-n0)*d.ohw:][:d.ohw])
			if b != 0 {
				for i := range dst {
					dst[i] += b
				}
			}
		}
	}
}

// convPackedBackwardData computes dx for a shape that is not depthwise:
// per group, dcol = W_g^T * dy_g, whose row p is added to the phase image
// at rowOff[p] (the columns past OW are zero as dy is padded with zeros),
// then the phase image is gathered back into dx.
func convPackedBackwardData[T Float](s ConvShape, d *convDims, dy, w, dx []T) {
	if conv3x3BackwardData(s, d, dy, w, dx) {
		return
	}
	L := convLayoutOf(s, d)
	per := convChunk(s, L)
	chunks := (s.N + per - 1) / per
	work := per * s.O * d.k * L.cols
	pre := convPrepack(s, d, w, true)
	defer convRelease(pre)
	if gemmSplitBatch(chunks, work) {
		ParallelFor(chunks, work, func(lo, hi int) {
			for c := lo; c < hi; c++ {
				convBackwardDataChunk(s, d, L, dy, w, dx, pre, c*per, min(s.N, (c+1)*per), 1)
			}
		})
		return
	}
	for c := range chunks {
		convBackwardDataChunk(s, d, L, dy, w, dx, pre, c*per, min(s.N, (c+1)*per), Workers)
	}
}

func convBackwardDataChunk[T Float](s ConvShape, d *convDims, L *convLayout, dy, w, dx []T, pre []*gemmPrepacked[T], n0, n1, workers int) {
	cn := n1 - n0
	ncols := cn * L.cols
	hw := s.H * s.W
	// B: dy of the chunk, padded, unless it is one image's dy as it is.
	b, ldb := dy[n0*s.O*d.ohw:], d.ohw
	if cn > 1 || L.wq != d.ow {
		buf := gemmGetBuf[T](s.O * ncols)
		defer gemmPutBuf(buf)
		b, ldb = *buf, ncols
		convPadRows(d, L, dy, s.O, n0, n1, b)
	}
	if L.direct && cn == 1 {
		// dcol is dx itself.
		for g := range s.Groups {
			gemmRunPre(convGroupPre(pre, g), nil, true, false, d.k, ncols, d.og, 1, w[g*d.og*d.k:], d.k, b[g*d.og*ldb:], ldb, 0, dx[(n0*s.C+g*d.cg)*hw:], hw, workers)
		}
		return
	}
	colBuf := gemmGetBuf[T](d.k * ncols)
	defer gemmPutBuf(colBuf)
	dcol := *colBuf
	if L.direct {
		// Each row of dcol holds one channel of each image: copy them.
		dxc := dx[n0*s.C*hw:]
		for g := range s.Groups {
			gemmRunPre(convGroupPre(pre, g), nil, true, false, d.k, ncols, d.og, 1, w[g*d.og*d.k:], d.k, b[g*d.og*ldb:], ldb, 0, dcol, ncols, workers)
			for c := range d.cg {
				for n := range cn {
					copy(dxc[(n*s.C+g*d.cg+c)*hw:][:hw], dcol[c*ncols+n*hw:])
				}
			}
		}
		return
	}
	// The phase image of the gradient.
	buf := gemmGetBuf[T](L.size(cn))
	defer gemmPutBuf(buf)
	xq := *buf
	clear(xq[:cn*L.img])
	for g := range s.Groups {
		gemmRunPre(convGroupPre(pre, g), nil, true, false, d.k, ncols, d.og, 1, w[g*d.og*d.k:], d.k, b[g*d.og*ldb:], ldb, 0, dcol, ncols, workers)
		xg := xq[g*d.cg*L.chans:]
		if workers <= 1 || d.k*ncols < convParallelCopy {
			convScatter(s, L, dcol, cn, xg, 0, d.cg)
		} else {
			ParallelFor(d.cg, s.KH*s.KW*ncols, func(lo, hi int) { convScatter(s, L, dcol, cn, xg, lo, hi) })
		}
	}
	dxc := dx[n0*s.C*hw:]
	if workers <= 1 || cn*L.img < convParallelCopy {
		convGather(s, L, xq, dxc, 0, cn*s.C)
	} else {
		ParallelFor(cn*s.C, L.chans, func(lo, hi int) { convGather(s, L, xq, dxc, lo, hi) })
	}
}

// convScatter adds the rows of dcol (im2col rows of cn images side by
// side) for group channels [c0, c1) to their places in the phase images
// of the group, which start at xg.
func convScatter[T Float](s ConvShape, L *convLayout, dcol []T, cn int, xg []T, c0, c1 int) {
	ncols := cn * L.cols
	taps := s.KH * s.KW
	for c := c0; c < c1; c++ {
		for p := c * taps; p < (c+1)*taps; p++ {
			// Stop at the channel's end: past it lie only dropped
			// columns (zeros here), and other workers' channels.
			l := min(L.cols, (c+1)*L.chans-L.rowOff[p])
			for n := range cn {
				src := dcol[p*ncols+n*L.cols:][:l]
				convAdd(xg[n*L.img+L.rowOff[p]:][:l], src)
			}
		}
	}
}

// convGather writes input planes [q0, q1) (image-major) of dx from their
// phase images in xq.
func convGather[T Float](s ConvShape, L *convLayout, xq, dx []T, q0, q1 int) {
	hw := s.H * s.W
	for q := q0; q < q1; q++ {
		convPhaseGather(s, L, xq[q*L.chans:][:L.chans], dx[q*hw:][:hw])
	}
}

// convPackedBackwardWeight computes dw for a shape that is not depthwise:
// per group, dW_g = dy_g * col^T with the images' output positions (the
// kept ones only) as the product's inner dimension. Workers either
// split the product's output, or, when that is small next to the inner
// dimension, split the images and add their sums at the end.
func convPackedBackwardWeight[T Float](s ConvShape, d *convDims, x, dy, dw []T) {
	L := convLayoutOf(s, d)
	xq := x
	if !L.direct {
		buf := gemmGetBuf[T](L.size(s.N))
		defer gemmPutBuf(buf)
		xq = *buf
		convPhaseFill(s, L, x, 0, s.N, xq, Workers)
	}
	inner := s.N * d.ohw
	a, lda := dy, d.ohw
	if s.N > 1 {
		buf := gemmGetBuf[T](s.O * inner)
		defer gemmPutBuf(buf)
		a, lda = *buf, inner
		convByChannel(d, dy, s.O, s.N, a)
	}
	parts := 1
	if w := min(Workers, s.N); w > 1 && max(d.og, d.k) < inner && s.O*d.k*inner >= gemmParallelWork {
		parts = w
	}
	size := s.O * d.k
	product := func(part, workers int, acc []T) {
		n0, n1 := part*s.N/parts, (part+1)*s.N/parts
		j0 := n0 * d.ohw
		for g := range s.Groups {
			base := g * d.cg * L.chans
			pack := func(p0, j, kb, nb, nr int, dst []T) { convPackBT(L, xq, base, j0+p0, j, kb, nb, nr, dst) }
			gemmRunPre(nil, pack, false, true, d.og, d.k, (n1-n0)*d.ohw, 1, a[g*d.og*lda+j0:], lda, nil, 0, 0, acc[g*d.og*d.k:], d.k, workers)
		}
	}
	if parts == 1 {
		product(0, Workers, dw[:size])
		return
	}
	bufs := make([]*[]T, parts)
	parallelForWorkers(parts, s.O*d.k*inner/parts, func(_, lo, hi int) {
		for c := lo; c < hi; c++ {
			acc := dw[:size]
			if c > 0 {
				bufs[c] = gemmGetBuf[T](size)
				acc = *bufs[c]
			}
			product(c, 1, acc)
		}
	})
	ParallelFor(size, parts, func(lo, hi int) {
		for _, p := range bufs[1:] {
			for i, v := range (*p)[lo:hi] {
				dw[lo+i] += v
			}
		}
	})
	for _, p := range bufs[1:] {
		gemmPutBuf(p)
	}
}

// convByChannel reorders the (n x rows x ohw) tensor src to the (rows x
// n*ohw) matrix dst, parallel over rows.
func convByChannel[T Float](d *convDims, src []T, rows, n int, dst []T) {
	ld := n * d.ohw
	body := func(lo, hi int) {
		for r := lo; r < hi; r++ {
			for i := range n {
				copy(dst[r*ld+i*d.ohw:][:d.ohw], src[(i*rows+r)*d.ohw:][:d.ohw])
			}
		}
	}
	if rows*ld < convParallelCopy {
		body(0, rows)
		return
	}
	ParallelFor(rows, ld, body)
}
