package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/metrics"
	"github.com/vertebra-ml/vertebra/nn"
	"github.com/vertebra-ml/vertebra/nn/pth"
	"github.com/vertebra-ml/vertebra/vision/datasets"
	"github.com/vertebra-ml/vertebra/vision/models"
	"github.com/vertebra-ml/vertebra/vision/transforms"
)

// TestMain lets the tests run this program, or one summary merge, as a
// separate process (for signals and concurrent writers).
func TestMain(m *testing.M) {
	switch {
	case os.Getenv("ALL_TEST_MAIN") == "1":
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	case os.Getenv("ALL_TEST_MERGE") != "":
		r := &result{Model: os.Getenv("ALL_TEST_MERGE"), Preset: "tiny_resnet", Test: metrics.NewConfusion(3).Report()}
		if err := mergeSummary(os.Args[1], []*result{r}, nil); err != nil {
			os.Stderr.WriteString(err.Error())
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const rsnaMini = "../../../shared/rsna-mini"

// readCSV returns a CSV file's header and rows.
func readCSV(t *testing.T, path string) ([]string, [][]string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil || len(rows) == 0 {
		t.Fatalf("%s: %v", path, err)
	}
	return rows[0], rows[1:]
}

func runOK(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := run(args, &out, &errOut); code != 0 {
		t.Fatalf("all %s: exit %d\n%s\n%s", strings.Join(args, " "), code, out.String(), errOut.String())
	}
	return out.String()
}

// TestStudyOnRSNAMini runs the program end to end on rsna-mini's DICOMs
// with the tiny preset for one epoch and checks every output file.
func TestStudyOnRSNAMini(t *testing.T) {
	if _, err := os.Stat(rsnaMini); err != nil {
		t.Skip("rsna-mini not found")
	}
	out := t.TempDir()
	log := runOK(t, "--data", rsnaMini, "--preset", "tiny", "--num_epochs", "1", "--models", "resnet152", "tiny_vit",
		"--batch_size", "16", "--save_format", "both", "--out", out)
	if !strings.Contains(log, "resnet152 (preset tiny_resnet)") || !strings.Contains(log, "weighted LL") {
		t.Errorf("log:\n%s", log)
	}
	for _, m := range []string{"resnet152", "tiny_vit"} {
		for _, f := range []string{"results/" + m + "_predictions.csv", "results/" + m + "_history.csv",
			"plots/" + m + "_model_training_history.png", "plots/" + m + "_confusion_matrix.png",
			"trained_models/" + m + "_model_best_model.safetensors", "trained_models/" + m + "_model_best_model.pth",
			"trained_models/" + m + "_model_best_model.json"} {
			if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
				t.Errorf("%s missing or empty", f)
			}
		}
		if _, err := os.Stat(filepath.Join(out, "trained_models", m+"_model_state.safetensors")); err == nil {
			t.Errorf("%s: a finished model left its resumable state", m)
		}
		head, rows := readCSV(t, filepath.Join(out, "results", m+"_predictions.csv"))
		if !slices.Equal(head, []string{"row_id", "true_label", "predicted_label", "prob_normal_mild", "prob_moderate", "prob_severe"}) {
			t.Errorf("predictions header %v", head)
		}
		if len(rows) == 0 || !strings.Contains(rows[0][0], "_spinal_canal_stenosis_l") {
			t.Errorf("predictions rows %v", rows)
		}
		r, err := readResult(filepath.Join(out, "trained_models", m+"_model_best_model.json"))
		if err != nil {
			t.Fatal(err)
		}
		if r.BestEpoch != 1 || r.Config.DataFingerprint == "" || r.Config.Data != rsnaMini || r.Preset == "" || len(r.Args) == 0 {
			t.Errorf("%s sidecar: epoch %d, data %q (%s), preset %q", m, r.BestEpoch, r.Config.Data, r.Config.DataFingerprint, r.Preset)
		}
		st, err := nn.ReadCheckpoint(filepath.Join(out, "trained_models", m+"_model_best_model.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := st.Tensors["classifier.8.weight"]; !ok || st.Metadata["preset"] != r.Preset {
			t.Errorf("%s checkpoint: metadata %v", m, st.Metadata)
		}
		// The .pth is the study's train_epoch dict; our reader reads it back.
		c, err := pth.ReadFile(filepath.Join(out, "trained_models", m+"_model_best_model.pth"))
		if err != nil {
			t.Fatal(err)
		}
		if keys := c.Root.(*pth.Dict).Keys; !slices.Equal(keys, []any{"epoch", "model_state_dict", "val_acc", "val_loss", "train_loss", "train_acc"}) {
			t.Errorf("%s .pth keys %v", m, keys)
		}
		names, tensors, err := c.StateDict()
		if err != nil || !slices.Equal(names, st.Names) {
			t.Fatalf("%s .pth state dict: %v, %d names, want %d", m, err, len(names), len(st.Names))
		}
		for _, n := range names {
			if !bytes.Equal(tensors[n].Data, st.Tensors[n].Data) {
				t.Errorf("%s: .pth and safetensors differ at %s", m, n)
			}
		}
	}
	head, rows := readCSV(t, filepath.Join(out, "results", "model_performance_summary.csv"))
	if !slices.Equal(head[:3], []string{"model_name", "avg_loss", "accuracy"}) || !slices.Contains(head, "weighted_log_loss") ||
		!slices.Contains(head, "any_severe_log_loss") || !slices.Contains(head, "f1_normal_mild") || len(rows) != 2 {
		t.Errorf("summary %v, %d rows", head, len(rows))
	}
	md, _ := os.ReadFile(filepath.Join(out, "results", "summary.md"))
	if !strings.Contains(string(md), "| resnet152 | tiny_resnet |") {
		t.Errorf("summary.md:\n%s", md)
	}
	if _, err := os.Stat(filepath.Join(out, "plots", "model_comparison.png")); err != nil {
		t.Error(err)
	}
	// A rerun with the same settings keeps the finished models.
	if log := runOK(t, "--data", rsnaMini, "--preset", "tiny", "--num_epochs", "1", "--models", "resnet152,tiny_vit",
		"--batch_size", "16", "--save_format", "both", "--out", out); strings.Count(log, "skipping") != 2 {
		t.Errorf("rerun did not skip the finished models:\n%s", log)
	}
}

// TestStudyREADMECommandLines runs the study's two README command lines
// verbatim, with a tiny preset, one epoch and few synthetic studies.
func TestStudyREADMECommandLines(t *testing.T) {
	for _, line := range []string{
		"--models convnext efficientnet resnet152 --batch_size 32 --num_epochs 30 --learning_rate 1e-4 --weight_decay 0.02 --level_embeddings 256 --freeze_backbone True --unfreeze_last_n 32",
		"--models vit swin beit --batch_size 32 --num_epochs 30 --learning_rate 1e-4 --weight_decay 0.02 --level_embeddings 256 --freeze_backbone True --unfreeze_last_n 32",
	} {
		out := t.TempDir()
		args := append(strings.Fields(line), "--num_epochs", "1", "--preset", "tiny", "--synthetic_studies", "8", "--out", out)
		runOK(t, args...)
		_, rows := readCSV(t, filepath.Join(out, "results", "model_performance_summary.csv"))
		var got []string
		for _, r := range rows {
			got = append(got, r[0])
		}
		want := strings.Fields(line)[1:4]
		if !slices.Equal(got, want) {
			t.Errorf("%s: summary rows %v, want %v", line, got, want)
		}
		files := []string{"results/summary.md", "plots/model_comparison.png"}
		for _, m := range want {
			files = append(files, "results/"+m+"_predictions.csv", "plots/"+m+"_model_training_history.png", "plots/"+m+"_confusion_matrix.png",
				"trained_models/"+m+"_model_best_model.safetensors", "trained_models/"+m+"_model_best_model.json")
		}
		for _, f := range files {
			if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
				t.Errorf("%s: %s missing or empty", line, f)
			}
		}
	}
}

func TestFlagErrorsNameTheFlag(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--num_epochs", "-1"}, 2, "--num_epochs -1"},
		{[]string{"--models", "resnet9000"}, 2, `--models: unknown model "resnet9000"`},
		{[]string{"--models", "vit", "vit"}, 2, "vit given twice"},
		{[]string{"--weights", "/nonexistent/folder"}, 2, "--weights /nonexistent/folder"},
		{[]string{"--weights", "."}, 2, "--weights: tiny_vit: no pretrained weights"},
		{[]string{"--data", "/nonexistent/rsna"}, 2, "--data"},
		{[]string{"--splits", "/nonexistent/splits"}, 2, "--splits"},
		{[]string{"--train_csv", "a.csv"}, 2, "go together"},
		{[]string{"--learning_rate", "0"}, 2, "--learning_rate"},
		{[]string{"--freeze_backbone", "maybe"}, 2, "want True or False"},
		{[]string{"--select", "auc"}, 2, "macro_f1, accuracy"},
		{[]string{"--device", "cuda"}, 2, "--device"},
		{[]string{"--image_size", "48", "--models", "vit"}, 2, "--image_size 48 does not fit vit"},
		{[]string{"--image_size", "16", "--models", "swin"}, 2, "--image_size 16 does not fit swin"},
		{[]string{"--synthetic_studies", "2"}, 2, "at least 3"},
		{[]string{"--synthetic_grades", "1,2"}, 2, "--synthetic_grades"},
		{[]string{"--no_such_flag"}, 2, "no_such_flag"},
		{[]string{"extra"}, 2, "unexpected arguments"},
	}
	for _, c := range cases {
		var out, errOut bytes.Buffer
		code := run(c.args, &out, &errOut)
		if code != c.code || !strings.Contains(errOut.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d mentioning %q", c.args, code, errOut.String(), c.code, c.want)
		}
	}
}

func TestJoinListArgs(t *testing.T) {
	got := joinListArgs(strings.Fields("--models a b --x 1 -models=c,d --models e,f g --freeze_backbone True"))
	want := strings.Fields("--models=a,b --x 1 -models=c,d --models=e,f,g --freeze_backbone True")
	if !slices.Equal(got, want) {
		t.Errorf("%q, want %q", got, want)
	}
}

// tinyArgs is a small, fast study of one tiny model on synthetic spines.
func tinyArgs(out string, extra ...string) []string {
	return append([]string{"--models", "resnet152", "--preset", "tiny", "--synthetic_studies", "30", "--num_epochs", "2",
		"--batch_size", "8", "--save_format", "both", "--workers", "2", "--out", out}, extra...)
}

// TestInterruptAndResumeExactly interrupts a run with SIGINT in its first
// epoch, resumes it, and compares its outputs byte for byte with an
// uninterrupted run's.
func TestInterruptAndResumeExactly(t *testing.T) {
	if testing.Short() {
		t.Skip("trains twice")
	}
	straight, resumed := t.TempDir(), t.TempDir()
	runOK(t, tinyArgs(straight)...)

	cmd := exec.Command(os.Args[0], tinyArgs(resumed)...)
	cmd.Env = append(os.Environ(), "ALL_TEST_MAIN=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	sc := bufio.NewScanner(stdout)
	signalled := false
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if !signalled && strings.Contains(sc.Text(), "epoch 1/2: batch 2/") {
			cmd.Process.Signal(syscall.SIGINT)
			signalled = true
		}
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitInterrupted {
		t.Fatalf("interrupted run: %v (want exit %d)\n%s\n%s", err, exitInterrupted, log.String(), stderr.String())
	}
	if !strings.Contains(log.String(), "stopped at epoch 1, batch") {
		t.Errorf("the run did not stop mid-epoch:\n%s", log.String())
	}
	if _, err := os.Stat(filepath.Join(resumed, "trained_models", "resnet152_model_state.safetensors")); err != nil {
		t.Fatalf("no resumable state: %v", err)
	}
	if log := runOK(t, tinyArgs(resumed, "--resume")...); !strings.Contains(log, "resuming at epoch 1, batch") {
		t.Errorf("resume log:\n%s", log)
	}
	for _, f := range []string{"results/resnet152_predictions.csv", "results/resnet152_history.csv", "results/model_performance_summary.csv",
		"trained_models/resnet152_model_best_model.safetensors", "trained_models/resnet152_model_best_model.pth"} {
		a, errA := os.ReadFile(filepath.Join(straight, f))
		b, errB := os.ReadFile(filepath.Join(resumed, f))
		if errA != nil || errB != nil || !bytes.Equal(a, b) {
			t.Errorf("%s differs between the uninterrupted and the resumed run (%v, %v)", f, errA, errB)
		}
	}
}

// TestNonFiniteLossStopsThatModel: a learning rate that blows the weights
// up gives a NaN loss; the model stops naming epoch and step, the next
// model runs.
func TestNonFiniteLossStopsThatModel(t *testing.T) {
	out := t.TempDir()
	var log, errOut bytes.Buffer
	code := run([]string{"--models", "tiny_resnet", "tiny_convnext", "--learning_rate", "1e30", "--synthetic_studies", "12", "--num_epochs", "1",
		"--batch_size", "8", "--out", out}, &log, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "tiny_resnet: loss is NaN at epoch 1, step") {
		t.Errorf("exit %d, stderr %s", code, errOut.String())
	}
	if !strings.Contains(log.String(), "tiny_convnext") {
		t.Errorf("the next model did not run:\n%s", log.String())
	}
}

// TestBadImagesAndSmallSets: an image that does not decode stops the run
// before training, naming the file, unless --skip_bad_images; three
// studies are enough.
func TestBadImagesAndSmallSets(t *testing.T) {
	dir := t.TempDir()
	syn, err := datasets.NewSynthetic(datasets.SyntheticConfig{Studies: 3, Seed: 2, MinSize: 64, MaxSize: 96})
	if err != nil {
		t.Fatal(err)
	}
	var samples []datasets.Sample
	for i := range syn.Len() {
		img, _ := syn.Image(i)
		s := syn.Sample(i)
		s.ImagePath = filepath.Join(dir, "img", strings.ReplaceAll(rowID(s), "_spinal_canal_stenosis_", "_")+".png")
		if err := writeGrayPNG(s.ImagePath, img); err != nil {
			t.Fatal(err)
		}
		samples = append(samples, s)
	}
	bad := samples[1].ImagePath
	if err := os.WriteFile(bad, []byte("not a png"), 0o644); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"train_df_spinal_canal_stenosis.csv", "val_df_spinal_canal_stenosis.csv", "test_df_spinal_canal_stenosis.csv"} {
		if err := datasets.WriteRows(filepath.Join(dir, name), samples[5*i:5*i+5]); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"--splits", dir, "--preset", "tiny", "--models", "resnet152", "--num_epochs", "1", "--batch_size", "4", "--crop", "32", "--out", filepath.Join(dir, "out")}
	var log, errOut bytes.Buffer
	if code := run(args, &log, &errOut); code != 1 || !strings.Contains(errOut.String(), bad) || strings.Contains(log.String(), "epoch 1/1") {
		t.Errorf("bad image: exit %d, stderr %s\n%s", code, errOut.String(), log.String())
	}
	log.Reset()
	runOK(t, append(args, "--skip_bad_images")...)
	md, _ := os.ReadFile(filepath.Join(dir, "out", "results", "summary.md"))
	if !strings.Contains(string(md), bad) {
		t.Errorf("summary.md does not list the skipped image:\n%s", md)
	}
}

// TestConcurrentSummaryMerge has several processes merge their rows into
// one summary at once, as a SLURM job array's tasks do.
func TestConcurrentSummaryMerge(t *testing.T) {
	out := t.TempDir()
	names := []string{"vit", "swin", "beit", "efficientnet", "resnet152", "convnext", "a", "b"}
	var wg sync.WaitGroup
	errs := make([]error, len(names))
	for i, n := range names {
		wg.Go(func() {
			cmd := exec.Command(os.Args[0], out)
			cmd.Env = append(os.Environ(), "ALL_TEST_MERGE="+n)
			if b, err := cmd.CombinedOutput(); err != nil {
				errs[i] = errors.New(string(b))
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("%s: %v", names[i], err)
		}
	}
	_, rows := readCSV(t, filepath.Join(out, "results", "model_performance_summary.csv"))
	var got []string
	for _, r := range rows {
		got = append(got, r[0])
	}
	slices.Sort(got)
	want := slices.Clone(names)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("merged rows %v, want %v", got, want)
	}
	md, _ := os.ReadFile(filepath.Join(out, "results", "summary.md"))
	if strings.Count(string(md), "| tiny_resnet |") != len(names) {
		t.Errorf("summary.md:\n%s", md)
	}
}

// writeGrayPNG writes a one-channel image as a 16-bit gray PNG.
func writeGrayPNG(path string, m transforms.Image) error {
	g := image.NewGray16(image.Rect(0, 0, m.W, m.H))
	for i, v := range m.Pix {
		g.Pix[2*i], g.Pix[2*i+1] = uint8(uint16(v)>>8), uint8(uint16(v))
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	var b bytes.Buffer
	if err := png.Encode(&b, g); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// TestWeightsThatDoNotFit: a weights file of another architecture stops
// the run before any training, naming the file and the model.
func TestWeightsThatDoNotFit(t *testing.T) {
	dir := t.TempDir()
	spec, err := models.HeadlessSpec("tiny_convnext")
	if err != nil {
		t.Fatal(err)
	}
	src := nn.NewStore(ag.Float32, 1)
	if _, err := models.Build(spec.Arch, spec.Naming, spec.Config, src.Root()); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"tiny_convnext", "tiny_resnet"} { // fits, does not fit
		if err := src.SaveFile(filepath.Join(dir, name+".safetensors"), nil); err != nil {
			t.Fatal(err)
		}
	}
	var log, errOut bytes.Buffer
	code := run([]string{"--models", "tiny_convnext", "tiny_resnet", "--weights", dir, "--synthetic_studies", "3", "--out", t.TempDir()}, &log, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "tiny_resnet.safetensors does not fit tiny_resnet") || strings.Contains(log.String(), "epoch 1/") {
		t.Errorf("exit %d, stderr %s\n%s", code, errOut.String(), log.String())
	}
}

func TestHelpShowsEveryFlagAndAnExample(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"-h"}, &out, &errOut); code != 0 {
		t.Fatalf("-h: exit %d", code)
	}
	for _, want := range []string{"Examples:", "--models convnext efficientnet resnet152", "--freeze_backbone value", "--select value",
		"the original study's rule", "--batch_size int", "(default 32)"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("-h lacks %q:\n%s", want, errOut.String())
		}
	}
}
