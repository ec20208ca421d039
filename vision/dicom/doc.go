// Package dicom reads the grayscale images of DICOM files (PS3.10 files and
// bare data sets) and writes simple single-frame MR images.
//
// It is built for the vertebra study, which reads sagittal lumbar MRI. It
// decodes the transfer syntaxes such data arrives in: implicit and explicit
// VR little endian, explicit VR big endian, deflated explicit VR little
// endian, RLE Lossless, JPEG Lossless (process 14), JPEG-LS, JPEG baseline
// (8-bit) and JPEG extended (12-bit). Stored pixel values are masked to
// BitsStored and sign-extended from HighBit, as dcmtk does.
//
// It is not a general DICOM toolkit: it knows only the attributes an image
// pipeline needs (the rest are reachable through [Image.Element]), it does
// not decode color images, JPEG 2000, video or overlays, and it does not
// edit or re-encode data sets. [Write] makes only the 12- and 16-bit
// unsigned MONOCHROME2 files the synthetic data set needs.
//
// Every length read from the input is checked against the bytes that remain
// before anything is allocated, so corrupt or hostile input yields an error,
// never a panic, a hang or a huge allocation.
package dicom
