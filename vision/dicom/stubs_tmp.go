package dicom

func decodeJPEGExtended(f []byte, rows, cols int, dst []int32) error {
	return &UnsupportedTransferSyntaxError{UID: JPEGExtended12Bit}
}
