package nn

import (
	"fmt"

	ag "github.com/vertebra-ml/vertebra/autograd"
)

// MultiheadAttention is torch.nn.MultiheadAttention with batch_first=True
// and one embedding width for query, key and value, under PyTorch's keys
// (in_proj_weight, in_proj_bias, out_proj).
type MultiheadAttention struct {
	InProjWeight *ag.Tensor // (3E, E): query, key and value rows
	InProjBias   *ag.Tensor // (3E)
	OutProj      *Linear
	Heads        int
	// Dropout, if not nil, drops attention weights in training mode
	// (PyTorch's dropout argument).
	Dropout *Dropout
}

// NewMultiheadAttention creates the projections of dim-wide attention with
// the given number of heads, initialised as PyTorch (xavier uniform in
// projection, zero biases).
func NewMultiheadAttention(b Builder, dim, heads int) *MultiheadAttention {
	if heads < 1 || dim%heads != 0 {
		panic(fmt.Sprintf("nn: MultiheadAttention %s: %d heads do not divide width %d", b.prefix, heads, dim))
	}
	bound := sqrt(6 / float64(dim+3*dim))
	m := &MultiheadAttention{
		InProjWeight: b.Param("in_proj_weight", []int{3 * dim, dim}, Uniform(-bound, bound)),
		InProjBias:   b.Param("in_proj_bias", []int{3 * dim}, Zeros()),
		Heads:        heads,
	}
	m.OutProj = NewLinear(b.Sub("out_proj"), dim, dim, true)
	ag.NoGrad(func() { m.OutProj.Bias.CopyFrom(ag.Zeros(b.store.dt, dim)) })
	return m
}

// AttentionMasks are the masks of torch.nn.MultiheadAttention.forward.
// A float mask is added to the scaled scores; a boolean mask (an int32
// tensor of 0 and 1, such as the comparison ops return) forbids attending
// where it is 1, as PyTorch's True. A query row whose every key is
// forbidden gives NaN, as in PyTorch.
type AttentionMasks struct {
	// AttnMask is (L, S), the same for every sample and head, or
	// (N*Heads, L, S), sample-major as PyTorch lays it out.
	AttnMask *ag.Tensor
	// KeyPaddingMask is (N, S): keys of each sample to ignore (padding).
	KeyPaddingMask *ag.Tensor
}

// Forward is self-attention over x (N, L, E): Attend(x, x, x, no masks).
func (m *MultiheadAttention) Forward(x *ag.Tensor) *ag.Tensor {
	return m.Attend(x, x, x, AttentionMasks{})
}

// Attend is torch.nn.MultiheadAttention.forward(query, key, value,
// key_padding_mask, attn_mask) with need_weights=False: query (N, L, E),
// key and value (N, S, E), result (N, L, E). Per head, softmax(q k^T /
// sqrt(d) + mask) v; heads concatenated, then out_proj.
func (m *MultiheadAttention) Attend(query, key, value *ag.Tensor, masks AttentionMasks) *ag.Tensor {
	if query.Rank() != 3 || key.Rank() != 3 || value.Rank() != 3 {
		panic(fmt.Sprintf("nn: MultiheadAttention: query %v, key %v, value %v must be (N, L, E) and (N, S, E)", query.Shape(), key.Shape(), value.Shape()))
	}
	n, l, e := query.Dim(0), query.Dim(1), query.Dim(2)
	s := key.Dim(1)
	if e != m.InProjWeight.Dim(1) || key.Dim(2) != e || value.Dim(2) != e || key.Dim(0) != n || value.Dim(0) != n || value.Dim(1) != s {
		panic(fmt.Sprintf("nn: MultiheadAttention: query %v, key %v, value %v for width %d (batch and width must agree, key and value lengths too)", query.Shape(), key.Shape(), value.Shape(), m.InProjWeight.Dim(1)))
	}
	h, d := m.Heads, e/m.Heads
	heads := func(t *ag.Tensor, len int) *ag.Tensor { // (N, len, E) -> (N, H, len, d)
		return ag.Permute(ag.Reshape(t, n, len, h, d), 0, 2, 1, 3)
	}
	var q, k, v *ag.Tensor
	if query == key && key == value {
		// Self-attention: one product for all three projections.
		qkv := ag.Linear(query, m.InProjWeight, m.InProjBias)           // (N, L, 3E)
		qkv = ag.Permute(ag.Reshape(qkv, n, l, 3, h, d), 2, 0, 3, 1, 4) // (3, N, H, L, d)
		parts := ag.Split(qkv, 0, 1, 1, 1)
		q, k, v = ag.Reshape(parts[0], n, h, l, d), ag.Reshape(parts[1], n, h, l, d), ag.Reshape(parts[2], n, h, l, d)
	} else {
		w := ag.Split(m.InProjWeight, 0, e, e, e)
		var bq, bk, bv *ag.Tensor
		if m.InProjBias != nil {
			bb := ag.Split(m.InProjBias, 0, e, e, e)
			bq, bk, bv = bb[0], bb[1], bb[2]
		}
		q = heads(ag.Linear(query, w[0], bq), l)
		k = heads(ag.Linear(key, w[1], bk), s)
		v = heads(ag.Linear(value, w[2], bv), s)
	}
	bias := m.maskBias(masks, n, l, s, query)
	o := Attention(q, k, v, bias, m.Dropout) // (N, H, L, d)
	return m.OutProj.Forward(ag.Reshape(ag.Permute(o, 0, 2, 1, 3), n, l, e))
}

// Attention is softmax(q k^T / sqrt(d) + bias) v for q (..., L, d), k
// (..., S, d), v (..., S, dv) and a bias broadcasting to (..., L, S) (nil
// for none), with drop applied to the attention weights in training mode.
// Without dropout (drop nil, P 0, or eval mode) it is the fused
// ag.ScaledDotProductAttention. Every attention in the module's models
// goes through here.
func Attention(q, k, v, bias *ag.Tensor, drop *Dropout) *ag.Tensor {
	if drop == nil || drop.P == 0 || !drop.store.Training() {
		return ag.ScaledDotProductAttention(q, k, v, bias, 0)
	}
	s := ag.MulScalar(ag.MatMulT(q, k, false, true), 1/sqrt(float64(q.Dim(-1))))
	if bias != nil {
		s = ag.Add(s, bias)
	}
	return ag.MatMul(drop.Forward(ag.Softmax(s, -1)), v)
}

// maskBias turns the masks into one additive bias broadcasting to
// (N, H, L, S), or nil.
func (m *MultiheadAttention) maskBias(masks AttentionMasks, n, l, s int, like *ag.Tensor) *ag.Tensor {
	var bias *ag.Tensor
	if a := masks.AttnMask; a != nil {
		switch {
		case a.Rank() == 2 && a.Dim(0) == l && a.Dim(1) == s:
		case a.Rank() == 3 && a.Dim(0) == n*m.Heads && a.Dim(1) == l && a.Dim(2) == s:
			a = ag.Reshape(a, n, m.Heads, l, s)
		default:
			panic(fmt.Sprintf("nn: MultiheadAttention: attn_mask %v: want (L, S) = (%d, %d) or (N*heads, L, S) = (%d, %d, %d)", a.Shape(), l, s, n*m.Heads, l, s))
		}
		bias = additive(a, like)
	}
	if p := masks.KeyPaddingMask; p != nil {
		if p.Rank() != 2 || p.Dim(0) != n || p.Dim(1) != s {
			panic(fmt.Sprintf("nn: MultiheadAttention: key_padding_mask %v: want (N, S) = (%d, %d)", p.Shape(), n, s))
		}
		pb := additive(ag.Reshape(p, n, 1, 1, s), like)
		if bias == nil {
			bias = pb
		} else {
			bias = ag.Add(bias, pb)
		}
	}
	return bias
}

// additive returns a mask as a bias of like's type on like's device: a
// float mask as it is, a boolean one as 0 where allowed and -inf where not.
func additive(mask, like *ag.Tensor) *ag.Tensor {
	if mask.DType() == ag.Int32 {
		return boolBias(mask, like)
	}
	return mask.AsType(like.DType()).To(like.Device())
}

// boolBias is a boolean mask as log(1 - mask): 0 where it is 0, -inf where
// it is 1, computed on the device.
func boolBias(mask, like *ag.Tensor) *ag.Tensor {
	f := mask.To(like.Device()).AsType(like.DType())
	return ag.Log(ag.AddScalar(ag.Neg(f), 1))
}
