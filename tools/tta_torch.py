"""PyTorch side of the time-to-accuracy race: seed-mnist trained with the same
recipe as `convts train` (see BENCHMARKS.md): inputs z-scored with the training set's mean and standard
deviation, He-normal weights and zero biases, Adam, cosine learning rate stepped per epoch, shuffled
batches, the test set evaluated after every epoch. Prints one JSON line per epoch with the cumulative
seconds of training + evaluation (data loading excluded, as on the convts side).

Usage: /usr/bin/python3 tools/tta_torch.py DATA_DIR [epochs batch lr threads]
"""
import gzip
import json
import math
import sys
import time

import numpy as np
import torch
import torch.nn as nn

from bench_torch import build


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def main():
    root = sys.argv[1]
    epochs, batch, lr, threads = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    load = lambda name: read_idx(f"{root}/mnist/{name}.gz")
    xtr = torch.tensor(load("train-images-idx3-ubyte"), dtype=torch.float32).unsqueeze(1) / 255
    ytr = torch.tensor(load("train-labels-idx1-ubyte"), dtype=torch.long)
    xte = torch.tensor(load("t10k-images-idx3-ubyte"), dtype=torch.float32).unsqueeze(1) / 255
    yte = torch.tensor(load("t10k-labels-idx1-ubyte"), dtype=torch.long)
    mean, std = xtr.mean(), xtr.std()
    xtr, xte = (xtr - mean) / std, (xte - mean) / std

    model = build("seed-mnist")
    for m in model:
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            nn.init.zeros_(m.bias)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    loss_fn = nn.CrossEntropyLoss()
    total = 0.0
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        model.train()
        order = torch.randperm(len(xtr))
        for s in range(0, len(xtr), batch):
            idx = order[s:s + batch]
            opt.zero_grad()
            loss_fn(model(xtr[idx]), ytr[idx]).backward()
            opt.step()
        sched.step()
        model.eval()
        right = 0
        with torch.no_grad():
            for s in range(0, len(xte), 256):
                right += (model(xte[s:s + 256]).argmax(1) == yte[s:s + 256]).sum().item()
        total += time.perf_counter() - t0
        print(json.dumps({"epoch": epoch, "seconds": round(total, 2), "testAccuracy": right / len(xte),
                          "threads": threads, "batch": batch, "lr": lr}), flush=True)


if __name__ == "__main__":
    main()
