package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"
)

// DType is an element type as the safetensors header spells it.
type DType string

// The element types of the safetensors format.
const (
	BOOL   DType = "BOOL"
	U8     DType = "U8"
	I8     DType = "I8"
	F8E5M2 DType = "F8_E5M2"
	F8E4M3 DType = "F8_E4M3" // the "fn" variant: no infinities, one NaN pattern
	I16    DType = "I16"
	U16    DType = "U16"
	F16    DType = "F16"
	BF16   DType = "BF16"
	I32    DType = "I32"
	U32    DType = "U32"
	F32    DType = "F32"
	F64    DType = "F64"
	I64    DType = "I64"
	U64    DType = "U64"
	C64    DType = "C64" // complex64: two float32, real part first
)

// Size returns the number of bytes of one element, or 0 for a type this
// package does not know.
func (d DType) Size() int {
	switch d {
	case BOOL, U8, I8, F8E5M2, F8E4M3:
		return 1
	case I16, U16, F16, BF16:
		return 2
	case I32, U32, F32:
		return 4
	case F64, I64, U64, C64:
		return 8
	}
	return 0
}

// Valid reports whether d is a type this package knows.
func (d DType) Valid() bool { return d.Size() != 0 }

// IsFloat reports whether d is a real floating-point type.
func (d DType) IsFloat() bool {
	switch d {
	case F8E5M2, F8E4M3, F16, BF16, F32, F64:
		return true
	}
	return false
}

// IsInteger reports whether d is an integer type; BOOL counts as one.
func (d DType) IsInteger() bool {
	switch d {
	case BOOL, U8, I8, I16, U16, I32, U32, I64, U64:
		return true
	}
	return false
}

// Float16ToFloat32 converts IEEE 754 binary16 bits to float32 exactly:
// every half value, subnormals, infinities and NaN payloads included, is
// representable in float32.
func Float16ToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // inf or NaN; keep the payload
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0 && mant == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: mant * 2^-24, exact in float32
		v := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// BFloat16ToFloat32 converts bfloat16 bits to float32 exactly: bfloat16 is
// the upper half of a float32.
func BFloat16ToFloat32(b uint16) float32 {
	return math.Float32frombits(uint32(b) << 16)
}

// float8E5M2ToFloat32 converts F8_E5M2, the upper byte of a binary16.
func float8E5M2ToFloat32(b uint8) float32 {
	return Float16ToFloat32(uint16(b) << 8)
}

// float8E4M3ToFloat32 converts F8_E4M3 (E4M3FN: bias 7, no infinities,
// S.1111.111 is NaN).
func float8E4M3ToFloat32(b uint8) float32 {
	sign := float32(1)
	if b&0x80 != 0 {
		sign = -1
	}
	exp := int(b>>3) & 0xf
	mant := float32(b & 7)
	switch {
	case exp == 0xf && b&7 == 7:
		return float32(math.NaN())
	case exp == 0:
		return sign * mant * (1.0 / 512) // subnormal: mant * 2^-9
	}
	return sign * (1 + mant/8) * float32(math.Ldexp(1, exp-7))
}

// Float32 returns the elements as float32. Floating-point types are
// converted exactly except F64, which is rounded to nearest; integer types
// are converted as Go's float32(x) does. C64 and unknown types are an error.
func (t Tensor) Float32() ([]float32, error) {
	n, err := t.check()
	if err != nil {
		return nil, err
	}
	out := make([]float32, n)
	d := t.Data
	le := binary.LittleEndian
	switch t.DType {
	case F32:
		for i := range out {
			out[i] = math.Float32frombits(le.Uint32(d[4*i:]))
		}
	case F16:
		for i := range out {
			out[i] = Float16ToFloat32(le.Uint16(d[2*i:]))
		}
	case BF16:
		for i := range out {
			out[i] = BFloat16ToFloat32(le.Uint16(d[2*i:]))
		}
	case F8E5M2:
		for i := range out {
			out[i] = float8E5M2ToFloat32(d[i])
		}
	case F8E4M3:
		for i := range out {
			out[i] = float8E4M3ToFloat32(d[i])
		}
	case F64:
		for i := range out {
			out[i] = float32(math.Float64frombits(le.Uint64(d[8*i:])))
		}
	case U64: // intAt would wrap values above MaxInt64
		for i := range out {
			out[i] = float32(le.Uint64(d[8*i:]))
		}
	default:
		if !t.DType.IsInteger() {
			return nil, fmt.Errorf("safetensors: cannot convert %s to float32", t.DType)
		}
		for i := range out {
			out[i] = float32(intAt(t.DType, d, i))
		}
	}
	return out, nil
}

// Float64 returns the elements as float64. Every floating-point type is
// converted exactly; integer types are converted as Go's float64(x) does.
// C64 and unknown types are an error.
func (t Tensor) Float64() ([]float64, error) {
	n, err := t.check()
	if err != nil {
		return nil, err
	}
	out := make([]float64, n)
	d := t.Data
	le := binary.LittleEndian
	switch {
	case t.DType == F64:
		for i := range out {
			out[i] = math.Float64frombits(le.Uint64(d[8*i:]))
		}
	case t.DType == U64:
		for i := range out {
			out[i] = float64(le.Uint64(d[8*i:]))
		}
	case t.DType.IsInteger():
		for i := range out {
			out[i] = float64(intAt(t.DType, d, i))
		}
	case t.DType.IsFloat():
		f, err := t.Float32()
		if err != nil {
			return nil, err
		}
		for i, v := range f {
			out[i] = float64(v)
		}
	default:
		return nil, fmt.Errorf("safetensors: cannot convert %s to float64", t.DType)
	}
	return out, nil
}

// Int64 returns the elements of an integer or BOOL tensor as int64.
// Floating-point types are an error, as is a U64 value above MaxInt64.
func (t Tensor) Int64() ([]int64, error) {
	n, err := t.check()
	if err != nil {
		return nil, err
	}
	if !t.DType.IsInteger() {
		return nil, fmt.Errorf("safetensors: cannot convert %s to int64: not an integer type", t.DType)
	}
	out := make([]int64, n)
	for i := range out {
		out[i] = intAt(t.DType, t.Data, i)
	}
	if t.DType == U64 {
		for i := range out {
			if out[i] < 0 {
				return nil, fmt.Errorf("safetensors: U64 element %d is %d, above the int64 range",
					i, binary.LittleEndian.Uint64(t.Data[8*i:]))
			}
		}
	}
	return out, nil
}

// intAt decodes element i of an integer type; U64 wraps above MaxInt64.
func intAt(dt DType, d []byte, i int) int64 {
	le := binary.LittleEndian
	switch dt {
	case BOOL:
		if d[i] != 0 {
			return 1
		}
		return 0
	case U8:
		return int64(d[i])
	case I8:
		return int64(int8(d[i]))
	case I16:
		return int64(int16(le.Uint16(d[2*i:])))
	case U16:
		return int64(le.Uint16(d[2*i:]))
	case I32:
		return int64(int32(le.Uint32(d[4*i:])))
	case U32:
		return int64(le.Uint32(d[4*i:]))
	case I64, U64:
		return int64(le.Uint64(d[8*i:]))
	}
	panic("safetensors: intAt on " + string(dt))
}

// check verifies that Data holds exactly the elements that DType and Shape
// describe and returns their number.
func (t Tensor) check() (int, error) {
	size := t.DType.Size()
	if size == 0 {
		return 0, fmt.Errorf("safetensors: unknown dtype %q", t.DType)
	}
	n, ok := numElements(t.Shape)
	if !ok {
		return 0, fmt.Errorf("safetensors: invalid shape %v", t.Shape)
	}
	if n > math.MaxInt/size || n*size != len(t.Data) {
		return 0, fmt.Errorf("safetensors: %s tensor of shape %v needs %d*%d bytes, has %d",
			t.DType, t.Shape, n, size, len(t.Data))
	}
	return n, nil
}

// numElements returns the product of shape, or false if a dimension is
// negative or the product overflows int.
func numElements(shape []int) (int, bool) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, false
		}
		if d != 0 && n > math.MaxInt/d {
			return 0, false
		}
		n *= d
	}
	return n, true
}
