package main

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/vertebra-ml/vertebra/vision/dicom"
)

// run is the whole command; it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dicom", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pngDir := fs.String("png", "", "also write each frame as a 16-bit grayscale PNG into `DIR`")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: dicom [--png DIR] FILE...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	status := 0
	used := make(map[string]bool) // PNG names written in this run
	for _, path := range fs.Args() {
		line, err := inspect(path, *pngDir, used)
		if err != nil {
			fmt.Fprintf(stdout, "%s ERROR %s\n", path, reason(path, err))
			status = 1
			continue
		}
		fmt.Fprintln(stdout, line)
	}
	return status
}

// inspect reads one file, optionally writes its frames as PNGs, and
// returns its report line.
func inspect(path, pngDir string, used map[string]bool) (string, error) {
	im, err := dicom.ReadFile(path)
	if err != nil {
		return "", err
	}
	stored, err := im.Stored()
	if err != nil {
		return "", err
	}
	if pngDir != "" {
		if err := writePNGs(im, path, pngDir, used); err != nil {
			return "", err
		}
	}
	return formatLine(path, im, stored), nil
}

// reason is an error message without the "dicom: <path>: " the line
// already starts with.
func reason(path string, err error) string {
	msg := strings.TrimPrefix(err.Error(), "dicom: ")
	msg = strings.TrimPrefix(msg, path+": ")
	return strings.ReplaceAll(msg, "\n", " ")
}

// formatLine is the report line of a decoded file.
func formatLine(path string, im *dicom.Image, stored []int32) string {
	signed := 0
	if im.Signed {
		signed = 1
	}
	photometric := im.Photometric
	if photometric == "" {
		photometric = "-"
	}
	return fmt.Sprintf("%s %s %dx%dx%d bits=%d/%d signed=%d %s sha256=%s",
		path, im.TransferSyntax, im.Rows, im.Columns, im.Frames,
		im.BitsAllocated, im.BitsStored, signed, photometric, hashStored(stored))
}

// hashStored is the SHA-256 of the values as little-endian int32.
func hashStored(v []int32) string {
	h := sha256.New()
	var buf [4096]byte
	for len(v) > 0 {
		n := min(len(v), len(buf)/4)
		for i, x := range v[:n] {
			binary.LittleEndian.PutUint32(buf[4*i:], uint32(x))
		}
		h.Write(buf[:4*n])
		v = v[n:]
	}
	return hex.EncodeToString(h.Sum(nil))
}

// writePNGs writes every frame of im into dir. Names already used in this
// run get a numeric suffix, so files of the same name in different folders
// do not overwrite each other.
func writePNGs(im *dicom.Image, path, dir string, used map[string]bool) error {
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	stem := base
	for n := 2; used[stem]; n++ {
		stem = fmt.Sprintf("%s_%d", base, n)
	}
	used[stem] = true
	for i := 0; i < im.Frames; i++ {
		fr, err := im.Frame(i)
		if err != nil {
			return err
		}
		out := filepath.Join(dir, fmt.Sprintf("%s_frame%d.png", stem, i))
		if err := writePNG(out, window(fr, im.Rows, im.Columns)); err != nil {
			return err
		}
	}
	return nil
}

// window maps the frame's values from their minimum and maximum to
// 0..65535; a constant frame becomes black.
func window(fr []float32, rows, cols int) *image.Gray16 {
	lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
	for _, v := range fr {
		lo, hi = min(lo, v), max(hi, v)
	}
	img := image.NewGray16(image.Rect(0, 0, cols, rows))
	scale := 0.0
	if hi > lo {
		scale = 65535 / (float64(hi) - float64(lo))
	}
	for i, v := range fr {
		g := uint16(math.Round((float64(v) - float64(lo)) * scale))
		img.Pix[2*i], img.Pix[2*i+1] = byte(g>>8), byte(g)
	}
	return img
}

func writePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}
