package cuda

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/ebitengine/purego"
)

// A library is one opened NVIDIA shared library.
type library struct {
	name   string // what it is, for messages: "cuBLAS"
	path   string // the file that was opened
	handle uintptr
}

// sym returns the address of the named function.
func (l *library) sym(name string) (uintptr, error) {
	p, err := purego.Dlsym(l.handle, name)
	if err != nil || p == 0 {
		return 0, fmt.Errorf("cuda: %s (%s) has no symbol %s", l.name, l.path, name)
	}
	return p, nil
}

// syms looks up every function of a table: each entry is the C name and
// where to store its address. The first missing one is the error.
func (l *library) syms(table map[string]*uintptr) error {
	names := make([]string, 0, len(table))
	for n := range table {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p, err := l.sym(n)
		if err != nil {
			return err
		}
		*table[n] = p
	}
	return nil
}

// libSpec says what to look for.
type libSpec struct {
	name  string   // for messages
	files []string // file names, most wanted first (newest major version)
	// preload are name prefixes of libraries in the same folder that the
	// library opens by name at run time (cuBLAS needs cuBLASLt, NVRTC its
	// builtins); they are opened first so that the loader finds them even
	// when their folder is not on its search path.
	preload []string
}

var (
	driverSpec = libSpec{name: "the CUDA driver", files: []string{"libcuda.so.1", "libcuda.so"}}
	cublasSpec = libSpec{
		name:    "cuBLAS",
		files:   []string{"libcublas.so.13", "libcublas.so.12", "libcublas.so.11"},
		preload: []string{"libcublasLt.so."},
	}
	nvrtcSpec = libSpec{
		name:    "NVRTC",
		files:   []string{"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so.11.1", "libnvrtc.so.11.0"},
		preload: []string{"libnvrtc-builtins.so."},
	}
)

// majorOf returns the major version in a file name like libcublas.so.12
// (0 when it has none).
func majorOf(file string) int {
	_, v, ok := strings.Cut(file, ".so.")
	if !ok {
		return 0
	}
	major, _, _ := strings.Cut(v, ".")
	n := 0
	for _, c := range major {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// searchDirs lists the folders searched for NVIDIA libraries, in order:
// $VERTEBRA_CUDA_PATH, $LD_LIBRARY_PATH, the system library folders, the
// CUDA toolkits under /usr/local, and the nvidia/*/lib folders of Python
// environments (where pip installs CUDA: the active virtual or conda
// environment, any environment whose bin folder is on $PATH, user and
// system site-packages). Folders that do not exist are left out.
func searchDirs() []string {
	var dirs []string
	add := func(ds ...string) {
		for _, d := range ds {
			if d == "" {
				continue
			}
			d = filepath.Clean(d)
			if slices.Contains(dirs, d) {
				continue
			}
			if st, err := os.Stat(d); err == nil && st.IsDir() {
				dirs = append(dirs, d)
			}
		}
	}
	add(filepath.SplitList(os.Getenv("VERTEBRA_CUDA_PATH"))...)
	add(filepath.SplitList(os.Getenv("LD_LIBRARY_PATH"))...)
	arch := map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[runtime.GOARCH]
	add("/usr/lib/"+arch+"-linux-gnu", "/lib/"+arch+"-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib",
		"/usr/lib/wsl/lib", "/usr/local/nvidia/lib64", "/usr/local/nvidia/lib")
	add("/usr/local/cuda/lib64", "/usr/local/cuda/targets/"+arch+"-linux/lib")
	add(newestFirst(glob("/usr/local/cuda-*/lib64"))...)
	add(newestFirst(glob("/usr/local/cuda-*/targets/" + arch + "-linux/lib"))...)

	var envs []string // Python environment roots (folders holding lib/python3.*)
	envs = append(envs, os.Getenv("VIRTUAL_ENV"), os.Getenv("CONDA_PREFIX"))
	for _, p := range filepath.SplitList(os.Getenv("PATH")) {
		if filepath.Base(p) == "bin" {
			envs = append(envs, filepath.Dir(p))
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		envs = append(envs, filepath.Join(home, ".local"))
	}
	envs = append(envs, "/usr/local", "/usr", "/opt/conda")
	if p := os.Getenv("CONDA_PREFIX"); p != "" {
		add(filepath.Join(p, "lib"))
	}
	for _, e := range envs {
		if e == "" {
			continue
		}
		for _, sp := range glob(filepath.Join(e, "lib", "python3*", "*-packages")) {
			add(newestFirst(glob(filepath.Join(sp, "nvidia", "*", "lib")))...)
		}
	}
	return dirs
}

func glob(pattern string) []string {
	m, _ := filepath.Glob(pattern)
	return m
}

// newestFirst sorts paths in reverse order, so that cuda-13.0 comes before
// cuda-12.4 and nvidia/cu13 before nvidia/cublas.
func newestFirst(p []string) []string {
	sort.Sort(sort.Reverse(sort.StringSlice(p)))
	return p
}

// openLib finds and opens the library. maxMajor, when positive, skips
// versions newer than that (a library newer than the driver cannot run).
// The error names every file and folder that was tried.
func openLib(spec libSpec, dirs []string, maxMajor int) (*library, error) {
	var failures []string
	var skipped []string
	for _, f := range spec.files {
		if m := majorOf(f); maxMajor > 0 && m > maxMajor {
			skipped = append(skipped, f)
			continue
		}
		for _, d := range dirs {
			p := filepath.Join(d, f)
			if _, err := os.Stat(p); err != nil {
				continue
			}
			preloadDeps(d, spec.preload, majorOf(f))
			h, err := purego.Dlopen(p, purego.RTLD_NOW|purego.RTLD_GLOBAL)
			if err != nil {
				failures = append(failures, fmt.Sprintf("%s: %v", p, err))
				continue
			}
			return &library{name: spec.name, path: p, handle: h}, nil
		}
	}
	// Last, the system loader's own search (its cache and default folders).
	for _, f := range spec.files {
		if m := majorOf(f); maxMajor > 0 && m > maxMajor {
			continue
		}
		h, err := purego.Dlopen(f, purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err == nil {
			return &library{name: spec.name, path: f, handle: h}, nil
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "cuda: %s not found: looked for %s", spec.name, strings.Join(spec.files, ", "))
	if len(skipped) > 0 {
		fmt.Fprintf(&b, " (skipping %s: newer than the driver)", strings.Join(skipped, ", "))
	}
	if len(dirs) == 0 {
		b.WriteString(" in the system loader's path only (no candidate folder exists)")
	} else {
		fmt.Fprintf(&b, " in %s and the system loader's path", strings.Join(dirs, ", "))
	}
	b.WriteString("; set VERTEBRA_CUDA_PATH or LD_LIBRARY_PATH to the folder that holds it")
	for _, f := range failures {
		b.WriteString("; ")
		b.WriteString(f)
	}
	return nil, errors.New(b.String())
}

// preloadDeps opens the libraries of dir whose names start with one of the
// prefixes and whose major version is major, newest first, so that a
// library loaded from dir finds them by name. Failures are left to the
// library that needs them to report.
func preloadDeps(dir string, prefixes []string, major int) {
	for _, pre := range prefixes {
		for _, p := range newestFirst(glob(filepath.Join(dir, pre+"*"))) {
			if major > 0 && majorOf(filepath.Base(p)) != major {
				continue
			}
			if _, err := purego.Dlopen(p, purego.RTLD_NOW|purego.RTLD_GLOBAL); err == nil {
				break
			}
		}
	}
}

// loaded holds the libraries of this process, each opened once.
var loaded struct {
	mu     sync.Mutex
	driver *driverAPI
	nvrtc  *nvrtcAPI
	errs   map[string]error
}

// loadOnce runs open the first time name is asked for and remembers its
// error, so a missing library is looked for once per process.
func loadOnce(name string, done func() bool, open func() error) error {
	loaded.mu.Lock()
	defer loaded.mu.Unlock()
	if done() {
		return nil
	}
	if err, ok := loaded.errs[name]; ok {
		return err
	}
	err := open()
	if err != nil {
		if loaded.errs == nil {
			loaded.errs = map[string]error{}
		}
		loaded.errs[name] = err
	}
	return err
}
