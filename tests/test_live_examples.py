"""The Train page's live "test images (top) and reconstructions": one image of each class, fixed
for the whole run. MNIST's offline test split is sorted by class, so the first eight test images
(what the preview used to show) were all zeros."""
import torch

from genlab.data import load_dataset, one_per_class, to_float
from genlab.images import make_grid
from genlab.jobs import Job, JobSpec
from genlab.models import ModelConfig
from genlab.train import TrainConfig


def test_one_per_class_first_of_each_then_fill():
    y = torch.tensor([0, 0, 1, 1, 2, 2])
    assert one_per_class(y, 10) == [0, 2, 4, 1, 3, 5]
    assert one_per_class(y, 2) == [0, 2]
    assert one_per_class(torch.zeros(12, dtype=torch.long), 10) == list(range(10))  # no classes


def test_live_grid_shows_the_first_test_image_of_each_class():
    data = load_dataset("mnist")
    assert len(set(data.test_y[:10].tolist())) == 1  # sorted by class: the trap this avoids
    idx = one_per_class(data.test_y)
    assert sorted(data.test_y[idx].tolist()) == list(range(10))
    job = Job(JobSpec("mnist", ModelConfig("ae", "mlp", latent_dim=4, hidden=(32,)),
                      TrainConfig(epochs=1, batch_size=256, seed=0), "live-examples"))
    job.run()
    snap = job.snapshot()
    assert snap.state == "done", snap.message
    top = make_grid(to_float(data.test_x[idx]), nrow=10)  # the originals, as the grid draws them
    assert snap.grid.shape[1] == top.shape[1]  # ten columns
    assert (snap.grid[:top.shape[0] - 2] == top[:-2]).all()  # the top row: those ten images
