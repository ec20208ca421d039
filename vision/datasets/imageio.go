package datasets

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"

	"github.com/vertebra-ml/vertebra/vision/dicom"
	"github.com/vertebra-ml/vertebra/vision/transforms"
)

// ReadImage decodes one slice into a one-channel image of raw values: a
// .png file through image/png (gray levels, 8 or 16 bit; colour images are
// converted to 16-bit luminance), anything else as DICOM (the first
// frame's modality values). Errors name the path.
func ReadImage(path string) (transforms.Image, error) {
	if strings.EqualFold(filepath.Ext(path), ".png") {
		return readPNG(path)
	}
	return readDICOM(path)
}

func readDICOM(path string) (transforms.Image, error) {
	im, err := dicom.ReadFile(path)
	if err != nil {
		return transforms.Image{}, withPath(path, err)
	}
	pix, err := im.Frame(0)
	if err != nil {
		return transforms.Image{}, withPath(path, err)
	}
	m := transforms.Image{C: 1, H: im.Rows, W: im.Columns, Pix: pix}
	if err := m.Check(); err != nil {
		return transforms.Image{}, fmt.Errorf("%s: %d rows x %d columns with %d values: %w",
			path, im.Rows, im.Columns, len(pix), err)
	}
	return m, nil
}

func readPNG(path string) (transforms.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return transforms.Image{}, err
	}
	defer f.Close()
	src, err := png.Decode(f)
	if err != nil {
		return transforms.Image{}, fmt.Errorf("%s: %w", path, err)
	}
	b := src.Bounds()
	if b.Empty() {
		return transforms.Image{}, fmt.Errorf("%s: empty image", path)
	}
	m := transforms.NewImage(1, b.Dy(), b.Dx())
	switch g := src.(type) {
	case *image.Gray:
		for y := range m.H {
			for x := range m.W {
				m.Pix[y*m.W+x] = float32(g.GrayAt(b.Min.X+x, b.Min.Y+y).Y)
			}
		}
	case *image.Gray16:
		for y := range m.H {
			for x := range m.W {
				m.Pix[y*m.W+x] = float32(g.Gray16At(b.Min.X+x, b.Min.Y+y).Y)
			}
		}
	default:
		for y := range m.H {
			for x := range m.W {
				m.Pix[y*m.W+x] = float32(color.Gray16Model.Convert(src.At(b.Min.X+x, b.Min.Y+y)).(color.Gray16).Y)
			}
		}
	}
	return m, nil
}

// withPath wraps err with path unless its message already names it.
func withPath(path string, err error) error {
	if strings.Contains(err.Error(), path) {
		return err
	}
	return fmt.Errorf("%s: %w", path, err)
}
