// Package autograd is vertebra's tensor and reverse-mode automatic
// differentiation engine.
//
// A Tensor is a shaped, contiguous array of float32 (the default) or
// float64 (for gradient checks) on a Device. Every op in this package
// computes its result on the device of its inputs and, when gradients are
// enabled and an input requires them, records a node that holds the op's
// backward rule beside its forward: a reader who opens one op sees the whole
// of its calculus. Backward walks the recorded graph in reverse topological
// order, accumulates gradients into the leaves and frees the graph.
//
//	w := autograd.RandN(rng, autograd.Float32, 3, 4).SetRequiresGrad(true)
//	x := autograd.FromFloat32([]float32{1, 2, 3, 4, 5, 6, 7, 8}, 2, 4)
//	loss := autograd.Mean(autograd.ReLU(autograd.Linear(x, w, nil)), nil, false)
//	loss.Backward()
//	fmt.Println(w.Grad())
//
// Shape errors inside model code are programmer errors: ops panic with a
// message that names the op and the shapes, as gonum/mat does. Anything that
// comes from a user (files, flags, configurations) is checked at the edge of
// the program and returned as an error by the packages that read it.
//
// Package autograd is not a layer library: modules, parameters and
// checkpoints live in package nn.
package autograd
