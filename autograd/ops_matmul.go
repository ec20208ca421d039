package autograd

import (
	"fmt"
	"slices"
)

// MatMul is the matrix product of the last two dimensions, batched over the
// leading ones with NumPy broadcasting; a rank-1 operand is promoted to a
// matrix and the added dimension removed from the result, as np.matmul.
func MatMul(a, b *Tensor) *Tensor {
	switch {
	case a.Rank() == 1 && b.Rank() == 1:
		return Reshape(MatMulT(Reshape(a, 1, -1), Reshape(b, -1, 1), false, false), []int{}...)
	case a.Rank() == 1:
		y := MatMulT(Unsqueeze(a, 0), b, false, false)
		return Squeeze(y, -2)
	case b.Rank() == 1:
		y := MatMulT(a, Unsqueeze(b, 1), false, false)
		return Squeeze(y, -1)
	}
	return MatMulT(a, b, false, false)
}

// MatMulT is MatMul of op(a) and op(b), where op transposes the last two
// dimensions when the flag is set; both operands have rank >= 2.
func MatMulT(a, b *Tensor, transA, transB bool) *Tensor {
	checkPair("MatMul", a, b)
	if a.Rank() < 2 || b.Rank() < 2 {
		panic(fmt.Sprintf("autograd: MatMulT: shapes %v and %v need rank >= 2", a.shape, b.shape))
	}
	ra, rb := a.Rank(), b.Rank()
	m, ka := a.shape[ra-2], a.shape[ra-1]
	if transA {
		m, ka = ka, m
	}
	kb, n := b.shape[rb-2], b.shape[rb-1]
	if transB {
		kb, n = n, kb
	}
	if ka != kb {
		panic(fmt.Sprintf("autograd: MatMul: shapes %v and %v (transA=%v, transB=%v) do not agree on the inner dimension", a.shape, b.shape, transA, transB))
	}
	// A batch of row vectors times one matrix is a single tall product.
	if rb == 2 && ra > 2 && !transA {
		y := MatMulT(Reshape(a, -1, ka), b, false, transB)
		return Reshape(y, append(slices.Clone(a.shape[:ra-1]), n)...)
	}
	batchShape := broadcastShape("MatMul", a.shape[:ra-2], b.shape[:rb-2])
	batch := numel(batchShape)
	// Operands whose batch is neither full nor a single matrix are expanded.
	if nb := numel(a.shape[:ra-2]); nb != 1 && nb != batch {
		a = Expand(a, append(slices.Clone(batchShape), a.shape[ra-2:]...)...)
	}
	if nb := numel(b.shape[:rb-2]); nb != 1 && nb != batch {
		b = Expand(b, append(slices.Clone(batchShape), b.shape[rb-2:]...)...)
	}
	sa, sb := m*ka, ka*n
	if numel(a.shape[:a.Rank()-2]) == 1 {
		sa = 0
	}
	if numel(b.shape[:b.Rank()-2]) == 1 {
		sb = 0
	}
	y := a.empty(append(slices.Clone(batchShape), m, n)...)
	a.Device().Gemm(transA, transB, batch, m, n, ka, 1, a.st, sa, b.st, sb, 0, y.st)
	la, lb := likeOf(a), likeOf(b)
	// Each operand's gradient reads the other: save b only for a's, a
	// only for b's.
	savedA, savedB := a, b
	if !lb.needs {
		savedA = nil
	}
	if !la.needs {
		savedB = nil
	}
	return record(y, "matmul", []*Tensor{a, b}, func(g *Tensor) []*Tensor {
		a, b := savedA, savedB
		var ga, gb *Tensor
		if la.needs {
			switch {
			case !transA && !transB:
				ga = MatMulT(g, b, false, true)
			case !transA && transB:
				ga = MatMulT(g, b, false, false)
			case transA && !transB:
				ga = MatMulT(b, g, false, true)
			default:
				ga = MatMulT(b, g, true, true)
			}
			ga = SumTo(ga, la.shape)
		}
		if lb.needs {
			switch {
			case !transA && !transB:
				gb = MatMulT(a, g, true, false)
			case !transA && transB:
				gb = MatMulT(g, a, true, false)
			case transA && !transB:
				gb = MatMulT(a, g, false, false)
			default:
				gb = MatMulT(g, a, true, true)
			}
			gb = SumTo(gb, lb.shape)
		}
		return []*Tensor{ga, gb}
	})
}

// Linear returns x @ w^T + b for x (..., in), w (out, in) and b (out) or
// nil, as torch.nn.functional.linear.
func Linear(x, w, b *Tensor) *Tensor {
	y := MatMulT(x, w, false, true)
	if b != nil {
		y = Add(y, b)
	}
	return y
}
