//go:build !amd64 || purego

package cpu

// Without assembly the activations are the Go loops of fastmath.go.

// actUseAsm is always false here; it is a variable only so that tests can
// switch it as they do on amd64.
var actUseAsm = false

// actUseAVX512 is always false here, as actUseAsm.
var actUseAVX512 = false

func siluF32(dst, src []float32)      { siluScalar(dst, src) }
func sigmoidF32(dst, src []float32)   { sigmoidScalar(dst, src) }
func geluF32(dst, src []float32)      { geluScalar(dst, src) }
func reluF32(dst, src []float32)      { reluScalar(dst, src) }
func reluGradF32(dx, x, dy []float32) { reluGradScalar(dx, x, dy) }
func siluGradF32(dx, x, dy []float32) { siluGradScalar(dx, x, dy) }
func geluGradF32(dx, x, dy []float32) { geluGradScalar(dx, x, dy) }

func normAffineF32(dst, src []float32, scale, shift float32) bool { return false }
func normGradF32(dx, g, x []float32, a, b, m, c float32) bool     { return false }

func normSumF32(s []float32) (float64, int)                            { return 0, 0 }
func normSqDevF32(s []float32, m float64) (float64, int)               { return 0, 0 }
func normSumDotF32(g, x []float32, m float64) (sg, sgx float64, n int) { return 0, 0, 0 }

func lnRowsAsm() bool                                                   { return false }
func lnApplyRow(y, x, w, b []float32, m, r float32)                     {}
func lnGradSumsRow(dy, w, x []float32, m float64) (sg, sgx float64)     { return 0, 0 }
func lnGradApplyRow(dx, dy, w, x []float32, ca, cb, cc, m float32)      {}
func lnParamAccRow(accW, accB []float64, dy, x []float32, m, r float64) {}

func softmaxRowF32(y, x []float32) bool { return false }

func adamwF32(p, g, m, v []float32, c *[8]float64) int { return 0 }

func binaryVVF32(op BinaryOp, d, x, y []float32) int { return 0 }

func binaryVSF32(op BinaryOp, d, x []float32, y float32) int { return 0 }
