package datasets

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func TestSplitByStudy(t *testing.T) {
	d := newSynth(t, SyntheticConfig{Studies: 300, Seed: 1})
	samples := Samples(d)
	fr := []float64{0.70, 0.15, 0.15}
	splits, err := SplitByStudy(samples, fr, 99)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := SplitByStudy(samples, fr, 99)
	if !slices.EqualFunc(splits, again, slices.Equal) {
		t.Error("same seed, different splits")
	}
	other, _ := SplitByStudy(samples, fr, 100)
	if slices.EqualFunc(splits, other, slices.Equal) {
		t.Error("seeds 99 and 100 give the same splits")
	}
	owner := map[int64]int{}
	seen := 0
	worst := map[int64]int{}
	for _, s := range samples {
		worst[s.StudyID] = max(worst[s.StudyID], s.Grade)
	}
	var strata [3][Grades]float64
	for k, idx := range splits {
		seen += len(idx)
		if !slices.IsSorted(idx) {
			t.Errorf("split %d indices not sorted", k)
		}
		for _, i := range idx {
			id := samples[i].StudyID
			if o, ok := owner[id]; ok && o != k {
				t.Fatalf("study %d in splits %d and %d", id, o, k)
			}
			owner[id] = k
		}
	}
	for id, k := range owner {
		strata[k][worst[id]]++
	}
	sub := Subset{Data: d, Indices: splits[1]}
	if sub.Len() != len(splits[1]) || sub.Sample(0) != d.Sample(splits[1][0]) {
		t.Errorf("Subset does not map to the split's samples")
	}
	if seen != len(samples) {
		t.Errorf("splits hold %d samples, want %d", seen, len(samples))
	}
	var all [Grades]float64
	for k := range 3 {
		for g := range Grades {
			all[g] += strata[k][g]
		}
	}
	for k := range 3 {
		var n float64
		for g := range Grades {
			n += strata[k][g]
		}
		if math.Abs(n/300-fr[k]) > 0.02 {
			t.Errorf("split %d has %.0f studies, want about %.0f", k, n, 300*fr[k])
		}
		for g := range Grades {
			// Each stratum is dealt out in proportion, within one study.
			if math.Abs(strata[k][g]-all[g]*fr[k]) > 1 {
				t.Errorf("split %d: %.0f studies of worst grade %d, want %.1f", k, strata[k][g], g, all[g]*fr[k])
			}
		}
	}
	t.Logf("studies per split by worst grade: train %v, val %v, test %v", strata[0], strata[1], strata[2])
}

func TestSplitErrors(t *testing.T) {
	s := []Sample{{StudyID: 1, Grade: 0}}
	for _, fr := range [][]float64{nil, {0.5, 0.4}, {1.2, -0.2}, {math.NaN(), 1}} {
		if _, err := SplitByStudy(s, fr, 0); err == nil {
			t.Errorf("fractions %v: no error", fr)
		}
	}
	if _, err := SplitByStudy([]Sample{{Grade: 3}}, []float64{1}, 0); err == nil {
		t.Error("grade 3: no error")
	}
}

func TestApportion(t *testing.T) {
	tests := []struct {
		n    int
		fr   []float64
		want []int
	}{
		{10, []float64{0.7, 0.15, 0.15}, []int{7, 2, 1}},
		{1, []float64{0.7, 0.15, 0.15}, []int{1, 0, 0}},
		{3, []float64{0.7, 0.15, 0.15}, []int{2, 1, 0}},
		{0, []float64{0.5, 0.5}, []int{0, 0}},
		{20, []float64{0.7, 0.15, 0.15}, []int{14, 3, 3}},
	}
	for _, tc := range tests {
		if got := apportion(tc.n, tc.fr); !slices.Equal(got, tc.want) {
			t.Errorf("apportion(%d, %v) = %v, want %v", tc.n, tc.fr, got, tc.want)
		}
	}
}

func TestClassWeights(t *testing.T) {
	w, err := ClassWeights([Grades]int{870, 80, 50})
	if err != nil {
		t.Fatal(err)
	}
	want := [Grades]float64{1, 870.0 / 80, 870.0 / 50}
	if w != want {
		t.Errorf("weights %v, want %v", w, want)
	}
	if _, err := ClassWeights([Grades]int{10, 0, 3}); err == nil {
		t.Error("a class without samples: no error")
	}
	c := ClassCounts([]Sample{{Grade: 0}, {Grade: 2}, {Grade: 2}, {Grade: 7}})
	if c != [Grades]int{1, 0, 2} {
		t.Errorf("ClassCounts = %v", c)
	}
}

func TestSplitByStudySmallSets(t *testing.T) {
	for _, studies := range []int{3, 4, 5, 7} {
		syn, err := NewSynthetic(SyntheticConfig{Studies: studies, Seed: 5})
		if err != nil {
			t.Fatal(err)
		}
		split, err := SplitByStudy(Samples(syn), []float64{0.7, 0.15, 0.15}, 1)
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range split {
			if len(s) == 0 {
				t.Errorf("%d studies: split %d is empty", studies, i)
			}
		}
	}
	syn, _ := NewSynthetic(SyntheticConfig{Studies: 2, Seed: 5})
	if _, err := SplitByStudy(Samples(syn), []float64{0.7, 0.15, 0.15}, 1); err == nil || !strings.Contains(err.Error(), "at least 3") {
		t.Errorf("2 studies: error %v should say 3 are needed", err)
	}
}
