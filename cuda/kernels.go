package cuda

import (
	"fmt"
	"math"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/autograd/kernel"
)

// The autograd.Device kernels. Each takes the device lock, queues its
// kernels on the stream and returns; shapes were checked by the ops.

// Fill sets every element to v.
func (d *Device) Fill(dst ag.Storage, v float64) {
	s := d.own(dst)
	d.lock()
	defer d.unlock()
	switch s.dt {
	case ag.Float32:
		d.memset32(s.ptr, math.Float32bits(float32(v)), s.n)
	case ag.Int32:
		d.memset32(s.ptr, uint32(int32(v)), s.n)
	default:
		d.elementwise("fill_f64", int64(s.n), s, cLong(s.n), v)
	}
}

// Copy copies src to dst, converting between types.
func (d *Device) Copy(dst, src ag.Storage) {
	ds, ss := d.own(dst), d.own(src)
	d.lock()
	defer d.unlock()
	if ds.dt == ss.dt {
		if d.err == nil && ds.n > 0 {
			if err := d.drv.call("cuMemcpyDtoDAsync_v2", d.drv.cuMemcpyDtoDAsync, ds.ptr, ss.ptr, uintptr(ds.n*ds.dt.Size()), d.stream); err != nil {
				d.failLocked(err)
			}
		}
		return
	}
	name := map[ag.DType]string{ag.Float32: "f32", ag.Float64: "f64", ag.Int32: "i32"}
	d.elementwise("convert_"+name[ds.dt]+"_"+name[ss.dt], int64(ds.n), ds, ss, cLong(ds.n))
}

// AddTo accumulates dst += src.
func (d *Device) AddTo(dst, src ag.Storage) {
	ds, ss := d.own(dst), d.own(src)
	d.lock()
	defer d.unlock()
	d.elementwise("add_to"+suffix(ds.dt), int64(ds.n), ds, ss, cLong(ds.n))
}

// unaryCode maps an op to elementwise.cu's code (the same numbering, kept
// explicit so that a new op cannot silently run the wrong function).
func unaryCode(op kernel.UnaryOp) cInt {
	switch op {
	case kernel.Neg, kernel.Exp, kernel.Log, kernel.Sqrt, kernel.Abs, kernel.Tanh, kernel.ReLU, kernel.Sigmoid,
		kernel.SiLU, kernel.GELU, kernel.GELUTanh, kernel.AddScalar, kernel.MulScalar, kernel.Pow:
		return cInt(op)
	}
	panic(fmt.Sprintf("cuda: no kernel for unary op %v", op))
}

// Unary writes dst = op(x).
func (d *Device) Unary(op kernel.UnaryOp, dst, x ag.Storage, alpha float64) {
	ds, xs := d.own(dst), d.own(x)
	code := unaryCode(op)
	d.lock()
	defer d.unlock()
	d.elementwise("unary"+suffix(ds.dt), int64(ds.n), ds, xs, cLong(ds.n), code, alpha)
}

// UnaryGrad writes dx = dy * op'(x); x or y may be nil where the
// derivative does not read them.
func (d *Device) UnaryGrad(op kernel.UnaryOp, dx, x, y, dy ag.Storage, alpha float64) {
	dxs, xs, ys, dys := d.own(dx), d.own(x), d.own(y), d.own(dy)
	code := unaryCode(op)
	d.lock()
	defer d.unlock()
	d.elementwise("unary_grad_k"+suffix(dxs.dt), int64(dxs.n), dxs, xs, ys, dys, cLong(dxs.n), code, alpha)
}

// Binary writes dst = a op b over shape, reading a and b through strides.
func (d *Device) Binary(op kernel.BinaryOp, dst, a, b ag.Storage, shape, strideA, strideB []int) {
	ds, as, bs := d.own(dst), d.own(a), d.own(b)
	if op < 0 || int(op) >= kernel.NumBinaryOps {
		panic(fmt.Sprintf("cuda: no kernel for binary op %v", op))
	}
	d.lock()
	defer d.unlock()
	st, err := strided(shape, strideA, strideB)
	if err != nil {
		d.failLocked(err)
		return
	}
	d.elementwise("binary"+suffix(ds.dt), int64(ds.n), ds, as, bs, cLong(ds.n), cInt(op), st)
}

// rowsPerOutput reports whether an axis reduction should give each output
// a block (long axes over few outputs, or contiguous rows) rather than a
// thread.
func rowsPerOutput(outer, n, inner int) bool {
	return n >= 64 && (inner == 1 || outer*inner < 4096)
}

// SumAxis writes the scaled sum along the axis.
func (d *Device) SumAxis(dst, src ag.Storage, outer, n, inner int, scale float64) {
	ds, ss := d.own(dst), d.own(src)
	d.lock()
	defer d.unlock()
	args := []any{ds, ss, cInt(outer), cInt(n), cInt(inner), scale}
	switch {
	case inner == 1 && n >= 64: // contiguous rows: a block each
		d.launch("sum_rows"+suffix(ds.dt), outer*inner, 1, threads, args...)
	case inner > 1 && n >= 256 && outer*inner < 64*threads: // a long strided axis over few outputs: in chunks
		chunks := min(n/64, (8*threads*max(d.info.sms, 1)+outer*inner-1)/(outer*inner))
		part, err := d.allocLocked(ag.Float64, outer*chunks*inner)
		if err != nil {
			d.failLocked(err)
			return
		}
		defer d.releaseLocked(part)
		d.elementwise("sum_partial"+suffix(ds.dt), int64(outer*chunks*inner), part, ss, cInt(outer), cInt(n), cInt(inner), cInt(chunks))
		d.elementwise("sum_final"+suffix(ds.dt), int64(outer*inner), ds, part, cInt(outer), cInt(chunks), cInt(inner), scale)
	default: // a thread per output, coalesced across inner
		d.elementwise("sum_cols"+suffix(ds.dt), int64(outer*inner), args...)
	}
}

// MaxAxis writes the maximum along the axis and its first position.
func (d *Device) MaxAxis(dst, arg, src ag.Storage, outer, n, inner int) {
	ds, as, ss := d.own(dst), d.own(arg), d.own(src)
	d.lock()
	defer d.unlock()
	args := []any{ds, as, ss, cInt(outer), cInt(n), cInt(inner)}
	if rowsPerOutput(outer, n, inner) {
		d.launch("max_rows"+suffix(ds.dt), outer*inner, 1, threads, args...)
		return
	}
	d.elementwise("max_cols"+suffix(ds.dt), int64(outer*inner), args...)
}

// MaxAxisGrad routes dy to the arg positions; dx is overwritten.
func (d *Device) MaxAxisGrad(dx, dy, arg ag.Storage, outer, n, inner int) {
	dxs, dys, as := d.own(dx), d.own(dy), d.own(arg)
	d.lock()
	defer d.unlock()
	d.zero(dxs)
	d.elementwise("max_grad"+suffix(dxs.dt), int64(outer*inner), dxs, dys, as, cInt(outer), cInt(n), cInt(inner))
}

// Softmax computes a softmax or log-softmax along the axis.
func (d *Device) Softmax(dst, src ag.Storage, outer, n, inner int, log bool) {
	ds, ss := d.own(dst), d.own(src)
	d.lock()
	defer d.unlock()
	args := []any{ds, ss, cInt(outer), cInt(n), cInt(inner), cBool(log)}
	if inner == 1 {
		d.launch("softmax_rows"+suffix(ds.dt), outer, 1, rowThreads(n), args...)
		return
	}
	d.elementwise("softmax_cols"+suffix(ds.dt), int64(outer*inner), args...)
}

// SoftmaxGrad computes dx from the output y and dy.
func (d *Device) SoftmaxGrad(dx, y, dy ag.Storage, outer, n, inner int, log bool) {
	dxs, ys, dys := d.own(dx), d.own(y), d.own(dy)
	d.lock()
	defer d.unlock()
	args := []any{dxs, ys, dys, cInt(outer), cInt(n), cInt(inner), cBool(log)}
	if inner == 1 {
		d.launch("softmax_grad_rows"+suffix(dxs.dt), outer, 1, rowThreads(n), args...)
		return
	}
	d.elementwise("softmax_grad_cols"+suffix(dxs.dt), int64(outer*inner), args...)
}

// rowThreads is the block size for a block per row of n: a multiple of
// 32, no more than the row needs, at most threads.
func rowThreads(n int) int {
	return min(threads, max(32, (n+31)/32*32))
}

func cBool(b bool) cInt {
	if b {
		return 1
	}
	return 0
}

// Gather copies a strided view of src into the contiguous dst.
func (d *Device) Gather(dst, src ag.Storage, shape, strides []int, offset int) {
	ds, ss := d.own(dst), d.own(src)
	d.lock()
	defer d.unlock()
	st, err := strided(shape, strides, nil)
	if err != nil {
		d.failLocked(err)
		return
	}
	d.elementwise("gather"+suffix(ds.dt), int64(ds.n), ds, ss, cLong(ds.n), cLong(offset), st)
}

// Scatter writes (or adds) the contiguous src into a strided view of dst.
func (d *Device) Scatter(dst, src ag.Storage, shape, strides []int, offset int, add bool) {
	ds, ss := d.own(dst), d.own(src)
	d.lock()
	defer d.unlock()
	st, err := strided(shape, strides, nil)
	if err != nil {
		d.failLocked(err)
		return
	}
	d.elementwise("scatter"+suffix(ds.dt), int64(ss.n), ds, ss, cLong(ss.n), cLong(offset), cBool(add), st)
}

// IndexSelect picks along the axis: dst[o, k, i] = src[o, idx[k], i].
func (d *Device) IndexSelect(dst, src, idx ag.Storage, outer, n, inner int) {
	ds, ss, is := d.own(dst), d.own(src), d.own(idx)
	d.lock()
	defer d.unlock()
	k := is.n
	d.elementwise("index_select"+suffix(ds.dt), int64(outer*k*inner), ds, ss, is, cInt(outer), cInt(n), cInt(k), cInt(inner), d.flag)
}

// IndexAdd accumulates dx[o, idx[k], i] += dy[o, k, i].
func (d *Device) IndexAdd(dx, dy, idx ag.Storage, outer, n, inner int) {
	dxs, dys, is := d.own(dx), d.own(dy), d.own(idx)
	d.lock()
	defer d.unlock()
	k := is.n
	d.elementwise("index_add"+suffix(dxs.dt), int64(outer*k*inner), dxs, dys, is, cInt(outer), cInt(n), cInt(k), cInt(inner), d.flag)
}

// GatherAxis picks dst[o, j, i] = src[o, idx[o, j, i], i].
func (d *Device) GatherAxis(dst, src, idx ag.Storage, outer, n, k, inner int) {
	ds, ss, is := d.own(dst), d.own(src), d.own(idx)
	d.lock()
	defer d.unlock()
	d.elementwise("gather_axis"+suffix(ds.dt), int64(outer*k*inner), ds, ss, is, cInt(outer), cInt(n), cInt(k), cInt(inner), d.flag)
}

// GatherAxisAdd accumulates dx[o, idx[o, j, i], i] += dy[o, j, i].
func (d *Device) GatherAxisAdd(dx, dy, idx ag.Storage, outer, n, k, inner int) {
	dxs, dys, is := d.own(dx), d.own(dy), d.own(idx)
	d.lock()
	defer d.unlock()
	d.elementwise("gather_axis_add"+suffix(dxs.dt), int64(outer*k*inner), dxs, dys, is, cInt(outer), cInt(n), cInt(k), cInt(inner), d.flag)
}

// Bernoulli writes value where element i's Philox number is below p.
func (d *Device) Bernoulli(dst ag.Storage, seed, offset uint64, p, value float64) {
	ds := d.own(dst)
	var thresh uint32 // u < p exactly when w>>8 < ceil(p * 2^24)
	switch {
	case p >= 1:
		thresh = 1 << 24
	case p > 0:
		thresh = uint32(math.Ceil(p * (1 << 24)))
	}
	d.lock()
	defer d.unlock()
	d.elementwise("bernoulli"+suffix(ds.dt), int64(ds.n+3)/4, ds, cLong(ds.n), cU64(seed), cU64(offset), cU32(thresh), value)
}

// AdamW runs one fused AdamW step on p, m and v.
func (d *Device) AdamW(p, g, m, v ag.Storage, o kernel.AdamW) {
	ps, gs, ms, vs := d.own(p), d.own(g), d.own(m), d.own(v)
	decay := 1 - o.LR*o.WeightDecay
	step := o.LR / (1 - math.Pow(o.Beta1, float64(o.Step)))
	rbc2 := 1 / math.Sqrt(1-math.Pow(o.Beta2, float64(o.Step)))
	d.lock()
	defer d.unlock()
	d.elementwise("adamw"+suffix(ps.dt), int64(ps.n), ps, gs, ms, vs, cLong(ps.n), o.Beta1, o.Beta2, o.Eps, decay, step, rbc2)
}

// LayerNorm normalises each (o, i) over j.
func (d *Device) LayerNorm(y, x, w, b, mean, rstd ag.Storage, outer, n, inner int, eps float64) {
	ys, xs, ws, bs, ms, rs := d.own(y), d.own(x), d.own(w), d.own(b), d.own(mean), d.own(rstd)
	d.lock()
	defer d.unlock()
	args := []any{ys, xs, ws, bs, ms, rs, cInt(outer), cInt(n), cInt(inner), eps}
	if inner == 1 {
		d.launch("layer_norm_rows"+suffix(ys.dt), outer, 1, rowThreads(n), args...)
		return
	}
	d.elementwise("layer_norm_cols"+suffix(ys.dt), int64(outer*inner), args...)
}

// LayerNormGrad computes dx and accumulates dw and db (either may be nil).
func (d *Device) LayerNormGrad(dx, dw, db, x, w, dy, mean, rstd ag.Storage, outer, n, inner int) {
	dxs, dws, dbs, xs, ws, dys, ms, rs := d.own(dx), d.own(dw), d.own(db), d.own(x), d.own(w), d.own(dy), d.own(mean), d.own(rstd)
	d.lock()
	defer d.unlock()
	args := []any{dxs, xs, ws, dys, ms, rs, cInt(outer), cInt(n), cInt(inner)}
	if inner == 1 {
		d.launch("layer_norm_grad_rows"+suffix(dxs.dt), outer, 1, rowThreads(n), args...)
	} else {
		d.elementwise("layer_norm_grad_cols"+suffix(dxs.dt), int64(outer*inner), args...)
	}
	if dws == nil && dbs == nil {
		return
	}
	// Column sums over the outer*inner rows in two stages through float64
	// partial sums, deterministic and without atomics.
	rows := outer * inner
	per := max(64, (rows+1023)/1024)
	chunks := (rows + per - 1) / per
	part, err := d.allocLocked(ag.Float64, 2*chunks*n)
	if err != nil {
		d.failLocked(err)
		return
	}
	defer d.releaseLocked(part)
	pw, pb := part.ptr, part.ptr+uintptr(chunks*n*8)
	d.launch("layer_norm_wb_partial"+suffix(dxs.dt), (n+threads-1)/threads, chunks, threads,
		pw, pb, xs, dys, ms, rs, cInt(outer), cInt(n), cInt(inner), cInt(per))
	d.elementwise("layer_norm_wb_final"+suffix(dxs.dt), int64(n), dws, dbs, pw, pb, cInt(n), cInt(chunks))
}

// bnChunks is how many blocks share one channel's reduction: enough for
// several blocks per SM over all channels, each at least 2048 elements.
func (d *Device) bnChunks(outer, n, inner int) int {
	cnt := outer * inner
	return max(1, min((cnt+2047)/2048, (4*max(d.info.sms, 1)+n-1)/n))
}

// BatchNorm normalises each channel j over (o, i): per-channel statistics
// from chunked partial sums (two passes in training), then an element-wise
// pass.
func (d *Device) BatchNorm(y, x, w, b, res, runMean, runVar, mean, rstd ag.Storage, outer, n, inner int, training bool, momentum, eps float64, act kernel.Activation) {
	ys, xs, ws, bs, addend := d.own(y), d.own(x), d.own(w), d.own(b), d.own(res)
	rms, rvs, ms, rs := d.own(runMean), d.own(runVar), d.own(mean), d.own(rstd)
	d.lock()
	defer d.unlock()
	chunks := d.bnChunks(outer, n, inner)
	scratch, err := d.allocLocked(ag.Float64, n*chunks+3*n)
	if err != nil {
		d.failLocked(err)
		return
	}
	defer d.releaseLocked(scratch)
	part := scratch.ptr
	center := part + uintptr(8*n*chunks)
	scale, shift := center+uintptr(8*n), center+uintptr(16*n)
	sfx := suffix(ys.dt)
	cnt := cLong(outer * inner)
	if training {
		d.launch("bn_partial"+sfx, chunks, n, threads, part, xs, uintptr(0), cInt(outer), cInt(n), cInt(inner), cInt(chunks))
		d.elementwise("bn_mean", int64(n), center, part, cInt(n), cInt(chunks), cnt)
		d.launch("bn_partial"+sfx, chunks, n, threads, part, xs, center, cInt(outer), cInt(n), cInt(inner), cInt(chunks))
	}
	d.elementwise("bn_finish"+sfx, int64(n), scale, shift, ms, rs, rms, rvs, ws, bs, center, part,
		cInt(n), cInt(chunks), cnt, cBool(training), momentum, eps)
	d.elementwise("bn_apply"+sfx, int64(outer*n*inner), ys, xs, addend, scale, shift, cInt(outer), cInt(n), cInt(inner), cInt(act))
}

// Conv2dBatchNorm runs Conv2d into a temporary and BatchNorm in eval mode
// on it: the composition that the interface promises the bits of.
func (d *Device) Conv2dBatchNorm(s kernel.ConvShape, x, w, b, y, bnW, bnB, res, runMean, runVar ag.Storage, eps float64, act kernel.Activation) {
	ys := d.own(y)
	oh, ow := s.OutHW()
	var tmp [3]*storage // the convolution's output, then mean and rstd
	d.lock()
	for i, n := range []int{ys.n, s.O, s.O} {
		var err error
		if tmp[i], err = d.allocLocked(ys.dt, n); err != nil {
			for _, t := range tmp[:i] {
				d.releaseLocked(t)
			}
			d.failLocked(err)
			d.unlock()
			return
		}
	}
	d.unlock()
	d.Conv2d(s, x, w, b, tmp[0])
	d.BatchNorm(y, tmp[0], bnW, bnB, res, runMean, runVar, tmp[1], tmp[2], s.N, s.O, oh*ow, false, 0, eps, act)
	for _, t := range tmp {
		d.Release(t)
	}
}

// BatchNormGrad computes dx and accumulates dw and db (either may be nil).
func (d *Device) BatchNormGrad(dx, dw, db, x, w, b, dy, mean, rstd ag.Storage, outer, n, inner int, training bool, act kernel.Activation) {
	dxs, dws, dbs, xs, ws, dys, ms, rs := d.own(dx), d.own(dw), d.own(db), d.own(x), d.own(w), d.own(dy), d.own(mean), d.own(rstd)
	bs := d.own(b)
	d.lock()
	defer d.unlock()
	chunks := d.bnChunks(outer, n, inner)
	scratch, err := d.allocLocked(ag.Float64, 2*n*chunks+2*n)
	if err != nil {
		d.failLocked(err)
		return
	}
	defer d.releaseLocked(scratch)
	psg := scratch.ptr
	psgx := psg + uintptr(8*n*chunks)
	sums := psgx + uintptr(8*n*chunks)
	sfx := suffix(dxs.dt)
	d.launch("bn_grad_partial"+sfx, chunks, n, threads, psg, psgx, xs, ws, bs, dys, ms, rs, cInt(outer), cInt(n), cInt(inner), cInt(chunks), cInt(act))
	d.elementwise("bn_grad_finish"+sfx, int64(n), sums, dws, dbs, psg, psgx, cInt(n), cInt(chunks))
	d.elementwise("bn_grad_apply"+sfx, int64(outer*n*inner), dxs, xs, ws, bs, dys, ms, rs, sums, cInt(outer), cInt(n), cInt(inner), cBool(training), cInt(act))
}

func poolArgOf(s kernel.PoolShape) poolArg {
	return poolArg{int32(s.Planes), int32(s.H), int32(s.W), int32(s.OH), int32(s.OW), int32(s.KH), int32(s.KW),
		int32(s.SH), int32(s.SW), int32(s.PH), int32(s.PW), int32(max(s.DH, 1)), int32(max(s.DW, 1))}
}

// MaxPool2d writes window maxima and their in-plane positions.
func (d *Device) MaxPool2d(s kernel.PoolShape, y, arg, x ag.Storage) {
	ys, as, xs := d.own(y), d.own(arg), d.own(x)
	d.lock()
	defer d.unlock()
	d.elementwise("max_pool"+suffix(ys.dt), int64(s.Planes*s.OH*s.OW), ys, as, xs, poolArgOf(s))
}

// MaxPool2dGrad routes dy to the arg positions; dx is overwritten.
func (d *Device) MaxPool2dGrad(s kernel.PoolShape, dx, dy, arg ag.Storage) {
	dxs, dys, as := d.own(dx), d.own(dy), d.own(arg)
	d.lock()
	defer d.unlock()
	d.zero(dxs)
	d.elementwise("max_pool_grad"+suffix(dxs.dt), int64(s.Planes*s.OH*s.OW), dxs, dys, as, poolArgOf(s))
}

// AdaptiveAvgPool2d averages over PyTorch's adaptive bins.
func (d *Device) AdaptiveAvgPool2d(s kernel.PoolShape, y, x ag.Storage) {
	ys, xs := d.own(y), d.own(x)
	d.lock()
	defer d.unlock()
	d.elementwise("adaptive_avg_pool"+suffix(ys.dt), int64(s.Planes*s.OH*s.OW), ys, xs, poolArgOf(s))
}

// AdaptiveAvgPool2dGrad spreads each output gradient over its bin.
func (d *Device) AdaptiveAvgPool2dGrad(s kernel.PoolShape, dx, dy ag.Storage) {
	dxs, dys := d.own(dx), d.own(dy)
	d.lock()
	defer d.unlock()
	d.elementwise("adaptive_avg_pool_grad"+suffix(dxs.dt), int64(s.Planes*s.H*s.W), dxs, dys, poolArgOf(s))
}

// Bilinear resizes every plane.
func (d *Device) Bilinear(s kernel.PoolShape, y, x ag.Storage, alignCorners bool) {
	ys, xs := d.own(y), d.own(x)
	d.lock()
	defer d.unlock()
	d.elementwise("bilinear"+suffix(ys.dt), int64(s.Planes*s.OH*s.OW), ys, xs, poolArgOf(s), cBool(alignCorners))
}

// BilinearGrad is the adjoint of Bilinear; dx is overwritten.
func (d *Device) BilinearGrad(s kernel.PoolShape, dx, dy ag.Storage, alignCorners bool) {
	dxs, dys := d.own(dx), d.own(dy)
	d.lock()
	defer d.unlock()
	d.zero(dxs)
	d.elementwise("bilinear_grad"+suffix(dxs.dt), int64(s.Planes*s.OH*s.OW), dxs, dys, poolArgOf(s), cBool(alignCorners))
}

var _ ag.Device = (*Device)(nil)
