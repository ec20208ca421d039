package dicom

import (
	"errors"
	"fmt"
)

// JPEG-LS (ITU T.87) decoding of single-component images, lossless and
// near-lossless. The structure follows the standard's Annex A; names are
// the standard's.

// lsJ is the run-length order table J (T.87 A.7.1.2).
var lsJ = [32]int{0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 9, 10, 11, 12, 13, 14, 15}

// lsParams are the coding parameters of a scan (T.87 C.2.4.1).
type lsParams struct {
	maxval, t1, t2, t3, reset int
	near                      int
	rng, qbpp, limit          int
}

// lsContext is a regular-mode context (A, B, C, N).
type lsContext struct{ a, b, c, n int }

// lsRunContext is a run-interruption context.
type lsRunContext struct{ a, n, nn, riType int }

// lsDecoder holds the state of one scan.
type lsDecoder struct {
	p        lsParams
	ctx      [365]lsContext
	run      [2]lsRunContext
	runIndex int
	br       lsBitReader
}

// decodeJPEGLS decodes a single-component JPEG-LS image into raw samples.
func decodeJPEGLS(data []byte, rows, cols int, dst []int32) error {
	r := &markerReader{b: data}
	if m, err := r.next(); err != nil || m != mSOI {
		return errors.New("JPEG-LS: no SOI marker")
	}
	var precision, frameRows, frameCols int
	var comp byte
	var preset lsParams // zero fields mean "default"
	seenSOF := false
	for {
		m, err := r.next()
		if err != nil {
			return fmt.Errorf("JPEG-LS: %w", err)
		}
		if m == mEOI {
			return errors.New("JPEG-LS: EOI before any scan")
		}
		p, err := r.segment(m)
		if err != nil {
			return fmt.Errorf("JPEG-LS: %w", err)
		}
		switch {
		case m == mSOF55:
			if len(p) < 9 {
				return errors.New("JPEG-LS: truncated SOF55")
			}
			precision = int(p[0])
			frameRows, frameCols = int(p[1])<<8|int(p[2]), int(p[3])<<8|int(p[4])
			if p[5] != 1 {
				return fmt.Errorf("JPEG-LS: %d components, only 1 is supported", p[5])
			}
			comp = p[6]
			if precision < 2 || precision > 16 {
				return fmt.Errorf("JPEG-LS: precision %d, want 2..16", precision)
			}
			seenSOF = true
		case m >= 0xC0 && m <= 0xCF && m != mDHT && m != 0xC8 && m != 0xCC:
			return fmt.Errorf("JPEG-LS: SOF%d frame, want SOF55", m-0xC0)
		case m == mLSE:
			if len(p) < 1 || p[0] != 1 {
				return errors.New("JPEG-LS: only preset coding parameters (LSE id 1) are supported")
			}
			if len(p) < 11 {
				return errors.New("JPEG-LS: truncated LSE segment")
			}
			u := func(i int) int { return int(p[i])<<8 | int(p[i+1]) }
			preset = lsParams{maxval: u(1), t1: u(3), t2: u(5), t3: u(7), reset: u(9)}
		case m == mDRI:
			if len(p) >= 2 && (p[0] != 0 || p[1] != 0) {
				return errors.New("JPEG-LS: restart intervals are not supported")
			}
		case m == mSOS:
			if !seenSOF {
				return errors.New("JPEG-LS: SOS before SOF55")
			}
			if frameRows != rows || frameCols != cols {
				return fmt.Errorf("JPEG-LS: frame is %dx%d, want %dx%d", frameRows, frameCols, rows, cols)
			}
			if len(p) < 6 || p[0] != 1 {
				return errors.New("JPEG-LS: SOS must have exactly 1 component")
			}
			if p[1] != comp {
				return fmt.Errorf("JPEG-LS: SOS component %d, frame has %d", p[1], comp)
			}
			if len(p) > 2 && p[2] != 0 {
				return errors.New("JPEG-LS: mapping tables are not supported")
			}
			near, pt := int(p[3]), int(p[5]&15)
			if pt != 0 {
				return fmt.Errorf("JPEG-LS: point transform %d is not supported", pt)
			}
			params, err := lsSetup(preset, precision, near)
			if err != nil {
				return err
			}
			d := &lsDecoder{p: params, br: lsBitReader{b: data[r.pos:]}}
			return d.decode(rows, cols, dst)
		}
	}
}

// lsSetup completes the coding parameters with their defaults
// (T.87 C.2.4.1.1) and checks them.
func lsSetup(pr lsParams, precision, near int) (lsParams, error) {
	p := pr
	if p.maxval == 0 {
		p.maxval = 1<<uint(precision) - 1
	}
	if p.maxval >= 1<<16 || p.maxval < 1 {
		return p, fmt.Errorf("JPEG-LS: MAXVAL %d", p.maxval)
	}
	if near < 0 || near > min(255, p.maxval/2) {
		return p, fmt.Errorf("JPEG-LS: NEAR %d for MAXVAL %d", near, p.maxval)
	}
	p.near = near
	clamp := func(i, j int) int {
		if i > p.maxval || i < j {
			return j
		}
		return i
	}
	var t1, t2, t3 int
	if p.maxval >= 128 {
		f := (min(p.maxval, 4095) + 128) / 256
		t1 = clamp(f*(3-2)+2+3*near, near+1)
		t2 = clamp(f*(7-3)+3+5*near, t1)
		t3 = clamp(f*(21-4)+4+7*near, t2)
	} else {
		f := 256 / (p.maxval + 1)
		t1 = clamp(max(2, 3/f+3*near), near+1)
		t2 = clamp(max(3, 7/f+5*near), t1)
		t3 = clamp(max(4, 21/f+7*near), t2)
	}
	if p.t1 == 0 {
		p.t1 = t1
	}
	if p.t2 == 0 {
		p.t2 = t2
	}
	if p.t3 == 0 {
		p.t3 = t3
	}
	if p.reset == 0 {
		p.reset = 64
	}
	if p.t1 < near+1 || p.t2 < p.t1 || p.t3 < p.t2 || p.t3 > p.maxval || p.reset < 3 {
		return p, fmt.Errorf("JPEG-LS: bad thresholds T1=%d T2=%d T3=%d RESET=%d", p.t1, p.t2, p.t3, p.reset)
	}
	p.rng = (p.maxval+2*near)/(2*near+1) + 1
	p.qbpp = bitLen(p.rng - 1)
	bpp := max(2, bitLen(p.maxval))
	p.limit = 2 * (bpp + max(8, bpp))
	return p, nil
}

// bitLen is ceil(log2(x+1)), the bits needed for 0..x.
func bitLen(x int) int {
	n := 0
	for x > 0 {
		n++
		x >>= 1
	}
	return n
}

// decode decodes the scan line by line. Each line buffer has one extra
// sample on either side for the neighbours outside the image (A.2.1).
func (d *lsDecoder) decode(rows, cols int, dst []int32) error {
	a := max(2, (d.p.rng+32)/64)
	for i := range d.ctx {
		d.ctx[i] = lsContext{a: a, n: 1}
	}
	d.run = [2]lsRunContext{{a: a, n: 1, riType: 0}, {a: a, n: 1, riType: 1}}
	prev := make([]int, cols+2)
	cur := make([]int, cols+2)
	for y := 0; y < rows; y++ {
		prev[cols+1] = prev[cols]
		cur[0] = prev[1]
		if err := d.line(prev, cur, cols); err != nil {
			return fmt.Errorf("JPEG-LS: line %d: %w", y, err)
		}
		for x := 0; x < cols; x++ {
			dst[y*cols+x] = int32(cur[x+1])
		}
		prev, cur = cur, prev
	}
	return nil
}

// line decodes one line; prev and cur are indexed with an offset of 1.
func (d *lsDecoder) line(prev, cur []int, cols int) error {
	x := 0
	rb, rd := prev[0], prev[1]
	for x < cols {
		ra := cur[x]
		rc := rb
		rb = rd
		rd = prev[x+2]
		q1, q2, q3 := d.quantize(rd-rb), d.quantize(rb-rc), d.quantize(rc-ra)
		qs := (q1*9+q2)*9 + q3
		if qs != 0 {
			v, err := d.regular(qs, ra, rb, rc)
			if err != nil {
				return err
			}
			cur[x+1] = v
			x++
			continue
		}
		n, err := d.runMode(prev, cur, x, cols)
		if err != nil {
			return err
		}
		x += n
		if x < cols {
			rb, rd = prev[x], prev[x+1]
		}
	}
	return nil
}

// quantize maps a local gradient to one of 9 regions (A.3.3).
func (d *lsDecoder) quantize(di int) int {
	p := &d.p
	switch {
	case di <= -p.t3:
		return -4
	case di <= -p.t2:
		return -3
	case di <= -p.t1:
		return -2
	case di < -p.near:
		return -1
	case di <= p.near:
		return 0
	case di < p.t1:
		return 1
	case di < p.t2:
		return 2
	case di < p.t3:
		return 3
	}
	return 4
}

// regular decodes one sample in regular mode (A.4 to A.6).
func (d *lsDecoder) regular(qs, ra, rb, rc int) (int, error) {
	sign := 1
	if qs < 0 {
		sign, qs = -1, -qs
	}
	c := &d.ctx[qs]
	// Median edge detector.
	var px int
	switch {
	case rc >= max(ra, rb):
		px = min(ra, rb)
	case rc <= min(ra, rb):
		px = max(ra, rb)
	default:
		px = ra + rb - rc
	}
	px = d.clampSample(px + sign*c.c)
	k := 0
	for c.n<<uint(k) < c.a {
		k++
		if k > 30 {
			return 0, errors.New("corrupt context (Golomb parameter)")
		}
	}
	m, err := d.br.golomb(k, d.p.limit, d.p.qbpp)
	if err != nil {
		return 0, err
	}
	var errval int
	if m&1 == 0 {
		errval = m / 2
	} else {
		errval = -(m + 1) / 2
	}
	if d.p.near == 0 && k == 0 && 2*c.b <= -c.n {
		errval = -errval - 1 // the special mapping of A.5.2
	}
	d.update(c, errval)
	return d.reconstruct(px, sign*errval), nil
}

// update adapts a regular context and its bias correction (A.6).
func (d *lsDecoder) update(c *lsContext, errval int) {
	c.b += errval * (2*d.p.near + 1)
	c.a += abs(errval)
	if c.n == d.p.reset {
		c.a >>= 1
		c.b >>= 1
		c.n >>= 1
	}
	c.n++
	if c.b <= -c.n {
		c.b += c.n
		if c.b <= -c.n {
			c.b = -c.n + 1
		}
		if c.c > -128 {
			c.c--
		}
	} else if c.b > 0 {
		c.b -= c.n
		if c.b > 0 {
			c.b = 0
		}
		if c.c < 127 {
			c.c++
		}
	}
}

// reconstruct adds the dequantized error to the prediction, modulo the
// range, and clamps the result to 0..MAXVAL (A.4.5).
func (d *lsDecoder) reconstruct(px, errval int) int {
	step := 2*d.p.near + 1
	v := px + errval*step
	if v < -d.p.near {
		v += d.p.rng * step
	} else if v > d.p.maxval+d.p.near {
		v -= d.p.rng * step
	}
	return d.clampSample(v)
}

func (d *lsDecoder) clampSample(v int) int {
	return min(max(v, 0), d.p.maxval)
}

// runMode decodes a run starting at x and the sample that interrupts it,
// if any (A.7); it returns the number of samples decoded.
func (d *lsDecoder) runMode(prev, cur []int, x, cols int) (int, error) {
	ra := cur[x]
	left := cols - x
	n := 0
	for {
		bit, err := d.br.bit()
		if err != nil {
			return 0, err
		}
		if bit == 0 {
			break
		}
		step := 1 << uint(lsJ[d.runIndex])
		cnt := min(step, left-n)
		n += cnt
		if cnt == step && d.runIndex < 31 {
			d.runIndex++
		}
		if n == left {
			break
		}
	}
	if n < left {
		if j := lsJ[d.runIndex]; j > 0 {
			v, err := d.br.bits(uint(j))
			if err != nil {
				return 0, err
			}
			n += v
		}
		if n > left {
			return 0, fmt.Errorf("run of %d samples passes the end of the line", n)
		}
	}
	for i := 0; i < n; i++ {
		cur[x+1+i] = ra
	}
	if x+n == cols {
		return n, nil
	}
	// Run interruption sample.
	rb := prev[x+n+1]
	var v int
	if abs(ra-rb) <= d.p.near {
		e, err := d.interruption(&d.run[1])
		if err != nil {
			return 0, err
		}
		v = d.reconstruct(ra, e)
	} else {
		e, err := d.interruption(&d.run[0])
		if err != nil {
			return 0, err
		}
		if rb < ra {
			e = -e
		}
		v = d.reconstruct(rb, e)
	}
	cur[x+n+1] = v
	if d.runIndex > 0 {
		d.runIndex--
	}
	return n + 1, nil
}

// interruption decodes the error of a run interruption sample (A.7.2).
func (d *lsDecoder) interruption(c *lsRunContext) (int, error) {
	t := c.a + (c.n>>1)*c.riType
	k := 0
	for c.n<<uint(k) < t {
		k++
		if k > 30 {
			return 0, errors.New("corrupt run context (Golomb parameter)")
		}
	}
	em, err := d.br.golomb(k, d.p.limit-lsJ[d.runIndex]-1, d.p.qbpp)
	if err != nil {
		return 0, err
	}
	tmp := em + c.riType
	mapped := tmp & 1
	abserr := (tmp + mapped) / 2
	var errval int
	if (k != 0 || 2*c.nn >= c.n) == (mapped == 1) {
		errval = -abserr
	} else {
		errval = abserr
	}
	if errval < 0 {
		c.nn++
	}
	c.a += (em + 1 - c.riType) >> 1
	if c.n == d.p.reset {
		c.a >>= 1
		c.n >>= 1
		c.nn >>= 1
	}
	c.n++
	return errval, nil
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// lsBitReader reads JPEG-LS entropy-coded data, where a 0xFF byte is
// followed by a byte whose top bit is a stuffed zero (A.1), and 0xFF
// followed by a byte with the top bit set is a marker.
type lsBitReader struct {
	b      []byte
	pos    int
	acc    uint64
	n      uint
	lastFF bool
}

func (br *lsBitReader) fill() {
	for br.n <= 56 && br.pos < len(br.b) {
		c := br.b[br.pos]
		if c == 0xFF && (br.pos+1 >= len(br.b) || br.b[br.pos+1]&0x80 != 0) {
			return // a marker ends the scan
		}
		if br.lastFF {
			br.acc |= uint64(c&0x7F) << (57 - br.n)
			br.n += 7
		} else {
			br.acc |= uint64(c) << (56 - br.n)
			br.n += 8
		}
		br.lastFF = c == 0xFF
		br.pos++
	}
}

// bits reads k (<= 32) bits.
func (br *lsBitReader) bits(k uint) (int, error) {
	if k == 0 {
		return 0, nil
	}
	if br.n < k {
		br.fill()
		if br.n < k {
			return 0, errEndOfData
		}
	}
	v := int(br.acc >> (64 - k))
	br.acc <<= k
	br.n -= k
	return v, nil
}

func (br *lsBitReader) bit() (int, error) { return br.bits(1) }

// golomb reads a length-limited Golomb code with parameter k (A.5.3).
func (br *lsBitReader) golomb(k, limit, qbpp int) (int, error) {
	zeros := 0
	for {
		if br.n == 0 {
			br.fill()
			if br.n == 0 {
				return 0, errEndOfData
			}
		}
		if br.acc>>63 == 1 {
			br.acc <<= 1
			br.n--
			break
		}
		br.acc <<= 1
		br.n--
		zeros++
		if zeros > limit-qbpp-1 {
			return 0, errors.New("Golomb code longer than LIMIT")
		}
	}
	if zeros == limit-qbpp-1 {
		v, err := br.bits(uint(qbpp))
		return v + 1, err
	}
	v, err := br.bits(uint(k))
	return zeros<<uint(k) | v, err
}
