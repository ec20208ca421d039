package autograd

import "fmt"

// DeviceError is the panic value of an op or tensor method whose device
// failed: out of memory, a failed host copy, a kernel that faulted. Ops
// have no error results (a model's forward pass is a chain of them), so a
// device failure unwinds as a panic; a program that wants it as an error
// recovers it with CatchDeviceError.
type DeviceError struct {
	Device string // the device's name
	Op     string // what was being done ("Alloc float32 x 1024")
	Err    error  // the device's own error
}

func (e *DeviceError) Error() string {
	return fmt.Sprintf("autograd: %s: %s: %v", e.Device, e.Op, e.Err)
}

func (e *DeviceError) Unwrap() error { return e.Err }

// CatchDeviceError runs fn and returns the DeviceError it panicked with, if
// any; other panics pass through.
//
//	if err := autograd.CatchDeviceError(step); err != nil {
//		return fmt.Errorf("training step %d: %w", i, err)
//	}
func CatchDeviceError(fn func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			de, ok := r.(*DeviceError)
			if !ok {
				panic(r)
			}
			err = de
		}
	}()
	fn()
	return nil
}

// alloc is dev.Alloc, panicking with a DeviceError on failure.
func alloc(dev Device, dt DType, n int) Storage {
	s, err := dev.Alloc(dt, n)
	if err != nil {
		panic(&DeviceError{Device: dev.Name(), Op: fmt.Sprintf("Alloc %s x %d", dt, n), Err: err})
	}
	return s
}

// fromHost is dev.FromHost, panicking with a DeviceError on failure.
func fromHost(dev Device, data any) Storage {
	s, err := dev.FromHost(data)
	if err != nil {
		panic(&DeviceError{Device: dev.Name(), Op: fmt.Sprintf("copy %T to the device", data), Err: err})
	}
	return s
}

// toHost is t's device's ToHost, panicking with a DeviceError on failure.
func toHost(t *Tensor) any {
	dev := t.Device()
	v, err := dev.ToHost(t.st)
	if err != nil {
		panic(&DeviceError{Device: dev.Name(), Op: fmt.Sprintf("copy %v %s to the host", t.shape, t.DType()), Err: err})
	}
	return v
}
