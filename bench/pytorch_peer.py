#!/usr/bin/env python3
"""The original CNN in PyTorch on this machine's CPU, as a yardstick for `npm run bench`.

    python3 bench/pytorch_peer.py [--sizes 64,96,128] [--batch 32] [--threads N] [--steps 12] [--ours]

Same network (Conv 32/64/128 3x3 'same' + ReLU + 2x2 max-pool, Dense 128 ReLU, Dense 1 sigmoid),
same batch, Adam on binary cross-entropy, random inputs. Prints training and batch-inference
images/s with 1 and N threads. With --ours it also runs `npm run bench -- --json` at each size and
prints our figures beside PyTorch's, with the ratio. Needs PyTorch (Debian: python3-torch); CI
never installs it.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

try:
    import torch
    from torch import nn
except ImportError:
    sys.exit("PyTorch is not installed (Debian: apt-get install python3-torch, then run with /usr/bin/python3)")


def original_cnn(image_size: int) -> nn.Module:
    layers = []
    channels = 3
    for filters in (32, 64, 128):
        layers += [nn.Conv2d(channels, filters, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2)]
        channels = filters
    side = image_size // 8
    layers += [nn.Flatten(), nn.Linear(128 * side * side, 128), nn.ReLU(), nn.Linear(128, 1), nn.Sigmoid()]
    return nn.Sequential(*layers)


def median_seconds(run, warm_up: int, steps: int) -> float:
    for _ in range(warm_up):
        run()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(image_size: int, batch: int, threads: int, steps: int) -> dict:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = original_cnn(image_size)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.BCELoss()
    x = torch.rand(batch, 3, image_size, image_size)
    y = (torch.arange(batch) % 2).float().unsqueeze(1)

    def train_step():
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()

    def infer():
        with torch.no_grad():
            model(x)

    model.train()
    train_s = median_seconds(train_step, 3, steps)
    model.eval()
    infer_s = median_seconds(infer, 3, steps)
    return {"train": batch / train_s, "infer": batch / infer_s}


def ours(image_size: int, batch: int) -> dict:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run(
        # The same architecture as above whatever the default model is; the API is not compared here (bench/flask-peer.ts).
        ["npx", "tsx", "server/cli/bench.ts", "--json", "--skip-api", "--architecture", "original-cnn",
         "--image-size", str(image_size), "--batch-size", str(batch)],
        cwd=root, check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="64,96,128")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--ours", action="store_true", help="also run npm run bench at each size and print the ratio")
    args = parser.parse_args()

    print(f"PyTorch {torch.__version__}, {args.threads} thread(s) vs 1, batch {args.batch}; load average {os.getloadavg()[0]:.2f}")
    for size in (int(s) for s in args.sizes.split(",")):
        one = measure(size, args.batch, 1, args.steps)
        many = measure(size, args.batch, args.threads, args.steps)
        line = (
            f"{size}px  train {many['train']:7.1f} img/s (1 thread {one['train']:6.1f})"
            f"  batch inference {many['infer']:7.1f} img/s (1 thread {one['infer']:6.1f})"
        )
        if args.ours:
            report = ours(size, args.batch)
            line += (
                f"  | ours: train {report['trainImagesPerSec']} img/s = {report['trainImagesPerSec'] / many['train']:.2f}x PyTorch,"
                f" batch inference {report['batchInferImagesPerSec']} img/s = {report['batchInferImagesPerSec'] / many['infer']:.2f}x"
            )
        print(f"{line}  (load {os.getloadavg()[0]:.2f})", flush=True)


if __name__ == "__main__":
    main()
