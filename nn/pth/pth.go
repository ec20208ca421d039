// Package pth reads PyTorch checkpoints written by torch.save (.pth, .pt,
// .bin files) without Python, as raw tensors of package safetensors.
//
// Both layouts of torch.save are read: the zip archive of PyTorch 1.6 and
// later (a data.pkl pickle beside one file per storage) and the older
// "legacy" stream (magic number, protocol, system info, the pickle, the
// storage keys, then the storages' bytes). Tensors are rebuilt from their
// storage, offset, size and stride; views such as transposes and slices are
// gathered into contiguous row-major data.
//
// Pickles are decoded by a small interpreter in this package that never runs
// code from the file: it understands the opcodes torch.save emits and
// accepts only the globals a checkpoint needs (tensor and parameter
// rebuilders, storage types, collections.OrderedDict). A checkpoint that
// names anything else, such as os.system, is rejected with an error naming
// the global. Consequently it reads state dicts and training checkpoints
// made of dicts, lists, numbers, strings and tensors, but not pickled
// nn.Module objects, NumPy arrays or other Python classes.
//
// [Write] writes the zip layout for the checkpoints PyTorch programs load
// with torch.load (vertebra's own checkpoints are safetensors); it pickles
// only dicts, strings, numbers and tensors.
package pth

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"slices"
	"strconv"

	"github.com/vertebra-ml/vertebra/nn/safetensors"
)

// Checkpoint is an unpickled torch.save file.
type Checkpoint struct {
	// Root is the saved object. Python values map to Go as follows:
	// dict and OrderedDict to *Dict; list, tuple, set to []any; str to
	// string; bytes to []byte; int to int64 (*big.Int beyond int64); float
	// to float64; bool to bool; None to nil; a tensor or Parameter to
	// safetensors.Tensor, contiguous.
	Root any
}

// Dict is a Python dict that keeps insertion order, as state dicts rely on.
type Dict struct {
	// Keys lists the keys in insertion order. A key is a string, int64,
	// float64, bool or nil (optimizer state, for one, is keyed by int).
	Keys []any
	// Values maps each key to its value.
	Values map[any]any
	// Attrs holds the object's attributes when the pickle set any, such
	// as the _metadata a module's state_dict carries; otherwise nil.
	Attrs *Dict
	// Ordered makes Write pickle the dict as a collections.OrderedDict,
	// as PyTorch's state dicts are; the reader does not set it.
	Ordered bool
}

// Get returns the value for key. An int key is looked up as int64.
func (d *Dict) Get(key any) (any, bool) {
	if k, ok := key.(int); ok {
		key = int64(k)
	}
	v, ok := d.Values[key]
	return v, ok
}

// Len returns the number of keys.
func (d *Dict) Len() int { return len(d.Keys) }

// ReadFile reads the torch.save file at path.
func ReadFile(path string) (*Checkpoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("pth: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("pth: %w", err)
	}
	c, err := read(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("pth: %s: %w", path, err)
	}
	return c, nil
}

// Read reads a torch.save file of the given size from r.
func Read(r io.ReaderAt, size int64) (*Checkpoint, error) {
	c, err := read(r, size)
	if err != nil {
		return nil, fmt.Errorf("pth: %w", err)
	}
	return c, nil
}

func read(r io.ReaderAt, size int64) (*Checkpoint, error) {
	var head [8]byte
	n, _ := r.ReadAt(head[:], 0)
	b := head[:n]
	switch {
	case size == 0:
		return nil, errors.New("file is empty")
	case bytes.HasPrefix(b, []byte("PK\x03\x04")), bytes.HasPrefix(b, []byte("PK\x05\x06")):
		return readZip(r, size)
	case len(b) > 0 && b[0] == 0x80: // pickle PROTO: the legacy stream
		return readLegacy(r, size)
	}
	var magic [5]byte
	if size >= 262 {
		if m, _ := r.ReadAt(magic[:], 257); m == 5 && string(magic[:]) == "ustar" {
			return nil, errors.New("tar checkpoints of PyTorch before 0.4 are not supported; re-save with a recent torch.save")
		}
	}
	return nil, fmt.Errorf("not a torch.save file: starts with % x, want a zip archive (PK) or a pickle (80)", b)
}

// newTorchUnpickler returns an unpickler for the object pickle of a
// checkpoint, with the allow-list in force.
func newTorchUnpickler(br *bufio.Reader, pos, limit int64, pid func(any) (any, error)) *unpickler {
	u := newUnpickler(br, pos, limit)
	u.findGlobal = torchGlobal
	u.reduce = torchReduce
	u.persistentLoad = pid
	return u
}

// StateDict returns the tensors of the checkpoint's state dict, in order.
// The state dict is the root dict, or its "model_state_dict", "state_dict"
// or "model" entry when it has one that is a dict (the layouts of training
// checkpoints, in that order of preference). Every entry must be a tensor;
// a nested dict or any other value is an error naming its key.
func (c *Checkpoint) StateDict() (names []string, tensors map[string]safetensors.Tensor, err error) {
	return c.stateDict(false)
}

// FlatStateDict is StateDict for state dicts that nest dicts of tensors:
// nested keys are joined with ".", as nn.Module names them.
func (c *Checkpoint) FlatStateDict() (names []string, tensors map[string]safetensors.Tensor, err error) {
	return c.stateDict(true)
}

func (c *Checkpoint) stateDict(flatten bool) ([]string, map[string]safetensors.Tensor, error) {
	root, ok := c.Root.(*Dict)
	if !ok {
		return nil, nil, fmt.Errorf("pth: checkpoint root is a %s, not a dict", valueType(c.Root))
	}
	sd, where := root, ""
	for _, k := range []string{"model_state_dict", "state_dict", "model"} {
		if d, ok := root.Values[k].(*Dict); ok {
			sd, where = d, k+"."
			break
		}
	}
	names := []string{}
	tensors := map[string]safetensors.Tensor{}
	var walk func(d *Dict, prefix string) error
	walk = func(d *Dict, prefix string) error {
		for _, k := range d.Keys {
			var name string
			switch k := k.(type) {
			case string:
				name = prefix + k
			case int64: // nn.ModuleList-like numbering in hand-made dicts
				name = prefix + strconv.FormatInt(k, 10)
			default:
				return fmt.Errorf("pth: state dict %skey %v is a %s, not a string", where+prefix, k, valueType(k))
			}
			switch v := d.Values[k].(type) {
			case safetensors.Tensor:
				if _, dup := tensors[name]; dup {
					return fmt.Errorf("pth: state dict key %q appears twice after flattening", where+name)
				}
				names = append(names, name)
				tensors[name] = v
			case *Dict:
				if !flatten {
					return fmt.Errorf("pth: state dict key %q holds a nested dict, not a tensor (FlatStateDict flattens nested dicts)", where+name)
				}
				if err := walk(v, name+"."); err != nil {
					return err
				}
			default:
				return fmt.Errorf("pth: state dict key %q holds a %s, not a tensor", where+name, valueType(v))
			}
		}
		return nil
	}
	if err := walk(sd, ""); err != nil {
		return nil, nil, err
	}
	return slices.Clip(names), tensors, nil
}

// valueType names the Python type of a public value.
func valueType(v any) string {
	switch v.(type) {
	case nil:
		return "None"
	case bool:
		return "bool"
	case int64, *big.Int:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case []byte:
		return "bytes"
	case []any:
		return "list"
	case *Dict:
		return "dict"
	case safetensors.Tensor:
		return "tensor"
	}
	return fmt.Sprintf("%T", v)
}
