package cpu

import "math"

const (
	invSqrt2    = 0.70710678118654752440
	invSqrt2Pi  = 0.39894228040143267794
	sqrt2OverPi = 0.79788456080286535588
	geluCoef    = 0.044715
)

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// Unary writes dst[i] = op(x[i]). dst and x may be the same slice.
func Unary[T Float](op UnaryOp, dst, x []T, alpha float64) {
	checkLen("Unary", len(dst), len(x))
	a := T(alpha)
	ParallelFor(len(dst), 8, func(lo, hi int) {
		d, s := dst[lo:hi], x[lo:hi]
		switch op {
		case Neg:
			for i, v := range s {
				d[i] = -v
			}
		case AddScalar:
			for i, v := range s {
				d[i] = v + a
			}
		case MulScalar:
			for i, v := range s {
				d[i] = v * a
			}
		case ReLU:
			if d32, ok := any(d).([]float32); ok {
				reluF32(d32, any(s).([]float32))
				break
			}
			reluScalar(d, s)
		case Abs:
			for i, v := range s {
				if v < 0 {
					d[i] = -v
				} else {
					d[i] = v
				}
			}
		default:
			if d32, ok := any(d).([]float32); ok && unaryFloat32(op, d32, any(s).([]float32)) {
				break
			}
			f := unaryFunc(op, alpha)
			for i, v := range s {
				d[i] = T(f(float64(v)))
			}
		}
	})
}

func unaryFunc(op UnaryOp, alpha float64) func(float64) float64 {
	switch op {
	case Exp:
		return math.Exp
	case Log:
		return math.Log
	case Sqrt:
		return math.Sqrt
	case Tanh:
		return math.Tanh
	case Sigmoid:
		return sigmoid
	case SiLU:
		return func(x float64) float64 { return x * sigmoid(x) }
	case GELU:
		return func(x float64) float64 { return 0.5 * x * (1 + math.Erf(x*invSqrt2)) }
	case GELUTanh:
		return func(x float64) float64 {
			return 0.5 * x * (1 + math.Tanh(sqrt2OverPi*(x+geluCoef*x*x*x)))
		}
	case Pow:
		switch alpha {
		case 2:
			return func(x float64) float64 { return x * x }
		case 0.5:
			return math.Sqrt
		case -0.5:
			return func(x float64) float64 { return 1 / math.Sqrt(x) }
		}
		return func(x float64) float64 { return math.Pow(x, alpha) }
	}
	panic("cpu: Unary: no function for op " + op.String())
}

// UnaryGrad writes dx[i] = dy[i] * op'(x[i]); y holds op(x) for the ops
// whose derivative is cheaper from the output (Exp, Sqrt, Tanh, Sigmoid).
func UnaryGrad[T Float](op UnaryOp, dx, x, y, dy []T, alpha float64) {
	checkLen("UnaryGrad", len(dx), len(dy))
	a := T(alpha)
	ParallelFor(len(dx), 8, func(lo, hi int) {
		g := dy[lo:hi]
		d := dx[lo:hi]
		switch op {
		case Neg:
			for i, v := range g {
				d[i] = -v
			}
		case AddScalar:
			copy(d, g)
		case MulScalar:
			for i, v := range g {
				d[i] = v * a
			}
		case ReLU:
			if d32, ok := any(d).([]float32); ok {
				reluGradF32(d32, any(x[lo:hi]).([]float32), any(g).([]float32))
				break
			}
			reluGradScalar(d, x[lo:hi], g)
		case Abs:
			s := x[lo:hi]
			for i, v := range g {
				switch {
				case s[i] > 0:
					d[i] = v
				case s[i] < 0:
					d[i] = -v
				default:
					d[i] = 0
				}
			}
		case Exp:
			o := y[lo:hi]
			for i, v := range g {
				d[i] = v * o[i]
			}
		case Log:
			s := x[lo:hi]
			for i, v := range g {
				d[i] = v / s[i]
			}
		case Sqrt:
			o := y[lo:hi]
			for i, v := range g {
				d[i] = v / (2 * o[i])
			}
		case Tanh:
			o := y[lo:hi]
			for i, v := range g {
				d[i] = v * (1 - o[i]*o[i])
			}
		case Sigmoid:
			o := y[lo:hi]
			for i, v := range g {
				d[i] = v * o[i] * (1 - o[i])
			}
		default:
			s := x[lo:hi]
			if d32, ok := any(d).([]float32); ok && unaryGradFloat32(op, d32, any(s).([]float32), any(g).([]float32)) {
				break
			}
			f := unaryDeriv(op, alpha)
			for i, v := range g {
				d[i] = v * T(f(float64(s[i])))
			}
		}
	})
}

func unaryDeriv(op UnaryOp, alpha float64) func(float64) float64 {
	switch op {
	case SiLU:
		return func(x float64) float64 {
			s := sigmoid(x)
			return s * (1 + x*(1-s))
		}
	case GELU:
		return func(x float64) float64 {
			return 0.5*(1+math.Erf(x*invSqrt2)) + x*invSqrt2Pi*math.Exp(-0.5*x*x)
		}
	case GELUTanh:
		return func(x float64) float64 {
			u := sqrt2OverPi * (x + geluCoef*x*x*x)
			t := math.Tanh(u)
			du := sqrt2OverPi * (1 + 3*geluCoef*x*x)
			return 0.5*(1+t) + 0.5*x*(1-t*t)*du
		}
	case Pow:
		if alpha == 2 {
			return func(x float64) float64 { return 2 * x }
		}
		return func(x float64) float64 { return alpha * math.Pow(x, alpha-1) }
	}
	panic("cpu: UnaryGrad: no derivative for op " + op.String())
}

// Binary writes dst = a op b over the output shape, reading a and b through
// element strides (a stride of 0 broadcasts). dst is contiguous in shape.
func Binary[T Float](op BinaryOp, dst, a, b []T, shape, strideA, strideB []int) {
	nd := len(shape)
	if nd == 0 {
		dst[0] = binaryScalar(op, a[0], b[0])
		return
	}
	inner := shape[nd-1]
	rows := len(dst) / max(inner, 1)
	if inner == 0 || rows == 0 {
		return
	}
	if contiguous(shape, strideA) && contiguous(shape, strideB) {
		// No broadcasting: one flat row, cut where ParallelFor likes.
		ParallelFor(len(dst), 1, func(lo, hi int) { binaryRow(op, dst[lo:hi], a, lo, 1, b, lo, 1) })
		return
	}
	// Merged dimensions make longer rows: x (N, C, H, W) times a gate
	// (N, C, 1, 1) is rows of H*W against one value each.
	shape, strideA, strideB = coalesce(shape, strideA, strideB)
	nd = len(shape)
	inner = shape[nd-1]
	rows = len(dst) / inner
	ia, ib := strideA[nd-1], strideB[nd-1]
	ParallelFor(rows, inner, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			// offsets of row r in a and b
			oa, ob, rem := 0, 0, r
			for d := nd - 2; d >= 0; d-- {
				i := rem % shape[d]
				rem /= shape[d]
				oa += i * strideA[d]
				ob += i * strideB[d]
			}
			binaryRow(op, dst[r*inner:(r+1)*inner], a, oa, ia, b, ob, ib)
		}
	})
}

// coalesce merges each dimension into the next where both operands step
// through them as through one (and drops dimensions of size 1), so that
// the rows Binary loops over are as long as the broadcast allows.
func coalesce(shape, sa, sb []int) ([]int, []int, []int) {
	var sh, na, nb []int
	for d := range shape {
		if shape[d] == 1 {
			continue
		}
		if k := len(sh) - 1; k >= 0 && na[k] == sa[d]*shape[d] && nb[k] == sb[d]*shape[d] {
			sh[k] *= shape[d]
			na[k], nb[k] = sa[d], sb[d]
			continue
		}
		sh, na, nb = append(sh, shape[d]), append(na, sa[d]), append(nb, sb[d])
	}
	if len(sh) == 0 {
		return []int{1}, []int{0}, []int{0}
	}
	return sh, na, nb
}

// contiguous reports whether strides are the row-major strides of shape.
func contiguous(shape, strides []int) bool {
	s := 1
	for d := len(shape) - 1; d >= 0; d-- {
		if shape[d] != 1 && strides[d] != s {
			return false
		}
		s *= shape[d]
	}
	return true
}

func binaryScalar[T Float](op BinaryOp, x, y T) T {
	switch op {
	case Add:
		return x + y
	case Sub:
		return x - y
	case Mul:
		return x * y
	default:
		return x / y
	}
}

func binaryRow[T Float](op BinaryOp, d, a []T, oa, ia int, b []T, ob, ib int) {
	n := len(d)
	switch {
	case ia == 1 && ib == 1:
		x, y := a[oa:oa+n], b[ob:ob+n]
		if d32, ok := any(d).([]float32); ok {
			if k := binaryVVF32(op, d32, any(x).([]float32), any(y).([]float32)); k > 0 {
				d, x, y = d[k:], x[k:], y[k:]
			}
		}
		switch op {
		case Add:
			for i := range d {
				d[i] = x[i] + y[i]
			}
		case Sub:
			for i := range d {
				d[i] = x[i] - y[i]
			}
		case Mul:
			for i := range d {
				d[i] = x[i] * y[i]
			}
		case Div:
			for i := range d {
				d[i] = x[i] / y[i]
			}
		}
	case ia == 1 && ib == 0:
		x, y := a[oa:oa+n], b[ob]
		if d32, ok := any(d).([]float32); ok {
			if k := binaryVSF32(op, d32, any(x).([]float32), any(y).(float32)); k > 0 {
				d, x = d[k:], x[k:]
			}
		}
		switch op {
		case Add:
			for i := range d {
				d[i] = x[i] + y
			}
		case Sub:
			for i := range d {
				d[i] = x[i] - y
			}
		case Mul:
			for i := range d {
				d[i] = x[i] * y
			}
		case Div:
			for i := range d {
				d[i] = x[i] / y
			}
		}
	case ia == 0 && ib == 1:
		x, y := a[oa], b[ob:ob+n]
		if d32, ok := any(d).([]float32); ok && (op == Add || op == Mul) {
			if k := binaryVSF32(op, d32, any(y).([]float32), any(x).(float32)); k > 0 {
				d, y = d[k:], y[k:]
			}
		}
		switch op {
		case Add:
			for i := range d {
				d[i] = x + y[i]
			}
		case Sub:
			for i := range d {
				d[i] = x - y[i]
			}
		case Mul:
			for i := range d {
				d[i] = x * y[i]
			}
		case Div:
			for i := range d {
				d[i] = x / y[i]
			}
		}
	default:
		for i := range d {
			d[i] = binaryScalar(op, a[oa+i*ia], b[ob+i*ib])
		}
	}
}

// Fill sets every element of dst to v.
func Fill[T Float](dst []T, v T) {
	ParallelFor(len(dst), 1, func(lo, hi int) {
		d := dst[lo:hi]
		for i := range d {
			d[i] = v
		}
	})
}

// AddTo accumulates dst += src.
func AddTo[T Float](dst, src []T) {
	checkLen("AddTo", len(dst), len(src))
	ParallelFor(len(dst), 1, func(lo, hi int) {
		d, s := dst[lo:hi], src[lo:hi]
		if d32, ok := any(d).([]float32); ok {
			k := binaryVVF32(Add, d32, d32, any(s).([]float32))
			d, s = d[k:], s[k:]
		}
		for i := range d {
			d[i] += s[i]
		}
	})
}

func checkLen(fn string, a, b int) {
	if a != b {
		panic("cpu: " + fn + ": length mismatch")
	}
}

// reluScalar sets d[i] = max(s[i], 0), keeping NaN as PyTorch does, with
// a comparison the compiler turns into a conditional move: random signs
// make a branch mispredict half the time.
func reluScalar[T Float](d, s []T) {
	d = d[:len(s)]
	for i, v := range s {
		var z T
		if v < 0 {
			v = z
		}
		d[i] = v
	}
}

// reluGradScalar sets dx[i] = dy[i] where x[i] > 0, else 0.
func reluGradScalar[T Float](dx, x, dy []T) {
	dx, x = dx[:len(dy)], x[:len(dy)]
	for i, g := range dy {
		if !(x[i] > 0) {
			g = 0
		}
		dx[i] = g
	}
}
