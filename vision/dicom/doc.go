// Package dicom reads the grayscale images of DICOM files (PS3.10 files and
// bare data sets) and writes simple single-frame MR images.
//
// It is built for the vertebra study, which reads sagittal lumbar MRI. It
// decodes the transfer syntaxes such data arrives in: implicit and explicit
// VR little endian, explicit VR big endian, deflated explicit VR little
// endian, RLE Lossless, JPEG Lossless (process 14, any predictor), JPEG-LS
// lossless and near-lossless, JPEG baseline (8-bit) and JPEG extended
// (12-bit). Stored pixel values are masked to BitsStored and sign-extended
// from HighBit, as dcmtk does. [ReadFile] and [Read] parse the header;
// [Image.Stored] and [Image.Frame] decode the pixels on first use.
//
// It is not a general DICOM toolkit: it knows only the attributes an image
// pipeline needs (the rest are reachable through [Image.Element]); it does
// not decode color images, JPEG 2000, video, JPEG-LS mapping tables or
// restart intervals, or overlays; and it does not edit or re-encode data
// sets. [Write] makes only the 12- and 16-bit unsigned MONOCHROME2 files the
// synthetic data set needs. Pixel data in a transfer syntax it cannot
// decode gives an [UnsupportedTransferSyntaxError] naming the syntax.
//
// Every length read from the input is checked against the bytes that remain
// before anything is allocated, and decoded sizes are bounded by what the
// compressed data can hold, so corrupt or hostile input yields an error,
// never a panic, a hang or a huge allocation.
package dicom
