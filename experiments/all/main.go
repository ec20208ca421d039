// Command all runs the whole stenosis study: data, six backbones, training,
// evaluation and plots.
//
// The study is assembled issue by issue; until the models and the training
// loop exist, this program says which parts are built and which are not.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "vertebra: the study is not assembled yet.")
	fmt.Fprintln(os.Stderr, "  built:   autograd engine and CPU kernels (package autograd)")
	fmt.Fprintln(os.Stderr, "  missing: backbones (vision/models), data (vision/datasets), training loop")
	os.Exit(2)
}
