package dicom

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
)

// decodeJPEGBaseline decodes an 8-bit grayscale JPEG (process 1) with the
// standard library's decoder.
func decodeJPEGBaseline(f []byte, rows, cols int, dst []int32) error {
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(f))
	if err != nil {
		return fmt.Errorf("JPEG: %w", err)
	}
	if cfg.Width != cols || cfg.Height != rows {
		return fmt.Errorf("JPEG: frame is %dx%d, want %dx%d", cfg.Height, cfg.Width, rows, cols)
	}
	img, err := jpeg.Decode(bytes.NewReader(f))
	if err != nil {
		return fmt.Errorf("JPEG: %w", err)
	}
	g, ok := img.(*image.Gray)
	if !ok {
		return fmt.Errorf("JPEG: decodes to %T, want one grayscale component", img)
	}
	for y := 0; y < rows; y++ {
		line := g.Pix[y*g.Stride : y*g.Stride+cols]
		for x, v := range line {
			dst[y*cols+x] = int32(v)
		}
	}
	return nil
}
