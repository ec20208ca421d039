package autograd

// DType is a tensor's element type.
type DType int

// The element types. Float32 is the default for training and inference;
// Float64 serves gradient checks. Int32 is used only inside the engine for
// indices (argmax positions, gather indices).
const (
	Float32 DType = iota
	Float64
	Int32
)

// String returns the name of the type as NumPy and PyTorch spell it.
func (d DType) String() string {
	switch d {
	case Float32:
		return "float32"
	case Float64:
		return "float64"
	case Int32:
		return "int32"
	}
	return "dtype(?)"
}

// Size is the number of bytes of one element.
func (d DType) Size() int {
	if d == Float64 {
		return 8
	}
	return 4
}
