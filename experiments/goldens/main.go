// Command goldens scores vertebra against the PyTorch reference files:
//
//	go run ./experiments/goldens ../shared/goldens
//
// For every *.safetensors golden (op or model) and *.json manifest under
// the given files or folders it builds the op or model from the metadata,
// loads the weights, runs forward and backward (and for stenosis files the
// weighted loss and one AdamW step) and prints one line per file,
//
//	PASS|FAIL <file> arch=<a> naming=<n> fwd=<err> grad=<err> [step=<err>]
//
// (op files: op=<name>; manifests: keys=<matched>/<total> params=<n>),
// then "N passed, M failed". It exits 1 if any file failed or could not be
// read.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/vertebra-ml/vertebra/internal/golden"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: goldens PATH... (golden files or folders, e.g. ../shared/goldens)")
		return 2
	}
	files, err := golden.Files(args)
	if err != nil {
		fmt.Fprintln(stderr, "goldens:", err)
		return 1
	}
	passed, failed := 0, 0
	for _, f := range files {
		r := golden.Check(f)
		fmt.Fprintln(stdout, r.Line())
		if r.Pass() {
			passed++
		} else {
			failed++
		}
	}
	fmt.Fprintf(stdout, "%d passed, %d failed\n", passed, failed)
	if failed > 0 || len(files) == 0 {
		return 1
	}
	return 0
}
