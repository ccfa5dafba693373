"""A minimal workload: a small network on generated blobs, trained to 90 % validation accuracy
(then measured on the test split, which only reports)."""
import pytest
import torch

from pytest_snnbench import TensorDataWorkload


class Blobs(TensorDataWorkload):
    name = "blobs"
    target_accuracy = 0.9
    max_epochs = 5

    def __init__(self, context, hidden=32):  # 1. build: data and model
        super().__init__(context)
        generator = torch.Generator().manual_seed(0)
        labels = torch.arange(640) % 4
        inputs = torch.randn(4, 16, generator=generator)[labels] * 3 + torch.randn(640, 16, generator=generator)
        inputs, labels = inputs.to(self.device), labels.to(self.device)
        # three splits, three jobs: train, decide (checks, stop, target), report
        self.train_inputs, self.train_labels = inputs[:384], labels[:384]
        self.validation_inputs, self.validation_labels = inputs[384:512], labels[384:512]
        self.test_inputs, self.test_labels = inputs[512:], labels[512:]
        self.batch_size, self.eval_batch_size, self.shuffle = 32, 128, context.generator()
        self.hidden = hidden
        self.model = torch.nn.Sequential(torch.nn.Linear(16, hidden), torch.nn.ReLU(),
                                         torch.nn.Linear(hidden, 4)).to(self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-2)

    def hyperparameters(self):  # recorded with every result; keys the trained-model cache
        return {"hidden": self.hidden, "batch_size": self.batch_size, "time_steps": None}

    def data_info(self):
        return {"name": "blobs", "fingerprint": "blobs-seed0"}

    def train_step(self, batch):  # 2. one optimisation step (batches: TensorDataWorkload's)
        loss = torch.nn.functional.cross_entropy(self.model(batch.inputs), batch.targets)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return loss

    def predict(self, batch):  # 5. the timed inference pass calls this per test batch
        return self.model(batch.inputs).argmax(1)


@pytest.mark.training
@pytest.mark.blobs
def test_blobs_training(snnbench, benchmark):
    snnbench.train(Blobs, benchmark, hidden=snnbench.option("blobs_hidden"))


@pytest.mark.inference
@pytest.mark.blobs
def test_blobs_inference(snnbench, benchmark):
    snnbench.infer(Blobs, benchmark, hidden=snnbench.option("blobs_hidden"))
