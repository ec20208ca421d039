package cuda

import (
	"unsafe"
)

// staging is a ring of pinned (page-locked) host buffers through which
// host copies go: the GPU copies from pinned memory by DMA while the host
// goes on, where a copy from ordinary Go memory would be staged by the
// driver first. An upload returns once its data is in a pinned buffer;
// each buffer's event says when the GPU has read it, so the buffer is
// reused only after that.
type staging struct {
	dev   *Device
	slots []stageSlot
	next  int
	off   bool // pinned memory could not be had: copy from Go memory
}

type stageSlot struct {
	buf     []byte  // pinned memory
	event   uintptr // recorded after the copy that reads buf
	pending bool
}

const (
	stageSlots     = 4
	stageSlotBytes = 8 << 20
)

// slot returns the next buffer, once the GPU is done with it, or nil
// when pinned memory is not available.
func (s *staging) slot() (*stageSlot, error) {
	drv := s.dev.drv
	if s.off {
		return nil, nil
	}
	if s.slots == nil {
		s.slots = make([]stageSlot, stageSlots)
		for i := range s.slots {
			var p *byte
			if err := drv.call("cuMemHostAlloc", drv.cuMemHostAlloc, uintptr(unsafe.Pointer(&p)), stageSlotBytes, 0); err != nil {
				s.release()
				s.off = true
				return nil, nil
			}
			s.slots[i].buf = unsafe.Slice(p, stageSlotBytes)
			const disableTiming = 2 // CU_EVENT_DISABLE_TIMING
			if err := drv.call("cuEventCreate", drv.cuEventCreate, uintptr(unsafe.Pointer(&s.slots[i].event)), disableTiming); err != nil {
				return nil, err
			}
		}
	}
	sl := &s.slots[s.next]
	s.next = (s.next + 1) % len(s.slots)
	if sl.pending {
		if err := drv.call("cuEventSynchronize", drv.cuEventSynchronize, sl.event); err != nil {
			return nil, err
		}
		sl.pending = false
	}
	return sl, nil
}

// release frees the pinned buffers allocated so far.
func (s *staging) release() {
	drv := s.dev.drv
	for _, sl := range s.slots {
		if sl.buf != nil {
			_ = drv.call("cuMemFreeHost", drv.cuMemFreeHost, uintptr(unsafe.Pointer(&sl.buf[0])))
		}
		if sl.event != 0 {
			_ = drv.call("cuEventDestroy_v2", drv.cuEventDestroy, sl.event)
		}
	}
	s.slots = nil
}

// upload queues the copy of src to device address dst.
func (s *staging) upload(dst uintptr, src []byte) error {
	drv, stream := s.dev.drv, s.dev.stream
	for off := 0; off < len(src); off += stageSlotBytes {
		chunk := src[off:min(off+stageSlotBytes, len(src))]
		sl, err := s.slot()
		if err != nil {
			return err
		}
		if sl == nil { // from Go memory: the call returns once the driver has the bytes
			if err := drv.call("cuMemcpyHtoDAsync_v2", drv.cuMemcpyHtoDAsync, dst+uintptr(off), uintptr(unsafe.Pointer(&chunk[0])), uintptr(len(chunk)), stream); err != nil {
				return err
			}
			if err := drv.call("cuStreamSynchronize", drv.cuStreamSynchronize, stream); err != nil {
				return err
			}
			continue
		}
		copy(sl.buf, chunk)
		if err := drv.call("cuMemcpyHtoDAsync_v2", drv.cuMemcpyHtoDAsync, dst+uintptr(off), uintptr(unsafe.Pointer(&sl.buf[0])), uintptr(len(chunk)), stream); err != nil {
			return err
		}
		if err := drv.call("cuEventRecord", drv.cuEventRecord, sl.event, stream); err != nil {
			return err
		}
		sl.pending = true
	}
	return nil
}

// download copies device memory at src into dst, waiting for the copy.
func (s *staging) download(dst []byte, src uintptr) error {
	drv, stream := s.dev.drv, s.dev.stream
	for off := 0; off < len(dst); off += stageSlotBytes {
		chunk := dst[off:min(off+stageSlotBytes, len(dst))]
		sl, err := s.slot()
		if err != nil {
			return err
		}
		target := chunk
		if sl != nil {
			target = sl.buf[:len(chunk)]
		}
		if err := drv.call("cuMemcpyDtoHAsync_v2", drv.cuMemcpyDtoHAsync, uintptr(unsafe.Pointer(&target[0])), src+uintptr(off), uintptr(len(chunk)), stream); err != nil {
			return err
		}
		if err := drv.call("cuStreamSynchronize", drv.cuStreamSynchronize, stream); err != nil {
			return err
		}
		if sl != nil {
			copy(chunk, target)
		}
	}
	return nil
}
