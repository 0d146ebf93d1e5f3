"""Data for tools/recipe_torch.py, prepared as `convts train` prepares it: MNIST's training and test
sets, or CIFAR-10 with --val 10000 (data_batch_1..4 to train on, data_batch_5 to evaluate); z-scored
per channel with the training images' mean and (population) standard deviation; the random shifts
and flips of "augment" as src/data/augment.ts draws them (black padding), and its rotate/scale
(a random rotation and zoom about the centre, bilinear, through affine_grid and grid_sample).
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


def augment(x, shift, flip, black, gen, reflect=False, flips=None):
    """Each image moved by up to `shift` pixels each way (pixel (y, x) shows (y + dy, x + dx), black
    beyond the border, or the image mirrored at its edge with `reflect`), and mirrored half the time
    — or where `flips` (a boolean per image, for flip:alternate) says — as src/data/augment.ts."""
    n, c, h, w = x.shape
    s = shift
    if reflect and s:
        padded = torch.nn.functional.pad(x, (s, s, s, s), mode='reflect')
    else:
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
        m = flips if flips is not None else torch.rand(n, generator=gen) < 0.5
        out[m] = out[m].flip(3)
    return out


def rotate_scale(x, degrees, scale, black, gen):
    """Each image rotated by up to ±degrees and zoomed by a factor in [1 − scale, 1 + scale] about
    its centre, bilinear, the uncovered border black, with the same map as src/data/augment.ts
    warpImage (which also applies the shift in the same resampling; here it follows)."""
    n = x.shape[0]
    angle = (torch.rand(n, generator=gen) * 2 - 1) * degrees * torch.pi / 180
    zoom = 1 + (torch.rand(n, generator=gen) * 2 - 1) * scale
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    # affine_grid maps output (x, y) in [-1, 1] (pixel centres with align_corners) to source points:
    # sx = cos·u + sin·v, sy = −sin·u + cos·v for a square image.
    theta = torch.stack([torch.stack([cos, sin, torch.zeros(n)], 1), torch.stack([-sin, cos, torch.zeros(n)], 1)], 1)
    grid = torch.nn.functional.affine_grid(theta, list(x.shape), align_corners=True)
    moved = torch.nn.functional.grid_sample(x - black, grid, mode='bilinear', padding_mode='zeros', align_corners=True)
    return moved + black
