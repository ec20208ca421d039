// Package golden scores this project's ops, models and optimizer against
// the PyTorch reference files in shared/goldens (format in their README):
// op files, small models with gradients, the stenosis model with one AdamW
// step, and the full-size weight manifests. experiments/goldens prints its
// results; the tests run it over every file.
package golden

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/nn/safetensors"
)

// The README's tolerances, as max|got - want| / max|want|.
const (
	FwdTol  = 1e-4
	GradTol = 1e-3
	StepTol = 1e-3
)

// Result is the score of one file.
type Result struct {
	File         string
	Kind         string // "op", "model" or "manifest"
	Arch, Naming string
	Op           string
	Fwd, Grad    float64 // worst relative errors (NaN when not measured)
	Step         float64 // stenosis files: the AdamW update's error
	HasStep      bool
	Keys         string // manifests: "matched/total"
	Params       int    // manifests: parameter count
	Err          error  // could not be read, built or compared
	Problems     []string
}

// Pass reports whether the file matched within the tolerances.
func (r Result) Pass() bool {
	if r.Err != nil || len(r.Problems) > 0 {
		return false
	}
	ok := func(v, tol float64) bool { return math.IsNaN(v) || v <= tol }
	return ok(r.Fwd, FwdTol) && ok(r.Grad, GradTol) && (!r.HasStep || r.Step <= StepTol)
}

// Line formats the result as experiments/goldens prints it.
func (r Result) Line() string {
	var b strings.Builder
	if r.Pass() {
		b.WriteString("PASS ")
	} else {
		b.WriteString("FAIL ")
	}
	b.WriteString(r.File)
	switch r.Kind {
	case "op":
		fmt.Fprintf(&b, " op=%s", r.Op)
	default:
		fmt.Fprintf(&b, " arch=%s naming=%s", r.Arch, r.Naming)
	}
	if r.Kind == "manifest" {
		fmt.Fprintf(&b, " keys=%s params=%d", r.Keys, r.Params)
	} else {
		fmt.Fprintf(&b, " fwd=%s grad=%s", num(r.Fwd), num(r.Grad))
		if r.HasStep {
			fmt.Fprintf(&b, " step=%s", num(r.Step))
		}
	}
	if r.Err != nil {
		fmt.Fprintf(&b, " error=%q", r.Err.Error())
	}
	for _, p := range r.Problems {
		fmt.Fprintf(&b, " problem=%q", p)
	}
	return b.String()
}

func num(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.2e", v)
}

// Files expands the given files and folders (recursively) into the golden
// files they hold: *.safetensors and *.json, sorted. README and other files
// are ignored.
func Files(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && (strings.HasSuffix(path, ".safetensors") || strings.HasSuffix(path, ".json")) {
				out = append(out, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Strings(out)
	return out, nil
}

// Check scores one golden file, whatever its kind. A panic inside the
// check (a file whose shapes the op refuses) becomes the result's Err, so a
// caller scoring many files goes on to the next.
func Check(path string) (r Result) {
	r = Result{File: path, Fwd: math.NaN(), Grad: math.NaN(), Step: math.NaN()}
	defer func() {
		if p := recover(); p != nil {
			if r.Kind == "" {
				r.Kind = "model"
			}
			r.Err = fmt.Errorf("panic: %v", p)
		}
	}()
	if strings.HasSuffix(path, ".json") {
		r.Kind = "manifest"
		checkManifest(path, &r)
		return r
	}
	f, err := safetensors.ReadFile(path)
	if err != nil {
		r.Kind = "model"
		r.Err = err
		return r
	}
	if op := f.Metadata["op"]; op != "" {
		r.Kind, r.Op = "op", op
		checkOp(f, &r)
		return r
	}
	r.Kind = "model"
	r.Arch, r.Naming = f.Metadata["arch"], f.Metadata["naming"]
	if r.Arch == "" {
		r.Err = fmt.Errorf("no op or arch in the metadata")
		return r
	}
	checkModel(f, &r)
	return r
}

// tensor reads a float tensor of the file as float32 on the CPU.
func tensor(f *safetensors.File, key string) (*ag.Tensor, error) {
	t, ok := f.Tensors[key]
	if !ok {
		return nil, fmt.Errorf("no tensor %q", key)
	}
	v, err := t.Float32()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return ag.FromFloat32(v, t.Shape...), nil
}

func ints(f *safetensors.File, key string) ([]int, error) {
	t, ok := f.Tensors[key]
	if !ok {
		return nil, fmt.Errorf("no tensor %q", key)
	}
	v, err := t.Int64()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out, nil
}

// RelErr is max|got - want| / max|want|; a shape mismatch is +Inf.
func RelErr(got, want *ag.Tensor) float64 {
	if got == nil || !slices.Equal(got.Shape(), want.Shape()) {
		return math.Inf(1)
	}
	g, w := got.Float64s(), want.Float64s()
	var num, den float64
	for i := range g {
		d := math.Abs(g[i] - w[i])
		if math.IsNaN(d) {
			return math.Inf(1)
		}
		num = math.Max(num, d)
		den = math.Max(den, math.Abs(w[i]))
	}
	if den == 0 {
		return num
	}
	return num / den
}

// worst keeps the larger error, treating NaN as unset.
func worst(acc, v float64) float64 {
	if math.IsNaN(acc) || v > acc {
		return v
	}
	return acc
}

// jsonArgs decodes the op's args metadata.
func jsonArgs(f *safetensors.File, v any) error {
	a := f.Metadata["args"]
	if a == "" {
		a = "{}"
	}
	return json.Unmarshal([]byte(a), v)
}
