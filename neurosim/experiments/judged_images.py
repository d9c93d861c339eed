"""``multitask.judge``: is the image a task answers with an image *of the right class*?

For a task whose one target is an image (image | label, say), the mean squared error cannot tell
a blurred class prototype from a sharp digit of the class: the least-squares answer to a
one-to-many question is the class-mean image (MSE 0.044 on the digits). The judged accuracy reads
the answer as a generated image instead:

    judged accuracy = (1/n) Σ_i [ argmax_c p_judge(c | x̂_i) = y_i ],

x̂_i the target block's free equilibrium for held-out example i (the task's evaluation, as
``Evaluation.task``), y_i its class, p_judge the judging classifier of ``lump_sampling.judge``
(logistic regression on the real training images; 96.9 % on the real test digits).
"""
from __future__ import annotations

import numpy as np

from .multitask import Evaluation


def judged_accuracy(net, params, task, data: dict, relax: dict, n_eval: int, ports, classifier) -> float:
    """The judged accuracy of the module docstring for ``task`` on the first ``n_eval`` examples."""
    states, sub = Evaluation().answer(net, params, ports, task.evaluated(), data, relax, n_eval)
    return float(np.mean(classifier.predict(states[task.target[0]].real) == sub["_y"]))
