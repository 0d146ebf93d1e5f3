"""PyTorch side of `convts bench --compare torch`: the same networks, batches and timing rules.

Runs as a server so that torch is imported once and the two sides take turns slice by slice. Started as
`bench_torch.py THREADS` (torch.set_num_threads once); each stdin line is answered by one JSON line:
  setup NET MODE BATCH   builds the network, its input and optimizer  → {"ok": true}
                         (NET: seed-mnist, seed-cifar, or a convts model.json, built by
                         tools/convts_torch.py with batch norm in training mode)
  run SECONDS            steps for at least SECONDS                  → {"images", "seconds", "cpuSeconds"}
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


def make_step(name, mode, batch):
    torch.manual_seed(0)
    model, shape, classes = build_any(name)
    x = torch.randn(batch, *shape)
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


def run(step, batch, seconds):
    steps, cpu0, t0 = 0, time.process_time(), time.perf_counter()
    while True:
        step()
        steps += 1
        dt = time.perf_counter() - t0
        if dt >= seconds:
            break
    return {"images": steps * batch, "seconds": dt, "cpuSeconds": time.process_time() - cpu0}


def main():
    torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
    step, batch = None, 0
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "setup":
            step, batch = make_step(parts[1], parts[2], int(parts[3])), int(parts[3])
            reply = {"ok": True, "version": torch.__version__}
        else:
            reply = run(step, batch, float(parts[1]))
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
