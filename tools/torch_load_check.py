#!/usr/bin/python3
"""Loads a convts run's model.safetensors into an equivalent PyTorch network and evaluates it.

Shows that our weight names and layouts are PyTorch's: the accuracy printed here must equal the
testAccuracy in the run's summary.json. Reads safetensors by hand (Debian has no safetensors
package). Usage: /usr/bin/python3 tools/torch_load_check.py <run-dir> <mnist-dir>
"""
import gzip, json, struct, sys
import numpy as np
import torch
import torch.nn as nn


def read_safetensors(path):
    raw = open(path, 'rb').read()
    n = struct.unpack('<Q', raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    header.pop('__metadata__', None)
    out = {}
    for name, e in header.items():
        b, end = e['data_offsets']
        assert e['dtype'] == 'F32'
        out[name] = torch.from_numpy(np.frombuffer(raw[8 + n + b:8 + n + end], dtype='<f4').reshape(e['shape']).copy())
    return out


def build(spec):
    """nn.Sequential with the same layer names as convts (conv1, fc1, …)."""
    layers, shape = [], list(spec['input'])
    counts = {}
    prefix = {'conv2d': 'conv', 'dense': 'fc', 'maxpool2d': 'pool', 'avgpool2d': 'pool'}
    seq = nn.Sequential()
    for ls in spec['layers']:
        t = ls['type']
        p = prefix.get(t, t)
        counts[p] = counts.get(p, 0) + 1
        name = ls.get('name', f'{p}{counts[p]}')
        pair = lambda v, d: (v, v) if isinstance(v, int) else tuple(v) if v is not None else (d, d)
        if t == 'conv2d':
            m = nn.Conv2d(shape[0], ls['filters'], pair(ls['kernel'], 1), pair(ls.get('stride'), 1),
                          pair(ls.get('padding'), 0), bias=ls.get('bias', True))
        elif t in ('maxpool2d', 'avgpool2d'):
            cls = nn.MaxPool2d if t == 'maxpool2d' else nn.AvgPool2d
            m = cls(pair(ls['size'], 2), pair(ls.get('stride', ls['size']), 2))
        elif t == 'dense':
            m = nn.Linear(shape[0], ls['units'], bias=ls.get('bias', True))
        elif t == 'flatten':
            m = nn.Flatten()
        else:
            m = {'relu': nn.ReLU(), 'sigmoid': nn.Sigmoid(), 'tanh': nn.Tanh(), 'softmax': nn.Softmax(1),
                 'dropout': nn.Dropout(ls.get('rate', 0))}[t]
        seq.add_module(name, m)
        with torch.no_grad():
            shape = list(seq[-1](torch.zeros([1] + shape)).shape[1:]) if t != 'flatten' else [int(np.prod(shape))]
    return seq


def idx(path):
    raw = gzip.open(path).read()
    nd = raw[3]
    dims = struct.unpack('>' + 'I' * nd, raw[4:4 + 4 * nd])
    return np.frombuffer(raw[4 + 4 * nd:], dtype=np.uint8).reshape(dims)


def main(run, data):
    spec = json.load(open(f'{run}/model.json'))
    net = build(spec)
    net.load_state_dict(read_safetensors(f'{run}/model.safetensors'), strict=True)
    net.eval()
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
    main(sys.argv[1], sys.argv[2])
