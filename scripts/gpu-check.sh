#!/usr/bin/env bash
# The GPU check of package cuda, in two parts so that the GPU machine needs
# no Go:
#
#   scripts/gpu-check.sh build [DIR]   here: static test binaries (CGO_ENABLED=0)
#                                      and the run part into DIR (default
#                                      ./gpu-check-bundle)
#   DIR/run.sh                         there: the conformance suite on CUDA, the
#                                      six models on GPU against the CPU, images/s
#                                      ours and PyTorch's; one table; exit 1 on
#                                      any mismatch, 2 when there is no GPU
#
# "scripts/gpu-check.sh run [DIR]" runs DIR/run.sh. The bundle is a plain
# folder: copy it to the GPU machine (or run it in place) as a whole.
set -euo pipefail
cd "$(dirname "$0")/.."

cmd=${1:-}
dir=${2:-gpu-check-bundle}
case "$cmd" in
build)
  mkdir -p "$dir"
  export CGO_ENABLED=0
  go test -c -o "$dir/cuda.test" ./cuda
  go test -c -o "$dir/models.test" ./vision/models
  go build -o "$dir/study" ./experiments/all
  if [ -d experiments/bench ]; then
    go build -o "$dir/bench" ./experiments/bench
  fi
  cp scripts/gpu-check-run.sh "$dir/run.sh"
  cp scripts/gpu_torch_bench.py experiments/bench/torch_step.py "$dir/"
  chmod +x "$dir/run.sh"
  git rev-parse HEAD >"$dir/commit" 2>/dev/null || true
  echo "gpu-check: bundle in $dir ($(du -sh "$dir" | cut -f1)); on the GPU machine run $dir/run.sh"
  ;;
run)
  exec "$dir/run.sh"
  ;;
*)
  echo "usage: scripts/gpu-check.sh build [DIR] | run [DIR]" >&2
  exit 64
  ;;
esac
