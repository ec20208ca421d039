package datasets

import (
	"container/list"
	"sync"

	"github.com/vertebra-ml/vertebra/vision/transforms"
)

// renderCache keeps recently rendered study slices, so that the five
// levels of a study, and the same study in later epochs, render once.
// It is bounded by the bytes of the images it holds.
type renderCache struct {
	mu      sync.Mutex
	limit   int // bytes
	used    int
	order   *list.List // front: most recent; values are *cacheEntry
	byStudy map[int]*list.Element
}

type cacheEntry struct {
	study int
	img   transforms.Image
}

func newRenderCache(limit int) *renderCache {
	return &renderCache{limit: limit, order: list.New(), byStudy: map[int]*list.Element{}}
}

// get returns a copy of the cached slice of study, rendering and caching
// it on a miss. Callers own the copy.
func (c *renderCache) get(study int, render func() transforms.Image) transforms.Image {
	c.mu.Lock()
	if e, ok := c.byStudy[study]; ok {
		c.order.MoveToFront(e)
		img := e.Value.(*cacheEntry).img.Clone()
		c.mu.Unlock()
		return img
	}
	c.mu.Unlock()
	img := render()
	size := 4 * len(img.Pix)
	if size > c.limit {
		return img
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byStudy[study]; !ok {
		c.byStudy[study] = c.order.PushFront(&cacheEntry{study, img.Clone()})
		c.used += size
		for c.used > c.limit {
			last := c.order.Back()
			e := last.Value.(*cacheEntry)
			c.order.Remove(last)
			delete(c.byStudy, e.study)
			c.used -= 4 * len(e.img.Pix)
		}
	}
	return img
}
