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

// TestLogLossAsSklearn: values from sklearn.metrics.log_loss.
func TestLogLossAsSklearn(t *testing.T) {
	labels := []int{0, 1, 2, 0}
	probs := [][]float64{{0.7, 0.2, 0.1}, {0.3, 0.5, 0.2}, {0.1, 0.1, 0.8}, {0.2, 0.2, 0.6}}
	// log_loss([0,1,2,0], p) and with sample_weight=[1,2,4,1]
	for _, c := range []struct {
		w    []float64
		want float64
	}{
		{nil, (-math.Log(0.7) - math.Log(0.5) - math.Log(0.8) - math.Log(0.2)) / 4},
		{[]float64{1, 2, 4, 1}, (-math.Log(0.7) - 2*math.Log(0.5) - 4*math.Log(0.8) - math.Log(0.2)) / 8},
	} {
		got, err := LogLoss(labels, probs, c.w)
		if err != nil || math.Abs(got-c.want) > 1e-12 {
			t.Errorf("weights %v: %v, %v; want %v", c.w, got, err, c.want)
		}
	}
	// A zero probability is clipped, not infinite.
	if got, _ := LogLoss([]int{1}, [][]float64{{1, 0, 0}}, nil); math.Abs(got-36.04365338911715) > 1e-9 {
		t.Errorf("clipped loss %v, want 36.0437 (-log(eps))", got)
	}
	s, err := RSNA([]int64{7, 7, 9, 9}, labels, probs)
	if err != nil {
		t.Fatal(err)
	}
	// study 7: severe at level 3 absent, labels {0,1} -> 0, max p_severe 0.2, weight 2;
	// study 9: labels {2,0} -> 1, max p_severe 0.8, weight 4.
	want := (-2*math.Log(0.8) - 4*math.Log(0.8)) / 6
	if math.Abs(s.AnySevere-want) > 1e-12 {
		t.Errorf("any severe %v, want %v", s.AnySevere, want)
	}
}
