package datasets

import (
	"slices"
	"testing"

	"github.com/vertebra-ml/vertebra/vision/transforms"
)

func TestRenderCacheBoundsAndCopies(t *testing.T) {
	renders := 0
	img := func(v float32) func() transforms.Image {
		return func() transforms.Image {
			renders++
			m := transforms.NewImage(1, 4, 4) // 64 bytes
			for i := range m.Pix {
				m.Pix[i] = v
			}
			return m
		}
	}
	c := newRenderCache(128) // two images
	a := c.get(0, img(1))
	a.Pix[0] = 99 // callers own their copy
	if b := c.get(0, img(1)); b.Pix[0] != 1 || renders != 1 {
		t.Errorf("cached image changed (%v) or re-rendered (%d renders)", b.Pix[0], renders)
	}
	c.get(1, img(2))
	c.get(2, img(3)) // evicts study 0, the least recently used
	if c.used > 128 || len(c.byStudy) != 2 {
		t.Errorf("cache holds %d bytes in %d entries, limit 128", c.used, len(c.byStudy))
	}
	c.get(0, img(1))
	if renders != 4 {
		t.Errorf("%d renders, want 4 (study 0 evicted and rendered again)", renders)
	}
}

func TestSyntheticCacheGivesTheSameImages(t *testing.T) {
	cached, _ := NewSynthetic(SyntheticConfig{Studies: 2, Seed: 5})
	plain, _ := NewSynthetic(SyntheticConfig{Studies: 2, Seed: 5, CacheBytes: -1})
	for _, i := range []int{0, 3, 0, 7} {
		a, _ := cached.Image(i)
		b, _ := plain.Image(i)
		if !slices.Equal(a.Pix, b.Pix) {
			t.Fatalf("sample %d differs with the cache", i)
		}
	}
}
