"""At which spike density does the event engine's second convolution beat the dense one on this CPU?
(docs/benchmarks.md, "Image-Backprop's second convolution: dense limit and density")

Image-Backprop's conv2 (12 -> 64 channels, 5 x 5, on 12 x 12 maps of binary spikes) and its 2 x 2
max-pooling run on all 50 steps of a 128-image batch at once: 6,400 maps. Dense (oneDNN, channels
last, as the workload runs it), a pass costs the same at any density. The event engine
(workloads/image_backprop/event_engine.py) does the work the spikes ask for. This script times, at
each density of random spikes:

- dense: conv2 + pooling forward; forward and backward (input, weight and bias gradients), torch;
- event: the engine's fused forward (``conv_pool_forward``), its backward kernel (``conv_pool_backward``:
  the pooled gradient back to each window's maximum, the weight and bias gradients), and the dense
  input gradient it leaves to torch;

and checks that both compute the same forward. Run alone on the machine:

    .venv/bin/python docs/measure_conv2_density.py --threads 2
"""
from __future__ import annotations

import argparse
import time

import numba
import numpy as np
import torch
import torch.nn.functional as F

from pytest_snnbench.workloads.image_backprop.event_engine import (CHANNELS_IN, CHANNELS_OUT, KERNEL, SIZE_IN,
                                                                   SIZE_OUT, conv_pool_backward, conv_pool_forward,
                                                                   spike_events)

MAPS = 6400


def best_of(run, repeats: int) -> float:
    run()
    best = float("inf")
    for _ in range(repeats):
        began = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - began)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--densities", default="0.02,0.05,0.1,0.15,0.2,0.3,0.5")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    generator = torch.Generator().manual_seed(0)
    conv = torch.nn.Conv2d(CHANNELS_IN, CHANNELS_OUT, KERNEL).to(memory_format=torch.channels_last)
    weights = conv.weight.detach().permute(1, 2, 3, 0).contiguous().numpy()  # [12, 5, 5, 64]
    bias = conv.bias.detach().numpy()
    pooled_shape = (MAPS, SIZE_OUT // 2, SIZE_OUT // 2, CHANNELS_OUT)
    print(f"conv2 + max-pool on {MAPS} maps of {CHANNELS_IN}x{SIZE_IN}x{SIZE_IN} spikes, {args.threads} threads, "
          f"best of {args.repeats}")
    print("density | dense fwd | dense fwd+bwd | event fwd | event bwd kernel | dense dX | event fwd / dense fwd | "
          "event fwd+bwd / dense fwd+bwd")
    for density in (float(d) for d in args.densities.split(",")):
        spikes = (torch.rand(MAPS, CHANNELS_IN, SIZE_IN, SIZE_IN, generator=generator) < density).float()
        dense_in = spikes.contiguous(memory_format=torch.channels_last).requires_grad_(True)
        grad = torch.randn(pooled_shape, generator=generator)  # the pooled output's gradient, channels last

        def dense_forward() -> torch.Tensor:
            with torch.no_grad():
                return F.max_pool2d(conv(dense_in), 2)

        def dense_both() -> None:
            out = F.max_pool2d(conv(dense_in), 2)
            torch.autograd.grad(out, (dense_in, conv.weight, conv.bias), grad.permute(0, 3, 1, 2))

        flat = dense_in.detach().permute(0, 2, 3, 1).reshape(MAPS, -1).numpy()  # (row, column, channel)
        start, index = spike_events(flat)
        pooled = np.empty(pooled_shape, dtype=np.float32)
        argmax = np.empty(pooled_shape, dtype=np.int8)
        grad_out = np.empty((MAPS, SIZE_OUT, SIZE_OUT, CHANNELS_OUT), dtype=np.float32)
        partial = np.zeros((args.threads, CHANNELS_IN, KERNEL, KERNEL, CHANNELS_OUT), dtype=np.float32)
        bias_partial = np.zeros((args.threads, CHANNELS_OUT), dtype=np.float32)
        grad_pooled = grad.numpy()

        def event_forward() -> None:
            spike_events(flat)  # the engine lists the spikes at every forward pass
            conv_pool_forward(start, index, weights, bias, pooled, argmax)

        def event_backward() -> None:
            partial.fill(0.0)
            bias_partial.fill(0.0)
            conv_pool_backward(start, index, grad_pooled, argmax, grad_out, partial, bias_partial)

        def dense_input_gradient() -> None:  # as the engine calls it
            with torch.no_grad():
                torch.ops.aten.convolution_backward(
                    torch.from_numpy(grad_out).permute(0, 3, 1, 2), dense_in, conv.weight, None, [1, 1], [0, 0],
                    [1, 1], False, [0, 0], 1, [True, False, False])

        times = {name: best_of(run, args.repeats) for name, run in (
            ("dense_fwd", dense_forward), ("dense_both", dense_both), ("event_fwd", event_forward),
            ("event_bwd", event_backward), ("dense_dx", dense_input_gradient))}
        reference = dense_forward().permute(0, 2, 3, 1).numpy()
        assert np.allclose(pooled, reference, atol=1e-4), "the event forward differs from the dense one"
        event_training = times["event_fwd"] + times["event_bwd"] + times["dense_dx"]
        print(f"{density:7.2f} | {times['dense_fwd']:.3f} s | {times['dense_both']:.3f} s | {times['event_fwd']:.3f} s | "
              f"{times['event_bwd']:.3f} s | {times['dense_dx']:.3f} s | {times['event_fwd'] / times['dense_fwd']:.2f} | "
              f"{event_training / times['dense_both']:.2f}")


if __name__ == "__main__":
    main()
