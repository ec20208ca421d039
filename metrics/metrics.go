// Package metrics scores classifiers: confusion matrices, accuracy, and
// per-class and averaged precision, recall and F1, with scikit-learn's
// conventions (a class that is never predicted, or never present, scores
// 0 where the ratio is undefined).
package metrics

import (
	"fmt"
	"strings"
)

// Confusion counts predictions: M[t][p] is the number of samples of true
// class t predicted as p.
type Confusion struct {
	M [][]int
}

// NewConfusion returns an empty matrix for k classes.
func NewConfusion(k int) *Confusion {
	m := make([][]int, k)
	for i := range m {
		m[i] = make([]int, k)
	}
	return &Confusion{M: m}
}

// Classes is the number of classes.
func (c *Confusion) Classes() int { return len(c.M) }

// Add counts one prediction; classes outside [0, k) are an error.
func (c *Confusion) Add(truth, pred int) error {
	k := len(c.M)
	if truth < 0 || truth >= k || pred < 0 || pred >= k {
		return fmt.Errorf("metrics: class %d predicted as %d outside [0, %d)", truth, pred, k)
	}
	c.M[truth][pred]++
	return nil
}

// Total is the number of samples counted.
func (c *Confusion) Total() int {
	n := 0
	for _, row := range c.M {
		for _, v := range row {
			n += v
		}
	}
	return n
}

// Support is the number of samples of true class k.
func (c *Confusion) Support(k int) int {
	n := 0
	for _, v := range c.M[k] {
		n += v
	}
	return n
}

func (c *Confusion) predicted(k int) int {
	n := 0
	for _, row := range c.M {
		n += row[k]
	}
	return n
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Accuracy is the fraction of correct predictions.
func (c *Confusion) Accuracy() float64 {
	ok := 0
	for i := range c.M {
		ok += c.M[i][i]
	}
	return ratio(ok, c.Total())
}

// Precision of class k: correct k predictions over all k predictions.
func (c *Confusion) Precision(k int) float64 { return ratio(c.M[k][k], c.predicted(k)) }

// Recall of class k: correct k predictions over all samples of class k.
func (c *Confusion) Recall(k int) float64 { return ratio(c.M[k][k], c.Support(k)) }

// F1 of class k, the harmonic mean of its precision and recall.
func (c *Confusion) F1(k int) float64 {
	p, r := c.Precision(k), c.Recall(k)
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

// Macro averages a per-class score with equal weight per class.
func (c *Confusion) Macro(score func(k int) float64) float64 {
	var s float64
	for k := range c.M {
		s += score(k)
	}
	return s / float64(len(c.M))
}

// Weighted averages a per-class score weighted by class support.
func (c *Confusion) Weighted(score func(k int) float64) float64 {
	var s float64
	for k := range c.M {
		s += score(k) * float64(c.Support(k))
	}
	return s / float64(max(c.Total(), 1))
}

// Report is the scores a study reports for one split.
type Report struct {
	Accuracy                             float64
	MacroPrecision, MacroRecall, MacroF1 float64
	WeightedPrecision, WeightedRecall    float64
	WeightedF1                           float64
	Precision, Recall, F1                []float64 // per class
	Support                              []int
	Confusion                            [][]int
}

// Report computes every score.
func (c *Confusion) Report() Report {
	k := len(c.M)
	r := Report{
		Accuracy:       c.Accuracy(),
		MacroPrecision: c.Macro(c.Precision), MacroRecall: c.Macro(c.Recall), MacroF1: c.Macro(c.F1),
		WeightedPrecision: c.Weighted(c.Precision), WeightedRecall: c.Weighted(c.Recall), WeightedF1: c.Weighted(c.F1),
		Precision: make([]float64, k), Recall: make([]float64, k), F1: make([]float64, k), Support: make([]int, k),
	}
	for i := range k {
		r.Precision[i], r.Recall[i], r.F1[i], r.Support[i] = c.Precision(i), c.Recall(i), c.F1(i), c.Support(i)
		r.Confusion = append(r.Confusion, append([]int(nil), c.M[i]...))
	}
	return r
}

// String prints the matrix with true classes as rows.
func (c *Confusion) String() string {
	var b strings.Builder
	for _, row := range c.M {
		for j, v := range row {
			if j > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%6d", v)
		}
		b.WriteByte('\n')
	}
	return b.String()
}
