"""At which spike density does an event-driven second convolution beat the dense one on this CPU?
(docs/benchmarks.md, "Image-Backprop's second convolution: dense limit and density")

Image-Backprop's conv2 (12 -> 64 channels, 5 x 5, on 12 x 12 maps of binary spikes) runs on all 50
steps of a 128-image batch at once: 6,400 maps. Dense (oneDNN, channels-last, as the workload runs
it), a pass costs the same at any density. Event-driven, each input spike adds its 64 x 5 x 5 weight
block to the outputs it reaches (forward), and each spike's weight gradient is the sum of the output
gradients it reached (backward, weights); the input gradient stays dense (the output gradient is
real-valued). This script times, at each density of random spikes:

- dense forward, dense forward + backward (input and weight gradients), torch;
- event forward, event weight gradient, numba (the maps in parallel on the intra-op threads);

and checks that both compute the same forward (to float tolerance). Run alone on the machine:

    .venv/bin/python docs/measure_conv2_density.py --threads 2
"""
from __future__ import annotations

import argparse
import time

import numba
import numpy as np
import torch
import torch.nn.functional as F
from numba import njit, prange

MAPS, CHANNELS, SIZE, OUT, KERNEL = 6400, 12, 12, 64, 5
OUT_SIZE = SIZE - KERNEL + 1


@njit(inline="always")
def _channel_row_column(flat: int) -> tuple[int, int, int]:
    """A spike's channel, row and column from its flat index c*144 + y*12 + x."""
    rest = flat % (SIZE * SIZE)
    return flat // (SIZE * SIZE), rest // SIZE, rest % SIZE


@njit(inline="always")
def _offsets_inside(position: int) -> tuple[int, int]:
    """The kernel offsets k (as a range) for which the output position - k lies on the 8 x 8 map."""
    return max(0, position - OUT_SIZE + 1), min(KERNEL, position + 1)


@njit(cache=True, parallel=True)
def event_forward(idx_ptr, idx, weights, out):
    """out [maps, 8, 8, 64] = conv of the spikes listed per map (flat c*144 + y*12 + x) with weights
    [12, 5, 5, 64] (channels last: each spike adds whole 64-wide rows)."""
    maps = out.shape[0]
    for n in prange(maps):
        for e in range(idx_ptr[n], idx_ptr[n + 1]):
            c, y, x = _channel_row_column(idx[e])
            for ky in range(*_offsets_inside(y)):
                for kx in range(*_offsets_inside(x)):
                    for o in range(OUT):
                        out[n, y - ky, x - kx, o] += weights[c, ky, kx, o]


@njit(cache=True, parallel=True)
def event_weight_gradient(idx_ptr, idx, grad_out, partial):
    """partial [threads, 12, 5, 5, 64]: per thread, the sum over its maps' spikes of the output
    gradients each spike reached (summed over threads afterwards)."""
    maps = grad_out.shape[0]
    threads = partial.shape[0]
    chunk = (maps + threads - 1) // threads
    for part in prange(threads):
        for n in range(part * chunk, min(maps, (part + 1) * chunk)):
            for e in range(idx_ptr[n], idx_ptr[n + 1]):
                c, y, x = _channel_row_column(idx[e])
                for ky in range(*_offsets_inside(y)):
                    for kx in range(*_offsets_inside(x)):
                        for o in range(OUT):
                            partial[part, c, ky, kx, o] += grad_out[n, y - ky, x - kx, o]


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
    conv = torch.nn.Conv2d(CHANNELS, OUT, KERNEL)
    weights = conv.weight.detach().permute(1, 2, 3, 0).contiguous().numpy()  # [12, 5, 5, 64]
    print(f"conv2 on {MAPS} maps of {CHANNELS}x{SIZE}x{SIZE} spikes, {args.threads} threads, best of {args.repeats}")
    print("density | dense fwd | dense fwd+bwd | event fwd | event dW | event fwd / dense fwd | "
          "(event fwd + dW + dense dX) / dense fwd+bwd")
    for density in (float(d) for d in args.densities.split(",")):
        spikes = (torch.rand(MAPS, CHANNELS, SIZE, SIZE, generator=generator) < density).float()
        dense_in = spikes.contiguous(memory_format=torch.channels_last).requires_grad_(True)
        grad = torch.randn(MAPS, OUT, OUT_SIZE, OUT_SIZE, generator=generator)

        def dense_forward() -> torch.Tensor:
            with torch.no_grad():
                return F.conv2d(dense_in, conv.weight)

        def dense_both() -> None:
            out = F.conv2d(dense_in, conv.weight)
            torch.autograd.grad(out, (dense_in, conv.weight), grad)

        def dense_input_gradient() -> None:  # the input gradient alone (a transposed convolution)
            with torch.no_grad():
                torch.nn.grad.conv2d_input(dense_in.shape, conv.weight, grad)

        flat = spikes.flatten(1)
        counts = (flat > 0).sum(1)
        idx_ptr = np.concatenate([[0], np.cumsum(counts.numpy())]).astype(np.int64)
        idx = flat.nonzero()[:, 1].numpy().astype(np.int64)  # row-major: per map, increasing
        out = np.zeros((MAPS, OUT_SIZE, OUT_SIZE, OUT), dtype=np.float32)
        grad_last = grad.permute(0, 2, 3, 1).contiguous().numpy()
        partial = np.zeros((args.threads, CHANNELS, KERNEL, KERNEL, OUT), dtype=np.float32)

        def run_event_forward() -> None:
            out.fill(0.0)
            event_forward(idx_ptr, idx, weights, out)

        def run_event_weight_gradient() -> None:
            partial.fill(0.0)
            event_weight_gradient(idx_ptr, idx, grad_last, partial)

        times = {name: best_of(run, args.repeats) for name, run in (
            ("dense_fwd", dense_forward), ("dense_both", dense_both), ("event_fwd", run_event_forward),
            ("event_dw", run_event_weight_gradient), ("dense_dx", dense_input_gradient))}
        reference = dense_forward().permute(0, 2, 3, 1).numpy()
        assert np.allclose(out, reference, atol=1e-4), "event forward differs from the dense convolution"
        event_training = times["event_fwd"] + times["event_dw"] + times["dense_dx"]
        print(f"{density:7.2f} | {times['dense_fwd']:.3f} s | {times['dense_both']:.3f} s | {times['event_fwd']:.3f} s | "
              f"{times['event_dw']:.3f} s | {times['event_fwd'] / times['dense_fwd']:.2f} | "
              f"{event_training / times['dense_both']:.2f}")


if __name__ == "__main__":
    main()
