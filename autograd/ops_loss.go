package autograd

import "fmt"

// CrossEntropyOptions are the class weights and label smoothing of
// CrossEntropy.
type CrossEntropyOptions struct {
	Weight         *Tensor // per-class weights (C), or nil
	LabelSmoothing float64 // in [0, 1]
}

// CrossEntropy is the mean cross-entropy of logits (N, C) against class
// targets, exactly as torch.nn.functional.cross_entropy with reduction
// "mean": with class weights the mean is weighted, sum_i w[t_i] nll_i /
// sum_i w[t_i]; label smoothing eps mixes in the uniform target as
// (1-eps) * nll + eps/C * sum_c w[c] * -log p_c, divided by the same
// weight sum.
func CrossEntropy(logits *Tensor, targets []int, o CrossEntropyOptions) *Tensor {
	if logits.Rank() != 2 || logits.shape[0] != len(targets) {
		panic(fmt.Sprintf("autograd: CrossEntropy: logits %v for %d targets", logits.shape, len(targets)))
	}
	n, c := logits.shape[0], logits.shape[1]
	if o.LabelSmoothing < 0 || o.LabelSmoothing > 1 {
		panic(fmt.Sprintf("autograd: CrossEntropy: label smoothing %g outside [0, 1]", o.LabelSmoothing))
	}
	lp := LogSoftmax(logits, 1)
	nll := Neg(Gather(lp, 1, targets)) // (N, 1)
	var loss, smooth *Tensor
	if o.Weight == nil {
		loss = Mean(nll, nil, false)
		if o.LabelSmoothing > 0 {
			smooth = MulScalar(Sum(lp, nil, false), -1/float64(n))
		}
	} else {
		if o.Weight.Rank() != 1 || o.Weight.shape[0] != c {
			panic(fmt.Sprintf("autograd: CrossEntropy: weight %v for %d classes", o.Weight.shape, c))
		}
		w := o.Weight.Detach().Float64s()
		wt := make([]float64, n)
		var total float64
		for i, t := range targets {
			if t < 0 || t >= c {
				panic(fmt.Sprintf("autograd: CrossEntropy: target %d outside [0, %d)", t, c))
			}
			wt[i] = w[t]
			total += w[t]
		}
		wTarget := fromF64As(logits.DType(), wt, []int{n, 1}).To(logits.Device())
		loss = MulScalar(Sum(Mul(nll, wTarget), nil, false), 1/total)
		if o.LabelSmoothing > 0 {
			wc := Reshape(o.Weight.Detach().AsType(logits.DType()).To(logits.Device()), 1, c)
			smooth = MulScalar(Sum(Mul(lp, wc), nil, false), -1/total)
		}
	}
	if smooth == nil {
		return loss
	}
	eps := o.LabelSmoothing
	return Add(MulScalar(loss, 1-eps), MulScalar(smooth, eps/float64(c)))
}
