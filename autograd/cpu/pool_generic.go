//go:build !amd64 || purego

package cpu

// windowMaxF32 does nothing: windowMax's Go loop does every element.
func windowMaxF32(best []float32, arg []int32, x []float32, taps, step int, idx int32) int {
	return 0
}

// maxMergeF32 does nothing, as windowMaxF32.
func maxMergeF32(best []float32, arg []int32, v []float32, varg []int32) int { return 0 }
