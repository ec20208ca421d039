// Command dicom prints one line per DICOM file: transfer syntax, size, bit
// depth, photometric interpretation and a SHA-256 of the stored pixel
// values, so that decodes can be compared with other tools.
//
// Usage:
//
//	go run ./experiments/dicom [--png DIR] FILE...
//
// Each line reads
//
//	<path> <transfer syntax UID> <rows>x<cols>x<frames> bits=<allocated>/<stored> signed=<0|1> <photometric> sha256=<hex>
//
// where the hash is over the stored values as little-endian int32 in
// row-major order (frame, row, column), or "<path> ERROR <reason>". With
// --png, every frame is also written to DIR as a 16-bit grayscale PNG
// named <file>_frame<N>.png, its modality values stretched from their
// minimum and maximum to 0..65535. The exit status is 1 if any file failed.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
