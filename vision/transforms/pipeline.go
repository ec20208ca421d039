package transforms

import (
	"errors"
	"fmt"
	"math/rand/v2"
)

// Context is what a [Transform] may need besides the image: the labelled
// point of the sample (for cropping) and the random source of this sample
// (for augmentation; nil when the pipeline is deterministic).
type Context struct {
	X, Y float64
	Rand *rand.Rand
}

// A Transform maps an image to a new image. Transforms must not modify
// their input.
type Transform func(m Image, ctx Context) (Image, error)

// Compose chains transforms left to right. A nil entry is skipped.
func Compose(ts ...Transform) Transform {
	return func(m Image, ctx Context) (Image, error) {
		var err error
		for _, t := range ts {
			if t == nil {
				continue
			}
			if m, err = t(m, ctx); err != nil {
				return Image{}, err
			}
		}
		return m, nil
	}
}

// MinMaxStep is [MinMax] as a Transform.
func MinMaxStep() Transform {
	return func(m Image, _ Context) (Image, error) { return MinMax(m) }
}

// CropStep is [CropAround] of the context's point as a Transform.
func CropStep(size int) Transform {
	return func(m Image, ctx Context) (Image, error) { return CropAround(m, ctx.X, ctx.Y, size) }
}

// ResizeStep is [Resize], or [ResizeAntialias] when antialias is set, as a
// Transform.
func ResizeStep(h, w int, antialias bool) Transform {
	if antialias {
		return func(m Image, _ Context) (Image, error) { return ResizeAntialias(m, h, w) }
	}
	return func(m Image, _ Context) (Image, error) { return Resize(m, h, w) }
}

// RandomHFlipStep is [RandomHFlip] with the context's random source.
func RandomHFlipStep(p float64) Transform {
	return func(m Image, ctx Context) (Image, error) {
		if ctx.Rand == nil {
			return Image{}, errors.New("transforms: random flip needs Context.Rand")
		}
		return RandomHFlip(m, p, ctx.Rand)
	}
}

// RandomRotationStep is [RandomRotation] with the context's random source.
func RandomRotationStep(degrees float64) Transform {
	return func(m Image, ctx Context) (Image, error) {
		if ctx.Rand == nil {
			return Image{}, errors.New("transforms: random rotation needs Context.Rand")
		}
		return RandomRotation(m, degrees, ctx.Rand)
	}
}

// GrayToRGBStep is [GrayToRGB] as a Transform.
func GrayToRGBStep() Transform {
	return func(m Image, _ Context) (Image, error) { return GrayToRGB(m) }
}

// NormalizeStep is [Normalize] as a Transform.
func NormalizeStep(mean, std []float32) Transform {
	mean, std = append([]float32(nil), mean...), append([]float32(nil), std...)
	return func(m Image, _ Context) (Image, error) { return Normalize(m, mean, std) }
}

// Config describes the study's pipeline.
type Config struct {
	// Size is the side of the square output (224 for every backbone).
	Size int
	// Crop, when positive, cuts a Crop x Crop square (source pixels) around
	// the sample's labelled point before resizing; 0 keeps the whole slice.
	Crop int
	// Antialias selects [ResizeAntialias] instead of [Resize] (the study's).
	Antialias bool
	// Augment turns on the random flip and rotation in [Train].
	Augment bool
	// FlipProb is the probability of a horizontal flip.
	FlipProb float64
	// RotationDegrees bounds the random rotation: uniform in ±RotationDegrees.
	RotationDegrees float64
}

// DefaultConfig returns the study's settings: whole slices resized to
// 224 x 224 without antialiasing, augmented with a flip (p = 0.5) and a
// rotation within ±15 degrees.
func DefaultConfig() Config {
	return Config{Size: 224, Augment: true, FlipProb: 0.5, RotationDegrees: 15}
}

func (c Config) check() error {
	switch {
	case c.Size <= 0:
		return fmt.Errorf("transforms: Config.Size = %d, want > 0", c.Size)
	case c.Crop < 0:
		return fmt.Errorf("transforms: Config.Crop = %d, want >= 0 (0: no crop)", c.Crop)
	case !(c.FlipProb >= 0 && c.FlipProb <= 1):
		return fmt.Errorf("transforms: Config.FlipProb = %v, want in [0, 1]", c.FlipProb)
	case !(c.RotationDegrees >= 0 && c.RotationDegrees <= 180):
		return fmt.Errorf("transforms: Config.RotationDegrees = %v, want in [0, 180]", c.RotationDegrees)
	}
	return nil
}

// Eval returns the deterministic pipeline for validation and test:
// min-max, optional crop, resize, three channels, ImageNet normalisation.
// The output is 3 x Size x Size.
func Eval(c Config) (Transform, error) {
	c.Augment = false
	return Train(c)
}

// Train returns the training pipeline: [Eval]'s steps, with a random
// horizontal flip and a random rotation after the resize when c.Augment is
// set (they run on the single channel, before it is repeated, which gives
// the same result at a third of the cost). It needs Context.Rand when
// augmenting.
func Train(c Config) (Transform, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	steps := []Transform{MinMaxStep()}
	if c.Crop > 0 {
		steps = append(steps, CropStep(c.Crop))
	}
	steps = append(steps, ResizeStep(c.Size, c.Size, c.Antialias))
	if c.Augment {
		if c.FlipProb > 0 {
			steps = append(steps, RandomHFlipStep(c.FlipProb))
		}
		if c.RotationDegrees > 0 {
			steps = append(steps, RandomRotationStep(c.RotationDegrees))
		}
	}
	steps = append(steps, GrayToRGBStep(), NormalizeStep(ImageNetMean(), ImageNetStd()))
	return Compose(steps...), nil
}
