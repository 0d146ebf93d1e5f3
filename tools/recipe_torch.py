"""PyTorch side of the recipe comparison: a convts model spec trained with the recipe it carries
(its "recipe" object: the `convts train` flags), the same network built by convts_torch.build.

What `convts train` does, step for step: MNIST (train 60,000, test 10,000) or CIFAR-10 with
--val 10000 (data_batch_1..4 to train on, data_batch_5 to evaluate), z-scored per channel with the
training images' statistics; weights started as convts starts them (the model's "init", a layer's
own "init", "dirac", "patch-whitening" from the first 5,000 training images as the first batch
draws them); seeded shuffles; random shifts padded with black pixels (or reflected: shift:N:reflect), flips
(flip:alternate: every other epoch per image), rotations and zooms ("augment");
SGD (momentum / Nesterov) or Adam with coupled weight decay, biases and batch-norm parameters left
out with "wd-skip-norm"; the layers' "freeze" (requires_grad off), "freezeAfter" (off after that
many epochs), "lrScale" and "weightDecay" as parameter groups; the schedule
(onecycle[:PEAK[:DIV[:FINAL[:linear]]]] as OneCycleLR without momentum cycling, stepped per batch;
cosine, cosine:batch, step:N:G); label smoothing; lookahead ("K:D", as src/train/recipe.ts);
test-time averaging ("tta": flip, flip-translate, translate); "eval-every".
Prints one JSON line per epoch: training seconds, evaluation seconds (0 when the epoch is not
evaluated, accuracy then null), process CPU seconds, images/s. Data loading is excluded, as on the
convts side.

Run it at PyTorch's best on this machine (as bench/torch.ts does): two threads,
OPENBLAS_NUM_THREADS=1, glibc's malloc thresholds raised:
  OPENBLAS_NUM_THREADS=1 MALLOC_MMAP_THRESHOLD_=1073741824 MALLOC_TRIM_THRESHOLD_=1073741824 \
  MALLOC_TOP_PAD_=268435456 /usr/bin/python3 tools/recipe_torch.py models/convts-cifar.json \
  ../shared/datasets [--epochs N] [--train-limit N] [--test-limit N] [--threads 2] [--channels-last]
--epochs N overrides the recipe's epochs as `convts train --epochs` does (the schedule and lookahead
span N epochs); --stop-after N runs only the first N epochs of the run (to time an epoch of it).
"""
import argparse
import json
import re
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from convts_torch import averaged_logits, build, freeze_after, initialize, layer_options, patch_whitening
from recipe_data import augment, load, rotate_scale

KNOWN = {'epochs', 'batch-size', 'optimizer', 'lr', 'momentum', 'weight-decay', 'wd-skip-norm', 'schedule',
         'label-smoothing', 'augment', 'tta', 'lookahead', 'eval-every'}


def optimizer(model, spec, r):
    """The recipe's optimizer over parameter groups of equal lrScale and weight decay; frozen
    parameters get requires_grad = False and no group. Returns it and each group's lr scale."""
    kind = r.get('optimizer', 'momentum')
    wd = float(r.get('weight-decay', 0.01 if kind == 'adamw' else 0))
    skip = bool(r.get('wd-skip-norm'))
    groups = {}
    for p, (frozen, scale, own_wd, norm) in layer_options(spec, model).items():
        if frozen:
            p.requires_grad_(False)
            continue
        decay = own_wd if own_wd is not None else 0 if skip and norm else wd
        groups.setdefault((scale, decay), []).append(p)
    lr = float(r.get('lr', 0.01))
    pg = [{'params': ps, 'lr': lr * s, 'weight_decay': d} for (s, d), ps in groups.items()]
    if kind in ('sgd', 'momentum', 'nesterov'):
        opt = torch.optim.SGD(pg, lr=lr, momentum=0 if kind == 'sgd' else float(r.get('momentum', 0.9)),
                              nesterov=kind == 'nesterov')
    elif kind in ('adam', 'adamw'):
        opt = (torch.optim.Adam if kind == 'adam' else torch.optim.AdamW)(pg, lr=lr)
    else:
        raise SystemExit(f'recipe "optimizer": unknown {kind!r}')
    return opt, [lr * s for s, _ in groups]


def scheduler(opt, max_lrs, text, epochs, steps):
    """(scheduler, per_batch) for the recipe's "schedule", as src/optim/schedule.ts computes it."""
    if text in (None, 'constant'):
        return None, False
    m = re.fullmatch(r'onecycle(?::([\d.eE+-]+))?(?::([\d.eE+-]+))?(?::([\d.eE+-]+))?(:linear)?', text)
    if m:
        return torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=max_lrs, total_steps=epochs * steps, pct_start=float(m[1] or 0.3),
            div_factor=float(m[2] or 25), final_div_factor=float(m[3] or 1e4),
            anneal_strategy='linear' if m[4] else 'cos', cycle_momentum=False), True
    if text in ('cosine', 'cosine:batch'):
        per_batch = text == 'cosine:batch'
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs * (steps if per_batch else 1)), per_batch
    m = re.fullmatch(r'step:(\d+):([\d.eE+-]+)', text)
    if m:
        return torch.optim.lr_scheduler.StepLR(opt, int(m[1]), float(m[2])), False
    raise SystemExit(f'recipe "schedule": unknown {text!r}')


class Lookahead:
    """Lookahead as src/train/recipe.ts: every K steps slow = d·slow + (1 − d)·w and w = slow, with
    d = D^K·(t/T)³ after t of the run's T steps; weights and batch norm's running statistics alike."""

    def __init__(self, model, text, total):
        every, decay = text.split(':')
        self.every, self.decay, self.total = int(every), float(decay), total
        self.tensors = [p.data for p in model.parameters()] + \
                       [b for b in model.buffers() if b.dtype == torch.float32]
        self.slow = [t.clone() for t in self.tensors]

    @torch.no_grad()
    def after_step(self, done):
        if done % self.every:
            return
        d = self.decay ** self.every * min(done / self.total, 1) ** 3
        for w, s in zip(self.tensors, self.slow):
            s.mul_(d).add_(w, alpha=1 - d)
            w.copy_(s)

    @torch.no_grad()
    def finish(self):
        for w, s in zip(self.tensors, self.slow):
            w.copy_(s)


def evaluate(model, x, y, tta):
    model.eval()
    right = 0
    with torch.no_grad():
        for s in range(0, len(x), 500):
            right += (averaged_logits(model, x[s:s + 500], tta).argmax(1) == y[s:s + 500]).sum().item()
    model.train()
    return right / len(x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('spec')
    ap.add_argument('data_dir')
    ap.add_argument('--epochs', type=int, help="the run's epochs [the recipe's]")
    ap.add_argument('--stop-after', type=int, help='run only the first N epochs of the run')
    ap.add_argument('--train-limit', type=int)
    ap.add_argument('--test-limit', type=int)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--channels-last', action='store_true',
                    help='NHWC tensors (faster for some nets in PyTorch 1.13 on CPU: time both)')
    a = ap.parse_args()
    spec = json.load(open(a.spec))
    r = spec.get('recipe', {})
    unknown = sorted(set(r) - KNOWN)
    if unknown:
        raise SystemExit(f'{a.spec}: recipe key {unknown[0]!r} is not reproduced here (known: {", ".join(sorted(KNOWN))})')
    epochs = a.epochs or int(r.get('epochs', 1))
    batch = int(r.get('batch-size', 32))
    every = int(r.get('eval-every', 1))
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)

    xtr, ytr, xte, yte, black = load(spec, a.data_dir, a.train_limit, a.test_limit)
    aug = str(r.get('augment', 'off')).split(',')
    shifts = [re.fullmatch(r'shift:(\d+)(:reflect)?', p) for p in aug]
    shift = next((int(m[1]) for m in shifts if m), 0)
    reflect = any(m and m[2] for m in shifts)
    alternate = 'flip:alternate' in aug
    flip = 'flip' in aug or alternate
    # flip:alternate: every image flipped in every other epoch, from a random orientation of its own.
    first_flip = torch.rand(len(xtr), generator=gen) < 0.5 if alternate else None
    epoch_now = [1]
    degrees = next((float(p[7:]) for p in aug if p.startswith('rotate:')), 0)
    scale = next((float(p[6:]) for p in aug if p.startswith('scale:')), 0)
    def moves(xb, idx=None):
        if not (shift or flip):
            return xb
        flips = None
        if alternate:
            chosen = first_flip[idx] if idx is not None else first_flip[:len(xb)]
            flips = chosen ^ bool(epoch_now[0] % 2 == 0)
        return augment(xb, shift, flip, black, gen, reflect, flips)

    def layout(xb):
        return xb.contiguous(memory_format=torch.channels_last) if a.channels_last else xb

    def draw(xb, idx=None):
        return moves(rotate_scale(xb, degrees, scale, black, gen) if degrees or scale else xb, idx)

    model = build(spec)
    initialize(model, spec)
    # convts whitens the first 5,000 images as the first epoch's batches draw them (augmented).
    patch_whitening(model, spec, draw(xtr[:5000]))
    if a.channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt, max_lrs = optimizer(model, spec, r)
    steps = (len(xtr) + batch - 1) // batch
    sched, per_batch = scheduler(opt, max_lrs, r.get('schedule'), epochs, steps)
    look = Lookahead(model, r['lookahead'], epochs * steps) if r.get('lookahead') else None
    ls = float(r.get('label-smoothing', 0))
    tta = r.get('tta') if r.get('tta') in ('flip', 'flip-translate', 'translate') else None
    train_s = eval_s = 0.0
    done = 0
    model.train()
    after = freeze_after(spec, model)
    for epoch in range(1, min(epochs, a.stop_after or epochs) + 1):
        c0, t0 = time.process_time(), time.perf_counter()
        for p, n in after.items():  # with its grad None, the optimizer skips it as convts does
            p.requires_grad_(epoch <= n)
        epoch_now[0] = epoch
        order = torch.randperm(len(xtr), generator=gen)
        for s in range(0, len(xtr), batch):
            idx = order[s:s + batch]
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(layout(draw(xtr[idx], idx))), ytr[idx], label_smoothing=ls).backward()
            opt.step()
            done += 1
            if look:
                look.after_step(done)
            if sched and per_batch:
                sched.step()
        if sched and not per_batch:
            sched.step()
        last = epoch == epochs
        if look and last:
            look.finish()
        t1 = time.perf_counter()
        acc = evaluate(model, xte, yte, tta) if epoch % every == 0 or last else None
        t2 = time.perf_counter()
        train_s += t1 - t0
        eval_s += t2 - t1
        print(json.dumps({'epoch': epoch, 'accuracy': acc, 'trainSeconds': round(train_s, 2),
                          'evalSeconds': round(eval_s, 2), 'epochSeconds': round(t1 - t0, 2),
                          'cpuSeconds': round(time.process_time() - c0, 2),
                          'imagesPerSecond': round(len(xtr) / (t1 - t0), 1)}), flush=True)


if __name__ == '__main__':
    main()
