"""PyTorch side of the recipe comparison: a convts model spec trained with the recipe it carries
(its "recipe" object: the `convts train` flags), the same network built by convts_torch.build.

Same data and preparation as `convts train`: MNIST (train 60,000, test 10,000) or CIFAR-10 with
--val 10000 (data_batch_1..4 to train on, data_batch_5 to evaluate), z-scored per channel with the
training images' statistics; seeded shuffles; random shifts with zero padding (and flips) as the
recipe's "augment"; SGD (momentum / Nesterov) with L2 weight decay, biases and batch-norm
parameters left out with "wd-skip-norm"; OneCycleLR (cosine, no momentum cycling) stepped per
batch; label smoothing; flip test-time averaging. Prints one JSON line per epoch: training seconds,
evaluation seconds, process CPU seconds, accuracy. Data loading is excluded, as on the convts side.

Run it at PyTorch's best on this machine (as bench/torch.ts does): two threads,
OPENBLAS_NUM_THREADS=1, glibc's malloc thresholds raised:
  OPENBLAS_NUM_THREADS=1 MALLOC_MMAP_THRESHOLD_=1073741824 MALLOC_TRIM_THRESHOLD_=1073741824 \
  MALLOC_TOP_PAD_=268435456 /usr/bin/python3 tools/recipe_torch.py models/convts-cifar.json \
  ../shared/datasets [--epochs N] [--train-limit N] [--test-limit N] [--threads 2]
"""
import argparse
import gzip
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from convts_torch import build
from tta_torch import read_idx


def read_cifar(paths):
    raw = b"".join(gzip.open(p, "rb").read() if p.endswith(".gz") else open(p, "rb").read() for p in paths)
    rec = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3073)
    return rec[:, 1:].reshape(-1, 3, 32, 32), rec[:, 0].astype(np.int64)


def find(root, name):
    for p in (os.path.join(root, name), os.path.join(root, name + ".gz")):
        if os.path.exists(p):
            return p
    raise SystemExit(f"{name} not found in {root}")


def load(spec, root):
    if spec["input"][0] == 1:
        d = os.path.join(root, "mnist")
        xtr = read_idx(find(d, "train-images-idx3-ubyte"))[:, None]
        ytr = read_idx(find(d, "train-labels-idx1-ubyte")).astype(np.int64)
        xte = read_idx(find(d, "t10k-images-idx3-ubyte"))[:, None]
        yte = read_idx(find(d, "t10k-labels-idx1-ubyte")).astype(np.int64)
        return xtr, ytr, xte, yte
    d = os.path.join(root, "cifar-10")
    x, y = read_cifar([find(d, f"data_batch_{i}.bin") for i in range(1, 6)])
    return x[:40000], y[:40000], x[40000:], y[40000:]  # --val 10000: data_batch_5 held out


def augment(x, shift, flip, gen):
    """Each image shifted by up to `shift` pixels each way (zero padding), and flipped half the time."""
    n, _, h, w = x.shape
    out = torch.zeros_like(x)
    dy = torch.randint(-shift, shift + 1, (n,), generator=gen).tolist() if shift else [0] * n
    dx = torch.randint(-shift, shift + 1, (n,), generator=gen).tolist() if shift else [0] * n
    for i in range(n):
        sy, sx = dy[i], dx[i]
        out[i, :, max(0, sy):h + min(0, sy), max(0, sx):w + min(0, sx)] = \
            x[i, :, max(0, -sy):h + min(0, -sy), max(0, -sx):w + min(0, -sx)]
    if flip:
        m = torch.rand(n, generator=gen) < 0.5
        out[m] = out[m].flip(3)
    return out


def evaluate(model, x, y, tta):
    model.eval()
    right = 0
    with torch.no_grad():
        for s in range(0, len(x), 500):
            xb = x[s:s + 500]
            logits = model(xb)
            if tta:
                logits = (logits + model(xb.flip(3))) / 2
            right += (logits.argmax(1) == y[s:s + 500]).sum().item()
    return right / len(x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("spec")
    ap.add_argument("data_dir")
    ap.add_argument("--epochs", type=int)
    ap.add_argument("--train-limit", type=int)
    ap.add_argument("--test-limit", type=int)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    spec = json.load(open(a.spec))
    r = spec.get("recipe", {})
    epochs = a.epochs or int(r.get("epochs", 1))
    batch = int(r.get("batch-size", 32))
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)

    xtr, ytr, xte, yte = load(spec, a.data_dir)
    if a.train_limit:
        xtr, ytr = xtr[:a.train_limit], ytr[:a.train_limit]
    if a.test_limit:
        xte, yte = xte[:a.test_limit], yte[:a.test_limit]
    xtr = torch.tensor(xtr, dtype=torch.float32) / 255
    xte = torch.tensor(xte, dtype=torch.float32) / 255
    mean = xtr.mean((0, 2, 3), keepdim=True)
    std = xtr.std((0, 2, 3), keepdim=True, unbiased=False)
    xtr, xte = (xtr - mean) / std, (xte - mean) / std
    ytr, yte = torch.tensor(ytr), torch.tensor(yte)

    model = build(spec)
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    wd = float(r.get("weight-decay", 0))
    norm = [p for n, p in model.named_parameters() if p.dim() <= 1] if r.get("wd-skip-norm") else []
    rest = [p for p in model.parameters() if all(p is not q for q in norm)]
    groups = [{"params": rest, "weight_decay": wd}] + ([{"params": norm, "weight_decay": 0}] if norm else [])
    kind = r.get("optimizer", "momentum")
    lr = float(r.get("lr", 0.01))
    opt = torch.optim.SGD(groups, lr=lr, momentum=float(r.get("momentum", 0.9)) if kind != "sgd" else 0,
                          nesterov=kind == "nesterov")
    steps = (len(xtr) + batch - 1) // batch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps,
                                                cycle_momentum=False) if r.get("schedule") == "onecycle" else None
    aug = str(r.get("augment", "off"))
    shift = next((int(p[6:]) for p in aug.split(",") if p.startswith("shift:")), 0)
    flip = "flip" in aug.split(",")
    ls = float(r.get("label-smoothing", 0))
    tta = r.get("tta") == "flip"
    train_s = eval_s = 0.0
    for epoch in range(1, epochs + 1):
        c0, t0 = time.process_time(), time.perf_counter()
        model.train()
        order = torch.randperm(len(xtr), generator=gen)
        for s in range(0, len(xtr), batch):
            idx = order[s:s + batch]
            xb = augment(xtr[idx], shift, flip, gen) if shift or flip else xtr[idx]
            opt.zero_grad()
            F.cross_entropy(model(xb), ytr[idx], label_smoothing=ls).backward()
            opt.step()
            if sched:
                sched.step()
        t1 = time.perf_counter()
        acc = evaluate(model, xte, yte, tta)
        t2 = time.perf_counter()
        train_s += t1 - t0
        eval_s += t2 - t1
        print(json.dumps({"epoch": epoch, "accuracy": acc, "trainSeconds": round(train_s, 2),
                          "evalSeconds": round(eval_s, 2), "epochSeconds": round(t1 - t0, 2),
                          "cpuSeconds": round(time.process_time() - c0, 2),
                          "imagesPerSecond": round(len(xtr) / (t1 - t0), 1)}), flush=True)


if __name__ == "__main__":
    main()
