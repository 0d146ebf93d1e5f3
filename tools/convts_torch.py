"""PyTorch modules from convts model specs, with convts' state-dict names, and safetensors reading.

Used by tools/torch_load_check.py and tools/make_fixtures.py. A convts layer list becomes an
nn.Sequential whose children carry convts' names (conv1, bn1, res1, fc1, ...); a residual block
becomes Residual, with its layers under "layers" and a convolution shortcut under "shortcut".
"""
import json
import struct
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn

PREFIX = {'conv2d': 'conv', 'dense': 'fc', 'maxpool2d': 'pool', 'avgpool2d': 'pool', 'globalavgpool': 'pool',
          'globalmaxpool': 'pool', 'batchnorm': 'bn', 'residual': 'res', 'leaky-relu': 'lrelu'}


class Residual(nn.Module):
    """y = layers(x) + shortcut(x), the shortcut being the identity or a convolution."""

    def __init__(self, layers, shortcut):
        super().__init__()
        self.layers = layers
        self.shortcut = shortcut

    def forward(self, x):
        return self.layers(x) + (self.shortcut(x) if self.shortcut is not None else x)


def pair(v, d):
    if v is None:
        return (d, d)
    return (v, v) if isinstance(v, int) else tuple(v)


def padding(ls):
    """convts' padding: numbers, or "same" = (k - 1) / 2 for odd kernels at any stride."""
    p = ls.get('padding')
    if p == 'same':
        kh, kw = pair(ls['kernel'], 1)
        return ((kh - 1) // 2, (kw - 1) // 2)
    return pair(p, 0)


def layer_module(ls, shape):
    t = ls['type']
    if t == 'conv2d':
        return nn.Conv2d(shape[0], ls['filters'], pair(ls['kernel'], 1), pair(ls.get('stride'), 1), padding(ls),
                         bias=ls.get('bias', True))
    if t in ('maxpool2d', 'avgpool2d'):
        cls = nn.MaxPool2d if t == 'maxpool2d' else nn.AvgPool2d
        return cls(pair(ls['size'], 2), pair(ls.get('stride', ls['size']), 2))
    if t in ('globalavgpool', 'globalmaxpool'):
        pool = nn.AdaptiveAvgPool2d(1) if t == 'globalavgpool' else nn.AdaptiveMaxPool2d(1)
        return nn.Sequential(pool, nn.Flatten())
    if t == 'batchnorm':
        cls = nn.BatchNorm2d if len(shape) == 3 else nn.BatchNorm1d
        return cls(shape[0], eps=ls.get('eps', 1e-5), momentum=ls.get('momentum', 0.1), affine=ls.get('affine', True))
    if t == 'dense':
        return nn.Linear(shape[0], ls['units'], bias=ls.get('bias', True))
    if t == 'residual':
        body = sequential(ls['layers'], shape)
        sc = ls.get('shortcut', 'identity')
        shortcut = None
        if sc != 'identity':
            out = out_shape(body, shape)
            k = sc['conv']
            shortcut = nn.Conv2d(shape[0], out[0], k, sc.get('stride', 1), (k - 1) // 2, bias=sc.get('bias', False))
        return Residual(body, shortcut)
    if t == 'flatten':
        return nn.Flatten()
    if t == 'leaky-relu':
        return nn.LeakyReLU(ls.get('slope', 0.01))
    if t == 'gelu':
        return nn.GELU(approximate='tanh')
    return {'relu': nn.ReLU(), 'sigmoid': nn.Sigmoid(), 'tanh': nn.Tanh(), 'softmax': nn.Softmax(1),
            'dropout': nn.Dropout(ls.get('rate', 0))}[t]


def out_shape(module, shape):
    was = module.training
    module.eval()
    with torch.no_grad():
        out = list(module(torch.zeros([1] + list(shape))).shape[1:])
    module.train(was)
    return out


def sequential(layers, shape):
    """nn.Sequential of convts layer specs, named as convts names them."""
    counts, mods = {}, OrderedDict()
    for ls in layers:
        p = PREFIX.get(ls['type'], ls['type'])
        counts[p] = counts.get(p, 0) + 1
        m = layer_module(ls, shape)
        mods[ls.get('name', f'{p}{counts[p]}')] = m
        shape = out_shape(m, shape)
    return nn.Sequential(mods)


def build(spec):
    """The PyTorch network of a convts model.json (dict)."""
    return sequential(spec['layers'], spec['input'])


def read_safetensors(path):
    """name -> tensor; F32 and I64 (num_batches_tracked), as convts writes them."""
    raw = open(path, 'rb').read()
    n = struct.unpack('<Q', raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    header.pop('__metadata__', None)
    out = {}
    for name, e in header.items():
        b, end = e['data_offsets']
        dtype = {'F32': '<f4', 'I64': '<i8'}[e['dtype']]
        out[name] = torch.from_numpy(np.frombuffer(raw[8 + n + b:8 + n + end], dtype=dtype).reshape(e['shape']).copy())
    return out
