package datasets

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/vertebra-ml/vertebra/vision/transforms"
)

// SplitByStudy divides samples into len(fractions) splits (the study used
// 0.70, 0.15, 0.15 for train, validation and test) so that no study is in
// two splits. Studies are stratified by their worst grade: within each
// stratum they are shuffled with the seed and dealt out in proportion to
// the fractions (largest remainders get the leftover studies, earlier
// splits first on ties). When that leaves a split with a positive
// fraction without any study, it takes one from the split with the most
// studies, so that data sets as small as one study per such split can be
// split. It returns each split's sample indices in ascending order.
// Fractions must be non-negative and sum to 1 (within 1e-6); fewer studies
// than splits with a positive fraction is an error that says how many are
// needed.
func SplitByStudy(samples []Sample, fractions []float64, seed uint64) ([][]int, error) {
	if len(fractions) == 0 {
		return nil, fmt.Errorf("datasets: SplitByStudy: no fractions")
	}
	var total float64
	for i, f := range fractions {
		if !(f >= 0) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("datasets: SplitByStudy: fraction %d is %v, want >= 0", i, f)
		}
		total += f
	}
	if math.Abs(total-1) > 1e-6 {
		return nil, fmt.Errorf("datasets: SplitByStudy: fractions %v sum to %v, want 1", fractions, total)
	}
	worst := map[int64]int{}
	for i, s := range samples {
		if s.Grade < 0 || s.Grade >= Grades {
			return nil, fmt.Errorf("datasets: SplitByStudy: sample %d (study %d) has grade %d, want 0..2", i, s.StudyID, s.Grade)
		}
		if g, ok := worst[s.StudyID]; !ok || s.Grade > g {
			worst[s.StudyID] = s.Grade
		}
	}
	need := 0
	for _, f := range fractions {
		if f > 0 {
			need++
		}
	}
	if len(worst) < need {
		return nil, fmt.Errorf("datasets: SplitByStudy: %d studies cannot fill %d splits; at least %d are needed (one per split)", len(worst), need, need)
	}
	splitOf := map[int64]int{}
	var order []int64 // the studies in dealing order, for the top-up below
	for g := range Grades {
		var studies []int64
		for id, w := range worst {
			if w == g {
				studies = append(studies, id)
			}
		}
		slices.Sort(studies) // map order is random; the shuffle must not be
		rng := rand.New(rand.NewPCG(seed, mix(0x5b1175, uint64(g))))
		rng.Shuffle(len(studies), func(i, j int) { studies[i], studies[j] = studies[j], studies[i] })
		k := 0
		for split, n := range apportion(len(studies), fractions) {
			for _, id := range studies[k : k+n] {
				splitOf[id] = split
			}
			k += n
		}
		order = append(order, studies...)
	}
	fillEmptySplits(splitOf, order, fractions)
	out := make([][]int, len(fractions))
	for i, s := range samples {
		out[splitOf[s.StudyID]] = append(out[splitOf[s.StudyID]], i)
	}
	return out, nil
}

// fillEmptySplits gives every split with a positive fraction at least one
// study, moving the last-dealt study of the largest split (earliest on
// ties) to each empty one in turn.
func fillEmptySplits(splitOf map[int64]int, order []int64, fractions []float64) {
	for {
		count := make([]int, len(fractions))
		for _, s := range splitOf {
			count[s]++
		}
		empty := -1
		for s, f := range fractions {
			if f > 0 && count[s] == 0 {
				empty = s
				break
			}
		}
		if empty < 0 {
			return
		}
		largest := 0
		for s := range count {
			if count[s] > count[largest] {
				largest = s
			}
		}
		for i := len(order) - 1; i >= 0; i-- {
			if splitOf[order[i]] == largest {
				splitOf[order[i]] = empty
				break
			}
		}
	}
}

// MinStudies is the smallest data set the study's three-way split takes:
// one study each for training, validation and test.
const MinStudies = 3

// apportion divides n items by fractions with the largest remainder method.
func apportion(n int, fractions []float64) []int {
	counts := make([]int, len(fractions))
	rems := make([]int, len(fractions))
	left := n
	for i, f := range fractions {
		counts[i] = int(math.Floor(float64(n) * f))
		left -= counts[i]
		rems[i] = i
	}
	slices.SortStableFunc(rems, func(a, b int) int {
		ra := float64(n)*fractions[a] - float64(counts[a])
		rb := float64(n)*fractions[b] - float64(counts[b])
		return cmp.Compare(rb, ra)
	})
	for i := 0; left > 0; i++ {
		counts[rems[i%len(rems)]]++
		left--
	}
	return counts
}

// ClassCounts counts samples per grade. Grades outside 0..2 are ignored.
func ClassCounts(samples []Sample) [Grades]int {
	var c [Grades]int
	for _, s := range samples {
		if s.Grade >= 0 && s.Grade < Grades {
			c[s.Grade]++
		}
	}
	return c
}

// ClassWeights returns the study's cross-entropy weights, w_c = max_count /
// count_c, so the commonest class weighs 1. A class without samples is an
// error rather than a weight of 0 or +Inf: its weight would never be used,
// and training on such a split usually means the split is wrong.
func ClassWeights(counts [Grades]int) ([Grades]float64, error) {
	var w [Grades]float64
	most := slices.Max(counts[:])
	for g, n := range counts {
		if n <= 0 {
			return w, fmt.Errorf("datasets: ClassWeights: no samples of grade %d (%s) in counts %v", g, GradeName(g), counts)
		}
		w[g] = float64(most) / float64(n)
	}
	return w, nil
}

// Subset is the samples of a data set at the given indices, in that order,
// e.g. one split of [SplitByStudy].
type Subset struct {
	Data    Dataset
	Indices []int
}

// Len returns the number of indices.
func (s Subset) Len() int { return len(s.Indices) }

// Sample returns the underlying sample Indices[i].
func (s Subset) Sample(i int) Sample { return s.Data.Sample(s.Indices[i]) }

// Image returns the underlying image Indices[i].
func (s Subset) Image(i int) (transforms.Image, error) { return s.Data.Image(s.Indices[i]) }

// Samples returns the samples of ds in index order.
func Samples(ds Dataset) []Sample {
	out := make([]Sample, ds.Len())
	for i := range out {
		out[i] = ds.Sample(i)
	}
	return out
}
