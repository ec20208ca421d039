// Package datasets provides the study's data: labelled sagittal slices, one
// [Sample] per study and lumbar level, from three sources behind one
// [Dataset] interface:
//
//   - [LoadRSNA] reads the RSNA 2024 Lumbar Spine Kaggle layout and keeps the
//     spinal canal stenosis labels on each study's Sagittal T2/STIR series;
//   - [ReadRows] reads the study's own split CSVs (image_path, row_id,
//     level, severity), and [WriteRows] writes them;
//   - [NewSynthetic] generates MR-like sagittal spines whose canal narrowing
//     encodes the grade: the embedded default when no data is given. It can
//     write itself out in the RSNA layout ([Synthetic.WriteRSNA]) and draw a
//     PNG overview ([WriteGrid]).
//
// [SplitByStudy] makes stratified, seeded train/validation/test splits with
// no study in two splits; [ClassCounts] and [ClassWeights] give the study's
// loss weights. A [Loader] decodes and transforms samples on worker
// goroutines into fixed-shape NCHW batches, reproducibly from a seed.
//
// Everything is host-side Go slices. The package does not import the
// autograd package and does not build tensors; it reads DICOM through
// package dicom and PNG through image/png, and it is not a general
// DICOM or data-set library.
package datasets
