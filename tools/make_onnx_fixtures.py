#!/usr/bin/python3
"""ONNX files exported by PyTorch, for test/onnx-import.test.ts.

Regenerate (needs PyTorch; the tests never do):

    /usr/bin/python3 tools/make_onnx_fixtures.py    # rewrites test/fixtures/onnx/*

Written with torch 1.13 on CPU, torch.onnx.export at opset 13 with a dynamic batch, of nets in eval mode.
Each network gets seeded random weights (biases too, and batch-norm statistics) and 3 random
inputs; <name>.onnx is the export and <name>.json holds the inputs and PyTorch's outputs, so the
test can import the file and compare convts's forward pass with PyTorch's.

  seed-mnist     nn.Sequential as convts builds it: conv 8@5x5, relu, conv, relu, maxpool, Flatten, Linear
                 (Gemm), relu, Linear
  seed-cifar     a Module whose forward calls x.view(x.size(0), -1) (Shape, Gather, Unsqueeze, Concat,
                 Reshape), avg pooling, tanh
  bn-gap         conv with stride and padding, BatchNorm2d, relu, conv without bias, BatchNorm2d,
                 sigmoid, global average pooling, Flatten, Linear, BatchNorm1d, dropout, a MatMul +
                 Add head and Softmax
"""
import json
import os

import torch
import torch.nn as nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'onnx')


def seed_mnist():
    return nn.Sequential(nn.Conv2d(1, 8, 5), nn.ReLU(), nn.Conv2d(8, 8, 5), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(800, 128), nn.ReLU(), nn.Linear(128, 10)), [1, 28, 28]


class SeedCifar(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 10, 5)
        self.conv2 = nn.Conv2d(10, 10, 5)
        self.pool = nn.AvgPool2d(2)
        self.fc1 = nn.Linear(1440, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.pool(torch.tanh(self.conv2(torch.tanh(self.conv1(x)))))
        x = x.view(x.size(0), -1)
        return self.fc2(torch.tanh(self.fc1(x)))


class BnGap(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3, stride=2, padding=1)
        self.bn1 = nn.BatchNorm2d(6)
        self.conv2 = nn.Conv2d(6, 8, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(8)
        self.fc1 = nn.Linear(8, 16)
        self.bn3 = nn.BatchNorm1d(16)
        self.drop = nn.Dropout(0.3)
        self.w = nn.Parameter(torch.randn(16, 5) * 0.3)
        self.b = nn.Parameter(torch.randn(5) * 0.1)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = torch.sigmoid(self.bn2(self.conv2(x)))
        x = torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)
        x = self.drop(torch.relu(self.bn3(self.fc1(x))))
        return torch.softmax(torch.matmul(x, self.w) + self.b, 1)


def randomize(net):
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)) and m.bias is not None:
                m.bias.uniform_(-0.2, 0.2)
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.3, 0.3)
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2)


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(13)
    for name, (net, shape) in {'seed-mnist': seed_mnist(), 'seed-cifar': (SeedCifar(), [3, 32, 32]),
                               'bn-gap': (BnGap(), [3, 12, 12])}.items():
        randomize(net)
        net.eval()
        x = torch.randn([3] + shape)
        with torch.no_grad():
            y = net(x)
        path = os.path.join(OUT, f'{name}.onnx')
        # PRESERVE keeps each BatchNormalization node (EVAL would fold it into the convolution).
        torch.onnx.export(net, x, path, opset_version=13, input_names=['input'], output_names=['output'],
                          dynamic_axes={'input': {0: 'batch'}, 'output': {0: 'batch'}},
                          training=torch.onnx.TrainingMode.PRESERVE)
        with open(os.path.join(OUT, f'{name}.json'), 'w') as f:
            json.dump({'input': list(x.shape), 'x': x.flatten().tolist(), 'y': y.flatten().tolist()}, f)
            f.write('\n')
        print(name, os.path.getsize(path), 'bytes')


if __name__ == '__main__':
    main()
