"""PyTorch modules from convts model specs, with convts' state-dict names, and safetensors reading.

Used by tools/torch_load_check.py, tools/make_fixtures.py and tools/recipe_torch.py. A convts layer
list becomes an nn.Sequential whose children carry convts' names (conv1, bn1, res1, fc1, ...); a
residual block becomes Residual, with its layers under "layers" and a convolution shortcut under
"shortcut". `initialize` starts the weights as `convts train` does (src/model/build.ts,
src/init/initializers.ts, src/train/data-init.ts); `layer_options` reads the per-layer training
options (freeze, lrScale, weightDecay) for the optimizer's parameter groups.
"""
import json
import math
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


def spec_modules(layers, seq):
    """(layer spec, module) of every layer, those inside residual blocks included."""
    out = []
    for ls, m in zip(layers, seq.children()):
        out.append((ls, m))
        if ls['type'] == 'residual':
            out += spec_modules(ls['layers'], m.layers)
    return out


def fill(w, init):
    """One weight tensor as convts' initializer `init` fills it (fans as PyTorch counts them)."""
    fan_in = w[0].numel()
    fan_out = w.shape[0] * (w[0, 0].numel() if w.dim() > 2 else 1)
    kind = init['kind']
    with torch.no_grad():
        if kind == 'normal':
            return w.normal_(0, init['std'])
        if kind == 'glorot-normal':
            return w.normal_(0, math.sqrt(2 / (fan_in + fan_out)))
        if kind == 'glorot-uniform':
            return w.uniform_(-math.sqrt(6 / (fan_in + fan_out)), math.sqrt(6 / (fan_in + fan_out)))
        if kind == 'he-normal':
            return w.normal_(0, math.sqrt(2 / fan_in))
        if kind == 'he-uniform':
            return w.uniform_(-math.sqrt(6 / fan_in), math.sqrt(6 / fan_in))
        if kind == 'torch-default':  # kaiming_uniform_(a=√5) = U(±1/√fanIn)
            return w.uniform_(-1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in))
    raise SystemExit(f'unknown initializer {kind!r}')


def initialize(net, spec):
    """Weights as convts starts them: the model's initializer ("init", he-normal by default) for
    every conv/dense weight (residual shortcuts too), zero biases, batch norm at γ = 1, β = 0; then a
    layer's own initializer, or "dirac": the first min(out, in) filters pass their channel through the
    kernel's centre, the rest keep the model's. "patch-whitening" needs data: see patch_whitening."""
    init = spec.get('init', {'kind': 'he-normal'})
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            fill(m.weight, init)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine:
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    for ls, m in spec_modules(spec['layers'], net):
        own = ls.get('init') if ls['type'] in ('conv2d', 'dense') else None
        if isinstance(own, dict):
            fill(m.weight, own)
        elif own == 'dirac':
            with torch.no_grad():
                k = min(m.weight.shape[0], m.weight.shape[1])
                kh, kw = m.weight.shape[2:]
                m.weight[:k].zero_()
                m.weight[range(k), range(k), kh // 2, kw // 2] = 1


def patch_whitening(net, spec, images, eps=5e-4):
    """The first layer's "patch-whitening" start (src/init/whitening.ts): with E = V Λ Vᵀ the second
    moment of every k×k patch of `images` (as they reach the model), filter j is the j-th eigenvector
    (largest λ first) over √(λⱼ + eps) and filter d + j its negative. True when it applied."""
    first = spec['layers'][0]
    if not any(ls.get('init') == 'patch-whitening' for ls, _ in spec_modules(spec['layers'], net)):
        return False
    if first['type'] != 'conv2d' or first.get('init') != 'patch-whitening':
        raise SystemExit('"init": "patch-whitening" must be on the first layer, a conv2d')
    conv = next(net.children())
    d = conv.weight[0].numel()
    if conv.weight.shape[0] != 2 * d:
        raise SystemExit(f'patch-whitening needs 2 × {d} filters, got {conv.weight.shape[0]}')
    moment, count = torch.zeros(d, d, dtype=torch.float64), 0
    for s in range(0, len(images), 500):
        p = torch.nn.functional.unfold(images[s:s + 500].double(), conv.kernel_size)  # [n, d, patches]
        moment += torch.einsum('ndl,nel->de', p, p)
        count += p.shape[0] * p.shape[2]
    values, vectors = torch.linalg.eigh(moment / count)  # ascending
    values, vectors = values.flip(0), vectors.flip(1)
    w = (vectors / torch.sqrt(values.clamp(min=0) + eps)).T
    with torch.no_grad():
        conv.weight.copy_(torch.cat([w, -w]).reshape(conv.weight.shape).float())
    return True


def layer_options(spec, net):
    """param -> (frozen, lrScale, weightDecay or None, norm) from the layers' "freeze", "lrScale" and
    "weightDecay"; norm: a bias or batch-norm parameter (what --wd-skip-norm skips)."""
    out = {}
    for ls, m in spec_modules(spec['layers'], net):
        if ls['type'] not in ('conv2d', 'dense', 'batchnorm'):
            continue
        freeze = ls.get('freeze', False)
        for name, p in m.named_parameters(recurse=False):
            frozen = freeze is True or (isinstance(freeze, list) and name in freeze)
            norm = name == 'bias' or ls['type'] == 'batchnorm'
            out[p] = (frozen, ls.get('lrScale', 1), ls.get('weightDecay'), norm)
    for name, p in net.named_parameters():  # residual shortcuts: no options of their own
        out.setdefault(p, (False, 1, None, name.endswith('bias')))
    return out


def freeze_after(spec, net):
    """param -> the epochs it trains for, from the layers' "freezeAfter" ({"bias": 3})."""
    out = {}
    for ls, m in spec_modules(spec['layers'], net):
        for name, epochs in (ls.get('freezeAfter') or {}).items():
            out[getattr(m, name)] = int(epochs)
    return out


def averaged_logits(model, x, tta):
    """Logits of x, or their test-time average (src/model/sequential.ts averagedLogits): flip, the
    mean over x and its mirror image; flip-translate, ½ of that plus ¼ each of the same for x moved
    one pixel down-right and one pixel up-left, borders reflected; translate, those three views
    without their mirror images."""
    if tta not in ('flip', 'flip-translate', 'translate'):
        return model(x)
    views = [(x, 1.0)]
    if tta in ('flip-translate', 'translate'):
        p = torch.nn.functional.pad(x, (1, 1, 1, 1), mode='reflect')
        views = [(x, 0.5), (p[:, :, :-2, :-2], 0.25), (p[:, :, 2:, 2:], 0.25)]
    if tta == 'translate':
        return sum(w * model(v) for v, w in views)
    return sum(w / 2 * (model(v) + model(v.flip(3))) for v, w in views)


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
