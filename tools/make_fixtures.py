#!/usr/bin/python3
"""Reference numbers from PyTorch for test/torch-fixtures.test.ts.

Regenerate (needs PyTorch; the tests never do):

    /usr/bin/python3 tools/make_fixtures.py        # rewrites test/fixtures/*.safetensors

Written and checked with torch 1.13 on CPU. Everything is seeded, so a rerun on the same torch
gives the same bytes. Inputs, weights and upstream gradients are drawn as float32 (so convts
sees exactly the same values); every reference result is computed in float64 and rounded to
float32 once, so the fixtures measure convts' float32 error alone.

Files (float32 safetensors; the "__metadata__" strings describe the cases as JSON, in convts'
own spec formats, so the test builds each case from the file):
  layers.safetensors      each layer kind: x, weight, bias, dy -> y, dx, dweight, dbias
  losses.safetensors      each loss: logits/outputs z, labels -> loss, dz
  optim.safetensors       3 steps of SGD, momentum, Nesterov, Adam (± weight decay) on fixed
                          params and gradients; StepLR and CosineAnnealingLR learning rates
  modern-layers.safetensors  batch norm, "same" padding, global pools, leaky ReLU, GELU and
                          residual blocks (tools/fixtures_modern.py)
  seed-mnist.safetensors  two SGD-momentum training steps of seed-mnist (softmax + cross-entropy
                          and the sigmoid + BCE variant) on 4 random 28x28 images
"""
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures')


def write_safetensors(path, tensors, metadata):
    """The safetensors layout: u64 LE header length, JSON header, raw little-endian data."""
    header = {'__metadata__': metadata}
    blobs = []
    offset = 0
    for name, t in tensors.items():  # stored as they are now: clone anything that changes later
        a = np.ascontiguousarray(t.detach().to(torch.float32).numpy(), dtype='<f4')
        b = a.tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(a.shape), 'data_offsets': [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    head = json.dumps(header, separators=(',', ':')).encode('utf-8')
    head += b' ' * ((8 - len(head) % 8) % 8)  # data starts 8-byte aligned
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(head)))
        f.write(head)
        for b in blobs:
            f.write(b)
    print(f'{os.path.relpath(path)}: {len(tensors)} tensors, {8 + len(head) + offset} bytes')


def f32(*shape, scale=1.0):
    """Standard normal float32 values (times scale), returned as float64 for the computation."""
    return (torch.randn(*shape) * scale).to(torch.float32).double()


def pair(v):
    return tuple(v) if isinstance(v, list) else (v, v)


# ---------------------------------------------------------------------------------------------
# Layers: (name, convts layer spec, per-sample input shape, batch)
LAYER_CASES = [
    ('conv_basic', {'type': 'conv2d', 'filters': 4, 'kernel': 3}, [3, 7, 5], 2),
    ('conv_s2_p1', {'type': 'conv2d', 'filters': 3, 'kernel': 3, 'stride': 2, 'padding': 1}, [2, 7, 5], 2),
    ('conv_k32_s21_p12', {'type': 'conv2d', 'filters': 3, 'kernel': [3, 2], 'stride': [2, 1], 'padding': [1, 2]}, [2, 7, 5], 2),
    ('conv_nobias_k23_s3', {'type': 'conv2d', 'filters': 2, 'kernel': [2, 3], 'stride': 3, 'padding': [2, 0], 'bias': False}, [3, 8, 7], 3),
    ('conv_seed_mnist', {'type': 'conv2d', 'filters': 8, 'kernel': 5}, [1, 12, 11], 2),
    ('maxpool_2', {'type': 'maxpool2d', 'size': 2}, [3, 7, 5], 2),
    ('maxpool_32_s21', {'type': 'maxpool2d', 'size': [3, 2], 'stride': [2, 1]}, [2, 7, 5], 2),
    ('maxpool_3_s2', {'type': 'maxpool2d', 'size': 3, 'stride': 2}, [2, 7, 7], 2),
    ('avgpool_2', {'type': 'avgpool2d', 'size': 2}, [3, 7, 5], 2),
    ('avgpool_32_s21', {'type': 'avgpool2d', 'size': [3, 2], 'stride': [2, 1]}, [2, 7, 5], 2),
    ('avgpool_2_s3', {'type': 'avgpool2d', 'size': 2, 'stride': 3}, [1, 8, 7], 3),
    ('dense', {'type': 'dense', 'units': 5}, [7], 3),
    ('dense_nobias', {'type': 'dense', 'units': 4, 'bias': False}, [6], 3),
    ('flatten', {'type': 'flatten'}, [2, 3, 5], 2),
    ('relu', {'type': 'relu'}, [3, 5, 4], 2),
    ('sigmoid', {'type': 'sigmoid'}, [3, 5, 4], 2),
    ('tanh', {'type': 'tanh'}, [3, 5, 4], 2),
    ('softmax', {'type': 'softmax'}, [9], 4),
]


def layer_params(spec, c):
    """Weights as convts (and PyTorch) lay them out, drawn as float32."""
    t = spec['type']
    if t == 'conv2d':
        kh, kw = pair(spec['kernel'])
        w = f32(spec['filters'], c, kh, kw, scale=0.5)
        return w, (f32(spec['filters'], scale=0.5) if spec.get('bias', True) else None)
    if t == 'dense':
        w = f32(spec['units'], c, scale=0.5)
        return w, (f32(spec['units'], scale=0.5) if spec.get('bias', True) else None)
    return None, None


def layer_forward(spec, x, w, b):
    t = spec['type']
    if t == 'conv2d':
        return F.conv2d(x, w, b, stride=pair(spec.get('stride', 1)), padding=pair(spec.get('padding', 0)))
    if t in ('maxpool2d', 'avgpool2d'):
        size = pair(spec['size'])
        stride = pair(spec.get('stride', spec['size']))
        pool = F.max_pool2d if t == 'maxpool2d' else F.avg_pool2d
        return pool(x, size, stride)
    if t == 'dense':
        return F.linear(x, w, b)
    if t == 'flatten':
        return torch.flatten(x, 1)
    if t == 'softmax':
        return torch.softmax(x, dim=1)
    return {'relu': torch.relu, 'sigmoid': torch.sigmoid, 'tanh': torch.tanh}[t](x)


def make_layers():
    torch.manual_seed(1)
    tensors = {}
    cases = []
    for name, spec, shape, n in LAYER_CASES:
        x = f32(n, *shape, scale=2.0).requires_grad_()
        w, b = layer_params(spec, shape[0])
        params = {k: v.requires_grad_() for k, v in (('weight', w), ('bias', b)) if v is not None}
        y = layer_forward(spec, x, w, b)
        dy = f32(*y.shape)
        y.backward(dy)
        tensors[f'{name}.x'] = x
        tensors[f'{name}.dy'] = dy
        tensors[f'{name}.y'] = y
        tensors[f'{name}.dx'] = x.grad
        for k, p in params.items():
            tensors[f'{name}.{k}'] = p
            tensors[f'{name}.d{k}'] = p.grad
        cases.append({'name': name, 'spec': spec, 'inputShape': shape, 'batch': n})
    write_safetensors(os.path.join(OUT, 'layers.safetensors'), tensors, {'cases': json.dumps(cases)})


# ---------------------------------------------------------------------------------------------
# Losses, as convts defines them (src/losses): cross-entropy = CrossEntropyLoss (mean);
# bce = BCEWithLogitsLoss(reduction='sum') / n on one-hot targets; mse = MSELoss (mean) on
# one-hot targets.
def loss_value(kind, z, labels, classes):
    onehot = F.one_hot(labels, classes).double()
    if kind == 'cross-entropy':
        return F.cross_entropy(z, labels)
    if kind == 'bce':
        return F.binary_cross_entropy_with_logits(z, onehot, reduction='sum') / z.shape[0]
    return F.mse_loss(z, onehot)


def make_losses():
    torch.manual_seed(2)
    big = torch.tensor([[100.0, -100.0, 0.5], [-100.0, 100.0, -0.5], [1e4, 1e4, -1e4], [-1e4, -1e4, -1e4]],
                       dtype=torch.float64)
    inputs = [
        ('cross-entropy', 'ce', f32(5, 7, scale=2.0), torch.randint(0, 7, (5,))),
        ('cross-entropy', 'ce_big', big.clone(), torch.tensor([0, 0, 1, 2])),
        ('bce', 'bce', f32(5, 7, scale=2.0), torch.randint(0, 7, (5,))),
        ('bce', 'bce_big', big.clone(), torch.tensor([0, 0, 1, 2])),
        ('mse', 'mse', torch.rand(6, 4).double(), torch.randint(0, 4, (6,))),
    ]
    tensors = {}
    cases = []
    for kind, name, z, labels in inputs:
        z.requires_grad_()
        loss = loss_value(kind, z, labels, z.shape[1])
        loss.backward()
        tensors[f'{name}.z'] = z
        tensors[f'{name}.labels'] = labels.double()
        tensors[f'{name}.loss'] = loss.reshape(1)
        tensors[f'{name}.dz'] = z.grad
        cases.append({'name': name, 'kind': kind})
    write_safetensors(os.path.join(OUT, 'losses.safetensors'), tensors, {'cases': json.dumps(cases)})


# ---------------------------------------------------------------------------------------------
# Optimizers (convts OptimizerSpec -> torch.optim) and learning-rate schedules.
OPTIM_CASES = [
    ('sgd', {'kind': 'sgd', 'lr': 0.1}),
    ('sgd_wd', {'kind': 'sgd', 'lr': 0.1, 'weightDecay': 0.1}),
    ('momentum', {'kind': 'momentum', 'lr': 0.1, 'momentum': 0.9}),
    ('momentum_wd', {'kind': 'momentum', 'lr': 0.1, 'momentum': 0.8, 'weightDecay': 0.1}),
    ('nesterov', {'kind': 'nesterov', 'lr': 0.1, 'momentum': 0.9}),
    ('nesterov_wd', {'kind': 'nesterov', 'lr': 0.1, 'momentum': 0.9, 'weightDecay': 0.1}),
    ('adam', {'kind': 'adam', 'lr': 0.01}),
    ('adam_wd', {'kind': 'adam', 'lr': 0.01, 'weightDecay': 0.1}),
]
STEPS = 3
PARAM_SHAPES = [(3, 4), (5,)]


def torch_optimizer(spec, params):
    wd = spec.get('weightDecay', 0.0)
    if spec['kind'] == 'adam':
        return torch.optim.Adam(params, lr=spec['lr'], weight_decay=wd)
    momentum = spec.get('momentum', 0.9) if spec['kind'] in ('momentum', 'nesterov') else 0.0
    return torch.optim.SGD(params, lr=spec['lr'], momentum=momentum, nesterov=spec['kind'] == 'nesterov',
                           weight_decay=wd)


SCHEDULES = [
    ('step', {'kind': 'step', 'stepSize': 3, 'gamma': 0.5}, 0.1, 12),
    ('cosine', {'kind': 'cosine', 'epochs': 10, 'minLr': 0.001}, 0.1, 11),
    ('cosine_to_zero', {'kind': 'cosine', 'epochs': 7}, 0.05, 8),
]


def torch_schedule(spec, opt):
    if spec['kind'] == 'step':
        return torch.optim.lr_scheduler.StepLR(opt, step_size=spec['stepSize'], gamma=spec['gamma'])
    return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=spec['epochs'], eta_min=spec.get('minLr', 0.0))


def make_optim():
    torch.manual_seed(3)
    init = [f32(*s) for s in PARAM_SHAPES]
    grads = [[f32(*s) for s in PARAM_SHAPES] for _ in range(STEPS)]
    tensors = {f'init.p{k}': p for k, p in enumerate(init)}
    for t, gs in enumerate(grads, 1):
        tensors.update({f'grad{t}.p{k}': g for k, g in enumerate(gs)})
    for name, spec in OPTIM_CASES:
        params = [p.clone().requires_grad_() for p in init]
        opt = torch_optimizer(spec, params)
        for t, gs in enumerate(grads, 1):
            for p, g in zip(params, gs):
                p.grad = g.clone()
            opt.step()
            tensors.update({f'{name}.step{t}.p{k}': p.detach().clone() for k, p in enumerate(params)})
    schedules = []
    for name, spec, base_lr, epochs in SCHEDULES:
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr)
        sched = torch_schedule(spec, opt)
        lrs = []
        for _ in range(epochs):
            lrs.append(opt.param_groups[0]['lr'])
            opt.step()
            sched.step()
        tensors[f'sched.{name}'] = torch.tensor(lrs, dtype=torch.float64)
        schedules.append({'name': name, 'spec': spec, 'baseLr': base_lr, 'epochs': epochs})
    meta = {'cases': json.dumps([{'name': n, 'spec': s} for n, s in OPTIM_CASES]), 'steps': str(STEPS),
            'params': str(len(PARAM_SHAPES)), 'schedules': json.dumps(schedules)}
    write_safetensors(os.path.join(OUT, 'optim.safetensors'), tensors, meta)


# ---------------------------------------------------------------------------------------------
# seed-mnist: conv(8, 5x5) relu conv(8, 5x5) relu maxpool 2 flatten dense 128 relu dense 10,
# then softmax + cross-entropy (builtinSpec('seed-mnist')) or sigmoid + BCE ({loss: 'bce'}).
# Parameter names are convts' (PyTorch state-dict style).
LR, MOMENTUM = 0.1, 0.9


def seed_mnist_logits(p, x):
    h = torch.relu(F.conv2d(x, p['conv1.weight'], p['conv1.bias']))
    h = torch.relu(F.conv2d(h, p['conv2.weight'], p['conv2.bias']))
    h = torch.flatten(F.max_pool2d(h, 2), 1)
    h = torch.relu(F.linear(h, p['fc1.weight'], p['fc1.bias']))
    return F.linear(h, p['fc2.weight'], p['fc2.bias'])


def make_seed_mnist():
    torch.manual_seed(4)
    # PyTorch's default initialization of the same layers (float32), biases included.
    modules = {'conv1': torch.nn.Conv2d(1, 8, 5), 'conv2': torch.nn.Conv2d(8, 8, 5),
               'fc1': torch.nn.Linear(800, 128), 'fc2': torch.nn.Linear(128, 10)}
    w0 = {f'{m}.{k}': v.detach().double() for m, mod in modules.items() for k, v in mod.named_parameters()}
    x = torch.rand(4, 1, 28, 28).double()
    labels = torch.randint(0, 10, (4,))
    tensors = {'x': x, 'labels': labels.double()}
    tensors.update({f'w0.{k}': v for k, v in w0.items()})
    for kind in ('cross-entropy', 'bce'):
        p = {k: v.clone().requires_grad_() for k, v in w0.items()}
        opt = torch.optim.SGD(p.values(), lr=LR, momentum=MOMENTUM)
        losses = []
        for step in (1, 2):
            opt.zero_grad()
            loss = loss_value(kind, seed_mnist_logits(p, x), labels, 10)
            loss.backward()
            losses.append(loss.item())
            if step == 1:
                tensors.update({f'{kind}.grad1.{k}': v.grad.clone() for k, v in p.items()})
            opt.step()
        tensors[f'{kind}.loss'] = torch.tensor(losses, dtype=torch.float64)
        # The change over two steps, not the weights: an update is small next to a weight, and
        # rtol on the weights themselves would hardly see a wrong one.
        tensors.update({f'{kind}.delta2.{k}': p[k].detach() - w0[k] for k in w0})
    meta = {'lr': str(LR), 'momentum': str(MOMENTUM), 'params': json.dumps(list(w0))}
    write_safetensors(os.path.join(OUT, 'seed-mnist.safetensors'), tensors, meta)


if __name__ == '__main__':
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    make_layers()
    make_losses()
    make_optim()
    make_seed_mnist()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from fixtures_modern import make_modern_layers
    make_modern_layers(OUT, write_safetensors, f32)
