package datasets

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"

	"github.com/vertebra-ml/vertebra/vision/transforms"
)

// GridOptions shapes a [WriteGrid] picture. Zero fields take the defaults
// named on each.
type GridOptions struct {
	// PerGrade is the number of samples (columns) per grade row (4).
	PerGrade int
	// Tile is the side of each tile in pixels (128).
	Tile int
	// Crop is the side of the square cut around each labelled point, as a
	// fraction of the slice's shorter side (0.4); 1 or more shows whole
	// slices, resized to Tile x Tile.
	Crop float64
}

// WriteGrid writes a PNG of samples of ds, one row per grade (Normal/Mild,
// Moderate, Severe from the top) and PerGrade columns: the first samples of
// each grade in index order. Each tile is its slice min-max scaled, cut
// around the labelled point and resized; short ticks at both sides mark the
// point's row (and, for whole slices, a black cross marks the point). Missing
// samples leave a tile black.
func WriteGrid(path string, ds Dataset, opts GridOptions) error {
	if opts.PerGrade == 0 {
		opts.PerGrade = 4
	}
	if opts.Tile == 0 {
		opts.Tile = 128
	}
	if opts.Crop == 0 {
		opts.Crop = 0.4
	}
	if opts.PerGrade < 0 || opts.PerGrade > 64 || opts.Tile < 16 || opts.Tile > 1024 || !(opts.Crop > 0) {
		return fmt.Errorf("datasets: WriteGrid %s: options %+v: want 1..64 per grade, tiles of 16..1024 pixels, crop > 0", path, opts)
	}
	const gap = 4
	t := opts.Tile
	pic := image.NewGray(image.Rect(0, 0, opts.PerGrade*(t+gap)-gap, Grades*(t+gap)-gap))
	for i := range pic.Pix {
		pic.Pix[i] = 40
	}
	var count [Grades]int
	for i := 0; i < ds.Len(); i++ {
		s := ds.Sample(i)
		if s.Grade < 0 || s.Grade >= Grades || count[s.Grade] >= opts.PerGrade {
			continue
		}
		tile, err := gridTile(ds, i, t, opts.Crop)
		if err != nil {
			return fmt.Errorf("datasets: WriteGrid %s: %w", path, err)
		}
		x0, y0 := count[s.Grade]*(t+gap), s.Grade*(t+gap)
		for y := range t {
			for x := range t {
				pic.SetGray(x0+x, y0+y, color.Gray{Y: tile[y*t+x]})
			}
		}
		count[s.Grade]++
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("datasets: WriteGrid: %w", err)
	}
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(f, pic); err != nil {
		f.Close()
		return fmt.Errorf("datasets: WriteGrid %s: %w", path, err)
	}
	return f.Close()
}

// gridTile renders sample i as t x t gray levels with its point marked.
func gridTile(ds Dataset, i, t int, crop float64) ([]uint8, error) {
	s := ds.Sample(i)
	m, err := ds.Image(i)
	if err != nil {
		return nil, err
	}
	if m, err = transforms.MinMax(m); err != nil {
		return nil, err
	}
	// Map the labelled point into the tile to draw the marks.
	px, py := s.X, s.Y
	if crop < 1 {
		side := int(crop * float64(min(m.H, m.W)))
		if m, err = transforms.CropAround(m, s.X, s.Y, side); err != nil {
			return nil, err
		}
		px, py = float64(side/2), float64(side/2)
	}
	sx, sy := float64(t)/float64(m.W), float64(t)/float64(m.H)
	if m, err = transforms.ResizeAntialias(m, t, t); err != nil {
		return nil, err
	}
	out := make([]uint8, t*t)
	for k, v := range m.Pix {
		// A mild gamma shows the dark tissues as a radiologist's window would.
		out[k] = uint8(math.Round(255 * math.Pow(math.Min(math.Max(float64(v)*1.15, 0), 1), 0.8)))
	}
	ty := int((py + 0.5) * sy)
	tx := int((px + 0.5) * sx)
	if ty >= 0 && ty < t {
		for x := range max(t/16, 3) {
			out[ty*t+x], out[ty*t+t-1-x] = 255, 255
		}
	}
	if crop >= 1 && tx >= 0 && tx < t && ty >= 0 && ty < t {
		for d := -3; d <= 3; d++ {
			if x := tx + d; x >= 0 && x < t && d*d > 1 {
				out[ty*t+x] = 0
			}
			if y := ty + d; y >= 0 && y < t && d*d > 1 {
				out[y*t+tx] = 0
			}
		}
	}
	return out, nil
}
