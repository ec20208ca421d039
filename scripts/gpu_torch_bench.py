#!/usr/bin/env python3
"""PyTorch's figures for scripts/gpu-check.sh: images/s of the study's six
models on the GPU at batch 32, 224x224, inference and the study's
partial-unfreeze training step, in float32 and TF32.

  gpu_torch_bench.py [--reps N] [--models a,b,...]

One JSON line per measurement on stdout. BEiT needs the transformers
package and is skipped (with a line saying so) without it.
"""
import argparse
import json
import sys
import time

import os

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the bundle holds torch_step.py
sys.path.insert(1, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "experiments", "bench"))
import torch_step  # noqa: E402  (experiments/bench's model definition)

BATCH = 32
MODELS = ["resnet152", "efficientnet_v2_m", "convnext_base", "vit_b_16", "swin_b", "beit-base-patch16-224"]


class Beit(nn.Module):
    """BEiT-base as transformers builds it, pooled features out."""

    def __init__(self):
        super().__init__()
        from transformers import BeitConfig, BeitModel
        cfg = BeitConfig(use_relative_position_bias=True, use_mean_pooling=True)
        self.m = BeitModel(cfg, add_pooling_layer=True)
        self.dim = cfg.hidden_size

    def forward(self, x):
        return self.m(pixel_values=x).pooler_output


def study(name):
    """experiments/bench's stenosis model (torch_step.Stenosis) on the
    backbone name; BEiT, which it does not build, comes from transformers."""
    if not name.startswith("beit"):
        return torch_step.Stenosis(name)
    orig = torch_step.backbone

    def beit(_):
        b = Beit()
        return b, b.dim

    torch_step.backbone = beit
    try:
        return torch_step.Stenosis(name)
    finally:
        torch_step.backbone = orig


def measure(name, mode, tf32, reps):
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    torch.manual_seed(0)
    dev = torch.device("cuda")
    net = study(name).to(dev)
    x = torch.randn(BATCH, 3, 224, 224, device=dev)
    lvl = torch.arange(BATCH, device=dev) % 5
    y = torch.arange(BATCH, device=dev) % 3
    if mode == "infer":
        net.eval()

        def step():
            with torch.no_grad():
                net(x, lvl)
    else:
        net.train()
        bb = list(net.base_model.parameters())
        for p in bb[:-32]:
            p.requires_grad_(False)
        opt = torch.optim.AdamW([p for p in net.parameters() if p.requires_grad], lr=1e-4, weight_decay=0.02)
        lossf = nn.CrossEntropyLoss(weight=torch.tensor([1.0, 2.0, 4.0], device=dev))

        def step():
            opt.zero_grad(set_to_none=True)
            lossf(net(x, lvl), y).backward()
            opt.step()
    for _ in range(2):
        step()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(reps):
        step()
    torch.cuda.synchronize()
    return BATCH * reps / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--models", default=",".join(MODELS))
    a = ap.parse_args()
    if not torch.cuda.is_available():
        print(json.dumps({"error": "torch sees no CUDA device"}))
        return 1
    info = {"torch": torch.__version__, "cuda": torch.version.cuda, "gpu": torch.cuda.get_device_name(0)}
    print(json.dumps({"info": info}), flush=True)
    for name in a.models.split(","):
        for mode in ("infer", "train"):
            for tf32 in (False, True):
                rec = {"model": name, "mode": mode, "precision": "tf32" if tf32 else "f32"}
                try:
                    rec["images_per_s"] = round(measure(name, mode, tf32, a.reps), 2)
                except Exception as e:  # a missing package or an out-of-memory: say so, go on
                    rec["error"] = f"{type(e).__name__}: {e}"[:200]
                torch.cuda.empty_cache()
                print(json.dumps(rec), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
