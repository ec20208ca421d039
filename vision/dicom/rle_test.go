package dicom

import (
	"encoding/binary"
	"strings"
	"testing"
)

// packBits is a plain PackBits encoder for the tests: replicate runs of 3
// or more bytes, literal runs otherwise.
func packBits(src []byte) []byte {
	var out []byte
	for i := 0; i < len(src); {
		run := 1
		for i+run < len(src) && src[i+run] == src[i] && run < 128 {
			run++
		}
		if run >= 3 {
			out = append(out, byte(int8(1-run)), src[i])
			i += run
			continue
		}
		j := i
		for j < len(src) && j-i < 128 && !(j+2 < len(src) && src[j] == src[j+1] && src[j] == src[j+2]) {
			j++
		}
		out = append(out, byte(j-i-1))
		out = append(out, src[i:j]...)
		i = j
	}
	if len(out)%2 == 1 {
		out = append(out, 0x80) // no-op padding to even length
	}
	return out
}

// rleFrame encodes samples of size bytes each as one RLE frame.
func rleFrame(samples []uint32, size int) []byte {
	hdr := make([]byte, 64)
	binary.LittleEndian.PutUint32(hdr, uint32(size))
	var body []byte
	for s := 0; s < size; s++ {
		plane := make([]byte, len(samples))
		for i, v := range samples {
			plane[i] = byte(v >> uint(8*(size-1-s)))
		}
		binary.LittleEndian.PutUint32(hdr[4+4*s:], uint32(64+len(body)))
		body = append(body, packBits(plane)...)
	}
	return append(hdr, body...)
}

func TestDecodeRLE(t *testing.T) {
	const rows, cols = 5, 37
	for _, size := range []int{1, 2, 4} {
		samples := make([]uint32, rows*cols)
		for i := range samples {
			switch {
			case i < 40: // long replicate run
				samples[i] = 0x01020304
			case i%3 == 0:
				samples[i] = uint32(i) * 0x9E3779B1
			default:
				samples[i] = uint32(i)
			}
			if size < 4 {
				samples[i] &= 1<<uint(8*size) - 1
			}
		}
		f := rleFrame(samples, size)
		dst := make([]int32, rows*cols)
		if err := decodeRLE(f, rows, cols, size, dst); err != nil {
			t.Fatalf("%d-byte samples: %v", size, err)
		}
		for i := range dst {
			if uint32(dst[i]) != samples[i] {
				t.Fatalf("%d-byte samples: [%d] = %#x, want %#x", size, i, uint32(dst[i]), samples[i])
			}
		}
	}
}

func TestDecodeRLEErrors(t *testing.T) {
	good := rleFrame(make([]uint32, 12), 2)
	for _, tc := range []struct {
		name string
		f    []byte
		want string
	}{
		{"short header", good[:63], "RLE header"},
		{"segment count", func() []byte {
			b := append([]byte(nil), good...)
			binary.LittleEndian.PutUint32(b, 3)
			return b
		}(), "3 segments"},
		{"offset past end", func() []byte {
			b := append([]byte(nil), good...)
			binary.LittleEndian.PutUint32(b[8:], 1000)
			return b
		}(), "outside"},
		{"offset in header", func() []byte {
			b := append([]byte(nil), good...)
			binary.LittleEndian.PutUint32(b[4:], 10)
			return b
		}(), "outside"},
		{"truncated segment", good[:len(good)-2], "decodes to"},
		{"literal past end", append(append([]byte(nil), good[:64]...), 5, 1), "passes the end"},
		{"overflow", func() []byte {
			b := append([]byte(nil), good[:64]...)
			binary.LittleEndian.PutUint32(b[8:], 66)
			return append(b, 0x81, 0, 0x81, 0) // 128 bytes for 12
		}(), "more than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := decodeRLE(tc.f, 3, 4, 2, make([]int32, 12))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}
