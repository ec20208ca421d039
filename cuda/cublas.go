package cuda

import (
	"fmt"
	"unsafe"

	"github.com/ebitengine/purego"
)

// cublasAPI is the part of cuBLAS the device uses: single and double
// precision products, plain and batched over arrays of pointers (the
// strided-batched entry points take 18 arguments, more than purego passes).
type cublasAPI struct {
	lib                 *library
	major, minor, patch int

	cublasCreate, cublasDestroy, cublasSetStream, cublasSetMathMode  uintptr
	cublasSgemm, cublasDgemm, cublasSgemmBatched, cublasDgemmBatched uintptr
	cublasGetProperty                                                uintptr
}

// cuBLAS constants (cublas_api.h, library_types.h).
const (
	cublasOpN            = 0
	cublasOpT            = 1
	cublasDefaultMath    = 0
	cublasTF32TensorMath = 3
	libraryMajorVersion  = 0
	libraryMinorVersion  = 1
	libraryPatchLevel    = 2
)

// loadCUBLAS opens cuBLAS, no newer than maxMajor when that is positive.
func loadCUBLAS(maxMajor int) (*cublasAPI, error) {
	var api *cublasAPI
	err := loadOnce("cublas", func() bool { return loadedCUBLAS != nil }, func() error {
		lib, err := openLib(cublasSpec, searchDirs(), maxMajor)
		if err != nil {
			return err
		}
		c := &cublasAPI{lib: lib}
		if err := lib.syms(map[string]*uintptr{
			"cublasCreate_v2": &c.cublasCreate, "cublasDestroy_v2": &c.cublasDestroy,
			"cublasSetStream_v2": &c.cublasSetStream, "cublasSetMathMode": &c.cublasSetMathMode,
			"cublasSgemm_v2": &c.cublasSgemm, "cublasDgemm_v2": &c.cublasDgemm,
			"cublasSgemmBatched": &c.cublasSgemmBatched, "cublasDgemmBatched": &c.cublasDgemmBatched,
			"cublasGetProperty": &c.cublasGetProperty,
		}); err != nil {
			return err
		}
		for _, p := range []struct {
			kind int
			dst  *int
		}{{libraryMajorVersion, &c.major}, {libraryMinorVersion, &c.minor}, {libraryPatchLevel, &c.patch}} {
			var v int32
			if err := c.call("cublasGetProperty", c.cublasGetProperty, uintptr(p.kind), uintptr(unsafe.Pointer(&v))); err != nil {
				return err
			}
			*p.dst = int(v)
		}
		loadedCUBLAS = c
		return nil
	})
	api = loadedCUBLAS
	if err != nil {
		return nil, err
	}
	return api, nil
}

// loadedCUBLAS is this process's cuBLAS, guarded by loaded.mu.
var loadedCUBLAS *cublasAPI

func (c *cublasAPI) version() string { return fmt.Sprintf("%d.%d.%d", c.major, c.minor, c.patch) }

// call calls a cuBLAS function and turns a non-zero status into an *Error.
//
//go:uintptrescapes
func (c *cublasAPI) call(name string, fn uintptr, args ...uintptr) error {
	r, _, _ := purego.SyscallN(fn, args...)
	if r == 0 {
		return nil
	}
	return &Error{Func: name, Code: int(r), Name: nameOr(cublasStatusNames, int(r), "CUBLAS_STATUS")}
}

func cublasOp(trans bool) uintptr {
	if trans {
		return cublasOpT
	}
	return cublasOpN
}
