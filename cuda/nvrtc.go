package cuda

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"unsafe"

	"github.com/ebitengine/purego"
)

// nvrtcAPI is NVIDIA's run-time compiler for CUDA C.
type nvrtcAPI struct {
	lib          *library
	major, minor int
	archs        []int // supported compute capabilities, 10*major+minor (nil before 11.2)

	nvrtcVersion, nvrtcGetErrorString, nvrtcCreateProgram, nvrtcDestroyProgram uintptr
	nvrtcCompileProgram, nvrtcGetProgramLogSize, nvrtcGetProgramLog            uintptr
	nvrtcGetPTXSize, nvrtcGetPTX, nvrtcGetCUBINSize, nvrtcGetCUBIN             uintptr
	nvrtcGetNumSupportedArchs, nvrtcGetSupportedArchs                          uintptr
}

// loadNVRTC opens NVRTC, no newer than maxMajor when that is positive.
func loadNVRTC(maxMajor int) (*nvrtcAPI, error) {
	err := loadOnce("nvrtc", func() bool { return loaded.nvrtc != nil }, func() error {
		lib, err := openLib(nvrtcSpec, searchDirs(), maxMajor)
		if err != nil {
			return err
		}
		n := &nvrtcAPI{lib: lib}
		if err := lib.syms(map[string]*uintptr{
			"nvrtcVersion": &n.nvrtcVersion, "nvrtcGetErrorString": &n.nvrtcGetErrorString,
			"nvrtcCreateProgram": &n.nvrtcCreateProgram, "nvrtcDestroyProgram": &n.nvrtcDestroyProgram,
			"nvrtcCompileProgram": &n.nvrtcCompileProgram, "nvrtcGetProgramLogSize": &n.nvrtcGetProgramLogSize,
			"nvrtcGetProgramLog": &n.nvrtcGetProgramLog, "nvrtcGetPTXSize": &n.nvrtcGetPTXSize,
			"nvrtcGetPTX": &n.nvrtcGetPTX,
		}); err != nil {
			return err
		}
		// CUBIN output (11.1) and the list of architectures (11.2) are
		// optional: without them the device loads PTX.
		n.nvrtcGetCUBINSize, _ = lib.sym("nvrtcGetCUBINSize")
		n.nvrtcGetCUBIN, _ = lib.sym("nvrtcGetCUBIN")
		n.nvrtcGetNumSupportedArchs, _ = lib.sym("nvrtcGetNumSupportedArchs")
		n.nvrtcGetSupportedArchs, _ = lib.sym("nvrtcGetSupportedArchs")
		var major, minor int32
		if err := n.call("nvrtcVersion", n.nvrtcVersion, uintptr(unsafe.Pointer(&major)), uintptr(unsafe.Pointer(&minor))); err != nil {
			return err
		}
		n.major, n.minor = int(major), int(minor)
		if n.nvrtcGetNumSupportedArchs != 0 && n.nvrtcGetSupportedArchs != 0 {
			var num int32
			if err := n.call("nvrtcGetNumSupportedArchs", n.nvrtcGetNumSupportedArchs, uintptr(unsafe.Pointer(&num))); err == nil && num > 0 {
				a := make([]int32, num)
				if err := n.call("nvrtcGetSupportedArchs", n.nvrtcGetSupportedArchs, uintptr(unsafe.Pointer(&a[0]))); err == nil {
					for _, v := range a {
						n.archs = append(n.archs, int(v))
					}
					slices.Sort(n.archs)
				}
			}
		}
		loaded.nvrtc = n
		return nil
	})
	if err != nil {
		return nil, err
	}
	return loaded.nvrtc, nil
}

// call calls an NVRTC function and turns a non-zero result into an *Error.
//
//go:uintptrescapes
func (n *nvrtcAPI) call(name string, fn uintptr, args ...uintptr) error {
	r, _, _ := purego.SyscallN(fn, args...)
	if r == 0 {
		return nil
	}
	msg := nameOr(nvrtcResultNames, int(r), "NVRTC_ERROR")
	if n.nvrtcGetErrorString != 0 {
		p, _, _ := purego.SyscallN(n.nvrtcGetErrorString, r)
		if s := cString(ptrOf(p)); s != "" {
			msg = s
		}
	}
	return &Error{Func: name, Code: int(r), Name: msg}
}

// version is NVRTC's version, "11.8".
func (n *nvrtcAPI) version() string { return fmt.Sprintf("%d.%d", n.major, n.minor) }

// target is what a program is compiled for: a real architecture (a CUBIN
// for exactly that GPU) or a virtual one (PTX the driver compiles on
// loading).
type target struct {
	arch  int  // compute capability as 10*major+minor: 90
	cubin bool // sm_XX and CUBIN output rather than compute_XX and PTX
}

func (t target) option() string {
	if t.cubin {
		return fmt.Sprintf("--gpu-architecture=sm_%d", t.arch)
	}
	return fmt.Sprintf("--gpu-architecture=compute_%d", t.arch)
}

func (t target) String() string {
	if t.cubin {
		return fmt.Sprintf("sm_%d", t.arch)
	}
	return fmt.Sprintf("compute_%d", t.arch)
}

// targetFor picks the target for a GPU of compute capability arch: its own
// CUBIN when this NVRTC can build one, otherwise PTX for the newest
// architecture NVRTC knows that the GPU can run.
func (n *nvrtcAPI) targetFor(arch int) (target, error) {
	if n.archs == nil {
		return target{arch: arch}, nil // NVRTC 11.0/11.1: trust it to know the GPU
	}
	if slices.Contains(n.archs, arch) && n.nvrtcGetCUBIN != 0 {
		return target{arch: arch, cubin: true}, nil
	}
	best := 0
	for _, a := range n.archs {
		if a <= arch && a/10 <= arch/10 {
			best = a
		}
	}
	if best == 0 {
		return target{}, fmt.Errorf("cuda: NVRTC %s (%s) supports %v, none of which runs on compute capability %d.%d",
			n.version(), n.lib.path, n.archs, arch/10, arch%10)
	}
	return target{arch: best}, nil
}

// kernelOptions are the compiler options of every kernel source: accurate
// math (no --use_fast_math), so that results match the CPU's.
var kernelOptions = []string{"--std=c++17"}

// compile compiles one CUDA C source for t and returns the image (PTX text
// or CUBIN) and the compiler's log, which is empty for a clean source.
func (n *nvrtcAPI) compile(name, src string, t target) (image []byte, log string, err error) {
	var prog uintptr
	csrc, cname := cStr(src), cStr(name)
	if err := n.call("nvrtcCreateProgram", n.nvrtcCreateProgram, uintptr(unsafe.Pointer(&prog)),
		uintptr(unsafe.Pointer(&csrc[0])), uintptr(unsafe.Pointer(&cname[0])), 0, 0, 0); err != nil {
		return nil, "", err
	}
	defer func() {
		_ = n.call("nvrtcDestroyProgram", n.nvrtcDestroyProgram, uintptr(unsafe.Pointer(&prog)))
	}()
	opts := append(slices.Clone(kernelOptions), t.option())
	cOpts := make([][]byte, len(opts))
	ptrs := make([]*byte, len(opts))
	for i, o := range opts {
		cOpts[i] = cStr(o)
		ptrs[i] = &cOpts[i][0]
	}
	cerr := n.call("nvrtcCompileProgram", n.nvrtcCompileProgram, prog, uintptr(len(ptrs)), uintptr(unsafe.Pointer(&ptrs[0])))
	runtime.KeepAlive(cOpts)
	log = n.programLog(prog)
	if cerr != nil {
		return nil, log, fmt.Errorf("cuda: compiling %s for %s with NVRTC %s: %w\n%s", name, t, n.version(), cerr, log)
	}
	sizeFn, getFn, sizeName, getName := n.nvrtcGetPTXSize, n.nvrtcGetPTX, "nvrtcGetPTXSize", "nvrtcGetPTX"
	if t.cubin {
		sizeFn, getFn, sizeName, getName = n.nvrtcGetCUBINSize, n.nvrtcGetCUBIN, "nvrtcGetCUBINSize", "nvrtcGetCUBIN"
	}
	var size uint64
	if err := n.call(sizeName, sizeFn, prog, uintptr(unsafe.Pointer(&size))); err != nil {
		return nil, log, err
	}
	image = make([]byte, size)
	if size > 0 {
		if err := n.call(getName, getFn, prog, uintptr(unsafe.Pointer(&image[0]))); err != nil {
			return nil, log, err
		}
	}
	return image, log, nil
}

// programLog returns the compiler's messages, trimmed.
func (n *nvrtcAPI) programLog(prog uintptr) string {
	var size uint64
	if err := n.call("nvrtcGetProgramLogSize", n.nvrtcGetProgramLogSize, prog, uintptr(unsafe.Pointer(&size))); err != nil || size <= 1 {
		return ""
	}
	b := make([]byte, size)
	if err := n.call("nvrtcGetProgramLog", n.nvrtcGetProgramLog, prog, uintptr(unsafe.Pointer(&b[0]))); err != nil {
		return ""
	}
	return strings.TrimSpace(cString(&b[0]))
}
