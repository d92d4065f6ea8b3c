"""Device choice lives in ``genlab.device`` (metrics and the trainer both need it); kept here so
``genlab.train.device`` imports keep working."""
from genlab.device import describe_device, select_device

__all__ = ["describe_device", "select_device"]
