"""Data for tools/recipe_torch.py, prepared as `convts train` prepares it: MNIST's training and test
sets, or CIFAR-10 with --val 10000 (data_batch_1..4 to train on, data_batch_5 to evaluate); z-scored
per channel with the training images' mean and (population) standard deviation; the random shifts
and flips of "augment" as src/data/augment.ts draws them (black padding).
"""
import gzip
import os

import numpy as np
import torch

from tta_torch import read_idx


def read_cifar(paths):
    raw = b''.join(gzip.open(p, 'rb').read() if p.endswith('.gz') else open(p, 'rb').read() for p in paths)
    rec = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3073)
    return rec[:, 1:].reshape(-1, 3, 32, 32), rec[:, 0].astype(np.int64)


def find(root, name):
    for p in (os.path.join(root, name), os.path.join(root, name + '.gz')):
        if os.path.exists(p):
            return p
    raise SystemExit(f'{name} not found in {root}')


def raw(spec, root):
    if spec['input'][0] == 1:
        d = os.path.join(root, 'mnist')
        xtr = read_idx(find(d, 'train-images-idx3-ubyte'))[:, None]
        ytr = read_idx(find(d, 'train-labels-idx1-ubyte')).astype(np.int64)
        xte = read_idx(find(d, 't10k-images-idx3-ubyte'))[:, None]
        yte = read_idx(find(d, 't10k-labels-idx1-ubyte')).astype(np.int64)
        return xtr, ytr, xte, yte
    d = os.path.join(root, 'cifar-10')
    x, y = read_cifar([find(d, f'data_batch_{i}.bin') for i in range(1, 6)])
    return x[:40000], y[:40000], x[40000:], y[40000:]  # --val 10000: data_batch_5 held out


def load(spec, root, train_limit=None, test_limit=None):
    """Normalized training and evaluation tensors, and the value a black pixel takes per channel."""
    xtr, ytr, xte, yte = raw(spec, root)
    xtr, ytr = xtr[:train_limit], ytr[:train_limit]
    xte, yte = xte[:test_limit], yte[:test_limit]
    xtr = torch.tensor(xtr, dtype=torch.float32) / 255
    xte = torch.tensor(xte, dtype=torch.float32) / 255
    mean = xtr.mean((0, 2, 3), keepdim=True)
    std = xtr.std((0, 2, 3), keepdim=True, unbiased=False)
    return (xtr - mean) / std, torch.tensor(ytr), (xte - mean) / std, torch.tensor(yte), -mean / std


def augment(x, shift, flip, black, gen):
    """Each image moved by up to `shift` pixels each way (pixel (y, x) shows (y + dy, x + dx), black
    beyond the border), and mirrored half the time, as src/data/augment.ts."""
    n, c, h, w = x.shape
    s = shift
    padded = black.expand(n, c, h + 2 * s, w + 2 * s).clone()
    padded[:, :, s:s + h, s:s + w] = x
    dy = torch.randint(-s, s + 1, (n,), generator=gen)
    dx = torch.randint(-s, s + 1, (n,), generator=gen)
    out = torch.empty_like(x)
    for a in range(-s, s + 1):
        for b in range(-s, s + 1):
            m = (dy == a) & (dx == b)
            out[m] = padded[m, :, s + a:s + a + h, s + b:s + b + w]
    if flip:
        m = torch.rand(n, generator=gen) < 0.5
        out[m] = out[m].flip(3)
    return out
