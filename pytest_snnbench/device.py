"""Device placement and timing that is honest on asynchronous devices."""
from __future__ import annotations

import time

import torch


def synchronize(device: torch.device | str) -> None:
    """Wait for queued kernels, so that a clock read afterwards includes them."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def clock(device: torch.device | str) -> float:
    """perf_counter after the device has finished its queued work."""
    synchronize(device)
    return time.perf_counter()


def describe(device: torch.device | str) -> dict[str, object]:
    device = torch.device(device)
    info: dict[str, object] = {"device": str(device)}
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info.update(name=props.name, memory_gib=round(props.total_memory / 2**30, 1),
                    capability=f"{props.major}.{props.minor}", cuda=torch.version.cuda)
    return info
