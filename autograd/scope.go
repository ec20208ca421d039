package autograd

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"unicode"
	"weak"
)

// A scope releases, when it ends, the buffers of the tensors that ops made
// while it was open, and hands them to their device for reuse: a training
// loop that runs each step in a scope reuses the previous step's
// activations instead of asking the garbage collector for new memory. It
// holds its tensors weakly, so a tensor that becomes garbage during the
// step (a frozen layer's activations) is collected as usual and never
// waits for the scope to end.
//
// Scopes are process-wide, like NoGrad: open them from one goroutine.
type scope struct {
	tensors []weak.Pointer[Tensor]
	kept    map[Storage]bool // storages handed over to a parameter's gradient
}

// keep exempts st from the release at the end of the scope.
func (s *scope) keep(st Storage) {
	scopeMu.Lock()
	defer scopeMu.Unlock()
	if s.kept == nil {
		s.kept = map[Storage]bool{}
	}
	s.kept[st] = true
}

var (
	scopeMu sync.Mutex
	scopes  []*scope
)

// Scope runs fn and then releases every tensor that an op made inside it
// and that is still alive: op results, views of them and the values their
// backward passes saved. Tensors made by constructors (FromFloat32, Zeros,
// ...), by Clone, parameter gradients (Grad) and the targets of CopyFrom
// are not released. Using a released tensor panics: read what is needed
// (Item, Float32s) inside the scope, or Clone a tensor to keep it.
//
//	for _, batch := range batches {
//		autograd.Scope(func() {
//			loss := model.Loss(batch)
//			loss.Backward()
//			opt.Step()
//			total += loss.Item()
//		})
//	}
func Scope(fn func()) {
	s := open()
	defer func() { s.close(); s.release(nil) }()
	fn()
}

// open registers a new innermost scope.
func open() *scope {
	s := &scope{}
	scopeMu.Lock()
	scopes = append(scopes, s)
	scopeMu.Unlock()
	return s
}

// close unregisters s and returns the scope that encloses it, if any.
func (s *scope) close() (parent *scope) {
	scopeMu.Lock()
	defer scopeMu.Unlock()
	for i := len(scopes) - 1; i >= 0; i-- {
		if scopes[i] == s {
			scopes = append(scopes[:i], scopes[i+1:]...)
			break
		}
	}
	if len(scopes) > 0 {
		return scopes[len(scopes)-1]
	}
	return nil
}

// release releases the storage of s's live tensors, but those kept and
// those for which spare (when not nil) is true.
func (s *scope) release(spare func(*Tensor) bool) {
	seen := map[Storage]bool{}
	var free []Storage
	scopeMu.Lock()
	for _, w := range s.tensors {
		t := w.Value()
		if t == nil {
			continue
		}
		if _, done := t.st.(released); done || s.kept[t.st] || spare != nil && spare(t) {
			continue
		}
		if !seen[t.st] {
			seen[t.st] = true
			free = append(free, t.st)
		}
		t.st = released{dt: t.st.DType(), n: t.st.Len(), shape: t.shape}
		t.node, t.grad = nil, nil
	}
	scopeMu.Unlock()
	for _, st := range free {
		st.Device().Release(st)
	}
}

// adopt registers an op-made tensor with the innermost open scope, if any.
func adopt(t *Tensor) *Tensor {
	if activePass != nil {
		activePass.own(t.st)
	}
	scopeMu.Lock()
	defer scopeMu.Unlock()
	if len(scopes) > 0 {
		t.scope = scopes[len(scopes)-1]
		t.scope.tensors = append(t.scope.tensors, weak.Make(t))
	}
	return t
}

// adoptView registers a view v of t with t's scope, so that the view is
// released with the storage it shares.
func adoptView(t, v *Tensor) *Tensor {
	if t.scope == nil {
		return v
	}
	scopeMu.Lock()
	defer scopeMu.Unlock()
	v.scope = t.scope
	v.scope.tensors = append(v.scope.tensors, weak.Make(v))
	return v
}

// released stands in for the storage of a tensor whose scope has ended;
// it keeps what the tensor was, for the message. Every use goes through
// Device or Len, which panic.
type released struct {
	dt    DType
	n     int
	shape []int
}

func (r released) Device() Device { panic(r.message()) }
func (r released) DType() DType   { return r.dt }
func (r released) Len() int       { panic(r.message()) }

func (r released) message() string {
	return fmt.Sprintf("autograd: %s: input %v %s used after the Scope that made it ended (its memory went back to the pool); Clone it inside the scope to keep it", callerOp(), r.shape, r.dt)
}

// callerOp names the autograd function the program called, the outermost
// exported one on the stack (Reshape inside MatMul is reported as MatMul).
func callerOp() string {
	pcs := make([]uintptr, 32)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(3, pcs)])
	op := "a tensor method"
	const pkg = "github.com/vertebra-ml/vertebra/autograd."
	for {
		f, more := frames.Next()
		name, ok := strings.CutPrefix(strings.ReplaceAll(f.Function, "[...]", ""), pkg)
		if !ok || strings.HasSuffix(f.File, "_test.go") {
			if op != "a tensor method" {
				break
			}
		} else if last := name[strings.LastIndex(name, ".")+1:]; last != "" && unicode.IsUpper(rune(last[0])) && !strings.HasPrefix(name, "released") {
			op = strings.TrimPrefix(strings.TrimPrefix(name, "(*Tensor)"), ".")
		}
		if !more {
			break
		}
	}
	return op
}

// Local runs fn and returns its result. When no op inside fn recorded a
// graph (inference, or a frozen part of a network), the tensors that ops
// made inside fn are released as it returns, all but the result and the
// views sharing its storage: a layer's intermediates go back to the pool
// at once, for the next layer, instead of waiting for the collector or
// the end of the enclosing Scope. When an op did record a graph (their
// values may be saved for the backward pass), they stay alive and the
// enclosing Scope, if any, releases them as usual. The backbones in
// vision/models run each block in Local.
//
// The intermediates must not be used after Local returns: as after a
// Scope, such a use panics.
func Local(fn func() *Tensor) *Tensor {
	s := open()
	var out *Tensor
	defer func() {
		parent := s.close()
		if out == nil || s.recorded() {
			s.handTo(parent, nil)
			return
		}
		shared := func(t *Tensor) bool { return t.st == out.st || s.kept[t.st] }
		s.handTo(parent, shared)
		s.release(shared)
	}()
	out = fn()
	return out
}

// recorded reports whether one of s's live tensors has a graph node.
func (s *scope) recorded() bool {
	scopeMu.Lock()
	defer scopeMu.Unlock()
	for _, w := range s.tensors {
		if t := w.Value(); t != nil && t.node != nil {
			return true
		}
	}
	return false
}

// handTo moves s's live tensors for which which is true (all when which
// is nil), and the storages s keeps, to parent, which releases them when
// it ends; with no parent they are left to the collector.
func (s *scope) handTo(parent *scope, which func(*Tensor) bool) {
	scopeMu.Lock()
	defer scopeMu.Unlock()
	for _, w := range s.tensors {
		t := w.Value()
		if t == nil || which != nil && !which(t) {
			continue
		}
		t.scope = parent
		if parent != nil {
			parent.tensors = append(parent.tensors, w)
		}
	}
	if parent == nil {
		return
	}
	for st := range s.kept {
		if parent.kept == nil {
			parent.kept = map[Storage]bool{}
		}
		parent.kept[st] = true
	}
}
