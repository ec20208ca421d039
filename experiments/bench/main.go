// Command bench measures the study's model on the CPU: images per second,
// effective GFLOP/s and peak resident memory of inference and training
// steps, optionally beside PyTorch on the same machine.
//
//	go run ./experiments/bench [--models resnet152,vit_b_16] [--modes infer,partial,full]
//	                           [--batch 8] [--steps 3] [--torch] [--json]
//
// A row is one backbone in one mode: infer (eval mode, no gradients),
// partial (the study's training step: the last 32 backbone tensors, the
// level embedding and the head train) or full (everything trains). Each
// step is models.NewStenosis on 224x224 float32 images, class-weighted
// cross-entropy and optim.AdamW, in an autograd.Scope. After --warmup
// steps the median of --steps steps is reported; with --repeat N each row
// runs N times, ours and PyTorch's alternating, and reports the median of
// the runs' medians and the highest peak RSS (the host's speed drifts
// between runs more than within one). Every measurement runs
// in its own process, so that its peak RSS is its own. With --torch the
// same row is measured with PyTorch (torchvision's backbone, the same
// head) right after ours, through /usr/bin/python3 with 2 threads and
// OPENBLAS_CORETYPE=SkylakeX on AVX-512 machines, Haswell on AVX2 ones
// (Debian's OpenBLAS does not recognise recent CPUs and falls back to SSE3
// kernels otherwise).
//
// Effective GFLOP/s counts the forward multiply-adds of the backbone (as
// torch_bench.py flops counts them) times two, times three in full
// training (forward, and the data and weight gradients).
package main

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/nn"
	"github.com/vertebra-ml/vertebra/optim"
	"github.com/vertebra-ml/vertebra/train"
	"github.com/vertebra-ml/vertebra/vision/models"
)

//go:embed torch_step.py
var torchScript []byte

// defaultModels are the study's six backbones (Swin in torchvision's
// naming, which PyTorch's side can build).
var defaultModels = []string{"vit_b_16", "swin_b", "beit-base-patch16-224", "efficientnet_v2_m", "resnet152", "convnext_base"}

// gflopPerImage is the forward cost of each backbone at 224x224, from
// `torch_bench.py flops` (BEiT-B: ViT-B/16's matrix products).
var gflopPerImage = map[string]float64{
	"resnet152":                    23.03,
	"efficientnet_v2_m":            10.72,
	"convnext_base":                30.71,
	"vit_b_16":                     35.13,
	"swin_b":                       30.86,
	"swin-base-patch4-window7-224": 30.86,
	"beit-base-patch16-224":        35.13,
}

// torchName is the torchvision name of a preset, "" when torchvision has
// none.
func torchName(preset string) string {
	switch preset {
	case "resnet152", "efficientnet_v2_m", "convnext_base", "vit_b_16", "swin_b":
		return preset
	case "swin-base-patch4-window7-224":
		return "swin_b"
	}
	return ""
}

var modes = []string{"infer", "partial", "full"}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

type options struct {
	models, modes []string
	batch, steps  int
	warmup        int
	repeat        int // runs of each row, alternating ours and PyTorch's
	torch, json   bool
	python        string
	cpuprofile    string
	isa           string // "avx2": cap both sides at AVX2
	child         string // "model/mode": measure one row in this process
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	modelList := fs.String("models", strings.Join(defaultModels, ","), "comma-separated backbone presets (have: "+strings.Join(models.Presets(), ", ")+")")
	modeList := fs.String("modes", strings.Join(modes, ","), "comma-separated modes: infer, partial (last 32 backbone tensors train), full")
	fs.IntVar(&o.batch, "batch", 8, "images per step")
	fs.IntVar(&o.steps, "steps", 3, "measured steps per row (the median is reported)")
	fs.IntVar(&o.warmup, "warmup", 2, "unmeasured steps before them")
	fs.IntVar(&o.repeat, "repeat", 1, "runs of each row, alternating ours and PyTorch's (the median of their medians is reported)")
	fs.BoolVar(&o.torch, "torch", false, "also measure PyTorch (/usr/bin/python3 with torch and torchvision), alternating with ours")
	fs.BoolVar(&o.json, "json", false, "print one JSON object per row instead of the table")
	fs.StringVar(&o.python, "python", "/usr/bin/python3", "the Python that has torch, for --torch")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of our measured steps to this file (one row only)")
	fs.StringVar(&o.isa, "isa", "", `"avx2": cap both sides at AVX2 on an AVX-512 machine (VERTEBRA_CPU_ISA for ours; ONEDNN_MAX_CPU_ISA, ATEN_CPU_CAPABILITY and OPENBLAS_CORETYPE=Haswell for PyTorch), to measure what an AVX2-only machine runs`)
	fs.StringVar(&o.child, "child", "", "internal: measure one model/mode in this process")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "bench: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if o.isa != "" && o.isa != "avx2" {
		fmt.Fprintf(stderr, "bench: --isa %q: want avx2 (or nothing for what the CPU has)\n", o.isa)
		return 2
	}
	if o.batch < 1 || o.steps < 1 || o.warmup < 0 || o.repeat < 1 {
		fmt.Fprintf(stderr, "bench: --batch %d, --steps %d and --repeat %d must be positive, --warmup %d non-negative\n", o.batch, o.steps, o.repeat, o.warmup)
		return 2
	}
	if o.child != "" {
		if err := child(o, stdout); err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
		return 0
	}
	var err error
	if o.models, err = parseModels(*modelList); err == nil {
		o.modes, err = parseModes(*modeList)
	}
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 2
	}
	if o.cpuprofile != "" && len(o.models)*len(o.modes) != 1 {
		fmt.Fprintln(stderr, "bench: --cpuprofile needs exactly one model and one mode")
		return 2
	}
	if err := parent(o, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	return 0
}

// parseList splits a comma-separated flag value, checking each item.
func parseList(flagName, list string, check func(string) error) ([]string, error) {
	var out []string
	for _, v := range strings.Split(list, ",") {
		if v = strings.TrimSpace(v); v == "" {
			continue
		}
		if err := check(v); err != nil {
			return nil, fmt.Errorf("%s: %w", flagName, err)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s is empty", flagName)
	}
	return out, nil
}

func parseModels(list string) ([]string, error) {
	return parseList("--models", list, func(m string) error {
		if _, ok := models.Preset(m); !ok {
			return fmt.Errorf("no preset %q (have %s)", m, strings.Join(models.Presets(), ", "))
		}
		return nil
	})
}

func parseModes(list string) ([]string, error) {
	return parseList("--modes", list, func(m string) error {
		if !slices.Contains(modes, m) {
			return fmt.Errorf("unknown mode %q (want infer, partial or full)", m)
		}
		return nil
	})
}

// row is one line of the result.
type row struct {
	Model        string   `json:"model"`
	Mode         string   `json:"mode"`
	Batch        int      `json:"batch"`
	ImgPerS      float64  `json:"img_per_s"`
	GFLOPs       float64  `json:"gflops"`
	PeakRSSMB    float64  `json:"peak_rss_mb"`
	TorchImgPerS *float64 `json:"torch_img_per_s,omitempty"`
	TorchRSSMB   *float64 `json:"torch_peak_rss_mb,omitempty"`
	TorchBLAS    string   `json:"torch_blas,omitempty"`
	Error        string   `json:"error,omitempty"`
	TorchError   string   `json:"torch_error,omitempty"`
}

// measurement is what a child process reports.
type measurement struct {
	StepS []float64 `json:"step_s"`
	Torch string    `json:"torch,omitempty"` // PyTorch's version
	BLAS  []string  `json:"blas,omitempty"`  // the BLAS libraries PyTorch loaded
}

func parent(o options, stdout, stderr io.Writer) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding this program to run each measurement: %w", err)
	}
	var script string
	if o.torch {
		if err := exec.Command(o.python, "-c", "import torch, torchvision").Run(); err != nil {
			return fmt.Errorf("--torch: %s cannot import torch and torchvision (%v); install python3-torch python3-torchvision", o.python, err)
		}
		f, err := os.CreateTemp("", "vertebra-torch-step-*.py")
		if err != nil {
			return err
		}
		defer os.Remove(f.Name())
		if _, err := f.Write(torchScript); err != nil {
			f.Close()
			return fmt.Errorf("writing %s: %w", f.Name(), err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("writing %s: %w", f.Name(), err)
		}
		script = f.Name()
	}
	if !o.json {
		printHeader(stdout, o)
	}
	var torchBLAS string // what the first PyTorch row reported
	coreType := ""
	var ourEnv, torchEnv []string
	switch {
	case o.isa == "avx2":
		coreType = "Haswell"
		ourEnv = []string{"VERTEBRA_CPU_ISA=avx2"}
		torchEnv = []string{"ONEDNN_MAX_CPU_ISA=AVX2", "DNNL_MAX_CPU_ISA=AVX2", "ATEN_CPU_CAPABILITY=avx2"}
	case hasCPUFlag("avx512f"):
		coreType = "SkylakeX"
	case hasCPUFlag("avx2"):
		coreType = "Haswell"
	}
	for _, m := range o.models {
		for _, mode := range o.modes {
			r := row{Model: m, Mode: mode, Batch: o.batch}
			args := []string{"--child", m + "/" + mode, "--batch", fmt.Sprint(o.batch), "--steps", fmt.Sprint(o.steps), "--warmup", fmt.Sprint(o.warmup)}
			if o.cpuprofile != "" {
				args = append(args, "--cpuprofile", o.cpuprofile)
			}
			// Ours and PyTorch's alternate --repeat times; the row reports
			// the median of the runs' step medians and the highest peak RSS.
			var ourSec, ourRSS, torchSec, torchRSS []float64
			tn := torchName(m)
			if o.torch && tn == "" {
				r.TorchError = "torchvision has no " + m
			}
			for range o.repeat {
				ours := exec.Command(self, args...)
				ours.Env = append(os.Environ(), ourEnv...)
				if sec, rss, _, err := measure(ours, stderr); err != nil {
					r.Error = err.Error()
				} else {
					ourSec, ourRSS = append(ourSec, sec), append(ourRSS, rss)
				}
				if !o.torch || tn == "" || r.TorchError != "" {
					continue
				}
				cmd := exec.Command(o.python, script, "--model", tn, "--mode", mode, "--batch", fmt.Sprint(o.batch),
					"--steps", fmt.Sprint(o.steps), "--warmup", fmt.Sprint(o.warmup), "--threads", fmt.Sprint(runtime.GOMAXPROCS(0)))
				cmd.Env = append(os.Environ(), fmt.Sprintf("OPENBLAS_NUM_THREADS=%d", runtime.GOMAXPROCS(0)))
				cmd.Env = append(cmd.Env, torchEnv...)
				if coreType != "" {
					cmd.Env = append(cmd.Env, "OPENBLAS_CORETYPE="+coreType)
				}
				sec, rss, meas, err := measure(cmd, stderr)
				if err != nil {
					r.TorchError = err.Error()
					continue
				}
				torchSec, torchRSS = append(torchSec, sec), append(torchRSS, rss)
				r.TorchBLAS = strings.Join(meas.BLAS, ",")
				if torchBLAS == "" {
					torchBLAS = fmt.Sprintf("PyTorch %s, BLAS %s", meas.Torch, r.TorchBLAS)
					if coreType != "" {
						torchBLAS += " with OPENBLAS_CORETYPE=" + coreType
					}
					if len(torchEnv) > 0 {
						torchBLAS += ", " + strings.Join(torchEnv, ", ")
					}
					if referenceBLAS(meas.BLAS) {
						fmt.Fprintln(stderr, "bench: warning: PyTorch runs on the reference BLAS ("+r.TorchBLAS+"), not OpenBLAS: its matrix products are tens of times slower than a user's PyTorch; install libopenblas0-pthread")
					}
				}
			}
			if r.Error == "" && len(ourSec) > 0 {
				r.ImgPerS = float64(o.batch) / median(ourSec)
				r.GFLOPs = r.ImgPerS * gflopPerImage[m] * map[string]float64{"infer": 1, "partial": 1, "full": 3}[mode]
				r.PeakRSSMB = slices.Max(ourRSS)
			}
			if r.TorchError == "" && len(torchSec) > 0 {
				ips, rss := float64(o.batch)/median(torchSec), slices.Max(torchRSS)
				r.TorchImgPerS, r.TorchRSSMB = &ips, &rss
			}
			if o.json {
				b, _ := json.Marshal(r)
				fmt.Fprintln(stdout, string(b))
			} else {
				printRow(stdout, o, r)
			}
		}
	}
	if !o.json && torchBLAS != "" {
		fmt.Fprintln(stdout, "\n"+torchBLAS)
	}
	return nil
}

// referenceBLAS reports whether libs is Debian's reference (netlib) BLAS,
// which the alternatives system picks when no OpenBLAS is installed.
func referenceBLAS(libs []string) bool {
	for _, l := range libs {
		if strings.Contains(l, "openblas") || strings.Contains(l, "mkl") || strings.Contains(l, "blis") {
			return false
		}
	}
	return len(libs) > 0
}

// measure runs cmd, which prints a measurement as its last line, and
// returns the median seconds per step and the process's peak RSS in MiB.
func measure(cmd *exec.Cmd, stderr io.Writer) (float64, float64, measurement, error) {
	var out, errb bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = io.MultiWriter(&errb, stderr)
	var m measurement
	if err := cmd.Run(); err != nil {
		return 0, 0, m, fmt.Errorf("%s: %w: %s", filepath.Base(cmd.Path), err, failure(errb.String()))
	}
	if err := json.Unmarshal([]byte(lastLine(out.String())), &m); err != nil || len(m.StepS) == 0 {
		return 0, 0, m, fmt.Errorf("%s printed no step times (%q)", filepath.Base(cmd.Path), lastLine(out.String()))
	}
	var rss float64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = float64(ru.Maxrss) / 1024 // KiB on Linux
	}
	return median(m.StepS), rss, m, nil
}

// failure picks the line of a child's stderr that says why it failed: a
// panic's message, else the last line.
func failure(stderr string) string {
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "panic: ") || strings.HasPrefix(l, "fatal error: ") {
			return l
		}
	}
	return lastLine(stderr)
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	sort.Float64s(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}

// hasCPUFlag reports whether /proc/cpuinfo lists flag (such as avx512f).
func hasCPUFlag(flag string) bool { return slices.Contains(cpuInfo()["flags"], flag) }

// cpuInfo is the first processor's fields of /proc/cpuinfo, split into
// words (empty where there is none).
func cpuInfo() map[string][]string {
	info := map[string][]string{}
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return info
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			if len(info) > 0 {
				break // end of the first processor
			}
			continue
		}
		info[strings.TrimSpace(k)] = strings.Fields(v)
	}
	return info
}

// cpuDescription names the CPU, its family and model, the SIMD features
// our kernels choose between, and the logical CPUs: every figure the
// bench prints belongs to one such machine.
func cpuDescription() string {
	info := cpuInfo()
	name := strings.Join(info["model name"], " ")
	if name == "" {
		return runtime.GOARCH
	}
	var feats []string
	for _, f := range []string{"avx2", "fma", "avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile"} {
		if slices.Contains(info["flags"], f) {
			feats = append(feats, f)
		}
	}
	return fmt.Sprintf("CPU: %s (family %s, model %s), %s; %d logical CPUs", name, strings.Join(info["cpu family"], ""), strings.Join(info["model"], ""), strings.Join(feats, " "), runtime.NumCPU())
}

func printHeader(w io.Writer, o options) {
	capped := ""
	if o.isa != "" {
		capped = " (both sides capped at " + o.isa + ")"
	}
	runs := ""
	if o.repeat > 1 {
		runs = fmt.Sprintf(", median of %d runs of each row (ours and PyTorch's alternating)", o.repeat)
	}
	fmt.Fprintf(w, "%s%s\nbatch %d, 224x224, float32, median of %d steps after %d%s, %d threads\n", cpuDescription(), capped, o.batch, o.steps, o.warmup, runs, runtime.GOMAXPROCS(0))
	if o.torch {
		fmt.Fprintln(w, "| model | mode | ours img/s | GFLOP/s | PyTorch img/s | ratio | ours RSS MiB | PyTorch RSS MiB | RSS ratio |")
		fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
		return
	}
	fmt.Fprintln(w, "| model | mode | img/s | GFLOP/s | peak RSS MiB |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
}

func printRow(w io.Writer, o options, r row) {
	if r.Error != "" {
		fmt.Fprintf(w, "| %s | %s | error: %s |\n", r.Model, r.Mode, r.Error)
		return
	}
	if !o.torch {
		fmt.Fprintf(w, "| %s | %s | %.2f | %.0f | %.0f |\n", r.Model, r.Mode, r.ImgPerS, r.GFLOPs, r.PeakRSSMB)
		return
	}
	if r.TorchImgPerS == nil {
		fmt.Fprintf(w, "| %s | %s | %.2f | %.0f | – (%s) | – | %.0f | – | – |\n", r.Model, r.Mode, r.ImgPerS, r.GFLOPs, r.TorchError, r.PeakRSSMB)
		return
	}
	fmt.Fprintf(w, "| %s | %s | %.2f | %.0f | %.2f | %.2f | %.0f | %.0f | %.2f |\n", r.Model, r.Mode, r.ImgPerS, r.GFLOPs,
		*r.TorchImgPerS, r.ImgPerS / *r.TorchImgPerS, r.PeakRSSMB, *r.TorchRSSMB, r.PeakRSSMB / *r.TorchRSSMB)
}

// child measures one row in this process and prints its step times.
func child(o options, stdout io.Writer) error {
	name, mode, ok := strings.Cut(o.child, "/")
	p, found := models.Preset(name)
	if !ok || !found || !slices.Contains(modes, mode) {
		return fmt.Errorf("--child %q: want preset/mode", o.child)
	}
	store := nn.NewStore(ag.Float32, 1)
	unfreeze := 32
	model, err := models.NewStenosis(store.Root(), models.StenosisConfig{
		Backbone:     models.BackboneSpec{Arch: p.Arch, Naming: p.Naming, Config: json.RawMessage(p.Config)},
		EmbeddingDim: 256, NumLevels: 5, NumClasses: 3, Dropout: 0.1, UnfreezeLast: unfreeze,
	})
	if err != nil {
		return err
	}
	x := ag.RandN(store.RNG(), ag.Float32, o.batch, 3, 224, 224)
	levels, labels := make([]int, o.batch), make([]int, o.batch)
	for i := range levels {
		levels[i], labels[i] = i%5, i%3
	}
	train.TuneGC() // as experiments/all does, for training and evaluation
	var step func()
	if mode == "infer" {
		store.SetTraining(false)
		step = func() {
			ag.NoGrad(func() { ag.Scope(func() { _ = model.Forward(x, levels).Float32s() }) })
		}
	} else {
		store.SetTraining(true)
		if mode == "partial" {
			model.FreezeBackbone(store, "")
		}
		var params []*ag.Tensor
		for _, e := range store.Trainable() {
			params = append(params, e.Tensor)
		}
		opt, err := optim.NewAdamW(params, optim.AdamWOptions{LR: 1e-4, WeightDecay: 0.02})
		if err != nil {
			return err
		}
		weight := ag.FromFloat32([]float32{1, 2, 4}, 3)
		step = func() {
			ag.Scope(func() {
				opt.ZeroGrad()
				l := ag.CrossEntropy(model.Forward(x, levels), labels, ag.CrossEntropyOptions{Weight: weight})
				l.Backward()
				opt.Step()
			})
		}
	}
	for range o.warmup {
		step()
	}
	if o.cpuprofile != "" {
		f, err := os.Create(o.cpuprofile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return err
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	var m measurement
	for range o.steps {
		t0 := time.Now()
		step()
		m.StepS = append(m.StepS, time.Since(t0).Seconds())
	}
	b, _ := json.Marshal(m)
	_, err = fmt.Fprintln(stdout, string(b))
	return err
}
