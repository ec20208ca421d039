package cuda

import (
	"embed"
	"sort"
	"strings"
)

// kernelFS holds the CUDA C kernel sources; common.cuh is prepended to
// each .cu file, and each file is compiled to one module.
//
//go:embed kernels/*.cu kernels/common.cuh
var kernelFS embed.FS

// kernelSource is one compilable unit.
type kernelSource struct {
	name string // file name: "elementwise.cu"
	text string // common.cuh followed by the file
}

// kernelSources returns every kernel source, in file-name order.
func kernelSources() []kernelSource {
	common, err := kernelFS.ReadFile("kernels/common.cuh")
	if err != nil {
		panic("cuda: embedded kernels/common.cuh missing: " + err.Error())
	}
	entries, err := kernelFS.ReadDir("kernels")
	if err != nil {
		panic("cuda: embedded kernels missing: " + err.Error())
	}
	var out []kernelSource
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".cu") {
			continue
		}
		b, err := kernelFS.ReadFile("kernels/" + e.Name())
		if err != nil {
			panic("cuda: embedded kernel " + e.Name() + ": " + err.Error())
		}
		out = append(out, kernelSource{name: e.Name(), text: string(common) + "\n#line 1 \"" + e.Name() + "\"\n" + string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}
