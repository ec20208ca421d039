package main

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/vertebra-ml/vertebra/vision/datasets"
)

// savePlot renders p as a PNG through writeFile.
func savePlot(p *plot.Plot, w, h vg.Length, path string) error {
	wt, err := p.WriterTo(w, h, "png")
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if _, err := wt.WriteTo(&b); err != nil {
		return err
	}
	return writeFile(path, b.Bytes())
}

// plotHistory writes <model>_model_training_history.png: loss and
// accuracy per epoch, training and validation, side by side.
func plotHistory(path string, r *result) error {
	if len(r.History) == 0 {
		return nil
	}
	series := func(f func(epochRecord) float64) plotter.XYs {
		xy := make(plotter.XYs, len(r.History))
		for i, h := range r.History {
			xy[i].X, xy[i].Y = float64(h.Epoch), f(h)
		}
		return xy
	}
	loss := plot.New()
	loss.X.Tick.Marker, loss.Y.Tick.Marker = epochTicks{}, decimalTicks{}
	loss.Title.Text = r.Model + ": loss"
	loss.X.Label.Text, loss.Y.Label.Text = "epoch", "weighted cross-entropy"
	if err := plotutil.AddLinePoints(loss,
		"train", series(func(h epochRecord) float64 { return h.TrainLoss }),
		"validation", series(func(h epochRecord) float64 { return h.ValLoss })); err != nil {
		return err
	}
	loss.Legend.Top = true
	acc := plot.New()
	acc.X.Tick.Marker = epochTicks{}
	acc.Title.Text = r.Model + ": accuracy"
	acc.X.Label.Text = "epoch"
	acc.Y.Min, acc.Y.Max = 0, 1
	if err := plotutil.AddLinePoints(acc,
		"train accuracy", series(func(h epochRecord) float64 { return h.TrainAcc }),
		"validation accuracy", series(func(h epochRecord) float64 { return h.ValAcc }),
		"validation macro F1", series(func(h epochRecord) float64 { return h.ValMacroF1 })); err != nil {
		return err
	}
	img := vgimg.New(11*vg.Inch, 4*vg.Inch)
	dc := draw.New(img)
	plots := [][]*plot.Plot{{loss, acc}}
	canvases := plot.Align(plots, draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Millimeter * 4}, dc)
	loss.Draw(canvases[0][0])
	acc.Draw(canvases[0][1])
	var b bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&b); err != nil {
		return err
	}
	return writeFile(path, b.Bytes())
}

// confusionGrid adapts a confusion matrix to plotter.GridXYZ: column c is
// the prediction, and true classes run top to bottom.
type confusionGrid [][]int

func (g confusionGrid) Dims() (c, r int)   { return len(g), len(g) }
func (g confusionGrid) Z(c, r int) float64 { return float64(g[len(g)-1-r][c]) }
func (g confusionGrid) X(c int) float64    { return float64(c) }
func (g confusionGrid) Y(r int) float64    { return float64(r) }

func plotConfusion(path, title string, m [][]int) error {
	k := len(m)
	if k == 0 {
		return nil
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text, p.Y.Label.Text = "predicted", "true"
	top := 1
	for _, row := range m {
		for _, v := range row {
			top = max(top, v)
		}
	}
	pal := moreland.SmoothBlueRed().Palette(64)
	hm := plotter.NewHeatMap(confusionGrid(m), pal)
	hm.Min, hm.Max = 0, float64(top)
	p.Add(hm)
	var xys plotter.XYs
	var labels []string
	for t := range k {
		for c := range k {
			xys = append(xys, plotter.XY{X: float64(c), Y: float64(k - 1 - t)})
			labels = append(labels, fmt.Sprint(m[t][c]))
		}
	}
	l, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
	if err != nil {
		return err
	}
	for i := range l.TextStyle {
		l.TextStyle[i].Color = color.White
		l.TextStyle[i].XAlign, l.TextStyle[i].YAlign = -0.5, -0.5
	}
	p.Add(l)
	names := make([]string, k)
	rev := make([]string, k)
	for i := range k {
		names[i] = datasets.GradeName(i)
		rev[k-1-i] = datasets.GradeName(i)
	}
	p.NominalX(names...)
	p.NominalY(rev...)
	return savePlot(p, 5*vg.Inch, 4*vg.Inch, path)
}

// plotComparison writes model_comparison.png: test accuracy and macro F1
// of every model in the summary.
func plotComparison(path string, rows [][]string) error {
	if len(rows) == 0 {
		return nil
	}
	p := plot.New()
	p.Title.Text = "test set: accuracy and macro F1 per backbone"
	p.Y.Min, p.Y.Max = 0, 1
	var acc, f1 plotter.Values
	var names []string
	for _, r := range rows {
		acc = append(acc, colFloat(r, "accuracy"))
		f1 = append(f1, colFloat(r, "macro_f1"))
		names = append(names, col(r, "model_name"))
	}
	w := vg.Points(14)
	ba, err := plotter.NewBarChart(acc, w)
	if err != nil {
		return err
	}
	ba.Color, ba.Offset = plotutil.Color(0), -w/2
	bf, err := plotter.NewBarChart(f1, w)
	if err != nil {
		return err
	}
	bf.Color, bf.Offset = plotutil.Color(1), w/2
	p.Add(ba, bf)
	p.Legend.Add("accuracy", ba)
	p.Legend.Add("macro F1", bf)
	p.Legend.Top = true
	p.NominalX(names...)
	return savePlot(p, vg.Length(2+1.3*float64(len(rows)))*vg.Inch, 4*vg.Inch, path)
}

// epochTicks marks whole epochs only.
type epochTicks struct{}

func (epochTicks) Ticks(lo, hi float64) []plot.Tick {
	step := math.Max(1, math.Ceil((hi-lo)/10))
	var ticks []plot.Tick
	for v := math.Ceil(lo); v <= hi; v += step {
		ticks = append(ticks, plot.Tick{Value: v, Label: strconv.Itoa(int(v))})
	}
	return ticks
}

// decimalTicks are gonum's default ticks, labelled with as many decimals
// as the spacing of the major ticks needs (the default can print the same
// rounded label twice on a narrow range).
type decimalTicks struct{}

func (decimalTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	var major []float64
	for _, t := range ticks {
		if t.Label != "" {
			major = append(major, t.Value)
		}
	}
	decimals := 2
	if len(major) > 1 {
		decimals = max(0, int(math.Ceil(-math.Log10(major[1]-major[0])))+1)
	}
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = strconv.FormatFloat(ticks[i].Value, 'f', decimals, 64)
		}
	}
	return ticks
}
