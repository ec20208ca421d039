package pth

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// The unpickler below is a data-only interpreter of the pickle opcodes that
// torch.save emits. It never imports or calls Python code: GLOBAL resolves
// names through an allow-list to Go markers, and REDUCE, NEWOBJ and BUILD
// act only on those markers with Go implementations of what the named
// function would do.

// Values on the unpickler's stack. Containers are pointers so that a memo
// entry sees later APPENDs and SETITEMs, as in Python.
type (
	pyList  struct{ items []any } // list, set or frozenset
	pyTuple struct{ items []any }
	pyDict  struct {
		keys  []any
		vals  map[any]any
		attrs *pyDict // state set by BUILD, e.g. a state dict's _metadata
	}
	// global is a name that GLOBAL or STACK_GLOBAL resolved through the
	// allow-list.
	global struct {
		module, name string
		kind         globalKind
		dtype        string // for storage types
	}
)

type globalKind int

const (
	gOrderedDict globalKind = iota
	gRebuildTensor
	gRebuildTensorV2
	gRebuildParameter
	gRebuildParameterWithState
	gStorageType
)

func (g *global) String() string { return g.module + "." + g.name }

// unpickler decodes one pickle from r.
type unpickler struct {
	r     *bufio.Reader
	pos   int64 // offset in the input of the next byte
	limit int64 // input length; reads past it are truncation errors

	stack []any
	marks []int
	memo  map[int64]any

	// findGlobal maps module and name to a marker, or refuses.
	findGlobal func(module, name string) (*global, error)
	// persistentLoad resolves a BINPERSID id, or refuses.
	persistentLoad func(pid any) (any, error)
	// reduce applies an allowed callable.
	reduce func(g *global, args []any) (any, error)
}

func newUnpickler(r *bufio.Reader, pos, limit int64) *unpickler {
	return &unpickler{
		r: r, pos: pos, limit: limit,
		findGlobal: func(m, n string) (*global, error) {
			return nil, fmt.Errorf("forbidden global %s.%s", m, n)
		},
		persistentLoad: func(any) (any, error) { return nil, errors.New("unexpected persistent id") },
		reduce: func(g *global, _ []any) (any, error) {
			return nil, fmt.Errorf("cannot call %s", g)
		},
	}
}

// load runs the pickle machine until STOP and returns the object.
func (u *unpickler) load() (any, error) {
	u.stack = u.stack[:0]
	u.marks = u.marks[:0]
	u.memo = make(map[int64]any)
	for {
		start := u.pos
		op, err := u.readByte()
		if err != nil {
			return nil, fmt.Errorf("pickle offset %d: truncated: expected an opcode or STOP: %w", start, err)
		}
		done, err := u.step(op)
		if err != nil {
			name, _ := opName(op)
			return nil, fmt.Errorf("pickle offset %d: opcode %s: %w", start, name, err)
		}
		if done {
			if len(u.stack) != 1 {
				return nil, fmt.Errorf("pickle offset %d: STOP with %d values on the stack, want 1", start, len(u.stack))
			}
			return u.stack[0], nil
		}
	}
}

// opName names an opcode for error messages; ok is false for bytes that
// are not pickle opcodes.
func opName(op byte) (name string, ok bool) {
	switch op {
	case '(':
		return "MARK", true
	case '.':
		return "STOP", true
	case '0':
		return "POP", true
	case '1':
		return "POP_MARK", true
	case '2':
		return "DUP", true
	case 'F':
		return "FLOAT", true
	case 'I':
		return "INT", true
	case 'J':
		return "BININT", true
	case 'K':
		return "BININT1", true
	case 'L':
		return "LONG", true
	case 'M':
		return "BININT2", true
	case 'N':
		return "NONE", true
	case 'P':
		return "PERSID", true
	case 'Q':
		return "BINPERSID", true
	case 'R':
		return "REDUCE", true
	case 'S':
		return "STRING", true
	case 'T':
		return "BINSTRING", true
	case 'U':
		return "SHORT_BINSTRING", true
	case 'V':
		return "UNICODE", true
	case 'X':
		return "BINUNICODE", true
	case 'a':
		return "APPEND", true
	case 'b':
		return "BUILD", true
	case 'c':
		return "GLOBAL", true
	case 'd':
		return "DICT", true
	case '}':
		return "EMPTY_DICT", true
	case 'e':
		return "APPENDS", true
	case 'g':
		return "GET", true
	case 'h':
		return "BINGET", true
	case 'i':
		return "INST", true
	case 'j':
		return "LONG_BINGET", true
	case 'l':
		return "LIST", true
	case ']':
		return "EMPTY_LIST", true
	case 'o':
		return "OBJ", true
	case 'p':
		return "PUT", true
	case 'q':
		return "BINPUT", true
	case 'r':
		return "LONG_BINPUT", true
	case 's':
		return "SETITEM", true
	case 't':
		return "TUPLE", true
	case ')':
		return "EMPTY_TUPLE", true
	case 'u':
		return "SETITEMS", true
	case 'G':
		return "BINFLOAT", true
	case 0x80:
		return "PROTO", true
	case 0x81:
		return "NEWOBJ", true
	case 0x82:
		return "EXT1", true
	case 0x83:
		return "EXT2", true
	case 0x84:
		return "EXT4", true
	case 0x85:
		return "TUPLE1", true
	case 0x86:
		return "TUPLE2", true
	case 0x87:
		return "TUPLE3", true
	case 0x88:
		return "NEWTRUE", true
	case 0x89:
		return "NEWFALSE", true
	case 0x8a:
		return "LONG1", true
	case 0x8b:
		return "LONG4", true
	case 'B':
		return "BINBYTES", true
	case 'C':
		return "SHORT_BINBYTES", true
	case 0x8c:
		return "SHORT_BINUNICODE", true
	case 0x8d:
		return "BINUNICODE8", true
	case 0x8e:
		return "BINBYTES8", true
	case 0x8f:
		return "EMPTY_SET", true
	case 0x90:
		return "ADDITEMS", true
	case 0x91:
		return "FROZENSET", true
	case 0x92:
		return "NEWOBJ_EX", true
	case 0x93:
		return "STACK_GLOBAL", true
	case 0x94:
		return "MEMOIZE", true
	case 0x95:
		return "FRAME", true
	case 0x96:
		return "BYTEARRAY8", true
	case 0x97:
		return "NEXT_BUFFER", true
	case 0x98:
		return "READONLY_BUFFER", true
	}
	return fmt.Sprintf("0x%02x", op), false
}

// argWidth is the width in bytes of the little-endian integer argument
// (a value, a length or a memo index) that follows op.
func argWidth(op byte) int {
	switch op {
	case 'K', 'C', 'U', 'q', 'h', 0x8a, 0x8c:
		return 1
	case 'M':
		return 2
	case 'J', 'X', 'T', 'B', 'r', 'j', 0x8b:
		return 4
	}
	return 8 // BINUNICODE8, BINBYTES8, BYTEARRAY8
}

func (u *unpickler) step(op byte) (done bool, err error) {
	switch op {
	case 0x80: // PROTO
		v, err := u.readByte()
		if err != nil {
			return false, err
		}
		if v > 5 {
			return false, fmt.Errorf("unsupported pickle protocol %d", v)
		}
	case 0x95: // FRAME: a framing hint; the data follows inline
		if _, err := u.readUint(8); err != nil {
			return false, err
		}
	case '.':
		return true, nil

	case '(':
		u.marks = append(u.marks, len(u.stack))
	case '0':
		_, err = u.pop()
	case '1':
		_, err = u.popMark()
	case '2':
		v, err := u.top()
		if err != nil {
			return false, err
		}
		u.push(v)

	case 'N':
		u.push(nil)
	case 0x88:
		u.push(true)
	case 0x89:
		u.push(false)
	case 'K', 'M', 'J':
		n := argWidth(op)
		v, err := u.readUint(n)
		if err != nil {
			return false, err
		}
		if op == 'J' {
			u.push(int64(int32(v)))
		} else {
			u.push(int64(v))
		}
	case 0x8a, 0x8b: // LONG1, LONG4: little-endian two's complement
		n, err := u.readUint(argWidth(op))
		if err != nil {
			return false, err
		}
		b, err := u.readN(n)
		if err != nil {
			return false, err
		}
		u.push(decodeLong(b))
	case 'G':
		v, err := u.readN(8)
		if err != nil {
			return false, err
		}
		u.push(math.Float64frombits(binary.BigEndian.Uint64(v)))
	case 'I', 'L', 'F':
		line, err := u.readLine()
		if err != nil {
			return false, err
		}
		v, err := parseTextNumber(op, line)
		if err != nil {
			return false, err
		}
		u.push(v)

	case 'X', 0x8c, 0x8d, 'T', 'U': // str; BINSTRING and SHORT_BINSTRING are Python 2 str
		n, err := u.readUint(argWidth(op))
		if err != nil {
			return false, err
		}
		b, err := u.readN(n)
		if err != nil {
			return false, err
		}
		u.push(string(b))
	case 'B', 'C', 0x8e, 0x96: // bytes, bytearray
		n, err := u.readUint(argWidth(op))
		if err != nil {
			return false, err
		}
		b, err := u.readN(n)
		if err != nil {
			return false, err
		}
		u.push(b)

	case ')':
		u.push(&pyTuple{})
	case 0x85, 0x86, 0x87:
		n := int(op-0x85) + 1
		if err := u.need(n); err != nil {
			return false, err
		}
		items := append([]any(nil), u.stack[len(u.stack)-n:]...)
		u.stack = u.stack[:len(u.stack)-n]
		u.push(&pyTuple{items})
	case 't':
		items, err := u.popMark()
		if err != nil {
			return false, err
		}
		u.push(&pyTuple{items})
	case ']':
		u.push(&pyList{})
	case 'l':
		items, err := u.popMark()
		if err != nil {
			return false, err
		}
		u.push(&pyList{items})
	case 0x8f:
		u.push(&pyList{})
	case 0x91: // FROZENSET
		items, err := u.popMark()
		if err != nil {
			return false, err
		}
		u.push(&pyList{items})
	case 'a':
		v, err := u.pop()
		if err != nil {
			return false, err
		}
		l, err := u.topList()
		if err != nil {
			return false, err
		}
		l.items = append(l.items, v)
	case 'e', 0x90: // APPENDS, ADDITEMS
		items, err := u.popMark()
		if err != nil {
			return false, err
		}
		l, err := u.topList()
		if err != nil {
			return false, err
		}
		l.items = append(l.items, items...)
	case '}':
		u.push(newPyDict())
	case 'd':
		items, err := u.popMark()
		if err != nil {
			return false, err
		}
		d := newPyDict()
		if err := d.setPairs(items); err != nil {
			return false, err
		}
		u.push(d)
	case 's':
		if err := u.need(3); err != nil {
			return false, err
		}
		k, v := u.stack[len(u.stack)-2], u.stack[len(u.stack)-1]
		u.stack = u.stack[:len(u.stack)-2]
		d, err := u.topDict()
		if err != nil {
			return false, err
		}
		err = d.set(k, v)
		if err != nil {
			return false, err
		}
	case 'u':
		items, err := u.popMark()
		if err != nil {
			return false, err
		}
		d, err := u.topDict()
		if err != nil {
			return false, err
		}
		if err := d.setPairs(items); err != nil {
			return false, err
		}

	case 'p':
		line, err := u.readLine()
		if err != nil {
			return false, err
		}
		idx, err := strconv.ParseInt(line, 10, 64)
		if err != nil {
			return false, fmt.Errorf("memo index %q", line)
		}
		err = u.put(idx)
		if err != nil {
			return false, err
		}
	case 'q', 'r':
		idx, err := u.readUint(argWidth(op))
		if err != nil {
			return false, err
		}
		if err := u.put(int64(idx)); err != nil {
			return false, err
		}
	case 0x94:
		if err := u.put(int64(len(u.memo))); err != nil {
			return false, err
		}
	case 'g':
		line, err := u.readLine()
		if err != nil {
			return false, err
		}
		idx, err := strconv.ParseInt(line, 10, 64)
		if err != nil {
			return false, fmt.Errorf("memo index %q", line)
		}
		return false, u.get(idx)
	case 'h', 'j':
		idx, err := u.readUint(argWidth(op))
		if err != nil {
			return false, err
		}
		return false, u.get(int64(idx))

	case 'c':
		module, err := u.readLine()
		if err != nil {
			return false, err
		}
		name, err := u.readLine()
		if err != nil {
			return false, err
		}
		g, err := u.findGlobal(module, name)
		if err != nil {
			return false, err
		}
		u.push(g)
	case 0x93:
		if err := u.need(2); err != nil {
			return false, err
		}
		module, ok1 := u.stack[len(u.stack)-2].(string)
		name, ok2 := u.stack[len(u.stack)-1].(string)
		if !ok1 || !ok2 {
			return false, fmt.Errorf("module and name must be strings, found %s and %s",
				typeName(u.stack[len(u.stack)-2]), typeName(u.stack[len(u.stack)-1]))
		}
		u.stack = u.stack[:len(u.stack)-2]
		g, err := u.findGlobal(module, name)
		if err != nil {
			return false, err
		}
		u.push(g)
	case 'R', 0x81: // REDUCE f(*args); NEWOBJ cls.__new__(cls, *args)
		argv, err := u.pop()
		if err != nil {
			return false, err
		}
		fv, err := u.pop()
		if err != nil {
			return false, err
		}
		args, ok := argv.(*pyTuple)
		if !ok {
			return false, fmt.Errorf("arguments must be a tuple, found %s", typeName(argv))
		}
		g, ok := fv.(*global)
		if !ok {
			return false, fmt.Errorf("cannot call a %s", typeName(fv))
		}
		if op == 0x81 && g.kind != gOrderedDict {
			return false, fmt.Errorf("cannot instantiate %s", g)
		}
		v, err := u.reduce(g, args.items)
		if err != nil {
			return false, err
		}
		u.push(v)
	case 'b':
		state, err := u.pop()
		if err != nil {
			return false, err
		}
		obj, err := u.top()
		if err != nil {
			return false, err
		}
		return false, build(obj, state)
	case 'Q':
		pid, err := u.pop()
		if err != nil {
			return false, err
		}
		v, err := u.persistentLoad(pid)
		if err != nil {
			return false, err
		}
		u.push(v)

	default:
		// INST, OBJ, EXT*, NEWOBJ_EX, PERSID, STRING, UNICODE and the
		// out-of-band buffers are never emitted by torch.save.
		if name, ok := opName(op); ok {
			return false, fmt.Errorf("opcode %s is not supported", name)
		}
		return false, fmt.Errorf("unknown opcode")
	}
	return false, err
}

func (u *unpickler) push(v any) { u.stack = append(u.stack, v) }

// avail is the number of values above the last MARK: as in Python, values
// below a mark are out of reach until the mark is popped.
func (u *unpickler) avail() int {
	if len(u.marks) == 0 {
		return len(u.stack)
	}
	return len(u.stack) - u.marks[len(u.marks)-1]
}

// need checks that n values are within reach.
func (u *unpickler) need(n int) error {
	if a := u.avail(); a < n {
		return fmt.Errorf("stack underflow: needs %d, has %d above the last MARK", n, a)
	}
	return nil
}

func (u *unpickler) pop() (any, error) {
	if err := u.need(1); err != nil {
		return nil, err
	}
	v := u.stack[len(u.stack)-1]
	u.stack = u.stack[:len(u.stack)-1]
	return v, nil
}

func (u *unpickler) top() (any, error) {
	if err := u.need(1); err != nil {
		return nil, err
	}
	return u.stack[len(u.stack)-1], nil
}

func (u *unpickler) topList() (*pyList, error) {
	v, err := u.top()
	if err != nil {
		return nil, err
	}
	l, ok := v.(*pyList)
	if !ok {
		return nil, fmt.Errorf("cannot append to a %s", typeName(v))
	}
	return l, nil
}

func (u *unpickler) topDict() (*pyDict, error) {
	v, err := u.top()
	if err != nil {
		return nil, err
	}
	d, ok := v.(*pyDict)
	if !ok {
		return nil, fmt.Errorf("cannot set items of a %s", typeName(v))
	}
	return d, nil
}

// popMark pops the values above the last MARK, and the mark.
func (u *unpickler) popMark() ([]any, error) {
	if len(u.marks) == 0 {
		return nil, errors.New("no MARK on the stack")
	}
	m := u.marks[len(u.marks)-1]
	u.marks = u.marks[:len(u.marks)-1]
	items := append([]any(nil), u.stack[m:]...)
	u.stack = u.stack[:m]
	return items, nil
}

func (u *unpickler) put(idx int64) error {
	v, err := u.top()
	if err != nil {
		return err
	}
	u.memo[idx] = v
	return nil
}

func (u *unpickler) get(idx int64) error {
	v, ok := u.memo[idx]
	if !ok {
		return fmt.Errorf("memo index %d was never stored", idx)
	}
	u.push(v)
	return nil
}

func (u *unpickler) readByte() (byte, error) {
	if u.pos >= u.limit {
		return 0, io.ErrUnexpectedEOF
	}
	b, err := u.r.ReadByte()
	if err != nil {
		return 0, unexpected(err)
	}
	u.pos++
	return b, nil
}

// readUint reads an n-byte little-endian unsigned integer.
func (u *unpickler) readUint(n int) (uint64, error) {
	var buf [8]byte
	if err := u.readInto(buf[:n]); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(buf[:]), nil
}

func (u *unpickler) readInto(p []byte) error {
	if int64(len(p)) > u.limit-u.pos {
		return fmt.Errorf("truncated: need %d bytes, %d left", len(p), u.limit-u.pos)
	}
	if _, err := io.ReadFull(u.r, p); err != nil {
		return unexpected(err)
	}
	u.pos += int64(len(p))
	return nil
}

// readN reads n bytes. n was read from the input, so beyond a small size the
// buffer grows only as data actually arrives.
func (u *unpickler) readN(n uint64) ([]byte, error) {
	if n > uint64(u.limit-u.pos) {
		return nil, fmt.Errorf("truncated: need %d bytes, %d left", n, u.limit-u.pos)
	}
	if n <= 1<<16 {
		b := make([]byte, n)
		return b, u.readInto(b)
	}
	var buf bytes.Buffer
	m, err := io.CopyN(&buf, u.r, int64(n))
	u.pos += m
	if err != nil {
		return nil, unexpected(err)
	}
	return buf.Bytes(), nil
}

// readLine reads a newline-terminated line of a text opcode, bounded so
// that a missing newline cannot consume the input.
func (u *unpickler) readLine() (string, error) {
	const max = 4096
	var b []byte
	for {
		c, err := u.readByte()
		if err != nil {
			return "", err
		}
		if c == '\n' {
			return string(b), nil
		}
		if len(b) == max {
			return "", fmt.Errorf("line longer than %d bytes", max)
		}
		b = append(b, c)
	}
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// decodeLong decodes a little-endian two's-complement integer as int64 when
// it fits, else as *big.Int.
func decodeLong(b []byte) any {
	if len(b) == 0 {
		return int64(0)
	}
	if len(b) <= 8 {
		var v uint64
		for i := len(b) - 1; i >= 0; i-- {
			v = v<<8 | uint64(b[i])
		}
		shift := 64 - 8*uint(len(b))
		return int64(v<<shift) >> shift // sign-extend
	}
	be := make([]byte, len(b))
	for i, c := range b {
		be[len(b)-1-i] = c
	}
	x := new(big.Int).SetBytes(be)
	if b[len(b)-1]&0x80 != 0 {
		x.Sub(x, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	if x.IsInt64() {
		return x.Int64()
	}
	return x
}

// parseTextNumber decodes the protocol 0 INT, LONG and FLOAT lines.
func parseTextNumber(op byte, line string) (any, error) {
	switch op {
	case 'I':
		switch line { // protocol 0 spells booleans as INT
		case "00":
			return false, nil
		case "01":
			return true, nil
		}
		v, err := strconv.ParseInt(line, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("invalid integer %q", line)
		}
		return v, nil
	case 'L':
		x, ok := new(big.Int).SetString(strings.TrimSuffix(line, "L"), 10)
		if !ok {
			return nil, fmt.Errorf("invalid integer %q", line)
		}
		if x.IsInt64() {
			return x.Int64(), nil
		}
		return x, nil
	}
	v, err := strconv.ParseFloat(line, 64)
	if err != nil {
		return nil, fmt.Errorf("invalid float %q", line)
	}
	return v, nil
}

func newPyDict() *pyDict { return &pyDict{vals: make(map[any]any)} }

// set stores key, keeping the position of a key set before, as Python does.
func (d *pyDict) set(k, v any) error {
	switch k.(type) {
	case string, int64, float64, bool, nil:
	default:
		return fmt.Errorf("unsupported dict key of type %s", typeName(k))
	}
	if _, ok := d.vals[k]; !ok {
		d.keys = append(d.keys, k)
	}
	d.vals[k] = v
	return nil
}

func (d *pyDict) setPairs(items []any) error {
	if len(items)%2 != 0 {
		return fmt.Errorf("odd number of items (%d) for a dict", len(items))
	}
	for i := 0; i < len(items); i += 2 {
		if err := d.set(items[i], items[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// build applies BUILD's state to obj. Only what torch.save produces is
// accepted: attributes of an OrderedDict (a state dict's _metadata) and the
// (ignored) Python attributes of a tensor.
func build(obj, state any) error {
	switch o := obj.(type) {
	case *pyDict:
		if t, ok := state.(*pyTuple); ok && len(t.items) == 2 { // (dict, slots)
			state = t.items[0]
		}
		switch s := state.(type) {
		case nil:
			return nil
		case *pyDict:
			if o.attrs == nil {
				o.attrs = newPyDict()
			}
			for _, k := range s.keys {
				o.attrs.set(k, s.vals[k])
			}
			return nil
		}
		return fmt.Errorf("cannot set a %s as the state of a dict", typeName(state))
	case *tensorRef:
		return nil
	}
	return fmt.Errorf("cannot set the state of a %s", typeName(obj))
}

func typeName(v any) string {
	switch v := v.(type) {
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
	case *pyList:
		return "list"
	case *pyTuple:
		return "tuple"
	case *pyDict:
		return "dict"
	case *global:
		return "global " + v.String()
	case *storageRef:
		return "storage"
	case *tensorRef:
		return "tensor"
	}
	return fmt.Sprintf("%T", v)
}
