package transforms

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestEvalPipeline(t *testing.T) {
	cfg := DefaultConfig()
	eval, err := Eval(cfg)
	if err != nil {
		t.Fatal(err)
	}
	src := ramp(300, 250)
	got, err := eval(src, Context{})
	if err != nil {
		t.Fatal(err)
	}
	if got.C != 3 || got.H != 224 || got.W != 224 {
		t.Fatalf("eval output %v, want 3x224x224", got)
	}
	// The same steps by hand.
	m, _ := MinMax(src)
	m, _ = Resize(m, 224, 224)
	m, _ = GrayToRGB(m)
	m, _ = Normalize(m, ImageNetMean(), ImageNetStd())
	if d := maxAbsDiff(got.Pix, m.Pix); d != 0 {
		t.Errorf("eval differs from the hand-made chain by %g", d)
	}
}

func TestTrainPipeline(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Crop = 64
	train, err := Train(cfg)
	if err != nil {
		t.Fatal(err)
	}
	src := ramp(100, 120)
	ctx := func(seed uint64) Context { return Context{X: 50, Y: 40, Rand: rand.New(rand.NewPCG(seed, 0))} }
	a, err := train(src, ctx(1))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := train(src, ctx(1))
	if maxAbsDiff(a.Pix, b.Pix) != 0 {
		t.Error("same seed, different output")
	}
	differ := false
	for seed := uint64(2); seed < 6 && !differ; seed++ {
		c, _ := train(src, ctx(seed))
		differ = maxAbsDiff(a.Pix, c.Pix) > 0
	}
	if !differ {
		t.Error("different seeds give the same augmentation")
	}
	if _, err := train(src, Context{X: 50, Y: 40}); err == nil {
		t.Error("augmenting without Context.Rand: no error")
	}
	if _, err := train(src, Context{X: math.NaN(), Y: 40, Rand: rand.New(rand.NewPCG(1, 1))}); err == nil {
		t.Error("cropping around NaN: no error")
	}
	// With augmentation off, Train is Eval.
	cfg.Augment = false
	plain, _ := Train(cfg)
	eval, _ := Eval(cfg)
	p, _ := plain(src, ctx(1))
	e, _ := eval(src, Context{X: 50, Y: 40})
	if maxAbsDiff(p.Pix, e.Pix) != 0 {
		t.Error("Train without augmentation differs from Eval")
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
	}{
		{"size", func(c *Config) { c.Size = 0 }},
		{"crop", func(c *Config) { c.Crop = -1 }},
		{"flip", func(c *Config) { c.FlipProb = 1.5 }},
		{"rotation", func(c *Config) { c.RotationDegrees = math.NaN() }},
	}
	for _, tc := range tests {
		c := DefaultConfig()
		tc.edit(&c)
		if _, err := Train(c); err == nil {
			t.Errorf("%s: Train: no error", tc.name)
		}
		if _, err := Eval(c); err == nil {
			t.Errorf("%s: Eval: no error", tc.name)
		}
	}
}
