package datasets

import (
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vertebra-ml/vertebra/vision/transforms"
)

func newSynth(t testing.TB, cfg SyntheticConfig) *Synthetic {
	t.Helper()
	d, err := NewSynthetic(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestSyntheticBalance(t *testing.T) {
	d := newSynth(t, SyntheticConfig{Studies: 400, Seed: 7})
	c := ClassCounts(Samples(d))
	n := float64(d.Len())
	frac := [Grades]float64{float64(c[0]) / n, float64(c[1]) / n, float64(c[2]) / n}
	t.Logf("400 studies, %d samples: counts %v = %.1f / %.1f / %.1f %%", d.Len(), c, 100*frac[0], 100*frac[1], 100*frac[2])
	want := [Grades]float64{0.87, 0.08, 0.05}
	for g := range Grades {
		// 2000 samples: a binomial standard deviation is below 0.8 %.
		if math.Abs(frac[g]-want[g]) > 0.025 {
			t.Errorf("grade %d: %.3f of samples, want %.2f +- 0.025", g, frac[g], want[g])
		}
	}
	for i := range d.Len() {
		s, f := d.Sample(i), d.Narrowing(i)
		lo, hi := narrowingRange(s.Grade)
		if f < lo || f > hi {
			t.Fatalf("sample %d: grade %d with narrowing %.3f outside [%v, %v]", i, s.Grade, f, lo, hi)
		}
	}
}

func TestSyntheticDeterminism(t *testing.T) {
	a := newSynth(t, SyntheticConfig{Studies: 6, Seed: 42})
	b := newSynth(t, SyntheticConfig{Studies: 6, Seed: 42})
	c := newSynth(t, SyntheticConfig{Studies: 6, Seed: 43})
	sameLabels, sameImage := true, true
	for i := range a.Len() {
		if a.Sample(i) != b.Sample(i) {
			t.Fatalf("sample %d differs for the same seed: %+v vs %+v", i, a.Sample(i), b.Sample(i))
		}
		sameLabels = sameLabels && a.Sample(i) == c.Sample(i)
	}
	for i := 0; i < a.Len(); i += Levels {
		ma, _ := a.Image(i)
		mb, _ := b.Image(i)
		mc, _ := c.Image(i)
		if !equalImages(ma, mb) {
			t.Fatalf("image %d differs for the same seed", i)
		}
		sameImage = sameImage && equalImages(ma, mc)
	}
	if sameLabels || sameImage {
		t.Errorf("seeds 42 and 43 give the same labels (%v) or images (%v)", sameLabels, sameImage)
	}
}

func equalImages(a, b transforms.Image) bool {
	if a.C != b.C || a.H != b.H || a.W != b.W || len(a.Pix) != len(b.Pix) {
		return false
	}
	for i := range a.Pix {
		if a.Pix[i] != b.Pix[i] {
			return false
		}
	}
	return true
}

func TestSyntheticImages(t *testing.T) {
	d := newSynth(t, SyntheticConfig{Studies: 40, Seed: 3})
	ids, above, square, oblong, bits16 := map[int64]bool{}, 0, 0, 0, 0
	for i := 0; i < d.Len(); i += Levels {
		st := d.studies[i/Levels]
		s := d.Sample(i)
		if ids[s.StudyID] {
			t.Fatalf("study id %d used twice", s.StudyID)
		}
		ids[s.StudyID] = true
		if s.StudyID > math.MaxInt32 {
			above++
		}
		if st.h < 192 || st.h > 384 || st.w < 192 || st.w > 384 {
			t.Errorf("study %d: size %dx%d outside 192..384", s.StudyID, st.h, st.w)
		}
		if st.h == st.w {
			square++
		} else {
			oblong++
		}
		if st.bits == 16 {
			bits16++
		}
		for l := range Levels {
			p := d.Sample(i + l)
			if p.X < 0 || p.X >= float64(st.w) || p.Y < 0 || p.Y >= float64(st.h) {
				t.Errorf("study %d %s: point (%.1f, %.1f) outside %dx%d", s.StudyID, LevelName(l), p.X, p.Y, st.w, st.h)
			}
			if l > 0 && p.Y <= d.Sample(i+l-1).Y {
				t.Errorf("study %d: level %d is not below level %d", s.StudyID, l, l-1)
			}
		}
		if i >= 5*Levels {
			continue // rendering every study is slow; a few suffice
		}
		m, err := d.Image(i)
		if err != nil {
			t.Fatal(err)
		}
		maxV := float32(int(1)<<st.bits - 1)
		for _, v := range m.Pix {
			if v < 0 || v > maxV || v != float32(math.Round(float64(v))) {
				t.Fatalf("study %d: value %v is not a %d-bit stored value", s.StudyID, v, st.bits)
			}
		}
	}
	t.Logf("40 studies: %d ids above 2^31, %d square, %d oblong, %d 16-bit", above, square, oblong, bits16)
	if above == 0 || square == 0 || oblong == 0 || bits16 == 0 || bits16 == 40 {
		t.Errorf("want some of each: ids above 2^31 %d, square %d, oblong %d, 16-bit %d of 40", above, square, oblong, bits16)
	}
}

// canalWidth224 measures the canal at a sample's level after the study's
// resize to 224 x 224: the run of bright pixels through the point on its
// row, averaged over three rows.
func canalWidth224(t *testing.T, d Dataset, i int) float64 {
	s := d.Sample(i)
	m, err := d.Image(i)
	if err != nil {
		t.Fatal(err)
	}
	sx, sy := 224/float64(m.W), 224/float64(m.H)
	if m, err = transforms.MinMax(m); err != nil {
		t.Fatal(err)
	}
	if m, err = transforms.Resize(m, 224, 224); err != nil {
		t.Fatal(err)
	}
	cx, cy := int((s.X+0.5)*sx), int((s.Y+0.5)*sy)
	var total float64
	for dy := -1; dy <= 1; dy++ {
		y := cy + dy
		ref := m.At(0, y, cx)
		n := 0
		for x := cx; x >= 0 && m.At(0, y, x) > 0.6*ref; x-- {
			n++
		}
		for x := cx + 1; x < 224 && m.At(0, y, x) > 0.6*ref; x++ {
			n++
		}
		total += float64(n)
	}
	return total / 3
}

// TestSyntheticLearnable checks that the grade shows after resizing the
// whole slice to 224: the canal at severe levels is narrower than at
// moderate ones, and those narrower than at normal ones.
func TestSyntheticLearnable(t *testing.T) {
	d := newSynth(t, SyntheticConfig{Studies: 40, Seed: 11})
	var sum, n [Grades]float64
	for i := range d.Len() {
		g := d.Sample(i).Grade
		if g == NormalMild && n[g] >= 20 {
			continue
		}
		sum[g] += canalWidth224(t, d, i)
		n[g]++
	}
	var mean [Grades]float64
	for g := range Grades {
		mean[g] = sum[g] / n[g]
	}
	t.Logf("canal width at the level after resize to 224 (pixels): normal %.1f (n=%v), moderate %.1f (n=%v), severe %.1f (n=%v)",
		mean[0], n[0], mean[1], n[1], mean[2], n[2])
	if !(mean[0] > mean[1]+1.5 && mean[1] > mean[2]+1) {
		t.Errorf("canal widths by grade %v do not fall clearly with the grade", mean)
	}
}

func TestSyntheticConfigErrors(t *testing.T) {
	for _, cfg := range []SyntheticConfig{
		{},
		{Studies: -1},
		{Studies: 1, GradeProbs: [3]float64{1, -1, 0}},
		{Studies: 1, GradeProbs: [3]float64{math.NaN(), 1, 0}},
		{Studies: 1, MinSize: 400, MaxSize: 300},
		{Studies: 1, MinSize: 8},
		{Studies: 1, Slices: 4},
	} {
		if _, err := NewSynthetic(cfg); err == nil {
			t.Errorf("NewSynthetic(%+v): no error", cfg)
		}
	}
	d := newSynth(t, SyntheticConfig{Studies: 1})
	if _, err := d.Image(5); err == nil {
		t.Error("Image out of range: no error")
	}
}

func TestSyntheticRSNARoundTrip(t *testing.T) {
	d := newSynth(t, SyntheticConfig{Studies: 6, Seed: 5, T1: true, MaxSize: 256})
	dir := t.TempDir()
	if err := d.WriteRSNA(dir); err != nil {
		t.Fatal(err)
	}
	r, sum, err := LoadRSNA(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.Len() != d.Len() || len(sum.Skipped) != 0 {
		t.Fatalf("read back %d samples of %d, skipped:\n%s", r.Len(), d.Len(), sum)
	}
	byKey := map[[2]int64]int{}
	for i := range d.Len() {
		s := d.Sample(i)
		byKey[[2]int64{s.StudyID, int64(s.Level)}] = i
	}
	for i := range r.Len() {
		got := r.Sample(i)
		j, ok := byKey[[2]int64{got.StudyID, int64(got.Level)}]
		if !ok {
			t.Fatalf("read back study %d %s, which was not written", got.StudyID, LevelName(got.Level))
		}
		want := d.Sample(j)
		want.ImagePath = got.ImagePath
		if got != want {
			t.Errorf("sample:\n got %+v\nwant %+v", got, want)
		}
		if got.Level != 2 {
			continue // the five levels share one slice
		}
		gm, err := r.Image(i)
		if err != nil {
			t.Fatal(err)
		}
		wm, _ := d.Image(j)
		if !equalImages(gm, wm) {
			t.Errorf("study %d: image read back differs from the generated one (%v vs %v)", got.StudyID, gm, wm)
		}
	}
	// Every series has Slices files and a T1 series sits beside the T2.
	series := lines(t, filepath.Join(dir, SeriesCSV))
	if len(series) != 1+2*6 {
		t.Errorf("%d series rows, want 12", len(series)-1)
	}
	for _, row := range series[1:] {
		files, err := os.ReadDir(filepath.Join(dir, ImagesDir, row[0], row[1]))
		if err != nil || len(files) != 5 {
			t.Errorf("series %s/%s: %d files (%v), want 5", row[0], row[1], len(files), err)
		}
	}
	if h := lines(t, filepath.Join(dir, TrainCSV))[0]; len(h) != 26 {
		t.Errorf("train.csv has %d columns, want 26", len(h))
	}
}

func TestLoadRSNASkipsMissingAndUnreadableImages(t *testing.T) {
	d := newSynth(t, SyntheticConfig{Studies: 3, Seed: 9, Slices: 1, MaxSize: 192})
	dir := t.TempDir()
	if err := d.WriteRSNA(dir); err != nil {
		t.Fatal(err)
	}
	path := func(s Sample) string {
		return filepath.Join(dir, ImagesDir, itoa(s.StudyID), itoa(s.SeriesID), itoa(int64(s.InstanceNumber))+".dcm")
	}
	gone, broken := path(d.Sample(0)), path(d.Sample(Levels))
	if err := os.Remove(gone); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(broken, []byte("not a DICOM file"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, sum, err := LoadRSNA(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.Len() != Levels || sum.Count(MissingImage) != Levels || sum.Count(UnreadableImage) != Levels {
		t.Fatalf("kept %d, want %d; summary:\n%s", r.Len(), Levels, sum)
	}
	text := sum.String()
	for _, p := range []string{gone, broken} {
		if !strings.Contains(text, p) {
			t.Errorf("summary does not name %s:\n%s", p, text)
		}
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
