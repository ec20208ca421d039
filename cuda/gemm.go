package cuda

import (
	"unsafe"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/autograd/kernel"
)

// matrix is one operand of a row-major product: storage plus an element
// offset, leading dimension and batch stride.
type matrix struct {
	s      *storage
	off    int // elements
	ld     int
	stride int // elements between batch members; 0 repeats the matrix
}

func (m matrix) addr(esize int) uintptr { return m.s.ptr + uintptr(m.off*esize) }

// gemm computes, for each of batch members, C = alpha*op(A)*op(B) + beta*C
// with row-major m x k op(A), k x n op(B) and m x n C. cuBLAS is
// column-major, so it computes C^T = op(B)^T op(A)^T: the operands swap
// and each keeps its own transpose flag. The caller holds the lock.
func (d *Device) gemm(ta, tb bool, batch, m, n, k int, alpha float64, a, b matrix, beta float64, c matrix) {
	if d.err != nil || batch == 0 || m == 0 || n == 0 {
		return
	}
	dt := c.s.dt
	esize := dt.Size()
	// A batch with a shared B and contiguous, untransposed A members is one
	// product with batch*m rows.
	if batch > 1 && b.stride == 0 && !ta && a.stride == m*a.ld && a.ld == k && c.stride == m*c.ld && c.ld == n {
		m, batch = m*batch, 1
	}
	var scal [2]float64
	var scal32 [2]float32
	var pa, pb uintptr
	blas := d.blas
	if dt == ag.Float64 {
		scal = [2]float64{alpha, beta}
		pa, pb = uintptr(unsafe.Pointer(&scal[0])), uintptr(unsafe.Pointer(&scal[1]))
	} else {
		scal32 = [2]float32{float32(alpha), float32(beta)}
		pa, pb = uintptr(unsafe.Pointer(&scal32[0])), uintptr(unsafe.Pointer(&scal32[1]))
	}
	if batch == 1 {
		fn, name := blas.cublasSgemm, "cublasSgemm_v2"
		if dt == ag.Float64 {
			fn, name = blas.cublasDgemm, "cublasDgemm_v2"
		}
		err := blas.call(name, fn, d.handle, cublasOp(tb), cublasOp(ta), uintptr(n), uintptr(m), uintptr(k),
			pa, b.addr(esize), uintptr(b.ld), a.addr(esize), uintptr(a.ld), pb, c.addr(esize), uintptr(c.ld))
		if err != nil {
			d.failLocked(err)
		}
		return
	}
	// Batched: arrays of member addresses, built on the GPU.
	ptrs, err := d.allocLocked(ag.Float64, 3*batch) // 8-byte words
	if err != nil {
		d.failLocked(err)
		return
	}
	defer d.releaseLocked(ptrs)
	d.elementwise("gemm_ptrs", int64(batch), ptrs, a.addr(esize), cLong(a.stride*esize), b.addr(esize), cLong(b.stride*esize),
		c.addr(esize), cLong(c.stride*esize), cInt(batch))
	if d.err != nil {
		return
	}
	aArr, bArr, cArr := ptrs.ptr, ptrs.ptr+uintptr(8*batch), ptrs.ptr+uintptr(16*batch)
	fn, name := blas.cublasSgemmBatched, "cublasSgemmBatched"
	if dt == ag.Float64 {
		fn, name = blas.cublasDgemmBatched, "cublasDgemmBatched"
	}
	err = blas.call(name, fn, d.handle, cublasOp(tb), cublasOp(ta), uintptr(n), uintptr(m), uintptr(k),
		pa, bArr, uintptr(b.ld), aArr, uintptr(a.ld), pb, cArr, uintptr(c.ld), uintptr(batch))
	if err != nil {
		d.failLocked(err)
	}
}

// Gemm is the batched row-major product of the Device interface: C members
// are contiguous m x n, A and B members strideA and strideB apart (0
// repeats one), with the CPU's leading dimensions.
func (d *Device) Gemm(transA, transB bool, batch, m, n, k int, alpha float64, a ag.Storage, strideA int, b ag.Storage, strideB int, beta float64, c ag.Storage) {
	as, bs, cs := d.own(a), d.own(b), d.own(c)
	lda, ldb := k, n
	if transA {
		lda = m
	}
	if transB {
		ldb = k
	}
	d.lock()
	defer d.unlock()
	if k == 0 { // C = beta*C; cuBLAS rejects the zero leading dimensions
		if beta == 0 {
			d.zero(cs)
		} else {
			d.elementwise("unary"+suffix(cs.dt), int64(cs.n), cs, cs, cLong(cs.n), cInt(kernel.MulScalar), beta)
		}
		return
	}
	d.gemm(transA, transB, batch, m, n, k, alpha, matrix{as, 0, lda, strideA}, matrix{bs, 0, ldb, strideB}, beta, matrix{cs, 0, n, m * n})
}

func convArgOf(s kernel.ConvShape) convArg {
	oh, ow := s.OutHW()
	return convArg{int32(s.N), int32(s.C), int32(s.H), int32(s.W), int32(s.O), int32(s.KH), int32(s.KW), int32(s.SH), int32(s.SW),
		int32(s.PH), int32(s.PW), int32(s.DH), int32(s.DW), int32(s.Groups), int32(oh), int32(ow)}
}

// colBytes bounds the im2col scratch of one pass; images are processed in
// chunks that fit.
const colBytes = 256 << 20

// convGeometry holds the derived sizes of a convolution.
type convGeometry struct {
	ohw, hw, cg, og, k int
	chunk              int // images per im2col pass
}

func geometry(s kernel.ConvShape, esize int) convGeometry {
	oh, ow := s.OutHW()
	g := convGeometry{ohw: oh * ow, hw: s.H * s.W, cg: s.C / s.Groups, og: s.O / s.Groups}
	g.k = g.cg * s.KH * s.KW
	g.chunk = max(1, min(s.N, colBytes/max(1, g.k*g.ohw*esize)))
	return g
}

// Conv2d computes y = conv(x, w) + b: depthwise directly, otherwise per
// group a product of the weights with the input (1x1) or its im2col matrix.
func (d *Device) Conv2d(s kernel.ConvShape, x, w, b, y ag.Storage) {
	xs, ws, bs, ys := d.own(x), d.own(w), d.own(b), d.own(y)
	d.lock()
	defer d.unlock()
	if s.N == 0 {
		return
	}
	ca := convArgOf(s)
	g := geometry(s, ys.dt.Size())
	if s.Depthwise() {
		d.elementwise("dw_forward"+suffix(ys.dt), int64(s.N*s.O*g.ohw), ys, xs, ws, bs, ca)
		return
	}
	beta := 0.0
	if bs != nil {
		d.elementwise("conv_bias_fill"+suffix(ys.dt), int64(s.N*s.O*g.ohw), ys, bs, ca)
		beta = 1
	}
	if s.Pointwise() {
		for gr := range s.Groups {
			d.gemm(false, false, s.N, g.og, g.ohw, g.k, 1,
				matrix{ws, gr * g.og * g.k, g.k, 0}, matrix{xs, gr * g.cg * g.hw, g.hw, s.C * g.hw},
				beta, matrix{ys, gr * g.og * g.ohw, g.ohw, s.O * g.ohw})
		}
		return
	}
	col, err := d.allocLocked(ys.dt, g.chunk*g.k*g.ohw)
	if err != nil {
		d.failLocked(err)
		return
	}
	defer d.releaseLocked(col)
	for n0 := 0; n0 < s.N; n0 += g.chunk {
		cnt := min(g.chunk, s.N-n0)
		for gr := range s.Groups {
			d.elementwise("im2col"+suffix(ys.dt), int64(cnt*g.k*g.ohw), col, xs, ca, cInt(n0), cInt(cnt), cInt(gr))
			d.gemm(false, false, cnt, g.og, g.ohw, g.k, 1,
				matrix{ws, gr * g.og * g.k, g.k, 0}, matrix{col, 0, g.ohw, g.k * g.ohw},
				beta, matrix{ys, (n0*s.O + gr*g.og) * g.ohw, g.ohw, s.O * g.ohw})
		}
	}
}

// Conv2dBackwardData computes dx (overwritten): per group W_g^T dy_g, into
// dx directly (1x1) or through col2im.
func (d *Device) Conv2dBackwardData(s kernel.ConvShape, dy, w, dx ag.Storage) {
	dys, ws, dxs := d.own(dy), d.own(w), d.own(dx)
	d.lock()
	defer d.unlock()
	if s.N == 0 {
		return
	}
	ca := convArgOf(s)
	g := geometry(s, dxs.dt.Size())
	if s.Depthwise() {
		d.elementwise("dw_backward_data"+suffix(dxs.dt), int64(s.N*s.C*g.hw), dxs, dys, ws, ca)
		return
	}
	if s.Pointwise() {
		for gr := range s.Groups {
			d.gemm(true, false, s.N, g.cg, g.hw, g.og, 1,
				matrix{ws, gr * g.og * g.k, g.k, 0}, matrix{dys, gr * g.og * g.ohw, g.ohw, s.O * g.ohw},
				0, matrix{dxs, gr * g.cg * g.hw, g.hw, s.C * g.hw})
		}
		return
	}
	col, err := d.allocLocked(dxs.dt, g.chunk*g.k*g.ohw)
	if err != nil {
		d.failLocked(err)
		return
	}
	defer d.releaseLocked(col)
	for n0 := 0; n0 < s.N; n0 += g.chunk {
		cnt := min(g.chunk, s.N-n0)
		for gr := range s.Groups {
			d.gemm(true, false, cnt, g.k, g.ohw, g.og, 1,
				matrix{ws, gr * g.og * g.k, g.k, 0}, matrix{dys, (n0*s.O + gr*g.og) * g.ohw, g.ohw, s.O * g.ohw},
				0, matrix{col, 0, g.ohw, g.k * g.ohw})
			d.elementwise("col2im"+suffix(dxs.dt), int64(cnt*g.cg*g.hw), dxs, col, ca, cInt(n0), cInt(cnt), cInt(gr))
		}
	}
}

// Conv2dBackwardWeight computes dw (overwritten): per group the sum over
// images of dy_g times the input's (or im2col matrix's) transpose.
func (d *Device) Conv2dBackwardWeight(s kernel.ConvShape, x, dy, dw ag.Storage) {
	xs, dys, dws := d.own(x), d.own(dy), d.own(dw)
	d.lock()
	defer d.unlock()
	ca := convArgOf(s)
	g := geometry(s, dws.dt.Size())
	if s.N == 0 {
		d.zero(dws)
		return
	}
	if s.Depthwise() {
		d.launch("dw_backward_weight"+suffix(dws.dt), s.O*s.KH*s.KW, 1, threads, dws, xs, dys, ca)
		return
	}
	var col *storage
	if !s.Pointwise() {
		var err error
		if col, err = d.allocLocked(dws.dt, g.chunk*g.k*g.ohw); err != nil {
			d.failLocked(err)
			return
		}
		defer d.releaseLocked(col)
	}
	for n0 := 0; n0 < s.N; n0 += g.chunk {
		cnt := min(g.chunk, s.N-n0)
		for gr := range s.Groups {
			if col != nil {
				d.elementwise("im2col"+suffix(dws.dt), int64(cnt*g.k*g.ohw), col, xs, ca, cInt(n0), cInt(cnt), cInt(gr))
			}
			for i := range cnt {
				n := n0 + i
				src := matrix{xs, (n*s.C + gr*g.cg) * g.hw, g.hw, 0}
				if col != nil {
					src = matrix{col, i * g.k * g.ohw, g.ohw, 0}
				}
				beta := 1.0
				if n == 0 {
					beta = 0
				}
				d.gemm(false, true, 1, g.og, g.k, g.ohw, 1,
					matrix{dys, (n*s.O + gr*g.og) * g.ohw, g.ohw, 0}, src,
					beta, matrix{dws, gr * g.og * g.k, g.k, 0})
			}
		}
	}
}

// Conv2dBackwardBias computes db[o], the sum of dy over images and positions.
func (d *Device) Conv2dBackwardBias(s kernel.ConvShape, dy, db ag.Storage) {
	dys, dbs := d.own(dy), d.own(db)
	d.lock()
	defer d.unlock()
	d.launch("conv_bias_grad"+suffix(dbs.dt), s.O, 1, threads, dbs, dys, convArgOf(s))
}
