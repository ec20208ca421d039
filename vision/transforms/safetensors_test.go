package transforms

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
)

// A minimal safetensors reader for the goldens: F32 tensors and the
// metadata only. The project's real reader lives elsewhere.

type stTensor struct {
	Shape []int
	Data  []float32
}

type stFile struct {
	Meta    map[string]string
	Tensors map[string]stTensor
}

func readSafetensors(path string) (*stFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 8 {
		return nil, fmt.Errorf("%s: %d bytes, shorter than the header length", path, len(b))
	}
	n := binary.LittleEndian.Uint64(b)
	if n > uint64(len(b)-8) {
		return nil, fmt.Errorf("%s: header length %d exceeds file", path, n)
	}
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+n], &hdr); err != nil {
		return nil, fmt.Errorf("%s: header: %v", path, err)
	}
	data := b[8+n:]
	f := &stFile{Tensors: map[string]stTensor{}}
	for k, raw := range hdr {
		if k == "__metadata__" {
			if err := json.Unmarshal(raw, &f.Meta); err != nil {
				return nil, fmt.Errorf("%s: metadata: %v", path, err)
			}
			continue
		}
		var e struct {
			Dtype   string `json:"dtype"`
			Shape   []int  `json:"shape"`
			Offsets [2]int `json:"data_offsets"`
		}
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, fmt.Errorf("%s: tensor %q: %v", path, k, err)
		}
		if e.Dtype != "F32" {
			continue
		}
		lo, hi := e.Offsets[0], e.Offsets[1]
		count := 1
		for _, d := range e.Shape {
			count *= d
		}
		if lo < 0 || hi > len(data) || hi-lo != 4*count {
			return nil, fmt.Errorf("%s: tensor %q: offsets %v for shape %v", path, k, e.Offsets, e.Shape)
		}
		t := stTensor{Shape: e.Shape, Data: make([]float32, count)}
		for i := range t.Data {
			t.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[lo+4*i:]))
		}
		f.Tensors[k] = t
	}
	return f, nil
}
