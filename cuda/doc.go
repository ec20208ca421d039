// Package cuda runs the autograd kernels on NVIDIA GPUs.
//
// Everything NVIDIA is loaded at run time through purego, so every build
// of the project is pure Go (no cgo, no CUDA toolkit to compile against)
// and runs on machines with or without a GPU: the driver (libcuda.so.1),
// cuBLAS for matrix products, and NVRTC, which compiles the package's CUDA
// C kernels (kernels/*.cu, embedded) for the GPU at hand on first use and
// caches the result on disk. Libraries are looked for under every major
// version (13, 12, 11) in $VERTEBRA_CUDA_PATH, $LD_LIBRARY_PATH, the
// system folders, /usr/local/cuda*, and the nvidia/*/lib folders of Python
// environments (where pip puts CUDA); a missing one is an error that names
// what was looked for and where.
//
// Open returns a Device that implements autograd.Device; the CPU stays
// the default device and never needs this package. The package is not a
// general CUDA binding: it binds the calls its device uses.
package cuda
