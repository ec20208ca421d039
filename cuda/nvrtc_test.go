package cuda

import (
	"os"
	"strings"
	"testing"
)

// nvrtcForTest opens NVRTC or skips; with VERTEBRA_REQUIRE_NVRTC=1 (set by
// .ci/run, which installs it) a missing NVRTC fails instead.
func nvrtcForTest(t *testing.T) *nvrtcAPI {
	t.Helper()
	n, err := loadNVRTC(0)
	if err != nil {
		if os.Getenv("VERTEBRA_REQUIRE_NVRTC") == "1" {
			t.Fatalf("NVRTC required (VERTEBRA_REQUIRE_NVRTC=1): %v", err)
		}
		t.Skipf("no NVRTC on this machine (scripts/install-nvrtc.sh installs Debian's): %v", err)
	}
	return n
}

// TestKernelsCompile compiles every kernel source with NVRTC for the
// oldest and the newest architecture it supports (from compute 7.0) and
// fails on any compiler message, warnings included. It needs NVRTC, not a GPU.
func TestKernelsCompile(t *testing.T) {
	n := nvrtcForTest(t)
	archs := []int{70, 90}
	if n.archs != nil {
		archs = archs[:0]
		for _, a := range n.archs {
			if a >= 70 {
				archs = append(archs, a)
			}
		}
		if len(archs) > 2 {
			archs = []int{archs[0], archs[len(archs)-1]}
		}
	}
	t.Logf("NVRTC %s (%s), targets %v", n.version(), n.lib.path, archs)
	for _, src := range kernelSources() {
		for _, a := range archs {
			tg := target{arch: a}
			image, log, err := n.compile(src.name, src.text, tg)
			if err != nil {
				t.Errorf("%s for %s: %v", src.name, tg, err)
				continue
			}
			if log != "" {
				t.Errorf("%s for %s: compiler messages:\n%s", src.name, tg, log)
			}
			if !strings.Contains(string(image), ".entry") {
				t.Errorf("%s for %s: PTX has no kernel entry", src.name, tg)
			}
		}
	}
}

// TestCompilerMessagesAreSeen proves the check above can fail: a source
// with a warning yields a non-empty log.
func TestCompilerMessagesAreSeen(t *testing.T) {
	n := nvrtcForTest(t)
	_, log, err := n.compile("warn.cu", "extern \"C\" __global__ void k(int* p) { int unused = 1; *p = 0; }", target{arch: 70})
	if err != nil {
		t.Fatal(err)
	}
	if log == "" {
		t.Fatal("no compiler message for an unused variable")
	}
	t.Logf("message: %s", log)
}
