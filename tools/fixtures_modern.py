"""Fixtures of the layers of modern CNNs (batch norm, "same" padding, global pools, leaky ReLU,
GELU, residual blocks), written by tools/make_fixtures.py into test/fixtures/modern-layers.safetensors.

Each case is a convts layer spec, turned into the PyTorch module convts saves it as
(tools/convts_torch.py), run in float64 in training or evaluation mode. Tensor names are
"<case>.<what>", with parameters and buffers under their state-dict names below the layer
("layers.bn1.weight" in a block)."""
import json
import os

import torch

from convts_torch import layer_module

# (name, spec, per-sample input shape, batch, training)
CASES = [
    ('bn2d_train', {'type': 'batchnorm'}, [3, 4, 5], 3, True),
    ('bn2d_eval', {'type': 'batchnorm'}, [3, 4, 5], 3, False),
    ('bn2d_momentum_eps', {'type': 'batchnorm', 'momentum': 0.3, 'eps': 0.01}, [2, 3, 3], 4, True),
    ('bn2d_noaffine', {'type': 'batchnorm', 'affine': False}, [2, 3, 3], 2, True),
    ('bn1d_train', {'type': 'batchnorm'}, [6], 5, True),
    ('bn1d_eval', {'type': 'batchnorm'}, [6], 4, False),
    ('conv_same', {'type': 'conv2d', 'filters': 3, 'kernel': 3, 'padding': 'same'}, [2, 5, 6], 2, False),
    ('conv_same_53_s2', {'type': 'conv2d', 'filters': 2, 'kernel': [5, 3], 'padding': 'same', 'stride': 2}, [2, 7, 6],
     2, False),
    ('globalavgpool', {'type': 'globalavgpool'}, [3, 4, 5], 2, False),
    ('globalmaxpool', {'type': 'globalmaxpool'}, [3, 4, 5], 2, False),
    ('leaky_relu', {'type': 'leaky-relu', 'slope': 0.1}, [3, 5, 4], 2, False),
    ('leaky_relu_default', {'type': 'leaky-relu'}, [8], 2, False),
    ('gelu', {'type': 'gelu'}, [3, 5, 4], 2, False),
    ('residual_identity', {'type': 'residual', 'layers': [
        {'type': 'conv2d', 'filters': 3, 'kernel': 3, 'padding': 'same', 'bias': False},
        {'type': 'batchnorm'}, {'type': 'relu'},
        {'type': 'conv2d', 'filters': 3, 'kernel': 3, 'padding': 'same', 'bias': False}, {'type': 'batchnorm'}]},
     [3, 5, 5], 2, True),
    ('residual_conv_shortcut', {'type': 'residual', 'layers': [
        {'type': 'conv2d', 'filters': 4, 'kernel': 3, 'padding': 1, 'stride': 2}, {'type': 'gelu'}],
        'shortcut': {'conv': 1, 'stride': 2}}, [2, 5, 5], 2, False),
    ('residual_nested_eval', {'type': 'residual', 'layers': [
        {'type': 'batchnorm'},
        {'type': 'residual', 'layers': [{'type': 'conv2d', 'filters': 2, 'kernel': 3, 'padding': 'same'},
                                        {'type': 'leaky-relu', 'slope': 0.2}]}]}, [2, 4, 3], 2, False),
]


def make_modern_layers(out_dir, write_safetensors, f32):
    torch.manual_seed(5)
    tensors, cases = {}, []
    for name, spec, shape, n, training in CASES:
        m = layer_module(spec, shape).double()
        with torch.no_grad():
            for pname, p in m.named_parameters():
                base = 1.0 if pname.endswith('weight') and p.dim() == 1 else 0.0  # batch-norm scale near 1
                p.copy_(base + f32(*p.shape, scale=0.5))
            for bname, b in m.named_buffers():
                if bname.endswith('running_mean'):
                    b.copy_(f32(*b.shape, scale=0.5))
                elif bname.endswith('running_var'):
                    b.copy_(torch.rand(*b.shape).double() + 0.5)
        m.train(training)
        bufs = {k: v.detach().clone() for k, v in m.named_buffers() if not k.endswith('num_batches_tracked')}
        x = f32(n, *shape, scale=2.0).requires_grad_()
        y = m(x)
        dy = f32(*y.shape)
        y.backward(dy)
        tensors.update({f'{name}.x': x, f'{name}.dy': dy, f'{name}.y': y, f'{name}.dx': x.grad})
        for pname, p in m.named_parameters():
            tensors[f'{name}.p.{pname}'] = p
            tensors[f'{name}.d.{pname}'] = p.grad
        for bname, b in bufs.items():
            tensors[f'{name}.buf.{bname}'] = b
            tensors[f'{name}.after.{bname}'] = dict(m.named_buffers())[bname].detach().clone()
        cases.append({'name': name, 'spec': spec, 'inputShape': shape, 'batch': n, 'training': training,
                      'params': [k for k, _ in m.named_parameters()], 'buffers': list(bufs)})
    write_safetensors(os.path.join(out_dir, 'modern-layers.safetensors'), tensors, {'cases': json.dumps(cases)})
