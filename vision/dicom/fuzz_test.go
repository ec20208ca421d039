package dicom

import (
	"bytes"
	"compress/flate"
	"os"
	"path/filepath"
	"testing"
)

// FuzzRead checks that no input makes Read, Stored or Frame panic, hang or
// return inconsistent results. The corpus starts from the shared fixtures
// (when present) and hand-made files for the paths they do not cover.
func FuzzRead(f *testing.F) {
	if paths, _ := filepath.Glob(filepath.Join(fixtureDir, "*.dcm")); len(paths) > 0 {
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	for _, b := range handMadeSeeds() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		im, err := Read(bytes.NewReader(b))
		if err != nil {
			return
		}
		stored, err := im.Stored()
		if err != nil {
			return
		}
		if len(stored) != im.Rows*im.Columns*im.Frames {
			t.Fatalf("%d stored values for %dx%dx%d", len(stored), im.Rows, im.Columns, im.Frames)
		}
		if _, err := im.Frame(im.Frames - 1); err != nil {
			t.Fatalf("Frame(%d) after Stored succeeded: %v", im.Frames-1, err)
		}
	})
}

// handMadeSeeds are small files for the encodings the fixtures lack.
func handMadeSeeds() [][]byte {
	le, be, imp := enc{}, enc{big: true}, enc{implicit: true}
	var seeds [][]byte
	var w bytes.Buffer
	if err := Write(&w, testSpec(3, 4, 12)); err == nil {
		seeds = append(seeds, w.Bytes())
	}
	seeds = append(seeds,
		part10(ExplicitVRBigEndian, be.image16(1, 2), be.el(Tag(0x00209222), "SQ", 0, be.item(be.us(tagRows, 9))), be.pixels16(1, 2)),
		part10(ImplicitVRLittleEndian, imp.useq(Tag(0x00291010), "", imp.uitem(imp.pixels16(1))), imp.image16(1, 1), imp.pixels16(3)),
		part10(ExplicitVRLittleEndian, le.useq(Tag(0x00291010), "UN", imp.uitem(imp.str(Tag(0x00291011), "LO", "x"))), le.image16(1, 1), le.pixels16(3)),
		part10(RLELossless, le.image16(2, 3), le.useq(tagPixelData, "OB", le.item(), le.item(rleFrame([]uint32{1, 2, 3, 4, 5, 6}, 2)))),
		part10(JPEGLossless, le.image16(3, 4), le.useq(tagPixelData, "OB", le.item(),
			le.item(encodeLossless(losslessTestImage(3, 4, 16), 3, 4, 16, 4, 0, 4)))),
	)
	// Deflated data set.
	var z bytes.Buffer
	fw, _ := flate.NewWriter(&z, flate.BestSpeed)
	fw.Write(bytes.Join([][]byte{le.image16(1, 2), le.pixels16(7, 8)}, nil))
	fw.Close()
	seeds = append(seeds, part10(DeflatedExplicitVRLE, z.Bytes()))
	return seeds
}
