package autograd

import "fmt"

// CrossEntropyOptions are the class weights and label smoothing of
// CrossEntropy.
type CrossEntropyOptions struct {
	Weight         *Tensor // per-class weights (C), or nil
	LabelSmoothing float64 // in [0, 1]
}

// CrossEntropy is the mean cross-entropy of logits (N, C) against class
// targets (a []int, or a 1-d int32 tensor, see Index), exactly as torch.nn.functional.cross_entropy with reduction
// "mean": with class weights the mean is weighted, sum_i w[t_i] nll_i /
// sum_i w[t_i]; label smoothing eps mixes in the uniform target as
// (1-eps) * nll + eps/C * sum_c w[c] * -log p_c, divided by the same
// weight sum.
func CrossEntropy[L Index](logits *Tensor, targets L, o CrossEntropyOptions) *Tensor {
	if logits.Rank() != 2 {
		panic(fmt.Sprintf("autograd: CrossEntropy: logits %v: want (N, C)", logits.shape))
	}
	n, c := logits.shape[0], logits.shape[1]
	if n == 0 {
		panic(fmt.Sprintf("autograd: CrossEntropy: logits %v: the mean over an empty batch is undefined", logits.shape))
	}
	if o.LabelSmoothing < 0 || o.LabelSmoothing > 1 {
		panic(fmt.Sprintf("autograd: CrossEntropy: label smoothing %g outside [0, 1]", o.LabelSmoothing))
	}
	dev := logits.Device()
	tIdx := indexTensor("CrossEntropy", "target", targets, c, dev)
	if tIdx.Len() != n {
		panic(fmt.Sprintf("autograd: CrossEntropy: logits %v for %d targets: want one target per row", logits.shape, tIdx.Len()))
	}
	lp := LogSoftmax(logits, 1)
	nll := Neg(Gather(lp, 1, Reshape(tIdx, n, 1))) // (N, 1)
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
		// The weights stay on the device: keep them there (and of the
		// logits' type) to spare a copy per call.
		w := o.Weight.Detach().AsType(logits.DType()).To(dev)
		wTarget := IndexSelect(w, 0, tIdx) // (N)
		total := Sum(wTarget, nil, false)
		loss = Div(Sum(Mul(Reshape(nll, n), wTarget), nil, false), total)
		if o.LabelSmoothing > 0 {
			smooth = Neg(Div(Sum(Mul(lp, Reshape(w, 1, c)), nil, false), total))
		}
	}
	if smooth == nil {
		return loss
	}
	eps := o.LabelSmoothing
	return Add(MulScalar(loss, 1-eps), MulScalar(smooth, eps/float64(c)))
}
