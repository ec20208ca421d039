package datasets

import (
	"math"
	"math/rand/v2"

	"github.com/vertebra-ml/vertebra/vision/transforms"
)

// The anatomy is drawn in units of about one vertebral body height
// (~28 mm): a runs anterior to posterior (image x grows with it, the
// patient facing left), s runs head to feet (image y). s = 0 is the
// L3/L4 disc. The posterior wall of the column is the curve a = wall(s).

// Vertebrae drawn, top to bottom: T11 (partly out of frame), T12, L1..L5,
// S1 (the sacrum). Disc j lies between vertebra j and j+1; level l
// (L1/L2..L5/S1) is disc l+2.
const (
	vertebrae     = 8
	discs         = vertebrae - 1
	firstLevelDsc = 2
	sacrum        = vertebrae - 1
)

type tissue int

const (
	air tissue = iota
	marrow
	cortex
	nucleus
	annulus
	csf
	cord
	root
	flavum
	muscle
	fat
	abdomen
	vessel
	numTissues
)

type contrast int

const (
	contrastT2 contrast = iota
	contrastT1
)

// tissueSignal is the relative signal of each tissue on T2 and T1.
func tissueSignal(t tissue, c contrast) float64 {
	//           air  marrow cortex nucleus annulus csf  cord  root  flavum muscle fat  abdomen vessel
	t2 := [...]float64{0, .38, .10, .82, .32, .95, .45, .55, .14, .22, .72, .30, .05}
	t1 := [...]float64{0, .62, .10, .38, .30, .15, .40, .35, .22, .34, .92, .38, .08}
	if c == contrastT1 {
		return t1[t]
	}
	return t2[t]
}

// synthStudy holds everything that defines one generated study.
type synthStudy struct {
	id, seriesT2, seriesT1 int64
	h, w                   int
	bits                   int
	firstInstance          int
	reverse                bool // instance numbers run right to left
	grades                 [Levels]int
	narrowing              [Levels]float64

	// Geometry: image position (cx, cy) of the anatomy origin, pixels per
	// unit, in-plane rotation.
	cx, cy, unit, angle float64
	lordosis, kink      float64 // wall(s) shape
	canal, depth        float64 // canal width and body depth
	muscleT, fatT       float64 // posterior soft tissue thickness
	top, height         [vertebrae]float64
	discTop, discH      [discs]float64
	bodyF               [vertebrae]frame
	discF               [discs]frame

	// Appearance.
	gain, sigma  float64
	biasX, biasY float64
	jitter       [numTissues]float64
	marrowTex    field
	softTex      field
	biasTex      field
	noiseSeed    uint64
}

func newSynthStudy(cfg SyntheticConfig, rng *rand.Rand) synthStudy {
	var st synthStudy
	for l := range Levels {
		u, g := rng.Float64(), 0
		for g < Grades-1 && u >= cfg.GradeProbs[g] {
			u -= cfg.GradeProbs[g]
			g++
		}
		lo, hi := narrowingRange(g)
		st.grades[l], st.narrowing[l] = g, lo+(hi-lo)*rng.Float64()
	}
	// Sizes in steps of 16 pixels; half the studies are square.
	side := func() int {
		lo, hi := (cfg.MinSize+15)/16, cfg.MaxSize/16
		if hi < lo {
			return cfg.MinSize
		}
		return 16 * (lo + rng.IntN(hi-lo+1))
	}
	st.h = side()
	st.w = st.h
	if rng.IntN(2) == 0 {
		for range 10 {
			if w := side(); 4*w >= 3*st.h && 3*w <= 4*st.h {
				st.w = w
				break
			}
		}
	}
	st.bits = 12
	if rng.IntN(3) == 0 {
		st.bits = 16
	}
	st.firstInstance = 1 + rng.IntN(9)
	st.reverse = rng.IntN(2) == 0

	st.unit = float64(st.h) / (10 + rng.Float64()*1.2)
	st.angle = (rng.Float64()*2 - 1) * 6 * math.Pi / 180
	st.lordosis = 0.25 + 0.35*rng.Float64()
	st.kink = 0.2 + 0.15*rng.Float64()
	st.canal = 0.62 + 0.16*rng.Float64()
	st.depth = 1.35 + 0.2*rng.Float64()
	st.muscleT = 2.2 + 0.6*rng.Float64()
	st.fatT = 0.3 + 0.8*rng.Float64()
	// The canal and the L3/L4 disc sit near the middle of the image.
	st.cx = float64(st.w) * (0.44 + 0.1*rng.Float64())
	st.cy = float64(st.h) * (0.47 + 0.08*rng.Float64())

	// Heights along s: bodies grow slightly downwards, discs ~1/3 of a body.
	body := 1 + 0.06*rng.NormFloat64()
	disc := 0.3 + 0.04*rng.Float64()
	s := 0.0
	for k := range vertebrae {
		st.top[k] = s
		st.height[k] = body * (0.92 + 0.025*float64(k)) * (1 + 0.03*rng.NormFloat64())
		if k == sacrum {
			st.height[k] = 2.2 * body
		}
		s += st.height[k]
		if k < discs {
			st.discTop[k] = s
			h := disc * (1 + 0.08*rng.NormFloat64())
			if k == discs-1 {
				h *= 0.85
			}
			if l := k - firstLevelDsc; l >= 0 {
				h *= 1 - 0.2*st.narrowing[l] // narrowed levels are degenerate discs
			}
			st.discH[k] = h
			s += h
		}
	}
	// Put the L3/L4 disc centre at s = 0.
	shift := st.discTop[firstLevelDsc+2] + st.discH[firstLevelDsc+2]/2
	for k := range vertebrae {
		st.top[k] -= shift
		if k < discs {
			st.discTop[k] -= shift
		}
	}

	for k := range vertebrae {
		st.bodyF[k] = st.frameAt(st.top[k] + st.height[k]/2)
	}
	for j := range discs {
		st.discF[j] = st.frameAt(st.discMid(j))
	}

	st.gain = 500 + 1700*rng.Float64()
	if st.bits == 16 {
		st.gain = 500 + 8500*rng.Float64()
	}
	st.sigma = 0.02 + 0.03*rng.Float64()
	st.biasX = 0.1 + 0.4*rng.Float64() // surface coil behind the patient
	st.biasY = 0.2 * (2*rng.Float64() - 1)
	for t := range st.jitter {
		st.jitter[t] = 1 + 0.07*rng.NormFloat64()
	}
	st.marrowTex = newField(rng, 14, 14)
	st.softTex = newField(rng, 10, 10)
	st.biasTex = newField(rng, 4, 4)
	st.noiseSeed = rng.Uint64()
	return st
}

// narrowingRange is the canal narrowing fraction a grade is drawn from.
func narrowingRange(grade int) (lo, hi float64) {
	switch grade {
	case Moderate:
		return 0.45, 0.60
	case Severe:
		return 0.75, 0.88
	}
	return 0, 0.25
}

func (st *synthStudy) midInstance(slices int) int { return st.firstInstance + slices/2 }

// wall is the a of the column's posterior wall at s, and its slope: a
// lordosis (the middle lies anterior) and the sacrum bending backwards.
func (st *synthStudy) wall(s float64) (a, slope float64) {
	const span = 11.0
	a = st.lordosis * (1 - math.Cos(math.Pi*s/span))
	slope = st.lordosis * math.Pi / span * math.Sin(math.Pi*s/span)
	if d := s - st.top[sacrum]; d > 0 {
		a += st.kink * d * d
		slope += 2 * st.kink * d
	}
	return a, slope
}

func (st *synthStudy) discMid(j int) float64 { return st.discTop[j] + st.discH[j]/2 }

// encroach returns how far discs bulge into the canal from the front and
// ligaments from the back at s: 60 % and 40 % of each level's narrowing.
func (st *synthStudy) encroach(s float64) (front, back float64) {
	for l := range Levels {
		d := (s - st.discMid(firstLevelDsc+l)) / 0.24
		if d*d > 40 {
			continue // below 1e-17 of the canal
		}
		b := st.narrowing[l] * st.canal * math.Exp(-d*d)
		front += 0.6 * b
		back += 0.4 * b
	}
	return front, back
}

// canalWidth is the canal's width at s; it tapers along the sacrum.
func (st *synthStudy) canalWidth(s float64) float64 {
	t := math.Min(math.Max((s-st.top[sacrum])/1.5, 0), 1)
	return st.canal * (1 - 0.5*t*t*(3-2*t))
}

// toImage maps anatomy (a, s) to image (x, y).
func (st *synthStudy) toImage(a, s float64) (x, y float64) {
	c, n := math.Cos(st.angle), math.Sin(st.angle)
	return st.cx + st.unit*(c*a-n*s), st.cy + st.unit*(n*a+c*s)
}

// point is the canal centre at level l's disc, in image pixels.
func (st *synthStudy) point(l int) (x, y float64) {
	s := st.discMid(firstLevelDsc + l)
	a, _ := st.wall(s)
	front, back := st.encroach(s)
	return st.toImage(a+(front+st.canalWidth(s)-back)/2, s)
}

// render draws slice offset off (0 is the midline slice) with the given
// contrast, as whole numbers in [0, 2^bits-1].
func (st *synthStudy) render(off int, con contrast) transforms.Image {
	img := transforms.NewImage(1, st.h, st.w)
	rng := rand.New(rand.NewPCG(st.noiseSeed, mix(uint64(off+1000), uint64(con))))
	sig := func(t tissue) float64 { return tissueSignal(t, con) * st.jitter[t] }
	lateral := math.Abs(float64(off)) * 0.18 // units from the midline
	canalF := math.Sqrt(math.Max(0, 1-(lateral/0.42)*(lateral/0.42)))
	cosA, sinA := math.Cos(st.angle), math.Sin(st.angle)
	edge := 0.7 / st.unit // soft edges over about a pixel
	maxV := float64(int(1)<<st.bits - 1)
	for py := range st.h {
		for px := range st.w {
			dx, dy := (float64(px)-st.cx)/st.unit, (float64(py)-st.cy)/st.unit
			a, s := cosA*dx+sinA*dy, -sinA*dx+cosA*dy
			fx, fy := float64(px)/float64(st.w), float64(py)/float64(st.h)
			v := st.background(a, s, canalF, lateral, edge, fx, fy, sig)
			v = st.drawColumn(v, a, s, edge, fx, fy, sig)
			// Rician noise, then the coil's smooth sensitivity and the gain.
			re, im := v+st.sigma*rng.NormFloat64(), st.sigma*rng.NormFloat64()
			bias := math.Exp(st.biasX*(fx-0.5) + st.biasY*(fy-0.5) + 0.12*st.biasTex.at(fx, fy))
			q := math.Round(st.gain * bias * math.Hypot(re, im))
			img.Pix[py*st.w+px] = float32(math.Min(q, maxV))
		}
	}
	return img
}

// background draws everything but the bodies and discs at (a, s): the
// abdomen in front, the canal, the posterior elements, muscle, fat, air.
func (st *synthStudy) background(a, s, canalF, lateral, edge, fx, fy float64, sig func(tissue) float64) float64 {
	wall, _ := st.wall(s)
	n := a - wall // distance behind the posterior wall of the column
	w := st.canalWidth(s)
	switch {
	case n < -st.depth-0.05:
		// Prevertebral: the aorta's flow void down to L4, then abdomen.
		d := -st.depth - n
		v := sig(abdomen) * (1 + 0.45*st.softTex.at(fx, fy))
		if s > st.top[1] && s < st.discMid(firstLevelDsc+3) && d > 0.15 && d < 0.6 {
			v = mixv(v, sig(vessel), 0.8*smooth(math.Min(d-0.15, 0.6-d), 2*edge))
		}
		return v
	case n < 0:
		return sig(annulus) // hidden behind bodies and discs
	}
	front, back := st.encroach(s)
	// Off the midline the dural sac narrows and finally gives way to the
	// pedicles and facets.
	mid := (front + w - back) / 2
	half := (w - front - back) / 2 * canalF
	post := w + st.muscleT
	switch {
	case n < front && math.Abs(n-mid) > half:
		return sig(annulus) // disc bulge
	case math.Abs(n-mid) <= half+edge:
		in := smooth(half-math.Abs(n-mid), edge)
		out := sig(flavum)
		if n < mid {
			out = sig(annulus)
		}
		return mixv(out, st.canalContent(n, mid, half, s, sig), in)
	case n < w+0.3:
		// Laminae at the bodies, ligamentum flavum between them.
		lam := 0.0
		for k := 1; k < sacrum; k++ {
			d := (s - st.top[k] - 0.45*st.height[k]) / (0.35 * st.height[k])
			lam = math.Max(lam, math.Exp(-d*d*d*d))
		}
		if canalF == 0 {
			lam = 1
		}
		return mixv(sig(flavum), sig(cortex)+0.5*(sig(marrow)-sig(cortex))*lam, lam)
	case n < post:
		v := sig(muscle) * (1 + 0.15*st.softTex.at(fx, fy))
		if lateral < 0.15 {
			v = mixv(v, sig(fat)*0.8, 0.5*math.Exp(-math.Pow((n-post+0.3)/0.4, 2))) // septa
			v = st.spinous(v, n, s, edge, fx, fy, sig)
		}
		return v
	case n < post+st.fatT:
		return mixv(sig(muscle), sig(fat), smooth(n-post, edge))
	}
	return mixv(sig(fat), sig(air), smooth(n-post-st.fatT, edge))
}

// canalContent is CSF with the cord above L1 and nerve roots below.
func (st *synthStudy) canalContent(n, mid, half, s float64, sig func(tissue) float64) float64 {
	v := sig(csf)
	// The cord ends in the conus at about mid L1, above the first level.
	conus := st.discMid(firstLevelDsc) - 0.75
	if s < conus {
		r := 0.2 * st.canal * min(1, (conus-s)/0.9)
		if math.Abs(n-mid) < r {
			return sig(cord)
		}
		return v
	}
	for _, f := range [...]float64{-0.35, 0.1, 0.45} {
		x := (n - mid - f*half) / 0.04
		v = mixv(v, sig(root), 0.5*math.Exp(-x*x))
	}
	return v
}

// spinous draws the spinous processes behind each lumbar lamina.
func (st *synthStudy) spinous(v, n, s, edge, fx, fy float64, sig func(tissue) float64) float64 {
	for k := 1; k < sacrum; k++ {
		cs := st.top[k] + 0.75*st.height[k]
		if math.Abs(s-cs) > 1.2 {
			continue
		}
		ca := st.canalWidth(cs) + 1.0
		// Spinous processes point backwards and down, and taper.
		x, y := n-ca, s-cs
		x, y = 0.94*x-0.34*y, 0.34*x+0.94*y
		hy := 0.24 * st.height[k] * (1 - 0.25*x)
		d := roundedBox(x, y, 0.85, hy, 0.15)
		if d < edge {
			in := 0.8 * sig(marrow) * (1 + 0.25*st.marrowTex.at(fx, fy))
			in = mixv(sig(cortex), in, smooth(-d-0.08, edge))
			v = mixv(v, in, smooth(-d, edge))
		}
	}
	return v
}

// drawColumn paints the discs, then the vertebral bodies, over v.
func (st *synthStudy) drawColumn(v, a, s, edge, fx, fy float64, sig func(tissue) float64) float64 {
	for j := range discs {
		sm := st.discMid(j)
		if math.Abs(s-sm) > 1 {
			continue
		}
		ln, lh := st.discF[j].local(a, s)
		gap := st.discH[j]
		d := roundedBox(ln, lh, st.depth/2, gap/2+0.2, 0.1)
		if d >= edge {
			continue
		}
		bright := sig(nucleus)
		if l := j - firstLevelDsc; l >= 0 {
			bright -= 0.5 * st.narrowing[l] * (sig(nucleus) - sig(annulus))
		}
		x, y := ln/(0.3*st.depth), lh/(0.4*gap)
		disc := mixv(sig(annulus), bright, math.Exp(-x*x-y*y))
		v = mixv(v, disc, smooth(-d, edge))
	}
	for k := range vertebrae {
		sm := st.top[k] + st.height[k]/2
		if math.Abs(s-sm) > st.height[k] {
			continue
		}
		ln, lh := st.bodyF[k].local(a, s)
		hh := st.height[k] / 2
		// Endplates are slightly concave.
		x := ln / (st.depth / 2)
		hh -= 0.05 * (1 - x*x)
		d := roundedBox(ln, lh, st.depth/2, hh, 0.12)
		if d >= edge {
			continue
		}
		in := sig(marrow) * (1 + 0.3*st.marrowTex.at(fx, fy))
		in = mixv(sig(cortex), in, smooth(-d-0.05, edge))
		v = mixv(v, in, smooth(-d, edge))
	}
	return v
}

// frame places a body or disc on the column: its centre (a, s) and the
// cosine and sine of the column's tilt there.
type frame struct{ a, s, cos, sin float64 }

// frameAt is the frame of a body or disc whose middle is at s = sm: its
// centre lies half a depth in front of the posterior wall, along the
// normal to the column.
func (st *synthStudy) frameAt(sm float64) frame {
	wall, slope := st.wall(sm)
	phi := math.Atan(slope)
	c, n := math.Cos(phi), math.Sin(phi)
	return frame{wall - st.depth/2*c, sm + st.depth/2*n, c, n}
}

// local returns (a, s) in f: across the column (0 at the centre) and along.
func (f *frame) local(a, s float64) (across, along float64) {
	da, ds := a-f.a, s-f.s
	return f.cos*da - f.sin*ds, f.sin*da + f.cos*ds
}

// roundedBox is the signed distance from (x, y) to a box of half sizes
// (hx, hy) with corners rounded by r: negative inside.
func roundedBox(x, y, hx, hy, r float64) float64 {
	qx, qy := math.Abs(x)-hx+r, math.Abs(y)-hy+r
	ox, oy := max(qx, 0), max(qy, 0)
	return math.Sqrt(ox*ox+oy*oy) + min(max(qx, qy), 0) - r
}

// smooth goes from 0 to 1 as d goes from -edge to edge.
func smooth(d, edge float64) float64 {
	t := min(max((d+edge)/(2*edge), 0), 1)
	return t * t * (3 - 2*t)
}

func mixv(a, b, t float64) float64 { return a + (b-a)*t }

// field is a smooth random function on [0,1]^2: a coarse grid of standard
// normal values, interpolated bilinearly.
type field struct {
	nx, ny int
	v      []float64
}

func newField(rng *rand.Rand, nx, ny int) field {
	f := field{nx, ny, make([]float64, nx*ny)}
	for i := range f.v {
		f.v[i] = rng.NormFloat64()
	}
	return f
}

func (f field) at(x, y float64) float64 {
	x = min(max(x, 0), 1) * float64(f.nx-1)
	y = min(max(y, 0), 1) * float64(f.ny-1)
	i, j := min(int(x), f.nx-2), min(int(y), f.ny-2)
	u, w := x-float64(i), y-float64(j)
	v00, v10 := f.v[j*f.nx+i], f.v[j*f.nx+i+1]
	v01, v11 := f.v[(j+1)*f.nx+i], f.v[(j+1)*f.nx+i+1]
	return (1-w)*((1-u)*v00+u*v10) + w*((1-u)*v01+u*v11)
}
