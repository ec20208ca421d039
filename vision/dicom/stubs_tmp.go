package dicom

func decodeJPEGExtended(f []byte, rows, cols int, dst []int32) error {
	return &UnsupportedTransferSyntaxError{UID: JPEGExtended12Bit}
}
func decodeJPEGLS(f []byte, rows, cols int, dst []int32) error {
	return &UnsupportedTransferSyntaxError{UID: JPEGLSLossless}
}
