"""PyTorch side of `convts bench --compare torch`: the same networks, batches and timing rules.

Runs as a server so that torch is imported once and the two sides take turns slice by slice. Started as
`bench_torch.py THREADS` (torch.set_num_threads once); each stdin line is answered by one JSON line:
  setup NET MODE BATCH LAYOUT  builds the network, its input and optimizer → {"ok": true, "id": ID}
                         (NET: seed-mnist, seed-cifar, or a convts model.json, built by
                         tools/convts_torch.py with batch norm in training mode; LAYOUT: nchw, or
                         channels-last, which oneDNN runs faster on many CPUs; several stay set up)
  conv N C H W K KH KW SH SW PH PW PASS LAYOUT  one convolution's PASS (forward, data: the input
                         gradient, filter: the weight gradient) as a training step runs it
                         (aten.convolution_backward), random data → {"ok": true, "id": ID}
  run ID SECONDS [STEPS] steps of setup ID for at least SECONDS and STEPS
                                                   → {"images", "seconds", "cpuSeconds"}
  drop ID                frees setup ID                               → {"ok": true}
bench/torch.ts starts it with OPENBLAS_NUM_THREADS=1 and glibc's malloc thresholds raised.
"""
import json
import os
import sys
import time

import torch
import torch.nn as nn

NETS = {"seed-mnist": (1, 28, 8), "seed-cifar": (3, 32, 10)}  # channels, size, filters


def build(name):
    c, size, f = NETS[name]
    flat = f * ((size - 8) // 2) ** 2
    return nn.Sequential(
        nn.Conv2d(c, f, 5), nn.ReLU(), nn.Conv2d(f, f, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(flat, 128), nn.ReLU(), nn.Linear(128, 10))


def build_any(name):
    """The network and its input shape: a built-in by name, or any convts spec file."""
    if name.endswith('.json'):
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import convts_torch
        with open(name) as f:
            spec = json.load(f)
        model = convts_torch.build(spec)
        classes = convts_torch.out_shape(model, spec['input'])[0]
        return model, list(spec['input']), classes
    c, size, _ = NETS[name]
    return build(name), [c, size, size], 10


def memory_format(layout):
    if layout not in ("nchw", "channels-last"):
        raise ValueError(f"layout {layout!r}: expected nchw or channels-last")
    return torch.channels_last if layout == "channels-last" else torch.contiguous_format


def make_step(name, mode, batch, layout):
    torch.manual_seed(0)
    fmt = memory_format(layout)
    model, shape, classes = build_any(name)
    model = model.to(memory_format=fmt)
    x = torch.randn(batch, *shape).contiguous(memory_format=fmt)
    y = torch.randint(0, classes, (batch,))
    if mode == "infer":
        model.eval()

        def step():
            with torch.no_grad():
                model(x)
        return step
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    return step


def make_conv(n, c, h, w, k, kh, kw, sh, sw, ph, pw, pass_, layout):
    """One pass of a bias-free convolution; `n` images per call."""
    torch.manual_seed(0)
    fmt = memory_format(layout)
    x = torch.randn(n, c, h, w).contiguous(memory_format=fmt)
    wt = torch.randn(k, c, kh, kw).contiguous(memory_format=fmt)
    stride, padding = [sh, sw], [ph, pw]
    y = torch.nn.functional.conv2d(x, wt, None, stride, padding)
    dy = torch.randn_like(y)
    if pass_ == "forward":
        return lambda: torch.nn.functional.conv2d(x, wt, None, stride, padding)
    mask = {"data": [True, False, False], "filter": [False, True, False]}[pass_]
    return lambda: torch.ops.aten.convolution_backward(dy, x, wt, None, stride, padding, [1, 1], False, [0, 0], 1,
                                                       mask)


def run(step, batch, seconds, min_steps=1):
    steps, cpu0, t0 = 0, time.process_time(), time.perf_counter()
    while True:
        step()
        steps += 1
        dt = time.perf_counter() - t0
        if dt >= seconds and steps >= min_steps:
            break
    return {"images": steps * batch, "seconds": dt, "cpuSeconds": time.process_time() - cpu0}


def main():
    torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
    steps, ids = {}, 0  # id → (step, images a step)
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        if parts[0] in ("setup", "conv"):
            if parts[0] == "setup":
                layout = parts[4] if len(parts) > 4 else "nchw"
                steps[ids] = (make_step(parts[1], parts[2], int(parts[3]), layout), int(parts[3]))
            else:
                steps[ids] = (make_conv(*[int(v) for v in parts[1:12]], parts[12], parts[13]), int(parts[1]))
            reply = {"ok": True, "id": ids, "version": torch.__version__}
            ids += 1
        elif parts[0] == "drop":
            del steps[int(parts[1])]
            reply = {"ok": True}
        else:
            step, batch = steps[int(parts[1])]
            reply = run(step, batch, float(parts[2]), int(parts[3]) if len(parts) > 3 else 1)
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
