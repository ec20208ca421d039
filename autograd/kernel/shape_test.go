package kernel

import (
	"strings"
	"testing"
)

func TestConvShapeValidate(t *testing.T) {
	ok := ConvShape{N: 1, C: 4, H: 5, W: 5, O: 8, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1, Groups: 2}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid shape: %v", err)
	}
	if oh, ow := ok.OutHW(); oh != 5 || ow != 5 {
		t.Errorf("OutHW = %d, %d, want 5, 5", oh, ow)
	}
	tests := []struct {
		name string
		edit func(*ConvShape)
		want string
	}{
		{"zero channels", func(s *ConvShape) { s.C = 0 }, "non-positive size"},
		{"zero stride", func(s *ConvShape) { s.SH = 0 }, "stride and dilation"},
		{"negative padding", func(s *ConvShape) { s.PW = -1 }, "negative padding"},
		{"groups", func(s *ConvShape) { s.Groups = 3 }, "Groups=3 must divide"},
		{"kernel too big", func(s *ConvShape) { s.KH, s.PH = 9, 0 }, "larger than padded input"},
	}
	for _, tc := range tests {
		s := ok
		tc.edit(&s)
		err := s.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "cpu") {
			t.Errorf("%s: err = %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
}

func TestConvShapeKinds(t *testing.T) {
	dw := ConvShape{C: 8, O: 16, Groups: 8, KH: 3, KW: 3, SH: 1, SW: 1}
	pw := ConvShape{C: 8, O: 16, Groups: 1, KH: 1, KW: 1, SH: 1, SW: 1}
	if !dw.Depthwise() || dw.Pointwise() || pw.Depthwise() || !pw.Pointwise() {
		t.Errorf("Depthwise/Pointwise misclassify %+v, %+v", dw, pw)
	}
}

func TestPoolShapeValidateWindow(t *testing.T) {
	base := PoolShape{Planes: 2, H: 7, W: 7, KH: 3, KW: 3, SH: 2, SW: 2, PH: 1, PW: 1, DH: 1, DW: 1}
	tests := []struct {
		oh, ow int
		ok     bool
	}{
		{4, 4, true}, // (7+2-3)/2+1
		{5, 5, false},
		{3, 4, false},
	}
	for _, tc := range tests {
		s := base
		s.OH, s.OW = tc.oh, tc.ow
		if err := s.ValidateWindow(); (err == nil) != tc.ok {
			t.Errorf("OH, OW = %d, %d: err = %v, want ok=%v", tc.oh, tc.ow, err, tc.ok)
		}
	}
	ceil := PoolShape{Planes: 1, H: 6, W: 6, KH: 3, KW: 3, SH: 2, SW: 2, OH: 3, OW: 3}
	if err := ceil.ValidateWindow(); err != nil {
		t.Errorf("ceil-mode output rejected: %v", err)
	}
	bad := base
	bad.OH, bad.OW, bad.PH = 4, 4, 2
	if err := bad.ValidateWindow(); err == nil || !strings.Contains(err.Error(), "padding") {
		t.Errorf("padding over half the window: err = %v", err)
	}
}

func TestOpNames(t *testing.T) {
	if GELUTanh.String() != "gelu_tanh" || Div.String() != "div" || UnaryOp(99).String() != "unary(99)" {
		t.Errorf("names: %s %s %s", GELUTanh, Div, UnaryOp(99))
	}
	if NumUnaryOps != int(Pow)+1 || NumBinaryOps != int(Div)+1 {
		t.Errorf("NumUnaryOps=%d NumBinaryOps=%d", NumUnaryOps, NumBinaryOps)
	}
}
