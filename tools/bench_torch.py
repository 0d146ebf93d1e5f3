"""PyTorch side of `npm run bench -- --compare torch`: the same networks, batches and timing rule.

Runs as a server so that torch is imported once and the two sides can alternate: each stdin line
"net mode batch seconds threads" is answered by one JSON line on stdout. Run it with /usr/bin/python3 (Debian's
python3-torch), OPENBLAS_NUM_THREADS=1 and glibc's malloc thresholds raised; bench/kernels.ts does.
"""
import json
import sys
import time

import torch
import torch.nn as nn

torch.manual_seed(0)

NETS = {"seed-mnist": (1, 28, 8), "seed-cifar": (3, 32, 10)}  # channels, size, filters


def build(name):
    c, size, f = NETS[name]
    flat = f * ((size - 8) // 2) ** 2
    return nn.Sequential(
        nn.Conv2d(c, f, 5), nn.ReLU(), nn.Conv2d(f, f, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(flat, 128), nn.ReLU(), nn.Linear(128, 10))


def timed(step, batch, seconds):
    """Median images/s over five chunks of about seconds/5 after a warm-up, and images per second of
    process CPU time over the five (the rules src/cli/bench.ts uses)."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < min(0.2, seconds / 4):
        step()
    rates, images, cpu0 = [], 0, time.process_time()
    for _ in range(5):
        steps, t0 = 0, time.perf_counter()
        while True:
            step()
            steps += 1
            dt = time.perf_counter() - t0
            if dt >= seconds / 5:
                break
        rates.append(steps * batch / dt)
        images += steps * batch
    cpu = time.process_time() - cpu0
    rates.sort()
    return rates[2], images / cpu


def measure(name, mode, batch, seconds):
    c, size, _ = NETS[name]
    model = build(name)
    x = torch.randn(batch, c, size, size)
    y = torch.randint(0, 10, (batch,))
    if mode == "infer":
        model.eval()

        def step():
            with torch.no_grad():
                model(x)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        loss_fn = nn.CrossEntropyLoss()

        def step():
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()
    return timed(step, batch, seconds)


def main():
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        name, mode, batch, seconds, threads = parts[0], parts[1], int(parts[2]), float(parts[3]), int(parts[4])
        torch.set_num_threads(threads)
        ips, cpu_ips = measure(name, mode, batch, seconds)
        print(json.dumps({"net": name, "mode": mode, "batch": batch, "backend": "pytorch-" + torch.__version__,
                          "threads": threads, "imagesPerSecond": round(ips, 1),
                          "imagesPerCpuSecond": round(cpu_ips, 1)}), flush=True)


if __name__ == "__main__":
    main()
