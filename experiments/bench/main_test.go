package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestMain lets the test binary stand in for the bench program when the
// parent re-runs itself for a measurement.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "--child" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func TestFlagErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--models", "resnet"}, `--models: no preset "resnet"`},
		{[]string{"--modes", "train"}, `--modes: unknown mode "train"`},
		{[]string{"--models", ","}, "--models is empty"},
		{[]string{"--batch", "0"}, "--batch 0"},
		{[]string{"--repeat", "0"}, "--repeat 0"},
		{[]string{"--cpuprofile", "x.pprof"}, "--cpuprofile needs exactly one model and one mode"},
		{[]string{"extra"}, "unexpected arguments"},
		{[]string{"--child", "resnet152"}, "want preset/mode"},
	}
	for _, tc := range cases {
		var out, errb bytes.Buffer
		if code := run(tc.args, &out, &errb); code == 0 || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%q: exit %d, stderr %q, want an error containing %q", tc.args, code, errb.String(), tc.want)
		}
	}
}

// TestRows measures two rows of the smallest backbone through child
// processes, each twice (--repeat), and checks the JSON objects.
func TestRows(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a full-size backbone")
	}
	var out, errb bytes.Buffer
	args := []string{"--models", "efficientnet_v2_m", "--modes", "infer,partial", "--batch", "1", "--steps", "1", "--warmup", "0", "--repeat", "2", "--json"}
	if code := run(args, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2: %q", len(lines), out.String())
	}
	for i, l := range lines {
		var r row
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("line %d %q: %v", i, l, err)
		}
		if r.Error != "" || r.Model != "efficientnet_v2_m" || r.Mode != []string{"infer", "partial"}[i] || r.Batch != 1 ||
			r.ImgPerS <= 0 || r.GFLOPs <= 0 || r.PeakRSSMB <= 0 || r.TorchImgPerS != nil {
			t.Errorf("line %d: %+v", i, r)
		}
	}
}

func TestMedianAndFailure(t *testing.T) {
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("median of 3,1,2 = %v", m)
	}
	if m := median([]float64{4, 1, 2, 3}); m != 2.5 {
		t.Errorf("median of 4,1,2,3 = %v", m)
	}
	if f := failure("x\npanic: boom\n\ngoroutine 1\n"); f != "panic: boom" {
		t.Errorf("failure = %q", f)
	}
	if f := failure("a\nlast\n"); f != "last" {
		t.Errorf("failure = %q", f)
	}
}
