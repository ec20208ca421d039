package datasets

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/vertebra-ml/vertebra/data"
	"github.com/vertebra-ml/vertebra/vision/transforms"
)

// SyntheticConfig describes a synthetic data set. Zero fields take the
// defaults named on each.
type SyntheticConfig struct {
	// Studies is the number of studies, each giving one sample per level.
	Studies int
	// Seed fixes everything: the same config gives the same data set.
	Seed uint64
	// GradeProbs are the probabilities of Normal/Mild, Moderate and Severe
	// at each level; all zero means the RSNA data's 0.87, 0.08, 0.05.
	GradeProbs [Grades]float64
	// MinSize and MaxSize bound the image sides in pixels (192 and 384).
	MinSize, MaxSize int
	// Slices is the number of slices per series [Synthetic.WriteRSNA]
	// writes (5); the labelled one is in the middle. It must be odd.
	Slices int
	// T1 makes WriteRSNA also write a Sagittal T1 series per study.
	T1 bool
	// CacheBytes bounds the memory that keeps rendered slices for reuse by
	// the other levels of a study and by later epochs (256 MiB; negative
	// turns the cache off).
	CacheBytes int
}

func (c SyntheticConfig) withDefaults() (SyntheticConfig, error) {
	if c.GradeProbs == [Grades]float64{} {
		c.GradeProbs = [Grades]float64{0.87, 0.08, 0.05}
	}
	if c.MinSize == 0 {
		c.MinSize = 192
	}
	if c.MaxSize == 0 {
		c.MaxSize = max(384, c.MinSize)
	}
	if c.Slices == 0 {
		c.Slices = 5
	}
	if c.CacheBytes == 0 {
		c.CacheBytes = 256 << 20
	}
	var total float64
	for g, p := range c.GradeProbs {
		if !(p >= 0) || math.IsInf(p, 0) {
			return c, fmt.Errorf("datasets: SyntheticConfig.GradeProbs[%d] = %v, want >= 0", g, p)
		}
		total += p
	}
	switch {
	case c.Studies <= 0:
		return c, fmt.Errorf("datasets: SyntheticConfig.Studies = %d, want > 0", c.Studies)
	case total <= 0:
		return c, fmt.Errorf("datasets: SyntheticConfig.GradeProbs %v sum to %v, want > 0", c.GradeProbs, total)
	case c.MinSize < 64 || c.MaxSize > 4096 || c.MinSize > c.MaxSize:
		return c, fmt.Errorf("datasets: SyntheticConfig sizes %d..%d, want 64 <= MinSize <= MaxSize <= 4096", c.MinSize, c.MaxSize)
	case c.Slices < 1 || c.Slices%2 == 0 || c.Slices > 99:
		return c, fmt.Errorf("datasets: SyntheticConfig.Slices = %d, want an odd number in 1..99", c.Slices)
	}
	for g := range c.GradeProbs {
		c.GradeProbs[g] /= total
	}
	return c, nil
}

// Synthetic is a generated data set of sagittal T2-weighted lumbar spines:
// vertebral bodies T12..S1 with a slight lordosis, bright discs, a bright
// CSF canal behind them, posterior elements, fat and skin, with Rician
// noise, a smooth bias field and a per-study gain. At each of the five
// disc levels L1/L2..L5/S1 the canal narrows by a fraction that encodes
// the grade (Normal/Mild 0-25 %, Moderate 45-60 %, Severe 75-88 %), about
// 87/8/5 % of levels by default. Image sizes vary from MinSize to MaxSize,
// not always square, and the anatomy is slightly rotated and scaled.
//
// Each study gives one sample per level, all on its middle slice, with the
// point (X, Y) at the canal centre at that disc. Images are generated on
// demand, deterministically from the seed, and are whole numbers in the
// range of the study's BitsStored (12 or 16), exactly what
// [Synthetic.WriteRSNA] stores.
type Synthetic struct {
	cfg     SyntheticConfig
	studies []synthStudy
	samples []Sample
	cache   *renderCache
}

// NewSynthetic generates the data set's studies and labels; images are
// rendered when asked for.
func NewSynthetic(cfg SyntheticConfig) (*Synthetic, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	d := &Synthetic{cfg: cfg, cache: newRenderCache(max(cfg.CacheBytes, 0))}
	ids := map[int64]bool{}
	newID := func(rng *rand.Rand) int64 {
		for {
			// 7 to 10 digits, like the RSNA ids; about half exceed 2^31.
			id := 1_000_000 + rng.Int64N(4_290_000_000-1_000_000)
			if !ids[id] {
				ids[id] = true
				return id
			}
		}
	}
	for i := range cfg.Studies {
		rng := rand.New(rand.NewPCG(cfg.Seed, mix(0x5717d1e5, uint64(i))))
		st := newSynthStudy(cfg, rng)
		st.id, st.seriesT2, st.seriesT1 = newID(rng), newID(rng), newID(rng)
		d.studies = append(d.studies, st)
		for level := range Levels {
			x, y := st.point(level)
			d.samples = append(d.samples, Sample{
				StudyID: st.id, SeriesID: st.seriesT2, InstanceNumber: st.midInstance(cfg.Slices),
				Level: level, Grade: st.grades[level], X: x, Y: y,
			})
		}
	}
	return d, nil
}

// Config returns the configuration with its defaults filled in.
func (d *Synthetic) Config() SyntheticConfig { return d.cfg }

// Len returns the number of samples: Studies * 5.
func (d *Synthetic) Len() int { return len(d.samples) }

// Sample returns sample i; sample 5*s+l is level l of study s.
func (d *Synthetic) Sample(i int) Sample { return d.samples[i] }

// Narrowing returns the fraction by which sample i's canal is narrowed at
// its disc: the ground truth behind its grade.
func (d *Synthetic) Narrowing(i int) float64 {
	return d.studies[i/Levels].narrowing[i%Levels]
}

// Image renders sample i's slice: the middle slice of its study.
func (d *Synthetic) Image(i int) (transforms.Image, error) {
	if i < 0 || i >= len(d.samples) {
		return transforms.Image{}, fmt.Errorf("datasets: synthetic sample %d out of range [0, %d)", i, len(d.samples))
	}
	st := &d.studies[i/Levels]
	return d.cache.get(i/Levels, func() transforms.Image { return st.render(0, contrastT2) }), nil
}

// mix hashes two words into one (SplitMix64 finaliser), so that seeds
// derived from nearby indices are unrelated.
func mix(a, b uint64) uint64 { return data.Mix(a, b) }
