package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestAllGoldens runs the command over every file in ../shared/goldens:
// each must pass, and the last line must count them.
func TestAllGoldens(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "goldens")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("golden files not found at %s", dir)
	}
	var out, errOut bytes.Buffer
	code := run([]string{dir}, &out, &errOut)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	line := regexp.MustCompile(`^PASS \S+ (op=\S+ fwd=\S+ grad=\S+|arch=\S+ naming=\S+ (fwd=\S+ grad=\S+( step=\S+)?|keys=(\d+)/(\d+) params=\d+))$`)
	for _, l := range lines[:len(lines)-1] {
		if !line.MatchString(l) {
			t.Errorf("line %q", l)
		}
		if m := regexp.MustCompile(`keys=(\d+)/(\d+)`).FindStringSubmatch(l); m != nil && m[1] != m[2] {
			t.Errorf("manifest not fully matched: %q", l)
		}
	}
	want := fmt.Sprintf("%d passed, 0 failed", len(lines)-1)
	if last := lines[len(lines)-1]; last != want || code != 0 {
		t.Errorf("exit %d, last line %q; want 0 and %q (stderr %q)", code, last, want, errOut.String())
	}
	if len(lines)-1 < 51 {
		t.Errorf("only %d golden files scored", len(lines)-1)
	}
}

func TestUnreadableFileFails(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "truncated.safetensors")
	os.WriteFile(bad, []byte{8, 0, 0, 0, 0, 0, 0, 0, '{'}, 0o644)
	var out, errOut bytes.Buffer
	if code := run([]string{bad}, &out, &errOut); code != 1 {
		t.Errorf("exit %d for an unreadable file, want 1", code)
	}
	if !strings.HasPrefix(out.String(), "FAIL "+bad) || !strings.Contains(out.String(), "0 passed, 1 failed") {
		t.Errorf("output %q", out.String())
	}
	if code := run(nil, &out, &errOut); code != 2 {
		t.Errorf("exit %d without arguments, want 2", code)
	}
	if code := run([]string{filepath.Join(dir, "missing")}, &out, &errOut); code != 1 {
		t.Errorf("exit %d for a missing path, want 1", code)
	}
}
