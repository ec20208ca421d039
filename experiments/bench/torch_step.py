#!/usr/bin/python3
"""One PyTorch measurement for experiments/bench: the stenosis model (a
torchvision backbone without its classifier, a 256-d level embedding and
the study's head) at batch B, 224x224, float32, in one mode:

  infer    eval mode, no gradients
  partial  training step with only the last 32 backbone tensors trainable
  full     training step with everything trainable

Training steps are AdamW (lr 1e-4, wd 0.02) on class-weighted
cross-entropy. Prints one JSON line: {"step_s": [seconds per step...]}.
Set OPENBLAS_NUM_THREADS before Python starts; --threads sets torch's.
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torchvision


def blas_libs():
    """The BLAS libraries mapped into this process (which one Debian's
    alternatives picked decides PyTorch's matrix-product speed)."""
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            p = line.split()[-1]
            if "blas" in p and "lapack" not in p:
                libs.add(p)
    return sorted(libs)


def backbone(name):
    m = getattr(torchvision.models, name)(weights=None)
    if name.startswith("resnet"):
        feat, m.fc = m.fc.in_features, nn.Identity()
    elif name.startswith("efficientnet"):
        feat, m.classifier = m.classifier[-1].in_features, nn.Identity()
    elif name.startswith("convnext"):
        feat = m.classifier[-1].in_features
        m.classifier[-1] = nn.Identity()  # keeps LayerNorm2d + Flatten
    elif name.startswith("vit"):
        feat, m.heads = m.heads.head.in_features, nn.Identity()
    elif name.startswith("swin"):
        feat, m.head = m.head.in_features, nn.Identity()
    else:
        raise SystemExit("torch_step.py: no torchvision backbone " + name)
    return m, feat


class Stenosis(nn.Module):
    def __init__(self, name, emb=256, hidden=(512, 256), classes=3, dropout=0.1):
        super().__init__()
        self.base_model, feat = backbone(name)
        self.level_embedding = nn.Embedding(5, emb)
        self.classifier = nn.Sequential(
            nn.Linear(feat + emb, hidden[0]), nn.LayerNorm(hidden[0]), nn.GELU(), nn.Dropout(dropout),
            nn.Linear(hidden[0], hidden[1]), nn.LayerNorm(hidden[1]), nn.GELU(), nn.Dropout(dropout),
            nn.Linear(hidden[1], classes))

    def forward(self, x, lvl):
        return self.classifier(torch.cat([self.base_model(x), self.level_embedding(lvl)], dim=1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--mode", choices=["infer", "partial", "full"], required=True)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--unfreeze-last", type=int, default=32)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    net = Stenosis(a.model)
    x = torch.randn(a.batch, 3, 224, 224)
    lvl = torch.randint(0, 5, (a.batch,))
    y = torch.randint(0, 3, (a.batch,))
    if a.mode == "infer":
        net.eval()

        def step():
            with torch.no_grad():
                net(x, lvl)
    else:
        net.train()
        if a.mode == "partial":
            bb = list(net.base_model.parameters())
            for p in bb[:len(bb) - a.unfreeze_last]:
                p.requires_grad_(False)
        opt = torch.optim.AdamW([p for p in net.parameters() if p.requires_grad], lr=1e-4, weight_decay=0.02)
        lossf = nn.CrossEntropyLoss(weight=torch.tensor([1.0, 2.0, 4.0]))

        def step():
            opt.zero_grad(set_to_none=True)
            lossf(net(x, lvl), y).backward()
            opt.step()
    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    print(json.dumps({"step_s": times, "torch": torch.__version__, "blas": blas_libs()}))


if __name__ == "__main__":
    main()
