package metrics

import (
	"fmt"
	"math"
)

// RSNAWeight is the RSNA 2024 lumbar spine competition's sample weight of
// a grade: 1 for normal/mild, 2 for moderate, 4 for severe.
func RSNAWeight(grade int) float64 {
	switch grade {
	case 1:
		return 2
	case 2:
		return 4
	}
	return 1
}

// LogLoss is scikit-learn's log_loss with sample weights: the weighted mean
// of -log p(true class), each row of probs renormalised to sum to 1 and
// clipped to [eps, 1-eps] with eps the float64 machine epsilon. weights nil
// means 1 for every sample.
func LogLoss(labels []int, probs [][]float64, weights []float64) (float64, error) {
	if len(labels) != len(probs) || weights != nil && len(weights) != len(labels) {
		return 0, fmt.Errorf("metrics: LogLoss: %d labels, %d probability rows, %d weights", len(labels), len(probs), len(weights))
	}
	if len(labels) == 0 {
		return 0, fmt.Errorf("metrics: LogLoss: no samples")
	}
	const eps = 0x1p-52
	var sum, wsum float64
	for i, y := range labels {
		p := probs[i]
		if y < 0 || y >= len(p) {
			return 0, fmt.Errorf("metrics: LogLoss: sample %d has label %d outside [0, %d)", i, y, len(p))
		}
		var total float64
		for _, v := range p {
			total += v
		}
		if !(total > 0) {
			return 0, fmt.Errorf("metrics: LogLoss: sample %d has probabilities %v", i, p)
		}
		w := 1.0
		if weights != nil {
			w = weights[i]
		}
		q := min(max(p[y]/total, eps), 1-eps)
		sum -= w * math.Log(q)
		wsum += w
	}
	return sum / wsum, nil
}

// RSNAScores are the competition's two spinal canal stenosis terms.
type RSNAScores struct {
	// WeightedLogLoss is the log loss over (study, level) rows with
	// RSNAWeight sample weights.
	WeightedLogLoss float64
	// AnySevere is the log loss of "any level severe" per study: the label
	// is whether some level is severe, the prediction the largest severe
	// probability over the study's levels, and the weight the largest
	// sample weight of its levels.
	AnySevere float64
}

// RSNA scores predictions of the three grades: studies[i] is sample i's
// study, labels[i] its grade, probs[i] the predicted probabilities.
func RSNA(studies []int64, labels []int, probs [][]float64) (RSNAScores, error) {
	if len(studies) != len(labels) {
		return RSNAScores{}, fmt.Errorf("metrics: RSNA: %d studies for %d labels", len(studies), len(labels))
	}
	w := make([]float64, len(labels))
	for i, y := range labels {
		w[i] = RSNAWeight(y)
	}
	var s RSNAScores
	var err error
	if s.WeightedLogLoss, err = LogLoss(labels, probs, w); err != nil {
		return s, err
	}
	type study struct {
		severe   int
		maxP, wt float64
	}
	var order []int64
	by := map[int64]*study{}
	for i, id := range studies {
		st, ok := by[id]
		if !ok {
			st = &study{}
			by[id] = st
			order = append(order, id)
		}
		if labels[i] == 2 {
			st.severe = 1
		}
		var total float64
		for _, v := range probs[i] {
			total += v
		}
		st.maxP = max(st.maxP, probs[i][len(probs[i])-1]/total)
		st.wt = max(st.wt, w[i])
	}
	ys := make([]int, len(order))
	ps := make([][]float64, len(order))
	ws := make([]float64, len(order))
	for k, id := range order {
		st := by[id]
		ys[k], ps[k], ws[k] = st.severe, []float64{1 - st.maxP, st.maxP}, st.wt
	}
	s.AnySevere, err = LogLoss(ys, ps, ws)
	return s, err
}
