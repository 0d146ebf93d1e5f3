#!/usr/bin/python3
"""A convts MNIST run, loaded into PyTorch, evaluated there and exported by torch.onnx.export.

The acceptance check of ONNX import: `convts import` of the file this writes must evaluate to the
accuracy PyTorch prints. The network gets the run's normalization from its config.json (the graph
takes normalized images, as PyTorch users export them). Usage:

    /usr/bin/python3 tools/torch_export_onnx.py <run-dir> <mnist-dir> <out.onnx>
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_load_check import build, idx, read_safetensors  # noqa: E402


def main(run, data, out):
    net = build(json.load(open(f'{run}/model.json')))
    net.load_state_dict(read_safetensors(f'{run}/model.safetensors'), strict=True)
    net.eval()
    norm = json.load(open(f'{run}/config.json'))['normalization']
    mean, std = norm['mean'][0], norm['std'][0]
    images = idx(f'{data}/t10k-images-idx3-ubyte.gz').astype(np.float32)
    x = torch.from_numpy(((images / 255 - mean) / std).astype(np.float32)).unsqueeze(1)
    y = torch.from_numpy(idx(f'{data}/t10k-labels-idx1-ubyte.gz').astype(np.int64))
    with torch.no_grad():
        acc = (net(x).argmax(1) == y).double().mean().item()
    torch.onnx.export(net, x[:1], out, opset_version=13, input_names=['input'], output_names=['output'],
                      dynamic_axes={'input': {0: 'batch'}, 'output': {0: 'batch'}})
    print(f'PyTorch accuracy {100 * acc:.2f} % on {len(y)} test images; wrote {out}')
    print(f'import with: convts import {out} --out RUN --dataset mnist --mean {mean!r} --std {std!r}')


if __name__ == '__main__':
    main(*sys.argv[1:4])
