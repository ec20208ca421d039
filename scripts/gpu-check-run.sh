#!/usr/bin/env bash
# The run part of scripts/gpu-check.sh, copied into the bundle as run.sh.
# Needs bash and the bundle's static binaries; python3 with torch is
# optional (PyTorch's figures). Environment: BENCHTIME (default 5x),
# SKIP_TORCH=1, SKIP_BENCH=1, SKIP_TF32=1 (no TF32 model check), MODELS
# (comma-separated presets, default all six), SUMMARY_ONLY=1 (print the
# table of an earlier run's results/ again). Everything takes about 15
# minutes on one GPU; MODELS=resnet152,vit_b_16 SKIP_TF32=1 about a third.
set -uo pipefail
cd "$(dirname "$0")"
out=results
export VERTEBRA_CUDA_CACHE="$PWD/kernel-cache"
export VERTEBRA_REQUIRE_GPU=1
benchtime=${BENCHTIME:-5x}
models=${MODELS:-resnet152,efficientnet_v2_m,convnext_base,vit_b_16,swin_b,beit-base-patch16-224}
pick="^($(echo "$models" | sed 's/,/|/g'))\$"

echo "== gpu-check $(cat commit 2>/dev/null) on $(hostname) at $(date -u +%FT%TZ)"
# What the machine has, first: device time is short.
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
ldconfig -p 2>/dev/null | grep -E 'libcuda\.so|libcublas|libnvrtc' | sed 's/^/  ldconfig: /' | head -20
for sp in /usr/lib/python3*/*-packages /usr/local/lib/python3*/*-packages "${VIRTUAL_ENV:-/nonexistent}"/lib/python3*/*-packages; do
  [ -d "$sp/nvidia" ] && ls -d "$sp"/nvidia/*/lib 2>/dev/null | sed 's/^/  pip CUDA: /'
done
# pip's CUDA (cuBLAS, NVRTC) lives in the nvidia/*/lib folders of the Python
# environment that has torch; hand them to the device in case that
# environment is not the active one.
if command -v python3 >/dev/null; then
  extra=$(python3 - <<'PY' 2>/dev/null
import glob, os, site
roots = set(site.getsitepackages() + [site.getusersitepackages()])
try:
    import torch
    roots.add(os.path.dirname(os.path.dirname(torch.__file__)))
except Exception:
    pass
print(":".join(sorted(set(d for r in roots for d in glob.glob(os.path.join(r, "nvidia", "*", "lib"))))))
PY
)
  if [ -n "$extra" ]; then
    export VERTEBRA_CUDA_PATH="${VERTEBRA_CUDA_PATH:+$VERTEBRA_CUDA_PATH:}$extra"
    echo "  VERTEBRA_CUDA_PATH=$VERTEBRA_CUDA_PATH"
  fi
fi
if [ "${SUMMARY_ONLY:-}" = 1 ]; then
  :
elif ! command -v nvidia-smi >/dev/null && ! ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1'; then
  echo "gpu-check: no NVIDIA GPU here (no nvidia-smi, no libcuda.so.1 in the loader's cache); nothing to check"
  exit 2
fi

mkdir -p "$out"
status=0
fail() { echo "gpu-check: FAIL: $*"; status=1; }
torch=""

if [ "${SUMMARY_ONLY:-}" != 1 ]; then
echo "== conformance suite and device tests (cuda.test)"
./cuda.test -test.v -test.timeout 20m 2>&1 | tee "$out/cuda.log" | grep -E '^(=== RUN|--- |    .*cuda:|FAIL|ok|PASS)' | grep -v '=== RUN' | head -100

echo "== the six models on GPU against the CPU (models.test), float32 then TF32"
VERTEBRA_TEST_DEVICE=cuda ./models.test -test.v -test.run "TestDeviceMatchesCPU/$pick" -test.timeout 60m 2>&1 | tee "$out/models.log" | grep -E 'RESULT|^--- |FAIL' | head -40
if [ "${SKIP_TF32:-}" != 1 ]; then
  VERTEBRA_TEST_DEVICE=cuda+tf32 ./models.test -test.v -test.run "TestDeviceMatchesCPU/$pick" -test.timeout 60m 2>&1 | tee "$out/models-tf32.log" | grep -E 'RESULT|^--- |FAIL' | head -40
fi

if [ "${SKIP_BENCH:-}" != 1 ]; then
  for dev in cuda cuda+tf32; do
    echo "== images/s on $dev (batch 32, 224x224, benchtime $benchtime)"
    VERTEBRA_TEST_DEVICE=$dev ./models.test -test.run '^$' -test.bench "BenchmarkDevice/$pick/" -test.benchtime "$benchtime" -test.timeout 60m 2>&1 |
      tee "$out/bench-$dev.log" | grep -E 'images/s|FAIL'
  done
fi

if [ "${SKIP_TORCH:-}" != 1 ] && command -v python3 >/dev/null && python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  echo "== PyTorch on the same steps"
  python3 gpu_torch_bench.py --models "$models" 2>"$out/torch.err" | tee "$out/torch.jsonl"
  torch=yes
else
  echo "== PyTorch: not available here (python3 with torch and CUDA); its columns stay empty"
fi

fi

# One table: the check's errors (relative to max) and images/s.
echo
echo "== summary (errors relative to the CPU's largest magnitude: float32 within 1e-4 (logits), 1e-3 (gradients); TF32 within 5e-2; images/s at batch 32)"
awk -v torch="$torch" '
  FILENAME ~ /models(-tf32)?\.log/ && /RESULT/ {
    t = (FILENAME ~ /tf32/) ? "tf32" : "f32"
    for (i = 1; i <= NF; i++) if ($i == "RESULT") { m = $(i+1) }
    for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "logits") fwd[m "," t] = kv[2]; if (kv[1] == "grads") grd[m "," t] = kv[2] }
  }
  FILENAME ~ /models(-tf32)?\.log/ && /^    --- (PASS|FAIL)/ {
    split($3, p, "/"); r = substr($2, 1, length($2) - 1)
    if (!(p[2] in ok) || r == "FAIL") ok[p[2]] = r
  }
  FILENAME ~ /bench-cuda\.log/ && /images\/s/ { split($1, p, "/"); sub(/-[0-9]+$/, "", p[3]); ours[p[2] "," p[3] ",f32"] = $(NF-1); models[p[2]] = 1 }
  FILENAME ~ /bench-cuda\+tf32\.log/ && /images\/s/ { split($1, p, "/"); sub(/-[0-9]+$/, "", p[3]); ours[p[2] "," p[3] ",tf32"] = $(NF-1) }
  FILENAME ~ /torch.jsonl/ && /images_per_s/ {
    match($0, /"model": "[^"]*"/); m = substr($0, RSTART+10, RLENGTH-11)
    match($0, /"mode": "[^"]*"/); md = substr($0, RSTART+9, RLENGTH-10)
    match($0, /"precision": "[^"]*"/); pr = substr($0, RSTART+14, RLENGTH-15)
    match($0, /"images_per_s": [0-9.]+/); v = substr($0, RSTART+16, RLENGTH-16)
    tv[m "," md "," pr] = v
  }
  function g(a, k) { return (k in a) ? a[k] : "-" }
  END {
    printf "%-22s %-5s %-19s %-19s | %-27s | %-27s\n", "", "", "logits f32/tf32", "grads f32/tf32", "inference: ours/torch", "training step: ours/torch"
    printf "%-22s %-5s %-19s %-19s | %-13s %-13s | %-13s %-13s\n", "model", "check", "", "", "f32", "tf32", "f32", "tf32"
    n = split("resnet152,efficientnet_v2_m,convnext_base,vit_b_16,swin_b,beit-base-patch16-224", order, ",")
    for (o = 1; o <= n; o++) {
      m = order[o]
      printf "%-22s %-5s %-19s %-19s |", m, g(ok, m), g(fwd, m ",f32") "/" g(fwd, m ",tf32"), g(grd, m ",f32") "/" g(grd, m ",tf32")
      split("infer,train", modes, ",")
      for (j = 1; j <= 2; j++) for (q = 1; q <= 2; q++) {
        pr = (q == 1) ? "f32" : "tf32"; k = m "," modes[j] "," pr
        printf " %-13s", g(ours, k) "/" g(tv, k)
        if (q == 2 && j == 1) printf " |"
      }
      printf "\n"
    }
  }' "$out"/models*.log "$out"/bench-*.log "$out/torch.jsonl" 2>/dev/null | tee "$out/summary.txt"
logs="cuda models"
[ "${SKIP_TF32:-}" = 1 ] || logs="$logs models-tf32"
for f in $logs; do
  if [ ! -f "$out/$f.log" ]; then
    fail "$f left no log"
    continue
  fi
  grep -q -- '--- FAIL' "$out/$f.log" && fail "$f (see $out/$f.log)"
  grep -q '^PASS' "$out/$f.log" || fail "$f did not pass (see $out/$f.log)"
done
echo
if [ "$status" = 0 ]; then
  echo "gpu-check: PASS (logs in $PWD/$out)"
else
  echo "gpu-check: FAIL (logs in $PWD/$out)"
fi
exit "$status"
