package cuda

import (
	"fmt"
	"runtime"
	"unsafe"

	"github.com/ebitengine/purego"
)

// driverAPI is the part of the CUDA driver API the device uses, looked up
// by name in libcuda.so.1 (the _v2 names are the 64-bit entry points the
// C header maps the plain names to).
type driverAPI struct {
	lib     *library
	version int // cuDriverGetVersion: 1000*major + 10*minor

	cuInit, cuDriverGetVersion, cuGetErrorName                       uintptr
	cuDeviceGetCount, cuDeviceGet, cuDeviceGetName                   uintptr
	cuDeviceGetAttribute, cuDeviceTotalMem                           uintptr
	cuDevicePrimaryCtxRetain, cuCtxSetCurrent                        uintptr
	cuStreamCreate, cuStreamSynchronize                              uintptr
	cuMemAlloc, cuMemFree, cuMemHostAlloc, cuMemFreeHost             uintptr
	cuMemcpyHtoDAsync, cuMemcpyDtoHAsync, cuMemcpyDtoDAsync          uintptr
	cuMemsetD32Async                                                 uintptr
	cuModuleLoadDataEx, cuModuleGetFunction, cuLaunchKernel          uintptr
	cuEventCreate, cuEventRecord, cuEventSynchronize, cuEventDestroy uintptr
}

// Device attributes (CUdevice_attribute).
const (
	attrMultiprocessors = 16
	attrComputeMajor    = 75
	attrComputeMinor    = 76
)

// loadDriver opens libcuda.so.1 and initialises the driver.
func loadDriver() (*driverAPI, error) {
	err := loadOnce("driver", func() bool { return loaded.driver != nil }, func() error {
		lib, err := openLib(driverSpec, searchDirs(), 0)
		if err != nil {
			return err
		}
		d := &driverAPI{lib: lib}
		if err := lib.syms(map[string]*uintptr{
			"cuInit": &d.cuInit, "cuDriverGetVersion": &d.cuDriverGetVersion, "cuGetErrorName": &d.cuGetErrorName,
			"cuDeviceGetCount": &d.cuDeviceGetCount, "cuDeviceGet": &d.cuDeviceGet, "cuDeviceGetName": &d.cuDeviceGetName,
			"cuDeviceGetAttribute": &d.cuDeviceGetAttribute, "cuDeviceTotalMem_v2": &d.cuDeviceTotalMem,
			"cuDevicePrimaryCtxRetain": &d.cuDevicePrimaryCtxRetain, "cuCtxSetCurrent": &d.cuCtxSetCurrent,
			"cuStreamCreate":      &d.cuStreamCreate,
			"cuStreamSynchronize": &d.cuStreamSynchronize, "cuMemAlloc_v2": &d.cuMemAlloc, "cuMemFree_v2": &d.cuMemFree,
			"cuMemHostAlloc": &d.cuMemHostAlloc, "cuMemFreeHost": &d.cuMemFreeHost,
			"cuMemcpyHtoDAsync_v2": &d.cuMemcpyHtoDAsync, "cuMemcpyDtoHAsync_v2": &d.cuMemcpyDtoHAsync,
			"cuMemcpyDtoDAsync_v2": &d.cuMemcpyDtoDAsync, "cuMemsetD32Async": &d.cuMemsetD32Async,
			"cuModuleLoadDataEx":  &d.cuModuleLoadDataEx,
			"cuModuleGetFunction": &d.cuModuleGetFunction, "cuLaunchKernel": &d.cuLaunchKernel,
			"cuEventCreate": &d.cuEventCreate, "cuEventRecord": &d.cuEventRecord,
			"cuEventSynchronize": &d.cuEventSynchronize, "cuEventDestroy_v2": &d.cuEventDestroy,
		}); err != nil {
			return err
		}
		if err := d.call("cuInit", d.cuInit, 0); err != nil {
			return fmt.Errorf("%w (driver %s: is an NVIDIA GPU present and its kernel module loaded?)", err, lib.path)
		}
		var v int32
		if err := d.call("cuDriverGetVersion", d.cuDriverGetVersion, uintptr(unsafe.Pointer(&v))); err != nil {
			return err
		}
		d.version = int(v)
		loaded.driver = d
		return nil
	})
	if err != nil {
		return nil, err
	}
	return loaded.driver, nil
}

// call calls a driver function and turns a non-zero CUresult into an
// *Error carrying its name. Like purego.SyscallN it moves the objects its
// pointer arguments point to onto the heap, where they cannot move during
// the call.
//
//go:uintptrescapes
func (d *driverAPI) call(name string, fn uintptr, args ...uintptr) error {
	r, _, _ := purego.SyscallN(fn, args...)
	if r == 0 {
		return nil
	}
	return d.errorOf(name, int(r))
}

func (d *driverAPI) errorOf(fn string, code int) error {
	n := nameOr(driverErrorNames, code, "CUDA_ERROR")
	if d.cuGetErrorName != 0 {
		var p *byte
		if r, _, _ := purego.SyscallN(d.cuGetErrorName, uintptr(code), uintptr(unsafe.Pointer(&p))); r == 0 && p != nil {
			n = cString(p)
		}
	}
	return &Error{Func: fn, Code: code, Name: n}
}

// versionString formats a CUDA version number (12040 is "12.4").
func versionString(v int) string {
	return fmt.Sprintf("%d.%d", v/1000, v%1000/10)
}

// deviceInfo is what the driver says about one GPU.
type deviceInfo struct {
	ordinal      int
	handle       int32 // CUdevice
	name         string
	major, minor int // compute capability
	sms          int
	totalMem     int64
}

func (d *driverAPI) deviceCount() (int, error) {
	var n int32
	if err := d.call("cuDeviceGetCount", d.cuDeviceGetCount, uintptr(unsafe.Pointer(&n))); err != nil {
		return 0, err
	}
	return int(n), nil
}

func (d *driverAPI) device(ordinal int) (deviceInfo, error) {
	info := deviceInfo{ordinal: ordinal}
	if err := d.call("cuDeviceGet", d.cuDeviceGet, uintptr(unsafe.Pointer(&info.handle)), uintptr(ordinal)); err != nil {
		return info, err
	}
	dev := uintptr(info.handle)
	name := make([]byte, 256)
	if err := d.call("cuDeviceGetName", d.cuDeviceGetName, uintptr(unsafe.Pointer(&name[0])), uintptr(len(name)), dev); err != nil {
		return info, err
	}
	info.name = cString(&name[0])
	for _, a := range []struct {
		attr int
		dst  *int
	}{{attrComputeMajor, &info.major}, {attrComputeMinor, &info.minor}, {attrMultiprocessors, &info.sms}} {
		var v int32
		if err := d.call("cuDeviceGetAttribute", d.cuDeviceGetAttribute, uintptr(unsafe.Pointer(&v)), uintptr(a.attr), dev); err != nil {
			return info, err
		}
		*a.dst = int(v)
	}
	var mem uint64
	if err := d.call("cuDeviceTotalMem_v2", d.cuDeviceTotalMem, uintptr(unsafe.Pointer(&mem)), dev); err != nil {
		return info, err
	}
	info.totalMem = int64(mem)
	runtime.KeepAlive(name)
	return info, nil
}
