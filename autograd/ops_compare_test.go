package autograd

import (
	"slices"
	"testing"
)

func TestArgmax(t *testing.T) {
	x := FromFloat32([]float32{1, 5, 5, 0, -2, -1, 7, 3, 2, 2, 2, 9}, 2, 2, 3)
	for _, tc := range []struct {
		axis    int
		keepdim bool
		shape   []int
		want    []int32
	}{
		{2, false, []int{2, 2}, []int32{1, 0, 0, 2}}, // ties go to the first
		{-1, true, []int{2, 2, 1}, []int32{1, 0, 0, 2}},
		{0, false, []int{2, 3}, []int32{1, 0, 0, 1, 1, 1}},
		{1, false, []int{2, 3}, []int32{0, 0, 0, 0, 0, 1}},
	} {
		a := Argmax(x, tc.axis, tc.keepdim)
		if a.DType() != Int32 || !slices.Equal(a.Shape(), tc.shape) || !slices.Equal(a.Int32s(), tc.want) {
			t.Errorf("Argmax(axis %d, keepdim %v) = %v %v, want %v %v", tc.axis, tc.keepdim, a.Shape(), a.Int32s(), tc.shape, tc.want)
		}
	}
}

func TestComparisons(t *testing.T) {
	a := FromFloat32([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	b := FromFloat32([]float32{2, 2, 7}, 3) // broadcasts over rows
	for _, tc := range []struct {
		name string
		f    func(a, b *Tensor) *Tensor
		want []int32
	}{
		{"eq", Eq, []int32{0, 1, 0, 0, 0, 0}},
		{"ne", Ne, []int32{1, 0, 1, 1, 1, 1}},
		{"lt", Lt, []int32{1, 0, 1, 0, 0, 1}},
		{"le", Le, []int32{1, 1, 1, 0, 0, 1}},
		{"gt", Gt, []int32{0, 0, 0, 1, 1, 0}},
		{"ge", Ge, []int32{0, 1, 0, 1, 1, 0}},
	} {
		y := tc.f(a, b)
		if !slices.Equal(y.Shape(), []int{2, 3}) || !slices.Equal(y.Int32s(), tc.want) {
			t.Errorf("%s = %v %v, want %v", tc.name, y.Shape(), y.Int32s(), tc.want)
		}
	}
	// An int32 side (predictions) against float and int32 labels.
	pred := Argmax(a, 1, false) // [2 2]
	if got := Eq(pred, FromInt32([]int32{2, 0}, 2)).Int32s(); !slices.Equal(got, []int32{1, 0}) {
		t.Errorf("Eq on int32 = %v", got)
	}
}

func TestAccuracyAndIntLabels(t *testing.T) {
	logits := FromFloat64([]float64{0.1, 2, -1, 3, 0, 0, 0, 0, 1, 5, 4, 0}, 4, 3)
	labels := []int{1, 0, 2, 1}
	if got := Accuracy(logits, labels); got != 0.75 {
		t.Errorf("Accuracy([]int) = %g, want 0.75", got)
	}
	lt := FromInt32([]int32{1, 0, 2, 1}, 4)
	if got := Accuracy(logits, lt); got != 0.75 {
		t.Errorf("Accuracy(tensor) = %g, want 0.75", got)
	}
	// CrossEntropy and IndexSelect take the same labels either way.
	w := FromFloat64([]float64{1, 2, 0.5}, 3)
	o := CrossEntropyOptions{Weight: w, LabelSmoothing: 0.1}
	if a, b := CrossEntropy(logits, labels, o).Item(), CrossEntropy(logits, lt, o).Item(); a != b {
		t.Errorf("CrossEntropy: []int %g, tensor %g", a, b)
	}
	if a, b := IndexSelect(logits, 0, []int{3, 1}).Float64s(), IndexSelect(logits, 0, FromInt32([]int32{3, 1}, 2)).Float64s(); !slices.Equal(a, b) || a[0] != 5 {
		t.Errorf("IndexSelect: []int %v, tensor %v", a, b)
	}
}

// TestPanicMessagesNameTheRule: each names the op, the argument and the
// rule broken. Before, Conv2d ended in ": <nil>", MaxPool2d with a zero
// kernel spoke of padding, and CrossEntropy failed inside Gather or with
// an empty batch.
func TestPanicMessagesNameTheRule(t *testing.T) {
	x := Zeros(Float32, 1, 3, 4, 4)
	logits := Zeros(Float32, 2, 3)
	for _, tc := range []struct {
		name string
		f    func()
		want string
	}{
		{"conv channels", func() { Conv2d(x, Zeros(Float32, 8, 2, 3, 3), nil, Conv2dOptions{}) },
			"autograd: Conv2d: input [1 3 4 4] has 3 channels; weight [8 2 3 3] with 1 groups takes 2"},
		{"maxpool zero kernel", func() { MaxPool2d(x, MaxPool2dOptions{}) },
			"autograd: MaxPool2d: kernel [0 0]: the height must be at least 1"},
		{"maxpool padding", func() { MaxPool2d(x, MaxPool2dOptions{Kernel: Pair(2), Padding: Pair(2)}) },
			"autograd: MaxPool2d: padding [2 2]: the height must be in [0, kernel/2]"},
		{"maxpool kernel larger than input", func() { MaxPool2d(x, MaxPool2dOptions{Kernel: Pair(5)}) },
			"autograd: MaxPool2d: input [1 3 4 4] too small for kernel [5 5]"},
		{"cross entropy empty batch", func() { CrossEntropy(Zeros(Float32, 0, 3), []int{}, CrossEntropyOptions{}) },
			"autograd: CrossEntropy: logits [0 3]: the mean over an empty batch is undefined"},
		{"cross entropy target", func() { CrossEntropy(logits, []int{0, 3}, CrossEntropyOptions{}) },
			"autograd: CrossEntropy: target 3 (position 1) out of range [0, 3)"},
		{"cross entropy tensor target", func() { CrossEntropy(logits, FromInt32([]int32{-1, 0}, 2), CrossEntropyOptions{}) },
			"autograd: CrossEntropy: target -1 (position 0) out of range [0, 3)"},
		{"cross entropy count", func() { CrossEntropy(logits, []int{0}, CrossEntropyOptions{}) },
			"autograd: CrossEntropy: logits [2 3] for 1 targets"},
	} {
		if msg := panicMessage(tc.f); !contains(msg, tc.want) {
			t.Errorf("%s: panic %q, want it to contain %q", tc.name, msg, tc.want)
		}
	}
}
