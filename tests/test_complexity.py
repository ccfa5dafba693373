"""Complexity metrics (pytest_snnbench.complexity): counts on networks counted by hand, agreement
with ``neurobench`` on the snnTorch model, and the records of smoke-scale sessions."""
from __future__ import annotations

import snntorch as snn
import torch
from torch import nn

from pytest_snnbench.complexity import ops
from pytest_snnbench.complexity.measure import _Counting
from pytest_snnbench.complexity.tally import Tally


def count(model, run, samples: int, batches: int = 1) -> tuple[dict, dict]:
    """The static metrics and the per-sample record of ``run(batch_index)`` under the counters."""
    tally = Tally()
    counting = _Counting(model, tally)
    try:
        with torch.no_grad():
            for index in range(batches):
                counting.new_batch()
                run(index)
        tally.samples = samples
    finally:
        counting.close()
    return counting.static, tally.as_record()


# -- counted by hand ---------------------------------------------------------------------------
class TinySNN(nn.Module):
    """3 inputs -> Linear (3 of its 6 weights zero) -> 2 snnTorch Leaky neurons, a loop over time."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 2, bias=False)
        self.lif = snn.Leaky(beta=0.5, threshold=1.0)
        with torch.no_grad():
            self.fc.weight.copy_(torch.tensor([[1.0, 0.0, 2.0], [0.0, 0.0, 3.0]]))

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:  # [time, batch, 3]
        membrane = torch.zeros(inputs.shape[1], 2)
        spikes = []
        for x in inputs:
            spike, membrane = self.lif(self.fc(x), membrane)
            spikes.append(spike)
        return torch.stack(spikes)


def test_a_tiny_snn_counted_by_hand() -> None:
    model = TinySNN()
    # step 0: spikes 1 0 1 -> ACs: input 0 meets 1 non-zero weight, input 2 meets 2: 3 ACs
    # step 1: 0.5 2 0 (not spikes) -> MACs: input 0 meets 1 weight, input 1 meets none: 1 MAC
    inputs = torch.tensor([[[1.0, 0.0, 1.0]], [[0.5, 2.0, 0.0]]])
    static, record = count(model, lambda _: model(inputs), samples=1)
    synops = record["synaptic_operations"]
    assert synops["effective_acs"] == 3 and synops["effective_macs"] == 1
    assert synops["dense"] == 2 * 3 * 2  # every input times every weight at both steps
    # currents 3, 3 -> membranes 3, 3 -> both spike; then 0.5*3 + 0.5 - 1 = 1.0 and 0.5*3 + 0 - 1 = 0.5: none
    assert record["activation_sparsity"] == 0.5 and record["activation_sparsity_by_layer"] == {"model.lif": 0.5}
    assert record["membrane_updates"] == 4  # the first step counts every neuron, then both changed
    assert record["neuron_operations"] == {"effective": 16, "dense": 16}  # 4 per Leaky update (NeuroBench)
    # parameters: 6 float32; snnTorch's buffers: beta, threshold, graded_spikes_factor (float32) and
    # reset_mechanism_val (int64); its ``mem`` buffer is run-time state, not counted
    assert static == {"footprint_bytes": 6 * 4 + 3 * 4 + 8, "parameter_count": 6, "connection_sparsity": 0.5}
    model.lif.mem = torch.zeros(1000, 2)  # as a pass over a batch of 1,000 leaves it: still not the model's size
    assert count(model, lambda _: model(inputs), samples=1)[0] == static
    estimate = record["operation_energy_estimate"]
    assert estimate["joules_per_sample"] == (1 * 4.6 + 3 * 0.9) * 1e-12 and "not a measurement" in estimate["kind"]


def test_a_convolution_counted_by_hand() -> None:
    weight = torch.tensor([[[[1.0, 0.0], [2.0, 3.0]]]])
    image = torch.tensor([[[[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 1.0]]]])
    # the four 2x2 windows meet non-zero weights at 2, 1, 0 and 2 non-zero pixels
    assert ops.conv_ops(image, weight, [1, 1], [0, 0], [1, 1], False, [0, 0], 1) == (5, 4 * 4)
    conv = nn.Conv2d(1, 1, 2, bias=False)
    with torch.no_grad():
        conv.weight.copy_(weight)
    _, record = count(conv, lambda _: conv(image), samples=1)
    assert record["synaptic_operations"]["effective_macs"] == 5 and record["synaptic_operations"]["dense"] == 16


def test_weights_reach_the_count_through_views_and_copies_but_activation_products_do_not() -> None:
    layer = nn.Linear(4, 3, bias=False)
    x = torch.tensor([[1.0, 0.0, 1.0, 0.0]])

    def run(_: int) -> None:
        permuted = layer.weight.t().contiguous().t().reshape(3, 4) * 1.0  # a copy made from the weight alone
        torch.nn.functional.linear(x, permuted)
        x @ x.t()  # activations with activations: not a synapse

    _, record = count(layer, run, samples=1)
    assert record["synaptic_operations"]["effective_acs"] == 2 * 3 and record["synaptic_operations"]["dense"] == 12


def test_a_tiny_bindsnet_network_counted_by_hand() -> None:
    from bindsnet.network import Network
    from bindsnet.network.nodes import Input, LIFNodes
    from bindsnet.network.topology import Connection

    network = Network(dt=1.0)
    network.add_layer(Input(n=3), name="X")
    network.add_layer(LIFNodes(n=2), name="Y")
    weights = torch.tensor([[1.0, 0.0], [0.0, 0.0], [2.0, 3.0]])  # [source, target]: non-zero per input 1, 0, 2
    network.add_connection(Connection(network.layers["X"], network.layers["Y"], w=weights), source="X", target="Y")
    spikes = torch.tensor([[1, 0, 1], [0, 1, 0], [1, 1, 1]], dtype=torch.bool).view(3, 1, 3)
    static, record = count(network, lambda _: network.run(inputs={"X": spikes}, time=3), samples=1)
    # each step computes the previous step's spikes: none, then 1 0 1 (1 + 2), then 0 1 0 (0); the
    # last step's spikes are never consumed
    assert record["synaptic_operations"]["effective_acs"] == 3 and record["synaptic_operations"]["effective_macs"] == 0
    assert record["synaptic_operations"]["dense"] == 3 * 3 * 2
    # at rest on the first step (all counted), then both membranes move (input 3 and 3, then decay)
    assert record["membrane_updates"] == 6 and record["neuron_operations"] == {"effective": 6 * 7, "dense": 6 * 7}
    assert record["activation_sparsity"] == 1.0  # too weak to fire
    assert static["parameter_count"] == 6 and static["connection_sparsity"] == 0.5


# -- agreement with neurobench -------------------------------------------------------------------
def test_counts_agree_with_neurobench_on_the_snntorch_model() -> None:
    """Every metric both compute, on the Image-Backprop network in NeuroBench's step-by-step form
    (which NeuroBench's hooks can see); and the workload's layer-by-layer pass counts the same but
    the first convolution once instead of once per step (it computes it once)."""
    from neurobench.benchmarks import Benchmark
    from neurobench.metrics.static import ConnectionSparsity, Footprint, ParameterCount
    from neurobench.metrics.workload import (ActivationSparsity, ActivationSparsityByLayer, MembraneUpdates,
                                             NeuronOperations, SynapticOperations)
    from neurobench.models import SNNTorchModel
    from snntorch import utils
    from torch.utils.data import DataLoader, TensorDataset

    from pytest_snnbench.workloads.image_backprop import via_snntorch
    from pytest_snnbench.workloads.image_backprop.network import ConvSNN
    from tests.test_image_backprop_model import reference_network

    torch.manual_seed(3)
    model = ConvSNN(via_snntorch.make_neuron, beta=0.5, slope=25).to(memory_format=torch.channels_last)
    with torch.no_grad():  # larger weights, so that every layer spikes, and some zero weights
        for layer in (model.conv1, model.conv2, model.fc):
            layer.weight.mul_(4)
        model.fc.weight[0, :50] = 0
        model.conv2.weight[:8] = 0  # a sparsity of 8 %: NeuroBench rounds it to 4 decimals
    steps, images = 4, torch.rand(6, 1, 28, 28)
    images[images < 0.5] = 0
    net = reference_network(model)
    tally = Tally()
    counting = _Counting(net, tally)
    with torch.no_grad():
        for batch in range(2):
            counting.new_batch()
            utils.reset(net)
            for _ in range(steps):
                net(images[3 * batch:3 * batch + 3])
    counting.close()
    tally.samples = 6
    mine, mine_static = tally.as_record(), counting.static

    loader = DataLoader(TensorDataset(images.unsqueeze(1).expand(-1, steps, -1, -1, -1), torch.zeros(6)),
                        batch_size=3)
    theirs = Benchmark(SNNTorchModel(reference_network(model)), loader, [], [], [
        [Footprint, ParameterCount, ConnectionSparsity],
        [ActivationSparsity, ActivationSparsityByLayer, SynapticOperations, MembraneUpdates, NeuronOperations],
    ]).run(quiet=True)
    pairs = [
        (mine_static["footprint_bytes"], theirs["Footprint"]),
        (mine_static["parameter_count"], theirs["ParameterCount"]),
        (mine_static["connection_sparsity"], theirs["ConnectionSparsity"]),
        (mine["activation_sparsity"], theirs["ActivationSparsity"]),
        (mine["synaptic_operations"]["effective_macs"], theirs["SynapticOperations"]["Effective_MACs"]),
        (mine["synaptic_operations"]["effective_acs"], theirs["SynapticOperations"]["Effective_ACs"]),
        (mine["synaptic_operations"]["dense"], theirs["SynapticOperations"]["Dense"]),
        (mine["membrane_updates"], theirs["MembraneUpdates"]),
        (mine["neuron_operations"]["effective"], theirs["NeuronOperations"]["Effective Neuron Ops"]),
        (mine["neuron_operations"]["dense"], theirs["NeuronOperations"]["Neuron Dense Ops"]),
    ] + [(mine["activation_sparsity_by_layer"][f"model.{name}"], value)
         for name, value in theirs["ActivationSparsityByLayer"].items()]
    for ours, reference in pairs:
        assert abs(ours - reference) <= 0.01 * abs(reference), (ours, reference)
    assert mine["synaptic_operations"]["effective_acs"] > 0 and mine["synaptic_operations"]["effective_macs"] > 0

    _, lean = count(model, lambda batch: model(images[3 * batch:3 * batch + 3], steps), samples=6, batches=2)
    first_conv = mine["synaptic_operations"]["effective_by_layer"]["model.0.weight"]
    assert lean["synaptic_operations"]["effective_macs"] == first_conv / steps
    assert lean["synaptic_operations"]["effective_acs"] == mine["synaptic_operations"]["effective_acs"]
    assert lean["membrane_updates"] == mine["membrane_updates"]
    assert lean["activation_sparsity"] == mine["activation_sparsity"]


def test_lstm_counts_agree_with_neurobench_lstm_cells() -> None:
    """nn.LSTM runs as one fused operator; counted per step, it matches NeuroBench on LSTMCell steps."""
    from neurobench.benchmarks import Benchmark
    from neurobench.metrics.workload import SynapticOperations
    from neurobench.models import TorchModel
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(0)
    lstm = nn.LSTM(5, 4)
    with torch.no_grad():
        lstm.weight_ih_l0[:3] = 0
    cell = nn.LSTMCell(5, 4)
    cell.load_state_dict({"weight_ih": lstm.weight_ih_l0, "weight_hh": lstm.weight_hh_l0,
                          "bias_ih": lstm.bias_ih_l0, "bias_hh": lstm.bias_hh_l0})

    class Cells(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.cell = cell

        def forward(self, x: torch.Tensor) -> torch.Tensor:  # [batch, time, 5]
            state = (torch.zeros(x.shape[0], 4), torch.zeros(x.shape[0], 4))
            for t in range(x.shape[1]):
                state = self.cell(x[:, t], state)
            return state[0]

    inputs = torch.randn(3, 6, 5)
    inputs[inputs < 0] = 0
    theirs = Benchmark(TorchModel(Cells()), DataLoader(TensorDataset(inputs, torch.zeros(3)), batch_size=3), [], [],
                       [[], [SynapticOperations]]).run(quiet=True)["SynapticOperations"]
    _, mine = count(lstm, lambda _: lstm(inputs.transpose(0, 1)), samples=3)
    assert mine["synaptic_operations"]["effective_macs"] == theirs["Effective_MACs"]
    assert mine["synaptic_operations"]["dense"] == theirs["Dense"]


# -- the records (checked by the workloads' own smoke-session tests, which call this) ----------------
def check_complexity(record: dict, spiking: bool = True) -> None:
    """A record's ``complexity``: every NeuroBench metric present and plausible, per sample."""
    complexity = record["complexity"]
    assert complexity["available"] is True, complexity
    assert complexity["samples"] > 0 and complexity["footprint_bytes"] > 0 and complexity["parameter_count"] > 0
    assert 0 <= complexity["connection_sparsity"] < 1
    assert 0 <= complexity["activation_sparsity"] <= 1 and complexity["activation_sparsity_by_layer"]
    synops = complexity["synaptic_operations"]
    assert synops["effective_macs"] + synops["effective_acs"] <= synops["dense"]
    assert (synops["effective_acs"] > 0) == spiking
    if spiking or complexity["membrane_updates"] is not None:  # a ReLU network has no membranes
        assert complexity["membrane_updates"] > 0 and complexity["neuron_operations"]["effective"] > 0
    assert complexity["operation_energy_estimate"]["joules_per_sample"] > 0
    if record["phase"] == "training":
        assert complexity["split"] == "train" and "backward" in complexity


def _inference_record(workload: str, accuracy: float, macs: float, acs: float) -> dict:
    return {"schema": "snnbench-record/2", "workload": workload, "phase": "inference", "accuracy": accuracy,
            "final_accuracy": accuracy,
            "complexity": {"available": True, "activation_sparsity": 0.9, "membrane_updates": 10.0,
                           "synaptic_operations": {"effective_macs": macs, "effective_acs": acs, "dense": 1e6}}}


def test_the_gate_and_the_report_read_the_complexity_metrics(tmp_path) -> None:
    from pytest_snnbench.gate import compare, parse_bounds
    from pytest_snnbench.metrics import metric_value
    from pytest_snnbench.report.figures import accuracy_against_synops
    from pytest_snnbench.report.load import Run

    lif, lstm = _inference_record("speech-lif-inference", 0.8, 1e3, 5e4), _inference_record(
        "speech-lstm-inference", 0.85, 4e5, 0)
    assert metric_value(lif, "synops") == 5.1e4 and metric_value(lif, "activation_sparsity") == 0.9
    assert metric_value({"complexity": {"available": False, "reason": "x"}}, "synops") is None
    bounds = parse_bounds("synops:5%")
    assert [str(b) for b in bounds] == ["synops:5%"]
    more = _inference_record("speech-lif-inference", 0.8, 1e3, 6e4)
    assert compare({"t": more}, {"t": lif}, bounds)[0].regressed  # 18 % more synaptic operations
    assert not compare({"t": lif}, {"t": more}, bounds)[0].regressed
    run = Run("smoke", [{"name": "test_speech_lif_inference", "extra_info": lif},
                        {"name": "test_speech_lstm_inference", "extra_info": lstm}])
    assert accuracy_against_synops([run], tmp_path / "synops.png").stat().st_size > 0


def test_snntorch_synaptic_is_counted_from_its_membrane_not_its_current() -> None:
    """snnTorch's Synaptic takes (input, syn, mem) and returns (spk, syn, mem): the membrane is the
    last state. Reading syn as the membrane would count the current's changes as membrane updates."""
    import snntorch as snn
    import torch

    from pytest_snnbench.complexity.tally import Tally
    from pytest_snnbench.complexity.torch_counter import NeuronObserver

    neuron = snn.Synaptic(alpha=0.8, beta=0.95)
    tally = Tally()
    observer = NeuronObserver(tally, {"lif": neuron})
    observer.new_batch()
    neuron(torch.tensor([0.5, 0.0, 0.0, 0.2]), torch.zeros(4), torch.zeros(4))  # first step: every neuron counts
    # Then no current, and one charged membrane that decays: one membrane update (syn stays 0, so
    # reading syn as the membrane would count none).
    neuron(torch.zeros(4), torch.zeros(4), torch.tensor([0.4, 0.0, 0.0, 0.0]))
    observer.close()
    assert tally.membrane_updates["lif"] == 4 + 1
