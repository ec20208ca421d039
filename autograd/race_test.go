//go:build race

package autograd

// raceEnabled reports a -race build, where sync.Pool (the gemm's packing
// buffers) drops items on purpose, so allocation counts are not meaningful.
const raceEnabled = true
