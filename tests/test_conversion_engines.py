"""The Conversion SNN's two engines (BindsNET's Network.run and the event engine): the same spikes at
every step and layer, the same classes at every reported step, from the same converted network."""
from __future__ import annotations

import warnings

import pytest
import torch
from bindsnet.conversion import ann_to_snn
from bindsnet.conversion.nodes import SubtractiveResetIFNodes
from bindsnet.network.monitors import Monitor

import pytest_snnbench.workloads.image_conversion.test_image_conversion as conversion
from pytest_snnbench.determinism import seed_everything
from pytest_snnbench.workloads.image_conversion.event_engine import EventEngine
from pytest_snnbench.workloads.image_plugin import (_cpu_engines_need_the_cpu, conversion_engines,
                                                    resolve_conversion_engine)
from tests.conftest import smoke_context
from tests.mnist_files import write_mnist


def _exact_network(seed: int, hidden: int, bias: bool):
    """A converted MLP whose every sum is exact in float32 (weights in 1/256, pixels in 1/16, small
    magnitudes), so any order of summation gives the same bits: what differs is the logic only."""
    generator = torch.Generator().manual_seed(seed)
    net = conversion.Perceptron(hidden)
    with torch.no_grad():
        for module in net.layers:
            if isinstance(module, torch.nn.Linear):
                module.weight.copy_(torch.randint(-24, 40, module.weight.shape, generator=generator) / 256)
                if bias:
                    module.bias.copy_(torch.randint(-8, 8, module.bias.shape, generator=generator) / 256)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # no data: the weights stay as they are
        snn = ann_to_snn(net, input_shape=[784], data=None, node_type=SubtractiveResetIFNodes)
    pixels = torch.randint(0, 17, (12, 784), generator=generator) / 16
    images = pixels * (torch.rand(12, 784, generator=generator) > 0.75)
    return snn, images


def _bindsnet_run(snn, images: torch.Tensor, steps: int, every: int):
    """BindsNET's spikes [steps, batch, neurons of every layer] and the workload's readout classes."""
    names = sorted((name for name in snn.layers if name.isdigit()), key=int)
    monitors = {name: Monitor(snn.layers[name], ["s"], time=steps) for name in names}
    for name, monitor in monitors.items():
        snn.add_monitor(monitor, f"spikes-{name}")
    readout = conversion.OutputReadout(snn.layers[names[-1]], every)
    snn.add_monitor(readout, "readout")
    snn.run(inputs={"Input": images.clone().unsqueeze(0).expand(steps, -1, -1)}, time=steps)
    spikes = torch.cat([monitors[name].get("s").reshape(steps, images.shape[0], -1) for name in names], dim=2)
    return spikes.to(torch.uint8), dict(readout.predictions), readout.predict()


@pytest.mark.parametrize("seed,hidden,bias", [(0, 32, False), (1, 48, True), (2, 16, True)])
def test_same_spikes_at_every_step_and_layer(seed: int, hidden: int, bias: bool) -> None:
    torch.set_num_threads(1)
    snn, images = _exact_network(seed, hidden, bias)
    steps, every = 40, 10
    engine = EventEngine(snn)  # reads the weights before BindsNET runs: the run changes nothing in them
    reference, by_steps, final = _bindsnet_run(snn, images, steps, every)
    run = engine.run(images, steps, every, record=True)
    assert torch.get_num_threads() == 1  # numba's parallel loop left torch's thread count alone
    assert reference.sum() > steps * images.shape[0]  # the layers do fire
    assert 0 < reference[:, :, -10:].sum() < reference[:, :, -10:].numel()  # and the output layer is not saturated
    assert torch.equal(run.spikes, reference)
    assert run.predictions.keys() == by_steps.keys()
    for step in by_steps:
        assert torch.equal(run.predictions[step], by_steps[step]), step
    assert torch.equal(run.final, final)


def test_the_event_engine_needs_the_converted_if_layers() -> None:
    snn, _ = _exact_network(0, 8, False)
    snn.layers["1"].refrac.fill_(2)
    with pytest.raises(ValueError, match="--snnbench-conversion-engine=bindsnet"):
        EventEngine(snn)


def test_the_workload_gives_the_same_classes_with_both_engines(tmp_path) -> None:
    """A DNN trained on generated MNIST files and converted with its data-based normalisation (real,
    rounded weights): both engines classify every test image alike at every reported step."""
    torch.set_num_threads(1)
    write_mnist(tmp_path / "data", train=300, test=100)
    context = smoke_context(tmp_path / "data", tmp_path / "cache")
    results = {}
    for engine in ("bindsnet", "event"):
        seed_everything(0)
        workload = conversion.ImageConversion(context, engine=engine)
        for batch in list(workload.train_batches(1))[:4]:
            workload.train_step(batch)
        workload.prepare_inference()
        assert workload.hyperparameters()["engine"] == engine
        workload.begin_test_pass()
        final = torch.cat([workload.predict(batch) for batch in workload.test_batches()])
        workload.end_test_pass()
        results[engine] = (final, workload.correct_by_steps)
    (bindsnet_final, bindsnet_steps), (event_final, event_steps) = results["bindsnet"], results["event"]
    assert torch.equal(event_final, bindsnet_final)
    assert event_steps == bindsnet_steps and len(event_steps) == 5


def test_the_engine_joins_the_identity_only_once_converted(tmp_path) -> None:
    """The DNN and its cached model are the same for both engines; the SNN's record says which ran."""
    write_mnist(tmp_path / "data", train=300, test=100)
    context = smoke_context(tmp_path / "data", tmp_path / "cache")
    workload = conversion.ImageConversion(context, engine="event")
    assert "engine" not in workload.hyperparameters()
    workload.prepare_inference()
    assert workload.hyperparameters()["engine"] == "event"
    with workload.complexity_model() as counted:  # counted on BindsNET's network, by BindsNET
        assert counted is workload.snn and workload.event_engine is None
    assert workload.event_engine is not None


def test_engine_option_values() -> None:
    assert conversion_engines("Event, bindsnet,event") == ("event", "bindsnet")
    assert resolve_conversion_engine("auto", "cpu") == "event"
    assert resolve_conversion_engine("auto", "cuda:0") == "bindsnet"
    with pytest.raises(ValueError, match="'sparse' is unknown; use event, bindsnet or auto"):
        conversion_engines("sparse")

    class Core:
        device, device_sweep = "cuda", ()
    with pytest.raises(ValueError, match="conversion-engine=event runs on the CPU only"):
        _cpu_engines_need_the_cpu({"snnbench_conversion_engine": ("event",)}, Core())
    _cpu_engines_need_the_cpu({"snnbench_conversion_engine": ("auto",)}, Core())
