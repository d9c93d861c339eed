"""Several modalities of one example, for tasks that clamp and predict different parts of it.

From a classification data set of images this makes, per example, the fields

* ``image`` (D) — the whole image; ``top`` and ``bottom`` — its upper and lower halves (rows);
* ``label`` — the one-hot class;
* ``code`` — a third modality: a fixed random code of the class, c_y ∈ {0, 1}^m drawn once per class,
  plus Gaussian noise of standard deviation ``code_noise`` drawn per example.

A task may also clamp a block to a value it makes itself rather than reads from the example
(:data:`TASK_MADE`): ``level``, the noise-level embedding e(u(σ)) of the σ a noise-level task drew
for the example (``experiments/noise_level_task.py``). Such a field is a condition, never a target.
"""
from __future__ import annotations

import numpy as np

from .datasets import Dataset, one_hot

FIELDS = ("image", "top", "bottom", "label", "code")
#: condition fields a task makes per example instead of reading them from the data
TASK_MADE = {"level": "the noise-level embedding e(u(σ)) of a task with a noise_level table"}
CONDITION_FIELDS = FIELDS + tuple(TASK_MADE)


def field_sizes(image_shape: tuple[int, int], n_classes: int, code_dim: int) -> dict[str, int]:
    """Units of each field for images of ``image_shape`` = (rows, cols): image rows·cols, top the
    first ⌊rows/2⌋ rows (⌊rows/2⌋·cols), bottom the rest, label n_classes, code code_dim."""
    rows, cols = image_shape
    half = (rows // 2) * cols
    return {"image": rows * cols, "top": half, "bottom": rows * cols - half, "label": n_classes, "code": code_dim}


def modality_fields(ds: Dataset, rng: np.random.Generator, code_dim: int = 16,
                    code_noise: float = 0.1) -> tuple[dict, dict]:
    """(train fields, test fields): dicts field name → (N, d) float64 arrays."""
    if ds.image_shape is None:
        raise ValueError(f"data set {ds.name!r} has no image shape; modality fields need images")
    half = field_sizes(ds.image_shape, ds.n_classes, code_dim)["top"]
    codes = (rng.random((ds.n_classes, code_dim)) < 0.5).astype(float)

    def fields(x, y):
        return {"image": x, "top": x[:, :half], "bottom": x[:, half:],
                "label": one_hot(y, ds.n_classes),
                "code": codes[y] + code_noise * rng.standard_normal((len(y), code_dim))}

    train = fields(ds.x_train, ds.y_train)
    test = fields(ds.x_test, ds.y_test)
    train["_y"], test["_y"] = ds.y_train, ds.y_test
    return train, test
