// Command predict grades spinal canal stenosis with a model trained by
// experiments/all: the three probabilities for one image and level, or a
// Kaggle submission for a folder in the RSNA 2024 test layout.
//
//	go run ./experiments/predict --model trained_models/convnext_model_best_model --image 12.dcm --level L4/L5
//	go run ./experiments/predict --model trained_models/convnext_model_best_model.pth --data RSNA_ROOT --out submission.csv
//
// The model is read from its checkpoint (.safetensors or the study's .pth)
// and its JSON sidecar, which says how it was built and fed.
package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/internal/atomicfile"
	"github.com/vertebra-ml/vertebra/nn"
	"github.com/vertebra-ml/vertebra/vision/datasets"
	"github.com/vertebra-ml/vertebra/vision/models"
	"github.com/vertebra-ml/vertebra/vision/transforms"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("predict", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		modelPath = fs.String("model", "", "trained model: trained_models/<model>_model_best_model(.safetensors|.pth|.json)")
		image     = fs.String("image", "", "one slice to grade (.dcm or .png), with --level")
		level     = fs.String("level", "", "the level of --image: L1/L2 .. L5/S1")
		x         = fs.Float64("x", math.NaN(), "column of the level's canal in --image (models trained on crops need it)")
		y         = fs.Float64("y", math.NaN(), "row of the level's canal in --image")
		data      = fs.String("data", "", "folder in the RSNA 2024 test layout (test_series_descriptions.csv, test_images/): writes --out")
		coords    = fs.String("coordinates", "", "with --data: a CSV of labelled slices and points (train_label_coordinates.csv's columns); default: each T2 series' middle slice")
		out       = fs.String("out", "submission.csv", "with --data: the submission file (row_id,normal_mild,moderate,severe)")
	)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if err := predict(*modelPath, *image, *level, *x, *y, *data, *coords, *out, stdout); err != nil {
		fmt.Fprintln(stderr, "predict:", err)
		return 1
	}
	return 0
}

func predict(modelPath, image, level string, x, y float64, data, coords, out string, stdout io.Writer) error {
	switch {
	case modelPath == "":
		return errors.New("--model: give a trained model (trained_models/<model>_model_best_model...)")
	case (image == "") == (data == ""):
		return errors.New("give one of --image (with --level) and --data")
	case image != "" && level == "":
		return errors.New("--image needs --level (L1/L2 .. L5/S1)")
	}
	m, err := loadModel(modelPath)
	if err != nil {
		return err
	}
	if image != "" {
		lv, err := datasets.ParseLevel(level)
		if err != nil {
			return fmt.Errorf("--level: %w", err)
		}
		p, err := m.predict(datasets.Sample{ImagePath: image, Level: lv, X: x, Y: y})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s %s: normal_mild %.6f moderate %.6f severe %.6f\n", image, datasets.LevelName(lv), p[0], p[1], p[2])
		return nil
	}
	samples, noT2, err := datasets.LoadRSNATest(data, coords)
	if err != nil {
		return fmt.Errorf("--data: %w", err)
	}
	for _, s := range noT2 {
		fmt.Fprintf(stdout, "study %d: no Sagittal T2/STIR series; no rows\n", s)
	}
	rows := [][]string{{"row_id", "normal_mild", "moderate", "severe"}}
	for _, s := range samples {
		p, err := m.predict(s)
		if err != nil {
			return err
		}
		rows = append(rows, []string{fmt.Sprintf("%d_spinal_canal_stenosis_%s", s.StudyID, datasets.LevelSuffix(s.Level)),
			ftoa(p[0]), ftoa(p[1]), ftoa(p[2])})
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.WriteAll(rows)
	if err := writeFile(out, b.Bytes()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d rows (%d studies) in %s\n", len(samples), len(samples)/datasets.Levels, out)
	return nil
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'f', 6, 64) }

// sidecar is the part of experiments/all's JSON sidecar a prediction needs.
type sidecar struct {
	Model    string          `json:"model"`
	Arch     string          `json:"arch"`
	Naming   string          `json:"naming"`
	Backbone json.RawMessage `json:"backbone"`
	Config   struct {
		EmbeddingDim int     `json:"level_embeddings"`
		Dropout      float64 `json:"dropout"`
		ImageSize    int     `json:"image_size"`
		Crop         int     `json:"crop"`
	} `json:"config"`
}

type model struct {
	path  string
	cfg   sidecar
	net   *models.Stenosis
	store *nn.Store
	eval  transforms.Transform
}

// loadModel reads the sidecar and the checkpoint of a trained model.
func loadModel(path string) (*model, error) {
	base := path
	for _, ext := range []string{".json", ".safetensors", ".pth"} {
		base = strings.TrimSuffix(base, ext)
	}
	ckpt := path
	if ext := filepath.Ext(path); ext != ".safetensors" && ext != ".pth" {
		ckpt = base + ".safetensors"
		if _, err := os.Stat(ckpt); err != nil {
			ckpt = base + ".pth"
		}
	}
	b, err := os.ReadFile(base + ".json")
	if err != nil {
		return nil, fmt.Errorf("--model: the sidecar that says how the model was built: %w", err)
	}
	m := &model{path: ckpt}
	if err := json.Unmarshal(b, &m.cfg); err != nil || m.cfg.Arch == "" {
		return nil, fmt.Errorf("--model: %s.json is not a sidecar of experiments/all (%v)", base, err)
	}
	m.store = nn.NewStore(ag.Float32, 0)
	m.net, err = models.NewStenosis(m.store.Root(), models.StenosisConfig{
		Backbone:     models.BackboneSpec{Arch: m.cfg.Arch, Naming: m.cfg.Naming, Config: m.cfg.Backbone},
		EmbeddingDim: m.cfg.Config.EmbeddingDim, NumLevels: datasets.Levels, NumClasses: datasets.Grades, Dropout: m.cfg.Config.Dropout,
	})
	if err != nil {
		return nil, fmt.Errorf("--model: %s.json: %w", base, err)
	}
	f, err := nn.ReadCheckpoint(ckpt)
	if err != nil {
		return nil, fmt.Errorf("--model: %w", err)
	}
	if err := m.store.LoadFile(f, nn.LoadOptions{Strict: true}); err != nil {
		return nil, fmt.Errorf("--model: %s does not fit its sidecar: %w", ckpt, err)
	}
	m.eval, err = transforms.Eval(transforms.Config{Size: m.cfg.Config.ImageSize, Crop: m.cfg.Config.Crop})
	if err != nil {
		return nil, fmt.Errorf("--model: %s.json: %w", base, err)
	}
	return m, nil
}

// predict returns the grade probabilities of one sample.
func (m *model) predict(s datasets.Sample) ([]float64, error) {
	if m.cfg.Config.Crop > 0 && (math.IsNaN(s.X) || math.IsNaN(s.Y)) {
		return nil, fmt.Errorf("%s: %s was trained on %d-pixel crops around the labelled point: give the point (--x, --y, or --coordinates)",
			s.ImagePath, m.cfg.Model, m.cfg.Config.Crop)
	}
	img, err := datasets.ReadImage(s.ImagePath)
	if err != nil {
		return nil, err
	}
	in, err := m.eval(img, transforms.Context{X: s.X, Y: s.Y})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.ImagePath, err)
	}
	var p []float64
	ag.NoGrad(func() {
		logits := m.net.Forward(ag.FromFloat32(in.Pix, 1, in.C, in.H, in.W), []int{s.Level})
		p = ag.Softmax(logits, 1).Float64s()
	})
	return p, nil
}

func writeFile(path string, data []byte) error { return atomicfile.WriteFile(path, data, 0o644) }
