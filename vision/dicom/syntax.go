package dicom

import "fmt"

// Transfer syntax UIDs this package reads.
const (
	ImplicitVRLittleEndian = "1.2.840.10008.1.2"
	ExplicitVRLittleEndian = "1.2.840.10008.1.2.1"
	DeflatedExplicitVRLE   = "1.2.840.10008.1.2.1.99"
	ExplicitVRBigEndian    = "1.2.840.10008.1.2.2"
	JPEGBaseline8Bit       = "1.2.840.10008.1.2.4.50"
	JPEGExtended12Bit      = "1.2.840.10008.1.2.4.51"
	JPEGLossless           = "1.2.840.10008.1.2.4.57"
	JPEGLosslessSV1        = "1.2.840.10008.1.2.4.70"
	JPEGLSLossless         = "1.2.840.10008.1.2.4.80"
	JPEGLSNearLossless     = "1.2.840.10008.1.2.4.81"
	RLELossless            = "1.2.840.10008.1.2.5"
)

// codec says how the pixel data of a transfer syntax is decoded.
type codec int

const (
	codecNone         codec = iota // unsupported
	codecNative                    // uncompressed
	codecRLE                       // RLE Lossless
	codecJPEGLossless              // JPEG process 14
	codecJPEGBaseline              // JPEG process 1, via image/jpeg
	codecJPEGExtended              // JPEG process 2/4, 12-bit
	codecJPEGLS                    // JPEG-LS lossless and near-lossless
)

// syntax describes how a transfer syntax encodes the data set and pixels.
type syntax struct {
	uid          string
	explicit     bool // explicit VR
	bigEndian    bool
	deflated     bool // data set after the meta group is raw DEFLATE
	encapsulated bool // pixel data in fragments
	codec        codec
}

// lookupSyntax returns the encoding of a transfer syntax. Unknown UIDs are
// assumed to be explicit VR little endian with encapsulated pixel data, as
// the standard requires of every new transfer syntax; their pixels are not
// decoded.
func lookupSyntax(uid string) syntax {
	s := syntax{uid: uid, explicit: true, encapsulated: true}
	switch uid {
	case ImplicitVRLittleEndian:
		s.explicit, s.encapsulated, s.codec = false, false, codecNative
	case ExplicitVRLittleEndian:
		s.encapsulated, s.codec = false, codecNative
	case DeflatedExplicitVRLE:
		s.deflated, s.encapsulated, s.codec = true, false, codecNative
	case ExplicitVRBigEndian:
		s.bigEndian, s.encapsulated, s.codec = true, false, codecNative
	case RLELossless:
		s.codec = codecRLE
	case JPEGBaseline8Bit:
		s.codec = codecJPEGBaseline
	case JPEGExtended12Bit:
		s.codec = codecJPEGExtended
	case JPEGLossless, JPEGLosslessSV1:
		s.codec = codecJPEGLossless
	case JPEGLSLossless, JPEGLSNearLossless:
		s.codec = codecJPEGLS
	}
	return s
}

// SupportedTransferSyntax reports whether this package decodes the pixel
// data of the transfer syntax uid.
func SupportedTransferSyntax(uid string) bool {
	return lookupSyntax(uid).codec != codecNone
}

// TransferSyntaxName returns the standard's name for a transfer syntax UID,
// or "unknown transfer syntax".
func TransferSyntaxName(uid string) string {
	switch uid {
	case ImplicitVRLittleEndian:
		return "Implicit VR Little Endian"
	case ExplicitVRLittleEndian:
		return "Explicit VR Little Endian"
	case "1.2.840.10008.1.2.1.98":
		return "Encapsulated Uncompressed Explicit VR Little Endian"
	case DeflatedExplicitVRLE:
		return "Deflated Explicit VR Little Endian"
	case ExplicitVRBigEndian:
		return "Explicit VR Big Endian"
	case JPEGBaseline8Bit:
		return "JPEG Baseline (Process 1)"
	case JPEGExtended12Bit:
		return "JPEG Extended (Process 2 & 4)"
	case JPEGLossless:
		return "JPEG Lossless, Non-Hierarchical (Process 14)"
	case JPEGLosslessSV1:
		return "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])"
	case JPEGLSLossless:
		return "JPEG-LS Lossless Image Compression"
	case JPEGLSNearLossless:
		return "JPEG-LS Lossy (Near-Lossless) Image Compression"
	case "1.2.840.10008.1.2.4.90":
		return "JPEG 2000 Image Compression (Lossless Only)"
	case "1.2.840.10008.1.2.4.91":
		return "JPEG 2000 Image Compression"
	case "1.2.840.10008.1.2.4.92":
		return "JPEG 2000 Part 2 Multi-component Image Compression (Lossless Only)"
	case "1.2.840.10008.1.2.4.93":
		return "JPEG 2000 Part 2 Multi-component Image Compression"
	case "1.2.840.10008.1.2.4.94":
		return "JPIP Referenced"
	case "1.2.840.10008.1.2.4.95":
		return "JPIP Referenced Deflate"
	case "1.2.840.10008.1.2.4.100", "1.2.840.10008.1.2.4.100.1":
		return "MPEG2 Main Profile / Main Level"
	case "1.2.840.10008.1.2.4.101", "1.2.840.10008.1.2.4.101.1":
		return "MPEG2 Main Profile / High Level"
	case "1.2.840.10008.1.2.4.102", "1.2.840.10008.1.2.4.102.1",
		"1.2.840.10008.1.2.4.103", "1.2.840.10008.1.2.4.103.1",
		"1.2.840.10008.1.2.4.104", "1.2.840.10008.1.2.4.104.1",
		"1.2.840.10008.1.2.4.105", "1.2.840.10008.1.2.4.105.1",
		"1.2.840.10008.1.2.4.106", "1.2.840.10008.1.2.4.106.1":
		return "MPEG-4 AVC/H.264"
	case "1.2.840.10008.1.2.4.107", "1.2.840.10008.1.2.4.108":
		return "HEVC/H.265"
	case "1.2.840.10008.1.2.4.201":
		return "High-Throughput JPEG 2000 Image Compression (Lossless Only)"
	case "1.2.840.10008.1.2.4.202":
		return "High-Throughput JPEG 2000 with RPCL Options Image Compression (Lossless Only)"
	case "1.2.840.10008.1.2.4.203":
		return "High-Throughput JPEG 2000 Image Compression"
	case RLELossless:
		return "RLE Lossless"
	case "1.2.840.10008.1.2.6.1":
		return "RFC 2557 MIME encapsulation"
	case "1.2.840.10008.1.2.6.2":
		return "XML Encoding"
	}
	return "unknown transfer syntax"
}

// UnsupportedTransferSyntaxError reports pixel data in a transfer syntax
// this package cannot decode.
type UnsupportedTransferSyntaxError struct {
	UID string
}

// Error names the UID and, when it is known, the transfer syntax.
func (e *UnsupportedTransferSyntaxError) Error() string {
	return fmt.Sprintf("unsupported transfer syntax %s (%s)", e.UID, TransferSyntaxName(e.UID))
}
