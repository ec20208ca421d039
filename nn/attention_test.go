package nn

import (
	"math"
	"testing"

	ag "github.com/vertebra-ml/vertebra/autograd"
)

// sinVec is sin(step*i + 0.1), the values the PyTorch references below
// were computed from.
func sinVec(n int, step float64, shape ...int) *ag.Tensor {
	v := make([]float64, n)
	for i := range v {
		v[i] = math.Sin(step*float64(i) + 0.1)
	}
	return ag.FromFloat64(v, shape...)
}

// TestMultiheadAttentionMasks compares Attend with
// torch.nn.MultiheadAttention(4, 2, batch_first=True) (PyTorch 1.13,
// float64) on query (2, 3, 4), key and value (2, 4, 4).
func TestMultiheadAttentionMasks(t *testing.T) {
	const e, h, n, l, s = 4, 2, 2, 3, 4
	m := &MultiheadAttention{
		InProjWeight: sinVec(3*e*e, 0.37, 3*e, e),
		InProjBias:   sinVec(3*e, 0.91, 3*e),
		OutProj:      &Linear{Weight: sinVec(e*e, 0.53, e, e), Bias: sinVec(e, 1.3, e)},
		Heads:        h,
	}
	q := sinVec(n*l*e, 0.71, n, l, e)
	k := sinVec(n*s*e, 0.43, n, s, e)
	v := sinVec(n*s*e, 0.29, n, s, e)
	floatMask := sinVec(l*s, 1.7, l, s)
	boolMask := ag.FromInt32([]int32{0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0}, l, s)
	kpmBool := ag.FromInt32([]int32{0, 0, 1, 0, 1, 0, 0, 0}, n, s)
	kpmFloat := ag.FromFloat64([]float64{0, 0, -2.5, 0, -2.5, 0, 0, 0}, n, s)
	for _, tc := range []struct {
		name    string
		q, k, v *ag.Tensor
		masks   AttentionMasks
		want    []float64
	}{
		{"self", q, q, q, AttentionMasks{}, []float64{-0.473522619902, 4.93954864007, -3.12740799608, -0.999644740633, 1.34073302026, -0.101563999123, 0.321340382825, 0.440918202877, -0.349898167027, 4.77949074263, -3.08392938703, -0.884979221928, 1.62986751747, 1.29692664178, -1.42784120924, 0.868601743757, 0.91947452701, 2.37512228377, -1.84310209785, 0.223945259117, 1.3528245912, 1.82271579809, -1.69973075898, 0.62666972284}},
		{"cross", q, k, v, AttentionMasks{}, []float64{-0.3746554392, 4.72580582386, -3.0031241819, -0.915656258508, 0.555948775468, 2.61492686509, -1.72993625008, -0.134006317567, 0.0362410812583, 4.45252603706, -3.12871213673, -0.511260593464, -2.05266770515, 3.67250283665, -0.225446375468, -2.7622943171, -2.15206438514, 3.8408699822, -0.301827748297, -2.85091806056, -0.618950119889, 0.927207391808, 1.20696937011, -1.51246433109}},
		{"float (L, S)", q, k, v, AttentionMasks{AttnMask: floatMask}, []float64{-0.370048311347, 4.92458252359, -3.21525743434, -0.892962374255, 0.714355565769, 2.74701577048, -2.02624601731, 0.0432570187799, -0.201834535335, 4.52091913469, -2.96204003231, -0.753662093248, -1.42004162762, 3.33889886975, -0.509784457031, -2.13183674403, -2.19213686879, 3.15050555342, 0.458996486681, -2.95486657281, -0.197716971651, 0.52593522755, 1.20467092228, -1.10879254972}},
		{"float (N*H, L, S)", q, k, v, AttentionMasks{AttnMask: sinVec(n*h*l*s, 0.61, n*h, l, s)}, []float64{-0.312876281665, 4.76210407864, -3.10279931091, -0.847892048879, 0.680373202972, 2.69257024368, -1.93542163433, 0.00288040474455, 0.521638048698, 4.12421313869, -3.27134507026, -0.0340365804012, -2.35112962313, 3.27000732521, 0.493227437381, -3.11010601682, -1.53973787122, 4.20664250726, -1.29602675887, -2.17873056312, -0.256299508124, 0.631844368908, 1.15268258353, -1.16042501539}},
		{"float key padding", q, k, v, AttentionMasks{KeyPaddingMask: kpmFloat}, []float64{-0.375635712047, 4.72633780835, -3.00269930956, -0.916631816669, 0.350917079896, 2.2017552029, -1.09354658371, -0.385235872248, -0.00242457000719, 4.47241441508, -3.1108102773, -0.549838805431, -1.17764083092, 4.24277350095, -1.69584514733, -1.7974446221, -1.01076517452, 4.48249880409, -2.11299793979, -1.60165558934, -1.23960298245, 2.36842404915, 0.322968478066, -2.03076960345}},
		{"boolean (L, S) and key padding", q, k, v, AttentionMasks{AttnMask: boolMask, KeyPaddingMask: kpmBool}, []float64{-0.330444677173, 4.42798485336, -2.73640498126, -0.896294494418, -0.0914893111078, 5.33370353709, -3.92094546192, -0.565333548735, -0.00598509268237, 4.47424495433, -3.10916086753, -0.553391355448, -0.659747720438, 4.93006156981, -2.93127823908, -1.19492034347, -1.22471231337, 4.78728341505, -2.21725091811, -1.79759838637, 0.226445553552, 3.36911954499, -2.18782251727, -0.410158247945}},
		{"float (L, S) and boolean key padding", q, k, v, AttentionMasks{AttnMask: floatMask, KeyPaddingMask: kpmBool}, []float64{-0.370543985884, 4.92487626598, -3.21506843165, -0.893453438533, 2.37597002709, 1.61113860252, -2.50198614333, 1.67581465681, -0.210987329642, 4.52551704996, -2.95768753672, -0.762804085076, -0.800083921473, 3.79326501074, -1.6041078434, -1.44371137713, -0.756016951029, 4.17209819631, -2.04368285362, -1.36362106485, 0.132083007492, 3.33976572425, -2.06281410242, -0.511315256241}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := m.Attend(tc.q, tc.k, tc.v, tc.masks).Float64s()
			for i := range tc.want {
				if math.Abs(got[i]-tc.want[i]) > 1e-9 {
					t.Fatalf("out[%d] = %.12g, want %.12g", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// TestAttentionDropoutPath: with dropout that drops (almost) nothing, the
// explicit training path equals the fused one; in eval mode dropout is off.
func TestAttentionDropoutPath(t *testing.T) {
	s := NewStore(ag.Float64, 1)
	q, k, v := sinVec(2*3*4, 0.3, 2, 3, 4), sinVec(2*5*4, 0.7, 2, 5, 4), sinVec(2*5*2, 1.1, 2, 5, 2)
	bias := sinVec(3*5, 0.9, 3, 5)
	want := ag.ScaledDotProductAttention(q, k, v, bias, 0)
	if got := Attention(q, k, v, bias, NewDropout(s.Root(), 1e-15)); !ag.AllClose(got, want, 1e-12, 1e-12) {
		t.Error("training path with p ~ 0 differs from ScaledDotProductAttention")
	}
	if got := Attention(q, k, v, bias, NewDropout(s.Root(), 0.5)); ag.AllClose(got, want, 1e-6, 1e-6) {
		t.Error("p 0.5 in training mode dropped nothing")
	}
	s.SetTraining(false)
	if got := Attention(q, k, v, bias, NewDropout(s.Root(), 0.5)); !ag.AllClose(got, want, 0, 0) {
		t.Error("dropout acted in eval mode")
	}
}
