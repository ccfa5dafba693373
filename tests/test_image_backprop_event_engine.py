"""Image-Backprop's event engine against snnTorch's network (the paper's): from the same weights and
input batch, over a forward and backward pass of the whole network, the same spikes at every step of
every layer, the same loss and every parameter's gradient within 1e-5 of snnTorch's (relative to its
largest entry), as tests/test_image_backprop_frameworks.py asks of a framework marked equal."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from pytest_snnbench.complexity import probe
from pytest_snnbench.workloads.framework_plugin import engine_names, event_engine_needs_the_cpu
from pytest_snnbench.workloads.image_backprop import event_engine
from pytest_snnbench.workloads.image_backprop.event_engine import EventConvSNN
from tests.test_image_backprop_frameworks import GRADIENT_TOLERANCE, STEPS, build, forward_and_backward, weights


def build_event(state: dict) -> EventConvSNN:
    torch.manual_seed(3)
    model = EventConvSNN(beta=0.5, slope=25.0).to(memory_format=torch.channels_last)  # as the workload builds it
    model.load_state_dict(state, strict=False)  # the layers' weights; the neurons keep their own constants
    return model


def exact(state: dict) -> dict:
    """Weights in 1/64: with binary spikes as inputs, every sum of the second convolution and the
    readout is exact in float32, whatever its order (oneDNN's blocks or spikes in index order)."""
    return {key: (value * 64).round() / 64 for key, value in state.items()}


def _compare(state: dict) -> tuple[list[float], dict[str, float]]:
    """Spike agreement per layer, and each gradient's largest difference relative to its largest entry."""
    spikes, loss, grads = forward_and_backward(build("snntorch", state))
    assert all(0.02 < float(s.mean()) < 0.6 for s in spikes), "the comparison means something only if every layer spikes"
    event_spikes, event_loss, event_grads = forward_and_backward(build_event(state))
    agreement = [float((mine == theirs).float().mean()) for mine, theirs in zip(spikes, event_spikes)]
    torch.testing.assert_close(event_loss, loss, rtol=1e-6, atol=0)
    assert set(event_grads) == set(grads)
    worst = {key: float((event_grads[key] - grad).abs().max() / grad.abs().max().clamp_min(torch.finfo(grad.dtype).tiny))
             for key, grad in grads.items()}
    return agreement, worst


@pytest.mark.parametrize("threads", [1, 2])
def test_same_spikes_and_gradients_as_snntorch(threads: int) -> None:
    """Exact weights: the same spikes at every step of every layer, on one thread and on two (the
    weight gradients are summed in parts, one per thread)."""
    torch.set_num_threads(threads)
    state = exact(weights(build("snntorch")))
    spikes, _, _ = forward_and_backward(build("snntorch", state))
    event_spikes, _, _ = forward_and_backward(build_event(state))
    for layer, (mine, theirs) in enumerate(zip(spikes, event_spikes), start=1):
        assert mine.shape == theirs.shape
        steps_differing = [t for t in range(STEPS) if not torch.equal(mine[t], theirs[t])]
        assert not steps_differing, f"layer {layer} spikes differ at steps {steps_differing}"
    _, worst = _compare(state)
    for key, error in worst.items():
        assert error <= GRADIENT_TOLERANCE, f"gradient of {key} off by {error:.2e} of its largest entry"


def test_snntorchs_real_weights_give_its_spikes() -> None:
    """Real weights: the convolution's and readout's sums round differently (another order: potentials
    a few units in the last place apart), so a spike may flip; on this small batch none does. The
    gradients are then of slightly different potentials, and the surrogate (slope 25) amplifies the
    difference: they agree to 1e-3 here (measured: 5e-5), not to the 1e-5 of identical potentials."""
    agreement, worst = _compare(weights(build("snntorch")))
    assert agreement == [1.0, 1.0, 1.0]
    assert max(worst.values()) <= 1e-3


def test_the_fused_convolution_and_pooling_break_ties_as_torch() -> None:
    """Exact weights make equal sums common, and the gradient must go to the window's first maximum,
    where torch's max_pool2d sends it. A kernel of one value: every output fed by as many spikes ties."""
    torch.manual_seed(5)
    spikes = (torch.rand(40, 12, 12, 12) < 0.3).float().contiguous(memory_format=torch.channels_last)
    weight = torch.full((64, 12, 5, 5), 1 / 16).contiguous(memory_format=torch.channels_last).requires_grad_(True)
    bias = torch.zeros(64, requires_grad=True)
    grad = torch.randn(40, 64, 4, 4)
    dense_in = spikes.clone().requires_grad_(True)
    dense = torch.nn.functional.max_pool2d(torch.nn.functional.conv2d(dense_in, weight, bias), 2)
    expected = torch.autograd.grad(dense, (dense_in, weight, bias), grad)
    event_in = spikes.permute(0, 2, 3, 1).clone().requires_grad_(True)  # (row, column, channel), as the engine
    event = event_engine._EventConvPool.apply(event_in, weight, bias, True)
    assert torch.equal(event, dense.permute(0, 2, 3, 1))
    with torch.no_grad():  # the test means something only if many windows have two or more maxima
        windows = torch.nn.functional.conv2d(spikes, weight, bias).view(40, 64, 4, 2, 4, 2)
        maxima = (windows == windows.amax((3, 5), keepdim=True)).sum((3, 5))
    assert float((maxima > 1).float().mean()) > 0.1
    found = torch.autograd.grad(event, (event_in, weight, bias), grad.permute(0, 2, 3, 1))
    for name, mine, theirs in zip(("input", "weight", "bias"), (found[0].permute(0, 3, 1, 2), *found[1:]), expected):
        worst = float((mine - theirs).abs().max() / theirs.abs().max())
        assert worst <= GRADIENT_TOLERANCE, f"{name} gradient off by {worst:.2e} of its largest entry"


def test_inference_saves_nothing_for_a_backward_pass_and_leaves_the_threads_alone() -> None:
    torch.set_num_threads(1)
    model = build_event(weights(build("snntorch")))
    images = torch.rand(4, 1, 28, 28)
    with torch.no_grad():
        spikes = model(images, STEPS)
    assert spikes.grad_fn is None
    assert torch.equal(spikes, model(images, STEPS).detach())
    assert torch.get_num_threads() == 1  # numba's parallel loops left torch's thread count alone


def test_the_complexity_pass_counts_snntorchs_code() -> None:
    model = build_event(weights(build("snntorch")))
    images = torch.rand(4, 1, 28, 28)
    with torch.no_grad():
        fast = model.layer_spikes(images, STEPS)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(probe, "active", True)
            counted = model.layer_spikes(images, STEPS)
    assert all(torch.equal(a, b) for a, b in zip(fast, counted))
    assert model.counted_by_hooks is False


def test_engine_option_values_and_the_cpu() -> None:
    assert engine_names("Event, framework,event") == ("event", "framework")
    with pytest.raises(ValueError, match="'numba' is unknown; use framework"):
        engine_names("numba")

    class Core:
        device, device_sweep = "cuda", ()
    check = event_engine_needs_the_cpu("snnbench-backprop-engine")
    with pytest.raises(ValueError, match="backprop-engine=event runs on the CPU only"):
        check({"snnbench_backprop_engine": ("event",)}, Core())
    check({"snnbench_backprop_engine": ("framework",)}, Core())
    with pytest.raises(RuntimeError, match="CPU only"):
        EventConvSNN(0.5, 25.0).layer_spikes(torch.rand(1, 1, 28, 28, device="meta"), 2)


def test_spike_events_list_each_maps_spikes_in_order() -> None:
    spikes = torch.tensor([[0, 1, 0, 1], [0, 0, 0, 0], [1, 1, 1, 0]], dtype=torch.float32).numpy()
    start, index = event_engine.spike_events(spikes)
    assert start.tolist() == [0, 2, 2, 5] and index.tolist() == [1, 3, 0, 1, 2]


def test_a_smoke_session_trains_and_infers_with_both_engines(pytester: pytest.Pytester, tiny_mnist: Path,
                                                              tmp_path: Path) -> None:
    """Both engines side by side on generated MNIST: both reach the smoke target, the records say
    which engine ran and how far from the dense limit, and the runs are not the same run."""
    from tests.conftest import read_records, snnbench_args

    result = pytester.runpytest_subprocess(*snnbench_args(
        tiny_mnist, tmp_path / "cache", "-m", "image and backprop", "--snnbench-backprop-engine=framework,event",
        "--benchmark-json=run.json"))
    result.assert_outcomes(passed=4)
    records = read_records(pytester.path / "run.json")
    event, framework = records["test_image_backprop_training[event]"], records["test_image_backprop_training[framework]"]
    assert event["engine"] == "event" and framework["engine"] is None
    assert event["identity"]["hash"] != framework["identity"]["hash"]
    assert records["test_image_backprop_inference[event]"]["model_source"] == "same-run"
    for record in (event, framework, records["test_image_backprop_inference[event]"]):
        limit = record["dense_limit"]
        assert limit["samples_per_s"] > 0 and limit["engine_over_dense"] > 0 and "conv2" in limit["kernel"]
    assert event["complexity"]["synaptic_operations"]["effective_acs"] > 0  # counted on snnTorch's code
