package autograd

import (
	"fmt"
	"math"
)

// ScaledDotProductAttention returns softmax(q k^T * scale + bias) v for q
// (..., L, D), k (..., S, D) and v (..., S, Dv). bias, if not nil,
// broadcasts to (..., L, S): a relative position bias, or Swin's window
// mask with -100 where tokens must not attend. scale 0 means 1/sqrt(D).
func ScaledDotProductAttention(q, k, v, bias *Tensor, scale float64) *Tensor {
	if q.Rank() < 2 || k.Rank() != q.Rank() || v.Rank() != q.Rank() {
		panic(fmt.Sprintf("autograd: ScaledDotProductAttention: q %v, k %v, v %v", q.shape, k.shape, v.shape))
	}
	if scale == 0 {
		scale = 1 / math.Sqrt(float64(q.Dim(-1)))
	}
	s := MulScalar(MatMulT(q, k, false, true), scale)
	if bias != nil {
		s = Add(s, bias)
	}
	return MatMul(Softmax(s, -1), v)
}
