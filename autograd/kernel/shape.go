package kernel

import "fmt"

// ConvShape describes a 2-D convolution over NCHW images with OIHW weights:
// x is N x C x H x W, w is O x C/Groups x KH x KW, y is N x O x OH x OW.
// Input channel group g (C/Groups channels) feeds output channel group g
// (O/Groups channels). Padding is PH rows above and below and PW columns
// left and right.
type ConvShape struct {
	N, C, H, W int // input batch, channels, height, width
	O          int // output channels
	KH, KW     int // kernel height and width
	SH, SW     int // stride
	PH, PW     int // zero padding
	DH, DW     int // dilation
	Groups     int
}

// OutHW returns the height and width of the output (0 where the kernel
// does not fit).
func (s ConvShape) OutHW() (oh, ow int) {
	return convOut(s.H, s.KH, s.SH, s.PH, s.DH), convOut(s.W, s.KW, s.SW, s.PW, s.DW)
}

func convOut(in, k, stride, pad, dil int) int {
	span := in + 2*pad - dil*(k-1) - 1
	if span < 0 || stride <= 0 {
		return 0
	}
	return span/stride + 1
}

// Validate reports whether s describes a valid convolution: positive sizes
// (N may be 0), strides and dilations, non-negative padding, Groups dividing
// C and O, and a kernel that fits in the padded input.
func (s ConvShape) Validate() error {
	switch {
	case s.N < 0 || s.C <= 0 || s.H <= 0 || s.W <= 0 || s.O <= 0 || s.KH <= 0 || s.KW <= 0:
		return fmt.Errorf("convolution: non-positive size in %+v", s)
	case s.SH <= 0 || s.SW <= 0 || s.DH <= 0 || s.DW <= 0:
		return fmt.Errorf("convolution: stride and dilation must be positive in %+v", s)
	case s.PH < 0 || s.PW < 0:
		return fmt.Errorf("convolution: negative padding in %+v", s)
	case s.Groups <= 0 || s.C%s.Groups != 0 || s.O%s.Groups != 0:
		return fmt.Errorf("convolution: Groups=%d must divide C=%d and O=%d", s.Groups, s.C, s.O)
	}
	if oh, ow := s.OutHW(); oh == 0 || ow == 0 {
		return fmt.Errorf("convolution: dilated kernel larger than padded input in %+v", s)
	}
	return nil
}

// Depthwise reports whether s is a depthwise convolution: one input channel
// per group (Groups == C > 1), O a multiple of C. Devices run it as a
// direct loop rather than as a matrix product.
func (s ConvShape) Depthwise() bool { return s.Groups == s.C && s.Groups > 1 }

// Pointwise reports whether s is a 1x1 convolution with unit stride and no
// padding, whose im2col matrix is the input itself.
func (s ConvShape) Pointwise() bool {
	return s.KH == 1 && s.KW == 1 && s.SH == 1 && s.SW == 1 && s.PH == 0 && s.PW == 0
}

// PoolShape describes a 2-D window over Planes planes of H x W (every
// (n, c) pair of an NCHW tensor is one plane) with an OH x OW output.
// Max pooling uses the window KH x KW, stride SH x SW, padding PH x PW
// (read as -inf) and dilation DH x DW; adaptive average pooling and
// bilinear interpolation use only Planes, H, W, OH and OW.
type PoolShape struct {
	Planes, H, W, OH, OW   int
	KH, KW, SH, SW, PH, PW int
	DH, DW                 int // dilation; 0 is read as 1
}

// Validate reports whether s describes a valid resampling (adaptive
// pooling, interpolation): non-negative Planes, positive sizes.
func (s PoolShape) Validate() error {
	if s.Planes < 0 || s.H <= 0 || s.W <= 0 || s.OH <= 0 || s.OW <= 0 {
		return fmt.Errorf("pooling: non-positive size in %+v", s)
	}
	return nil
}

// ValidateWindow reports whether s describes a valid max pooling: the
// sizes of Validate, a positive window, stride and dilation, padding at
// most half the window (as PyTorch requires), and OH and OW what the
// window gives, rounding down or (ceil mode) up.
func (s PoolShape) ValidateWindow() error {
	if err := s.Validate(); err != nil {
		return err
	}
	switch {
	case s.KH <= 0 || s.KW <= 0 || s.SH <= 0 || s.SW <= 0 || s.DH < 0 || s.DW < 0:
		return fmt.Errorf("pooling: window, stride and dilation must be positive in %+v", s)
	case s.PH < 0 || s.PW < 0 || 2*s.PH > s.KH || 2*s.PW > s.KW:
		return fmt.Errorf("pooling: padding must be in [0, kernel/2] in %+v", s)
	}
	if !poolOutOK(s.OH, s.H, s.KH, s.SH, s.PH, max(s.DH, 1)) || !poolOutOK(s.OW, s.W, s.KW, s.SW, s.PW, max(s.DW, 1)) {
		return fmt.Errorf("pooling: output %dx%d does not fit the window in %+v", s.OH, s.OW, s)
	}
	return nil
}

// poolOutOK reports whether out is PyTorch's pooling output length with or
// without ceil mode.
func poolOutOK(out, in, k, stride, pad, dil int) bool {
	floor := convOut(in, k, stride, pad, dil)
	if floor == 0 {
		return false
	}
	ceil := floor
	if (in+2*pad-dil*(k-1)-1)%stride != 0 && floor*stride < in+pad {
		ceil++ // a last, partial window that starts inside the input or left padding
	}
	return out == floor || out == ceil
}
