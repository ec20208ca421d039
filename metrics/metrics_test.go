package metrics

import (
	"math"
	"testing"
)

// The expected numbers are scikit-learn's for
// y_true = [0 0 0 0 1 1 2 2 2 0], y_pred = [0 0 1 0 1 2 2 0 2 0].
func TestAgainstScikitLearn(t *testing.T) {
	truth := []int{0, 0, 0, 0, 1, 1, 2, 2, 2, 0}
	pred := []int{0, 0, 1, 0, 1, 2, 2, 0, 2, 0}
	c := NewConfusion(3)
	for i := range truth {
		if err := c.Add(truth[i], pred[i]); err != nil {
			t.Fatal(err)
		}
	}
	r := c.Report()
	checks := []struct {
		name      string
		got, want float64
	}{
		{"accuracy", r.Accuracy, 0.7},
		{"precision0", r.Precision[0], 0.8},
		{"recall0", r.Recall[0], 0.8},
		{"precision1", r.Precision[1], 0.5},
		{"recall1", r.Recall[1], 0.5},
		{"f1_2", r.F1[2], 2.0 / 3},
		{"macro_f1", r.MacroF1, (0.8 + 0.5 + 2.0/3) / 3},
		{"weighted_f1", r.WeightedF1, (0.8*5 + 0.5*2 + 2.0/3*3) / 10},
	}
	for _, ch := range checks {
		if math.Abs(ch.got-ch.want) > 1e-12 {
			t.Errorf("%s = %g, want %g", ch.name, ch.got, ch.want)
		}
	}
}

func TestUndefinedRatiosAreZero(t *testing.T) {
	c := NewConfusion(3)
	c.Add(0, 0)
	c.Add(0, 0)
	if p := c.Precision(2); p != 0 {
		t.Errorf("precision of a never-predicted class = %g", p)
	}
	if f := c.F1(1); f != 0 {
		t.Errorf("F1 of an absent class = %g", f)
	}
	if err := c.Add(3, 0); err == nil {
		t.Error("class 3 of 3 accepted")
	}
}
