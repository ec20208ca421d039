package data

import (
	"slices"
	"strings"
	"testing"

	ag "github.com/vertebra-ml/vertebra/autograd"
)

func TestSampler(t *testing.T) {
	for _, tc := range []struct {
		s     Sampler
		n     int
		sizes []int
	}{
		{Sampler{BatchSize: 4}, 10, []int{4, 4, 2}},
		{Sampler{BatchSize: 4, DropLast: true}, 10, []int{4, 4}},
		{Sampler{BatchSize: 5, DropLast: true}, 10, []int{5, 5}},
		{Sampler{BatchSize: 16}, 10, []int{10}},
		{Sampler{BatchSize: 16, DropLast: true}, 10, nil},
		{Sampler{BatchSize: 3, Shuffle: true, Seed: 7}, 10, []int{3, 3, 3, 1}},
	} {
		var sizes []int
		var seen []int
		for b := range tc.s.Batches(tc.n, 0, 0) {
			sizes = append(sizes, len(b))
			seen = append(seen, b...)
		}
		if !slices.Equal(sizes, tc.sizes) || tc.s.Len(tc.n) != len(tc.sizes) {
			t.Errorf("%+v over %d: batch sizes %v (Len %d), want %v", tc.s, tc.n, sizes, tc.s.Len(tc.n), tc.sizes)
		}
		if !tc.s.DropLast {
			slices.Sort(seen)
			for i, v := range seen {
				if v != i {
					t.Errorf("%+v: indices %v are not each sample once", tc.s, seen)
					break
				}
			}
		}
	}
	s := Sampler{BatchSize: 2, Shuffle: true, Seed: 1}
	if a, b := s.Order(50, 0), s.Order(50, 0); !slices.Equal(a, b) {
		t.Error("one seed and epoch gave two orders")
	}
	if a, b := s.Order(50, 0), s.Order(50, 1); slices.Equal(a, b) {
		t.Error("two epochs gave one order")
	}
	if a, b := s.Order(50, 0), (Sampler{BatchSize: 2, Shuffle: true, Seed: 2}).Order(50, 0); slices.Equal(a, b) {
		t.Error("two seeds gave one order")
	}
	// Resuming from batch 2 gives the rest of the same epoch.
	var all, rest [][]int
	for b := range s.Batches(9, 3, 0) {
		all = append(all, b)
	}
	for b := range s.Batches(9, 3, 2) {
		rest = append(rest, b)
	}
	if len(rest) != len(all)-2 || !slices.Equal(rest[0], all[2]) {
		t.Errorf("resumed batches %v, want %v", rest, all[2:])
	}
	if err := (Sampler{}).Validate(); err == nil || !strings.Contains(err.Error(), "BatchSize 0") {
		t.Errorf("zero batch size: %v", err)
	}
}

func TestTensorDatasetLoader(t *testing.T) {
	x := ag.FromFloat32([]float32{0, 0, 1, 1, 2, 2, 3, 3, 4, 4}, 5, 2)
	y := ag.FromInt32([]int32{0, 1, 2, 3, 4}, 5)
	ds, err := NewTensorDataset(x, y)
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLoader(ds, Sampler{BatchSize: 2, Shuffle: true, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for b := range l.Epoch(0) {
		xs, ys := b[0].Float32s(), b[1].Int32s()
		if b[0].Dim(0) != len(ys) || b[0].Dim(1) != 2 {
			t.Fatalf("batch shapes %v and %v", b[0].Shape(), b[1].Shape())
		}
		for i, lab := range ys { // each row stays with its label
			if xs[2*i] != float32(lab) || xs[2*i+1] != float32(lab) {
				t.Errorf("row %v with label %d", xs[2*i:2*i+2], lab)
			}
		}
		n += len(ys)
	}
	if n != 5 || l.Len() != 3 {
		t.Errorf("%d samples in %d batches, want 5 in 3", n, l.Len())
	}
	if _, err := NewTensorDataset(x, ag.FromInt32([]int32{1, 2}, 2)); err == nil || !strings.Contains(err.Error(), "tensor 1 has 2 rows, tensor 0 has 5") {
		t.Errorf("row mismatch: %v", err)
	}
	if _, err := NewLoader(ds, Sampler{}); err == nil {
		t.Error("a zero batch size was accepted")
	}
}
