#!/usr/bin/python3
"""Loads a convts run's model.safetensors into an equivalent PyTorch network and evaluates it.

Shows that our weight names and layouts are PyTorch's: the accuracy printed here must equal the
testAccuracy in the run's summary.json. Reads safetensors by hand (Debian has no safetensors
package). Usage: /usr/bin/python3 tools/torch_load_check.py <run-dir> [<mnist-dir>]
Without a data directory it only builds the network from model.json (conv, batchnorm, residual
blocks, pools, activations, dense, dropout) and loads the weights strictly.
"""
import gzip, json, struct, sys
import numpy as np
import torch

sys.path.insert(0, __import__('os').path.dirname(__file__))
from convts_torch import build, read_safetensors  # noqa: E402


def idx(path):
    raw = gzip.open(path).read()
    nd = raw[3]
    dims = struct.unpack('>' + 'I' * nd, raw[4:4 + 4 * nd])
    return np.frombuffer(raw[4 + 4 * nd:], dtype=np.uint8).reshape(dims)


def main(run, data):
    spec = json.load(open(f'{run}/model.json'))
    net = build(spec)
    state = read_safetensors(f'{run}/model.safetensors')
    net.load_state_dict(state, strict=True)
    net.eval()
    if data is None:
        print(f'loaded {len(state)} tensors strictly into the PyTorch network of {run}/model.json')
        return
    train = idx(f'{data}/train-images-idx3-ubyte.gz').astype(np.float64) / 255
    mean, std = train.mean(), train.std()
    x = torch.from_numpy(((idx(f'{data}/t10k-images-idx3-ubyte.gz') / 255 - mean) / std).astype(np.float32)).unsqueeze(1)
    y = torch.from_numpy(idx(f'{data}/t10k-labels-idx1-ubyte.gz').astype(np.int64))
    with torch.no_grad():
        acc = (net(x).argmax(1) == y).double().mean().item()
    ours = json.load(open(f'{run}/summary.json'))['testAccuracy']
    print(f'PyTorch accuracy with convts weights: {acc:.4f}; convts summary.json: {ours:.4f}')
    sys.exit(0 if abs(acc - ours) < 1e-3 else 1)


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
