#!/usr/bin/python3
"""Loads a convts run's model.safetensors into an equivalent PyTorch network and evaluates it.

Shows that our weight names and layouts are PyTorch's: the accuracy printed here must equal the
testAccuracy in the run's summary.json. Reads safetensors by hand (Debian has no safetensors
package). Usage: /usr/bin/python3 tools/torch_load_check.py <run-dir> [<mnist-dir>|<cifar-10-dir>]
Without a data directory it only builds the network from model.json (conv, batchnorm, residual
blocks, pools, activations, dense, dropout) and loads the weights strictly. With one it evaluates
the run's evaluation set: the MNIST test set, or for CIFAR-10 the last `val` training images
(--val 10000 = data_batch_5), normalized as the run's config.json says, the first `testLimit` of
them; the accuracy must equal summary.json's within 0.2 point.
"""
import glob, gzip, json, os, struct, sys
import numpy as np
import torch

sys.path.insert(0, __import__('os').path.dirname(__file__))
from convts_torch import averaged_logits, build, read_safetensors  # noqa: E402


def idx(path):
    raw = gzip.open(path).read()
    nd = raw[3]
    dims = struct.unpack('>' + 'I' * nd, raw[4:4 + 4 * nd])
    return np.frombuffer(raw[4 + 4 * nd:], dtype=np.uint8).reshape(dims)


def cifar(files):
    raw = np.concatenate([np.frombuffer(gzip.open(f).read() if f.endswith('.gz') else open(f, 'rb').read(),
                                        dtype=np.uint8) for f in files]).reshape(-1, 3073)
    return raw[:, 1:].reshape(-1, 3, 32, 32).astype(np.float64), raw[:, 0]


def evaluation_set(data, config):
    """Images (N, C, H, W, 0..255) and labels of the set the run was evaluated on."""
    if glob.glob(os.path.join(data, 'data_batch_*')):
        if config.get('val'):
            x, y = cifar(sorted(glob.glob(os.path.join(data, 'data_batch_[1-5].bin*'))))
            x, y = x[-config['val']:], y[-config['val']:]
        else:
            x, y = cifar(glob.glob(os.path.join(data, 'test_batch.bin*')))
    else:
        x = idx(f'{data}/t10k-images-idx3-ubyte.gz')[:, None].astype(np.float64)
        y = idx(f'{data}/t10k-labels-idx1-ubyte.gz')
    n = config.get('testLimit')
    if n and config.get('subset', 'first') != 'first':
        sys.exit('only --subset first limits can be replayed here')
    return (x[:n], y[:n]) if n else (x, y)


def main(run, data):
    spec = json.load(open(f'{run}/model.json'))
    net = build(spec)
    state = read_safetensors(f'{run}/model.safetensors')
    net.load_state_dict(state, strict=True)
    net.eval()
    if data is None:
        print(f'loaded {len(state)} tensors strictly into the PyTorch network of {run}/model.json')
        return
    config = json.load(open(f'{run}/config.json'))
    x, y = evaluation_set(data, config)
    norm = config.get('normalization')
    if norm:
        mean = np.array(norm['mean']).reshape(1, -1, 1, 1)
        std = np.array(norm['std']).reshape(1, -1, 1, 1)
    else:  # runs from before config.json recorded it: the training set's statistics (MNIST)
        train = idx(f'{data}/train-images-idx3-ubyte.gz').astype(np.float64) / 255
        mean, std = train.mean(), train.std()
    x = torch.from_numpy(((x / 255 - mean) / std).astype(np.float32))
    y = torch.from_numpy(y.astype(np.int64))
    with torch.no_grad():
        # the run's test-time averaging (flip, flip-translate), as it scored each image
        z = torch.cat([averaged_logits(net, x[s:s + 500], config.get('tta')) for s in range(0, len(x), 500)])
        acc = (z.argmax(1) == y).double().mean().item()
    ours = json.load(open(f'{run}/summary.json'))['testAccuracy']
    print(f'PyTorch accuracy with convts weights: {acc:.4f}; convts summary.json: {ours:.4f}')
    sys.exit(0 if abs(acc - ours) <= 0.002 else 1)


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
