package main

import "testing"

// TestCNNLearns: the README states this accuracy for run(1, 12).
func TestCNNLearns(t *testing.T) {
	if acc := run(1, 12); acc < 0.9 {
		t.Errorf("test accuracy %.3f, want >= 0.90 (chance: 0.33)", acc)
	}
}
