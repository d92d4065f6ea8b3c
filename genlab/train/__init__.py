"""Training: one trainer for the CLI and the app, with events and stop/pause control."""
from genlab.data import to_float
from genlab.device import describe_device, select_device
from genlab.train.callbacks import Callbacks, Hook
from genlab.train.control import TrainConfig, TrainControl, TrainEvent, TrainResult
from genlab.train.loop import evaluate, fit, preview_grid
from genlab.train.save import save_trained

__all__ = ["Callbacks", "Hook", "TrainConfig", "TrainControl", "TrainEvent", "TrainResult", "describe_device",
           "evaluate", "fit", "preview_grid", "save_trained", "select_device",
           "to_float"]
