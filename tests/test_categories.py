"""Operator categories (paper, figure 2): total, unambiguous, and counted once each."""
from __future__ import annotations

import time

import torch
from hypothesis import given
from hypothesis import strategies as st

from pytest_snnbench.profiling import CATEGORIES, UNMAPPED, categorize, profile_steps
from pytest_snnbench.profiling.categories import ALL_BUCKETS, base_name, exact_table

operator_names = st.one_of(
    st.text(max_size=40),
    st.builds(lambda name, suffix: f"aten::{name}{suffix}", st.from_regex(r"[a-z_]{1,20}", fullmatch=True),
              st.sampled_from(["", "_", ".Tensor", ".Scalar", "_.Tensor"])),
)


@given(operator_names)
def test_every_operator_name_maps_to_exactly_one_bucket(name: str) -> None:
    assert categorize(name) in ALL_BUCKETS
    assert categorize(name) == categorize(name)


def test_exact_tables_never_claim_a_name_twice() -> None:
    seen: dict[str, str] = {}
    for category, names in exact_table().items():
        assert category in CATEGORIES
        for name in names:
            assert name not in seen, f"{name} is in both {seen[name]} and {category}"
            seen[name] = category


@given(st.sampled_from(sorted({n for names in exact_table().values() for n in names})),
       st.sampled_from(["", "_", ".Tensor", ".out"]))
def test_in_place_and_overload_variants_share_their_operators_category(name: str, suffix: str) -> None:
    if name.endswith("_") or categorize(f"aten::{name}") == "Backward":
        return
    assert categorize(f"aten::{name}{suffix}") == categorize(f"aten::{name}")


def test_known_operators() -> None:
    expected = {
        "aten::add_": "Pointwise", "aten::mul.Tensor": "Pointwise", "aten::_foreach_addcdiv_": "Pointwise",
        "aten::addmm": "BLAS", "aten::mm": "BLAS", "aten::sum": "Math", "aten::gt.Scalar": "Math",
        "aten::copy_": "Tensor-related", "aten::empty": "Tensor-related", "aten::index_select": "Tensor-related",
        "aten::bernoulli_": "Sampling", "aten::rand": "Sampling", "aten::max_pool2d_with_indices": "Pooling",
        "aten::convolution_backward": "Backward", "autograd::engine::evaluate_function: MulBackward0": "Backward",
        "torch::autograd::AccumulateGrad": "Backward", "aten::relu": "Activation", "FastSigmoid": "Activation",
        "aten::heaviside": "Activation", "aten::mkldnn_convolution": "Layer-computing",
        "aten::linear": "Layer-computing", "aten::lstm": "Layer-computing",
        "snnbench::data_loading": "Data-loading", "enumerate(DataLoader)#_SingleProcessDataLoaderIter.__next__":
            "Data-loading", "aten::_fft_r2c": "Math", "completely::unknown_thing": UNMAPPED,
    }
    for name, category in expected.items():
        assert categorize(name) == category, name


def test_base_name_strips_namespace_overload_and_in_place_mark() -> None:
    assert base_name("aten::add_.Tensor") == "add"
    assert base_name("aten::__and__") == "__and__"
    assert base_name("Optimizer.step#Adam.step") == "Optimizer.step#Adam.step"


def test_a_profiled_window_accounts_for_all_time_once() -> None:
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                torch.nn.Flatten(), torch.nn.Linear(4 * 13 * 13, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    data = [(torch.rand(8, 1, 28, 28), torch.randint(0, 10, (8,))) for _ in range(6)]

    def step(batch):
        images, labels = batch
        loss = torch.nn.functional.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    profile = profile_steps(step, data, warmup=2, steps=3, device=torch.device("cpu"), phase="training")
    assert profile["steps"] == 3 and profile["warmup_steps"] == 2
    shares = {name: bucket["share"] for name, bucket in profile["categories"].items()}
    assert set(shares) == set(ALL_BUCKETS)
    assert abs(sum(shares.values()) - 1) < 1e-6
    for category in ("Layer-computing", "Pooling", "Backward", "Activation", "BLAS", "Data-loading"):
        assert shares[category] > 0, category
    assert profile["top_operators"] and all(op["category"] in ALL_BUCKETS for op in profile["top_operators"])
    assert all(categorize(name) == UNMAPPED for name in profile["unmapped_operators"])


def test_an_operator_inside_a_batch_fetch_is_data_loading_there_and_its_own_category_elsewhere() -> None:
    def step(batch: torch.Tensor) -> None:
        batch.clone()  # aten::clone outside the fetch: Tensor-related

    def batches():
        while True:
            yield torch.rand(64, 64).clone()  # aten::clone inside the fetch: Data-loading

    profile = profile_steps(step, batches(), warmup=0, steps=3, device=torch.device("cpu"), phase="training")
    clones = {op["category"] for op in profile["top_operators"] if op["name"] == "aten::clone"}
    assert clones == {"Data-loading", "Tensor-related"}


def test_a_profile_says_how_much_of_the_windows_wall_time_its_operators_cover() -> None:
    """Work outside torch's operators (here a sleep; in the fast STDP engine, its compiled loop) is
    in the window's wall time only: the category shares are of the operators' part."""
    def step(batch: torch.Tensor) -> None:
        batch.mul(2)
        time.sleep(0.02)

    profile = profile_steps(step, [torch.rand(8, 8)] * 3, warmup=0, steps=3, device=torch.device("cpu"),
                            phase="training")
    assert profile["wall_ms"] >= 60
    assert 0 < profile["coverage"] < 0.5
