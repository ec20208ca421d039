package pth

import (
	"errors"
	"fmt"
	"math"
	"math/big"

	"github.com/vertebra-ml/vertebra/nn/safetensors"
)

// storageRef is a storage named by a persistent id: numel elements of dtype
// starting at element base of the blob key (base is non-zero only for the
// storage views of the legacy format).
type storageRef struct {
	key   string
	dtype safetensors.DType
	numel int64
	base  int64
}

// tensorRef is a tensor as torch._utils._rebuild_tensor_v2 describes it:
// a strided view of a storage. It is materialised once the storages can be
// read, which for the legacy format is only after the whole pickle.
type tensorRef struct {
	storage      *storageRef
	offset       int64
	size, stride []int64
}

// storageDType maps a pickled storage class name to its element type.
func storageDType(name string) (safetensors.DType, bool) {
	switch name {
	case "FloatStorage":
		return safetensors.F32, true
	case "DoubleStorage":
		return safetensors.F64, true
	case "HalfStorage":
		return safetensors.F16, true
	case "BFloat16Storage":
		return safetensors.BF16, true
	case "LongStorage":
		return safetensors.I64, true
	case "IntStorage":
		return safetensors.I32, true
	case "ShortStorage":
		return safetensors.I16, true
	case "CharStorage":
		return safetensors.I8, true
	case "ByteStorage":
		return safetensors.U8, true
	case "BoolStorage":
		return safetensors.BOOL, true
	case "ComplexFloatStorage":
		return safetensors.C64, true
	}
	return "", false
}

// torchGlobal is the allow-list of globals a checkpoint may name. Anything
// else, os.system and builtins.eval included, is refused by name.
func torchGlobal(module, name string) (*global, error) {
	g := &global{module: module, name: name}
	switch module + "." + name {
	case "collections.OrderedDict":
		g.kind = gOrderedDict
	case "torch._utils._rebuild_tensor":
		g.kind = gRebuildTensor
	case "torch._utils._rebuild_tensor_v2":
		g.kind = gRebuildTensorV2
	case "torch._utils._rebuild_parameter":
		g.kind = gRebuildParameter
	case "torch._utils._rebuild_parameter_with_state":
		g.kind = gRebuildParameterWithState
	case "torch.UntypedStorage", "torch.storage.UntypedStorage":
		g.kind, g.dtype = gStorageType, string(safetensors.U8)
	default:
		// Files written on a GPU before PyTorch 0.4 name torch.cuda types.
		dt, ok := storageDType(name)
		if !ok || module != "torch" && module != "torch.cuda" {
			return nil, fmt.Errorf("forbidden global %s.%s: only tensor rebuilders, storage types and collections.OrderedDict are allowed", module, name)
		}
		g.kind, g.dtype = gStorageType, string(dt)
	}
	return g, nil
}

// torchReduce does in Go what calling an allowed global does in Python.
func torchReduce(g *global, args []any) (any, error) {
	switch g.kind {
	case gOrderedDict:
		d := newPyDict()
		if len(args) == 0 {
			return d, nil
		}
		if len(args) != 1 {
			return nil, fmt.Errorf("%s takes at most 1 argument, got %d", g, len(args))
		}
		var items []any
		switch a := args[0].(type) {
		case *pyList:
			items = a.items
		case *pyTuple:
			items = a.items
		default:
			return nil, fmt.Errorf("%s: expected a list of pairs, found %s", g, typeName(args[0]))
		}
		for _, it := range items {
			p, ok := it.(*pyTuple)
			if !ok || len(p.items) != 2 {
				return nil, fmt.Errorf("%s: expected a (key, value) pair, found %s", g, typeName(it))
			}
			if err := d.set(p.items[0], p.items[1]); err != nil {
				return nil, fmt.Errorf("%s: %w", g, err)
			}
		}
		return d, nil
	case gRebuildTensor, gRebuildTensorV2:
		// (storage, storage_offset, size, stride[, requires_grad,
		// backward_hooks[, metadata]]); the autograd extras do not matter
		// for raw data.
		if len(args) < 4 {
			return nil, fmt.Errorf("%s takes at least 4 arguments, got %d", g, len(args))
		}
		s, ok := args[0].(*storageRef)
		if !ok {
			return nil, fmt.Errorf("%s: argument 1 must be a storage, found %s", g, typeName(args[0]))
		}
		off, ok := args[1].(int64)
		if !ok {
			return nil, fmt.Errorf("%s: storage offset must be an int, found %s", g, typeName(args[1]))
		}
		size, err := intTuple(args[2])
		if err != nil {
			return nil, fmt.Errorf("%s: size: %w", g, err)
		}
		stride, err := intTuple(args[3])
		if err != nil {
			return nil, fmt.Errorf("%s: stride: %w", g, err)
		}
		return &tensorRef{storage: s, offset: off, size: size, stride: stride}, nil
	case gRebuildParameter, gRebuildParameterWithState:
		// (data, requires_grad, backward_hooks[, state]): a Parameter is
		// its data as far as a checkpoint reader is concerned.
		if len(args) < 1 {
			return nil, fmt.Errorf("%s takes at least 1 argument", g)
		}
		t, ok := args[0].(*tensorRef)
		if !ok {
			return nil, fmt.Errorf("%s: argument 1 must be a tensor, found %s", g, typeName(args[0]))
		}
		return t, nil
	}
	return nil, fmt.Errorf("%s is not callable", g)
}

func intTuple(v any) ([]int64, error) {
	var items []any
	switch t := v.(type) {
	case *pyTuple:
		items = t.items
	case *pyList:
		items = t.items
	default:
		return nil, fmt.Errorf("expected a tuple of ints, found %s", typeName(v))
	}
	out := make([]int64, len(items))
	for i, it := range items {
		n, ok := it.(int64)
		if !ok {
			return nil, fmt.Errorf("expected a tuple of ints, element %d is %s", i, typeName(it))
		}
		out[i] = n
	}
	return out, nil
}

// storagePID decodes the common head of a storage persistent id,
// ('storage', storage_type, key, location, numel, ...), returning the tuple.
func storagePID(pid any, wantLen int) (items []any, dt safetensors.DType, key string, numel int64, err error) {
	t, ok := pid.(*pyTuple)
	if !ok || len(t.items) == 0 {
		return nil, "", "", 0, fmt.Errorf("persistent id must be a non-empty tuple, found %s", typeName(pid))
	}
	items = t.items
	kind, _ := asString(items[0])
	if kind != "storage" {
		if kind == "module" {
			return nil, "", "", 0, errors.New("the checkpoint pickles a whole nn.Module, which needs its Python code; save model.state_dict() instead")
		}
		return nil, "", "", 0, fmt.Errorf("persistent id of unknown kind %s", describeValue(items[0]))
	}
	if len(items) != wantLen {
		return nil, "", "", 0, fmt.Errorf("storage persistent id has %d fields, want %d", len(items), wantLen)
	}
	g, ok := items[1].(*global)
	if !ok || g.kind != gStorageType {
		return nil, "", "", 0, fmt.Errorf("storage type must be a torch storage class, found %s", typeName(items[1]))
	}
	key, ok = asString(items[2])
	if !ok {
		return nil, "", "", 0, fmt.Errorf("storage key must be a string, found %s", typeName(items[2]))
	}
	numel, ok = items[4].(int64)
	if !ok || numel < 0 {
		return nil, "", "", 0, fmt.Errorf("storage %q: element count must be a non-negative int, found %s", key, describeValue(items[4]))
	}
	return items, safetensors.DType(g.dtype), key, numel, nil
}

// asString accepts str and, from Python 2 files, bytes.
func asString(v any) (string, bool) {
	switch s := v.(type) {
	case string:
		return s, true
	case []byte:
		return string(s), true
	}
	return "", false
}

func describeValue(v any) string {
	switch v := v.(type) {
	case string:
		return fmt.Sprintf("%q", v)
	case int64:
		return fmt.Sprint(v)
	}
	return typeName(v)
}

// storageSource gives access to the raw bytes of a file's storages.
type storageSource interface {
	// size returns the number of bytes stored for key.
	size(key string) (int64, error)
	// read fills p from byte offset off of the storage key; the caller has
	// checked the range against size.
	read(key string, p []byte, off int64) error
}

// resolver turns the unpickled values into the package's public values,
// reading each tensor's data from src.
type resolver struct {
	src       storageSource
	bigEndian bool
	budget    int64 // bytes of tensor data still allowed, see newResolver

	done  map[any]any  // converted containers and tensors, by pointer
	doing map[any]bool // containers being converted, to catch cycles
}

// maxDepth bounds the nesting of containers; real checkpoints nest a few
// levels, and the bound keeps a hostile pickle from exhausting the stack.
const maxDepth = 1000

// newResolver allows tensors to total twice the file size plus 1 GiB: views
// that share a storage may legitimately repeat its bytes (tied weights,
// expanded views), but a small hostile file must not be able to demand
// terabytes through many views of one storage.
func newResolver(src storageSource, fileSize int64, bigEndian bool) *resolver {
	budget := int64(1 << 30)
	if fileSize < (math.MaxInt64-budget)/2 {
		budget += 2 * fileSize
	} else {
		budget = math.MaxInt64
	}
	return &resolver{src: src, bigEndian: bigEndian, budget: budget, done: map[any]any{}, doing: map[any]bool{}}
}

func (r *resolver) convert(v any, path string, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("%s: containers nest deeper than %d levels", pathOrRoot(path), maxDepth)
	}
	switch v.(type) {
	case *pyList, *pyTuple, *pyDict, *tensorRef:
		if out, ok := r.done[v]; ok {
			return out, nil
		}
		if r.doing[v] {
			return nil, fmt.Errorf("%s: a container contains itself", pathOrRoot(path))
		}
		r.doing[v] = true
		defer delete(r.doing, v)
	}
	var out any
	switch x := v.(type) {
	case nil, bool, int64, float64, string, []byte, *big.Int:
		return v, nil
	case *pyList:
		l, err := r.convertItems(x.items, path, depth)
		if err != nil {
			return nil, err
		}
		out = l
	case *pyTuple:
		l, err := r.convertItems(x.items, path, depth)
		if err != nil {
			return nil, err
		}
		out = l
	case *pyDict:
		d, err := r.convertDict(x, path, depth)
		if err != nil {
			return nil, err
		}
		out = d
	case *tensorRef:
		t, err := r.tensor(x)
		if err != nil {
			return nil, fmt.Errorf("tensor %s: %w", pathOrRoot(path), err)
		}
		out = t
	default:
		return nil, fmt.Errorf("%s: unsupported value: %s", pathOrRoot(path), typeName(v))
	}
	r.done[v] = out
	return out, nil
}

func (r *resolver) convertItems(items []any, path string, depth int) ([]any, error) {
	out := make([]any, len(items))
	for i, it := range items {
		c, err := r.convert(it, fmt.Sprintf("%s[%d]", path, i), depth+1)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

func (r *resolver) convertDict(x *pyDict, path string, depth int) (*Dict, error) {
	d := &Dict{Keys: append([]any(nil), x.keys...), Values: make(map[any]any, len(x.keys))}
	for _, k := range x.keys {
		c, err := r.convert(x.vals[k], fmt.Sprintf("%s[%s]", path, describeValue(k)), depth+1)
		if err != nil {
			return nil, err
		}
		d.Values[k] = c
	}
	if x.attrs != nil {
		a, err := r.convertDict(x.attrs, path+".__dict__", depth+1)
		if err != nil {
			return nil, err
		}
		d.Attrs = a
	}
	return d, nil
}

// pathOrRoot formats the location of a value for an error message, eliding
// the middle of a deep path.
func pathOrRoot(path string) string {
	switch {
	case path == "":
		return "(root)"
	case len(path) > 160:
		return path[:60] + "..." + path[len(path)-80:]
	}
	return path
}

// tensor materialises t as a contiguous row-major tensor, gathering the
// elements of a non-contiguous view.
func (r *resolver) tensor(t *tensorRef) (safetensors.Tensor, error) {
	s := t.storage
	es := int64(s.dtype.Size())
	if es == 0 {
		return safetensors.Tensor{}, fmt.Errorf("storage %q has unsupported dtype %q", s.key, s.dtype)
	}
	if len(t.size) != len(t.stride) {
		return safetensors.Tensor{}, fmt.Errorf("size %v and stride %v differ in length", t.size, t.stride)
	}
	if t.offset < 0 {
		return safetensors.Tensor{}, fmt.Errorf("negative storage offset %d", t.offset)
	}
	shape := make([]int, len(t.size))
	numel := int64(1)
	for i, n := range t.size {
		if n < 0 || t.stride[i] < 0 {
			return safetensors.Tensor{}, fmt.Errorf("size %v, stride %v: negative entry", t.size, t.stride)
		}
		if n > 0 && numel > math.MaxInt64/n {
			return safetensors.Tensor{}, fmt.Errorf("size %v: element count overflows", t.size)
		}
		numel *= n
		shape[i] = int(n)
	}
	if numel == 0 {
		return safetensors.Tensor{DType: s.dtype, Shape: shape, Data: []byte{}}, nil
	}
	// The highest element index the view touches, relative to the storage.
	last := t.offset
	for i, n := range t.size {
		step := t.stride[i]
		if step > 0 && n-1 > (math.MaxInt64-last)/step {
			return safetensors.Tensor{}, fmt.Errorf("size %v, stride %v, offset %d: index overflows", t.size, t.stride, t.offset)
		}
		last += (n - 1) * step
	}
	if last >= s.numel {
		return safetensors.Tensor{}, fmt.Errorf("view (offset %d, size %v, stride %v) reaches element %d of a storage of %d elements",
			t.offset, t.size, t.stride, last, s.numel)
	}
	blob, err := r.src.size(s.key)
	if err != nil {
		return safetensors.Tensor{}, err
	}
	if s.base > math.MaxInt64/es-s.numel || (s.base+s.numel)*es > blob {
		return safetensors.Tensor{}, fmt.Errorf("storage %q: %d elements of %s at element %d need more than the %d bytes stored",
			s.key, s.numel, s.dtype, s.base, blob)
	}
	// numel <= s.numel unless the view overlaps itself, so outBytes only
	// exceeds the blob for expanded views; the budget bounds both.
	if numel > r.budget/es {
		return safetensors.Tensor{}, fmt.Errorf("size %v: tensors would total more than twice the file size plus 1 GiB", t.size)
	}
	out := numel * es
	r.budget -= out
	start := (s.base + t.offset) * es
	var data []byte
	if contiguous(t.size, t.stride) {
		data = make([]byte, out)
		if err := r.src.read(s.key, data, start); err != nil {
			return safetensors.Tensor{}, err
		}
	} else {
		span := make([]byte, (last-t.offset+1)*es)
		if err := r.src.read(s.key, span, start); err != nil {
			return safetensors.Tensor{}, err
		}
		data = gather(make([]byte, 0, out), span, es, t.size, t.stride)
	}
	if r.bigEndian {
		swapBytes(data, int(es), s.dtype)
	}
	return safetensors.Tensor{DType: s.dtype, Shape: shape, Data: data}, nil
}

// contiguous reports whether stride is the row-major stride of size;
// dimensions of size 1 may have any stride.
func contiguous(size, stride []int64) bool {
	want := int64(1)
	for i := len(size) - 1; i >= 0; i-- {
		if size[i] != 1 && stride[i] != want {
			return false
		}
		want *= size[i]
	}
	return true
}

// gather appends the elements of the strided view of src to dst in
// row-major order; src starts at the view's first element.
func gather(dst, src []byte, es int64, size, stride []int64) []byte {
	switch {
	case len(size) == 0:
		return append(dst, src[:es]...)
	case len(size) == 1 && stride[0] == 1:
		return append(dst, src[:size[0]*es]...)
	}
	for i := int64(0); i < size[0]; i++ {
		dst = gather(dst, src[i*stride[0]*es:], es, size[1:], stride[1:])
	}
	return dst
}

// swapBytes converts big-endian elements to little-endian in place. A
// complex element is two floats, each swapped on its own.
func swapBytes(b []byte, es int, dt safetensors.DType) {
	if dt == safetensors.C64 {
		es = 4
	}
	for i := 0; i+es <= len(b); i += es {
		for j, k := i, i+es-1; j < k; j, k = j+1, k-1 {
			b[j], b[k] = b[k], b[j]
		}
	}
}
