"""Data sets: a :class:`Dataset` train/test split and the ``load_dataset`` registry (docs/data.md)."""
from .datasets import DATASETS, Dataset, bars_and_stripes_patterns, load_dataset, one_hot
from .idx import read_idx, write_idx

__all__ = ["DATASETS", "Dataset", "bars_and_stripes_patterns", "load_dataset", "one_hot",
           "read_idx", "write_idx"]
