package nn

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	ag "github.com/vertebra-ml/vertebra/autograd"
	"github.com/vertebra-ml/vertebra/nn/safetensors"
)

// Entry is one named tensor of a Store: a parameter, a float buffer (such as
// BatchNorm's running statistics) or an integer buffer (Ints).
type Entry struct {
	Name   string
	Tensor *ag.Tensor // nil for integer buffers
	Ints   *IntBuffer // set for integer buffers
	Buffer bool       // not a parameter: never trained
}

// IntBuffer is an int64 checkpoint buffer (num_batches_tracked,
// relative_position_index). Loading a checkpoint overwrites Values.
type IntBuffer struct {
	Shape  []int
	Values []int64

	store *Store
	index *ag.Tensor // Values as int32 on the store's device, built on first use
}

// Index returns the values as an int32 tensor of the buffer's shape on the
// store's device, for index ops (IndexSelect, Gather). It is built once
// and kept; LoadFile and Store.To rebuild it. After changing Values by
// hand, call Reset.
func (b *IntBuffer) Index() *ag.Tensor {
	if b.index == nil {
		v := make([]int32, len(b.Values))
		for i, x := range b.Values {
			if x < math.MinInt32 || x > math.MaxInt32 {
				panic(fmt.Sprintf("nn: IntBuffer: value %d (position %d) does not fit an int32 index", x, i))
			}
			v[i] = int32(x)
		}
		dev := ag.CPU // a buffer made outside a Builder
		if b.store != nil {
			dev = b.store.Device()
		}
		b.index = ag.FromInt32(v, b.Shape...).To(dev)
	}
	return b.index
}

// Reset drops the tensor Index built, so that the next call rebuilds it
// from Values.
func (b *IntBuffer) Reset() { b.index = nil }

// Store owns the named parameters and buffers of a model in creation order,
// the device they live on, the model's train/eval mode and the random
// generators of its initialisers and dropout.
type Store struct {
	dt       ag.DType
	dev      ag.Device
	entries  []*Entry
	byName   map[string]*Entry
	training bool
	rng      *rand.Rand
	gen      *ag.Generator
	movers   []Mover
}

// NewStore returns an empty store on the CPU whose tensors have type dt;
// seed drives the initialisers and dropout.
func NewStore(dt ag.DType, seed uint64) *Store {
	return &Store{dt: dt, dev: ag.CPU, byName: map[string]*Entry{}, training: true, rng: rand.New(rand.NewPCG(seed, 0x5eed)), gen: ag.NewGenerator(seed)}
}

// Device is where the store's tensors live; builders create new ones there.
func (s *Store) Device() ag.Device { return s.dev }

// Mover is state kept beside a store's tensors that must follow them to a
// device: an optimizer's moments.
type Mover interface {
	To(dev ag.Device) error
}

// Attach registers state that Store.To moves with the store (an
// optimizer over its parameters, say).
func (s *Store) Attach(m Mover) { s.movers = append(s.movers, m) }

// To moves every parameter (with its gradient), float buffer and integer
// buffer index to dev, in place, then the attached state (Attach); the
// store's builders create new tensors there. The modules holding the
// tensors follow, since the tensors themselves stay the same.
func (s *Store) To(dev ag.Device) error {
	for _, e := range s.entries {
		if e.Ints != nil {
			e.Ints.Reset()
			continue
		}
		if err := e.Tensor.MoveTo(dev); err != nil {
			return fmt.Errorf("nn: moving %s to %s: %w", e.Name, dev.Name(), err)
		}
	}
	s.dev = dev
	for _, m := range s.movers {
		if err := m.To(dev); err != nil {
			return fmt.Errorf("nn: moving attached state to %s: %w", dev.Name(), err)
		}
	}
	return nil
}

// DType is the element type of the store's tensors.
func (s *Store) DType() ag.DType { return s.dt }

// Root is the builder with an empty key prefix.
func (s *Store) Root() Builder { return Builder{store: s} }

// Training reports whether the model is in training mode (dropout on,
// BatchNorm on batch statistics). A new store is in training mode, as a
// new PyTorch module is; call SetTraining(false) before inference, as
// model.eval().
func (s *Store) Training() bool { return s.training }

// SetTraining switches between training and eval mode.
func (s *Store) SetTraining(on bool) { s.training = on }

// RNG is the generator behind the initialisers (and a convenient seeded
// source for tests).
func (s *Store) RNG() *rand.Rand { return s.rng }

// Generator is the counter-based generator of dropout and stochastic-depth
// masks, computed on the store's device.
func (s *Store) Generator() *ag.Generator { return s.gen }

// Entries lists every parameter and buffer in creation order.
func (s *Store) Entries() []*Entry { return s.entries }

// Lookup returns the entry with the given full name.
func (s *Store) Lookup(name string) (*Entry, bool) {
	e, ok := s.byName[name]
	return e, ok
}

// Parameters lists the parameters (not buffers) in creation order, as
// PyTorch's model.parameters().
func (s *Store) Parameters() []*ag.Tensor { return s.ParametersUnder("") }

// ParametersUnder lists the parameters whose names start with prefix.
func (s *Store) ParametersUnder(prefix string) []*ag.Tensor {
	var out []*ag.Tensor
	for _, e := range s.entries {
		if !e.Buffer && strings.HasPrefix(e.Name, prefix) {
			out = append(out, e.Tensor)
		}
	}
	return out
}

// NamedParameters lists the parameter entries in creation order.
func (s *Store) NamedParameters() []*Entry {
	var out []*Entry
	for _, e := range s.entries {
		if !e.Buffer {
			out = append(out, e)
		}
	}
	return out
}

// NumParams counts the elements of all parameters.
func (s *Store) NumParams() int {
	n := 0
	for _, p := range s.Parameters() {
		n += p.Len()
	}
	return n
}

// Freeze stops gradients for every parameter under prefix ("" for all).
func (s *Store) Freeze(prefix string) {
	for _, p := range s.ParametersUnder(prefix) {
		p.SetRequiresGrad(false)
	}
}

// UnfreezeLast makes the last n parameters under prefix trainable, as the
// study's `for p in list(model.parameters())[-n:]: p.requires_grad = True`.
func (s *Store) UnfreezeLast(prefix string, n int) {
	ps := s.ParametersUnder(prefix)
	for _, p := range ps[max(0, len(ps)-n):] {
		p.SetRequiresGrad(true)
	}
}

// Trainable lists the parameters that require gradients, in order.
func (s *Store) Trainable() []*Entry {
	var out []*Entry
	for _, e := range s.NamedParameters() {
		if e.Tensor.RequiresGrad() {
			out = append(out, e)
		}
	}
	return out
}

func (s *Store) add(e *Entry) {
	if _, dup := s.byName[e.Name]; dup {
		panic(fmt.Sprintf("nn: two tensors named %q", e.Name))
	}
	s.entries = append(s.entries, e)
	s.byName[e.Name] = e
}

// Builder is a key prefix into a Store. Layers take a Builder and create
// their weights under it.
type Builder struct {
	store  *Store
	prefix string
}

// Sub returns the builder for a child module: b.Sub("layer1").Sub("0")
// names its tensors "layer1.0.<name>".
func (b Builder) Sub(name string) Builder {
	return Builder{store: b.store, prefix: b.prefix + name + "."}
}

// SubN is Sub of a decimal index, for Sequential children and lists.
func (b Builder) SubN(i int) Builder { return b.Sub(strconv.Itoa(i)) }

// Prefix is the key prefix, ending in "." unless it is empty.
func (b Builder) Prefix() string { return b.prefix }

// Store is the store the builder creates tensors in.
func (b Builder) Store() *Store { return b.store }

// Param creates a trainable tensor named prefix+name, initialised by init.
func (b Builder) Param(name string, shape []int, init Init) *ag.Tensor {
	t := b.tensor(shape, init).SetRequiresGrad(true)
	b.store.add(&Entry{Name: b.prefix + name, Tensor: t})
	return t
}

// Buffer creates a float tensor that is saved but never trained.
func (b Builder) Buffer(name string, shape []int, init Init) *ag.Tensor {
	t := b.tensor(shape, init)
	b.store.add(&Entry{Name: b.prefix + name, Tensor: t, Buffer: true})
	return t
}

// IntBuffer creates an int64 buffer with the given values (zeros if nil).
func (b Builder) IntBuffer(name string, shape []int, values []int64) *IntBuffer {
	n := numel(shape)
	if values == nil {
		values = make([]int64, n)
	}
	if len(values) != n {
		panic(fmt.Sprintf("nn: IntBuffer %s%s: %d values for shape %v", b.prefix, name, len(values), shape))
	}
	ib := &IntBuffer{Shape: slices.Clone(shape), Values: values, store: b.store}
	b.store.add(&Entry{Name: b.prefix + name, Ints: ib, Buffer: true})
	return ib
}

func (b Builder) tensor(shape []int, init Init) *ag.Tensor {
	v := init(b.store.rng, shape)
	if b.store.dt == ag.Float64 {
		return ag.FromFloat64(v, shape...).To(b.store.dev)
	}
	w := make([]float32, len(v))
	for i, x := range v {
		w[i] = float32(x)
	}
	return ag.FromFloat32(w, shape...).To(b.store.dev)
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// LoadOptions control LoadFile.
type LoadOptions struct {
	// Strict fails on missing and unexpected keys; shape and type
	// mismatches always fail.
	Strict bool
	// Prefix is prepended to every store name to find it in the file
	// ("base_model." to load a backbone out of a whole-model checkpoint).
	Prefix string
	// Under restricts loading to the store entries whose names start with
	// it, and removes it to form the file key: Under "base_model." loads an
	// ImageNet backbone checkpoint into the study model's backbone.
	Under string
	// Skip reports file keys to ignore (golden.* tensors, a removed head).
	Skip func(name string) bool
	// Optional reports store entries that may be absent from the file;
	// they keep their built values (see RecomputedBuffer).
	Optional func(name string) bool
}

// RecomputedBuffer reports the integer buffers that a checkpoint may lack
// without loss: num_batches_tracked (PyTorch's BatchNorm accepts its
// absence, as old torchvision files lack it) and relative_position_index
// (the model computes it; newer transformers versions do not save it).
func RecomputedBuffer(name string) bool {
	return strings.HasSuffix(name, "num_batches_tracked") || strings.HasSuffix(name, "relative_position_index")
}

// LoadFile copies the tensors of a checkpoint into the store by name. It
// checks everything before changing anything and reports every missing key,
// unexpected key and shape mismatch by name.
func (s *Store) LoadFile(f *safetensors.File, o LoadOptions) error {
	var missing, unexpected, bad []string
	type pending struct {
		e *Entry
		t safetensors.Tensor
	}
	var todo []pending
	want := map[string]bool{}
	for _, e := range s.entries {
		rest, ok := strings.CutPrefix(e.Name, o.Under)
		if !ok {
			continue
		}
		key := o.Prefix + rest
		want[key] = true
		t, ok := f.Tensors[key]
		if !ok {
			if o.Optional == nil || !o.Optional(e.Name) {
				missing = append(missing, key)
			}
			continue
		}
		shape := e.shape()
		if !slices.Equal(t.Shape, shape) {
			bad = append(bad, fmt.Sprintf("%s: shape %v in file, model has %v", key, t.Shape, shape))
			continue
		}
		isInt := t.DType == "I64" || t.DType == "I32" || t.DType == "I16" || t.DType == "I8" || t.DType == "U8" || t.DType == "BOOL"
		if isInt != (e.Ints != nil) {
			bad = append(bad, fmt.Sprintf("%s: dtype %s in file does not fit the model's %s", key, t.DType, e.kind()))
			continue
		}
		todo = append(todo, pending{e, t})
	}
	names := f.Names
	if names == nil {
		for k := range f.Tensors {
			names = append(names, k)
		}
		slices.Sort(names)
	}
	for _, k := range names {
		if !want[k] && (o.Skip == nil || !o.Skip(k)) && strings.HasPrefix(k, o.Prefix) {
			unexpected = append(unexpected, k)
		}
	}
	var errs []error
	if len(bad) > 0 {
		errs = append(errs, fmt.Errorf("shape or type mismatch: %s", strings.Join(bad, "; ")))
	}
	if o.Strict && len(missing) > 0 {
		errs = append(errs, fmt.Errorf("missing keys: %s", strings.Join(missing, ", ")))
	}
	if o.Strict && len(unexpected) > 0 {
		errs = append(errs, fmt.Errorf("unexpected keys: %s", strings.Join(unexpected, ", ")))
	}
	if len(errs) > 0 {
		return fmt.Errorf("nn: loading checkpoint: %w", errors.Join(errs...))
	}
	for _, p := range todo {
		if err := p.e.set(p.t, s.dt); err != nil {
			return fmt.Errorf("nn: loading %s%s: %w", o.Prefix, p.e.Name, err)
		}
	}
	return nil
}

func (e *Entry) shape() []int {
	if e.Ints != nil {
		return e.Ints.Shape
	}
	return e.Tensor.Shape()
}

func (e *Entry) kind() string {
	if e.Ints != nil {
		return "int64 buffer"
	}
	return "float tensor"
}

func (e *Entry) set(t safetensors.Tensor, dt ag.DType) error {
	if e.Ints != nil {
		v, err := t.Int64()
		if err != nil {
			return err
		}
		copy(e.Ints.Values, v)
		e.Ints.Reset()
		return nil
	}
	var src *ag.Tensor
	if dt == ag.Float64 {
		v, err := t.Float64()
		if err != nil {
			return err
		}
		src = ag.FromFloat64(v, t.Shape...)
	} else {
		v, err := t.Float32()
		if err != nil {
			return err
		}
		src = ag.FromFloat32(v, t.Shape...)
	}
	e.Tensor.CopyFrom(src)
	return nil
}

// StateDict returns the store's tensors as a checkpoint: float tensors as
// F32 (or F64 for a float64 store), integer buffers as I64, in order.
func (s *Store) StateDict() *safetensors.File {
	f := &safetensors.File{Metadata: map[string]string{}, Tensors: map[string]safetensors.Tensor{}}
	for _, e := range s.entries {
		var t safetensors.Tensor
		switch {
		case e.Ints != nil:
			t = safetensors.FromInt64(e.Ints.Shape, e.Ints.Values)
		case s.dt == ag.Float64:
			t = safetensors.FromFloat64(e.Tensor.Shape(), e.Tensor.Float64s())
		default:
			t = safetensors.FromFloat32(e.Tensor.Shape(), e.Tensor.Float32s())
		}
		f.Names = append(f.Names, e.Name)
		f.Tensors[e.Name] = t
	}
	return f
}

// Shape is the entry's shape, for a float tensor or an integer buffer.
func (e *Entry) Shape() []int { return e.shape() }
