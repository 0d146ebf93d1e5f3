"""PyTorch side of `convts bench --compare torch`: the same networks, batches and timing rules.

Runs as a server so that torch is imported once and the two sides take turns slice by slice. Started as
`bench_torch.py THREADS` (torch.set_num_threads once); each stdin line is answered by one JSON line:
  setup NET MODE BATCH   builds the network, its input and optimizer  → {"ok": true}
  run SECONDS            steps for at least SECONDS                  → {"images", "seconds", "cpuSeconds"}
bench/torch.ts starts it with OPENBLAS_NUM_THREADS=1 and glibc's malloc thresholds raised.
"""
import json
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


def make_step(name, mode, batch):
    c, size, _ = NETS[name]
    torch.manual_seed(0)
    model = build(name)
    x = torch.randn(batch, c, size, size)
    y = torch.randint(0, 10, (batch,))
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
