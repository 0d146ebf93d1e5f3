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


# ---------------------------------------------------------------------------------------------
# Training aids: AdamW (with biases and norm parameters left out of the decay), label smoothing,
# gradient clipping, warm-up and one-cycle learning rates, the weight average; and two training
# steps of a small residual network with batch norm.
RESNET = {'input': [3, 8, 8], 'loss': 'cross-entropy', 'layers': [
    {'type': 'conv2d', 'filters': 4, 'kernel': 3, 'padding': 'same', 'bias': False},
    {'type': 'batchnorm'}, {'type': 'relu'},
    {'type': 'residual', 'layers': [
        {'type': 'conv2d', 'filters': 8, 'kernel': 3, 'padding': 'same', 'stride': 2, 'bias': False},
        {'type': 'batchnorm'}, {'type': 'relu'},
        {'type': 'conv2d', 'filters': 8, 'kernel': 3, 'padding': 'same', 'bias': False},
        {'type': 'batchnorm'}], 'shortcut': {'conv': 1, 'stride': 2}},
    {'type': 'relu'}, {'type': 'globalavgpool'}, {'type': 'dense', 'units': 5}]}


def make_modern_training(out_dir, write_safetensors, f32):
    from convts_torch import build
    import torch.nn.functional as F
    torch.manual_seed(6)
    tensors, meta = {}, {}
    # AdamW: p0 is a weight, p1 a bias; with skipNormDecay the bias gets no decay.
    init = [f32(3, 4), f32(5)]
    grads = [[f32(3, 4), f32(5)] for _ in range(3)]
    tensors.update({f'init.p{k}': p for k, p in enumerate(init)})
    for t, gs in enumerate(grads, 1):
        tensors.update({f'grad{t}.p{k}': g for k, g in enumerate(gs)})
    cases = [('adamw', {'kind': 'adamw', 'lr': 0.01, 'weightDecay': 0.1}),
             ('adamw_default_wd', {'kind': 'adamw', 'lr': 0.02}),
             ('adamw_skip', {'kind': 'adamw', 'lr': 0.01, 'weightDecay': 0.1, 'skipNormDecay': True}),
             ('momentum_skip', {'kind': 'momentum', 'lr': 0.1, 'momentum': 0.9, 'weightDecay': 0.1,
                                'skipNormDecay': True})]
    for name, spec in cases:
        params = [p.clone().requires_grad_() for p in init]
        wd = spec.get('weightDecay', 0.01 if spec['kind'] == 'adamw' else 0.0)
        groups = [{'params': [params[0]], 'weight_decay': wd},
                  {'params': [params[1]], 'weight_decay': 0.0 if spec.get('skipNormDecay') else wd}]
        if spec['kind'] == 'adamw':
            opt = torch.optim.AdamW(groups, lr=spec['lr'])
        else:
            opt = torch.optim.SGD(groups, lr=spec['lr'], momentum=spec['momentum'])
        for t, gs in enumerate(grads, 1):
            for p, g in zip(params, gs):
                p.grad = g.clone()
            opt.step()
            tensors.update({f'{name}.step{t}.p{k}': p.detach().clone() for k, p in enumerate(params)})
    meta['optim'] = json.dumps([{'name': n, 'spec': s} for n, s in cases])

    # Label smoothing 0.1 and 0.3 on 5 samples of 7 classes.
    z = f32(5, 7, scale=2.0)
    labels = torch.randint(0, 7, (5,))
    tensors.update({'ls.z': z, 'ls.labels': labels.double()})
    for eps in (0.1, 0.3):
        zz = z.clone().requires_grad_()
        loss = F.cross_entropy(zz, labels, label_smoothing=eps)
        loss.backward()
        tensors[f'ls{eps}.loss'] = loss.reshape(1)
        tensors[f'ls{eps}.dz'] = zz.grad

    # clip_grad_norm_ to 1.0 (clips) and to 100 (leaves alone).
    for maxn in (1.0, 100.0):
        ps = [g.clone().requires_grad_() for g in init]
        for p, g in zip(ps, grads[0]):
            p.grad = g.clone()
        norm = torch.nn.utils.clip_grad_norm_(ps, maxn)
        tensors[f'clip{int(maxn)}.norm'] = norm.reshape(1)
        tensors.update({f'clip{int(maxn)}.g{k}': p.grad for k, p in enumerate(ps)})

    # Learning rates per step: OneCycleLR (no momentum cycling) and linear warm-up (LinearLR).
    scheds = []
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.4, total_steps=3 * 7, cycle_momentum=False)
    lrs = []
    for _ in range(21):
        lrs.append(opt.param_groups[0]['lr'])
        opt.step()
        sched.step()
    tensors['sched.onecycle'] = torch.tensor(lrs, dtype=torch.float64)
    scheds.append({'name': 'onecycle', 'spec': {'kind': 'onecycle'}, 'baseLr': 0.4, 'epochs': 3, 'stepsPerEpoch': 7})
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    sched = torch.optim.lr_scheduler.LinearLR(opt, start_factor=1 / 5, total_iters=4)
    lrs = []
    for _ in range(12):
        lrs.append(opt.param_groups[0]['lr'])
        opt.step()
        sched.step()
    tensors['sched.warmup'] = torch.tensor(lrs, dtype=torch.float64)
    scheds.append({'name': 'warmup', 'spec': {'kind': 'constant'}, 'baseLr': 0.1, 'epochs': 3, 'stepsPerEpoch': 4,
                   'warmupSteps': 5})
    meta['schedules'] = json.dumps(scheds)

    # The weight average: AveragedModel with ema = 0.9·ema + 0.1·w over three SGD steps.
    net = torch.nn.Linear(4, 3).double()
    avg = torch.optim.swa_utils.AveragedModel(net, avg_fn=lambda a, w, n: 0.9 * a + 0.1 * w)
    sgd = torch.optim.SGD(net.parameters(), lr=0.5)
    tensors.update({f'ema.w0.{k}': v.detach().clone() for k, v in net.named_parameters()})
    avg.update_parameters(net)  # the first update copies: the average starts at the initial weights
    for t in range(1, 4):
        sgd.zero_grad()
        net(f32(2, 4)).pow(2).sum().backward()
        sgd.step()
        avg.update_parameters(net)
        tensors.update({f'ema.w{t}.{k}': v.detach().clone() for k, v in net.named_parameters()})
    tensors.update({f'ema.avg.{k}': v.detach().clone() for k, v in avg.module.named_parameters()})

    # Two momentum steps of a residual network with batch norm, from PyTorch's default init.
    net = build(RESNET).double()
    net.train()
    w0 = {k: v.detach().clone() for k, v in net.state_dict().items()}
    x = f32(6, 3, 8, 8)
    labels = torch.randint(0, 5, (6,))
    tensors.update({'resnet.x': x, 'resnet.labels': labels.double()})
    tensors.update({f'resnet.w0.{k}': v.double() for k, v in w0.items()})
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for step in (1, 2):
        opt.zero_grad()
        loss = F.cross_entropy(net(x), labels)
        loss.backward()
        losses.append(loss.item())
        if step == 1:
            tensors.update({f'resnet.grad1.{k}': p.grad.clone() for k, p in net.named_parameters()})
        opt.step()
    tensors['resnet.loss'] = torch.tensor(losses, dtype=torch.float64)
    tensors.update({f'resnet.delta2.{k}': p.detach() - w0[k] for k, p in net.named_parameters()})
    tensors.update({f'resnet.after.{k}': b.detach().clone().double() for k, b in net.named_buffers()
                    if not k.endswith('num_batches_tracked')})
    meta['resnet'] = json.dumps({'spec': RESNET, 'params': [k for k, _ in net.named_parameters()],
                                 'state': list(w0), 'lr': 0.1, 'momentum': 0.9})
    write_safetensors(os.path.join(out_dir, 'modern-training.safetensors'), tensors, meta)
