"""What a generative run measures: W2 (exact assignment) and MMD of generated samples against fresh
(toys) or held-out (digits) samples, beside the W2 floor of two real samples; for digits the
``conditional_accuracy`` of a logistic regression trained on real training digits, the W2 per class
and (``class+top``) top half → bottom half inpainting; for score composition the W2 of the same
Langevin sampler driven by the exact conditional scores.

Every evaluation draws from its own sub-stream of the training seed (:data:`STREAMS`), so the
numbers do not depend on how many training steps ran before.
"""
from __future__ import annotations

import numpy as np

from ..data import toy2d
from ..generative import samplers as sa
from ..metrics import mmd, w2
from .generative_sampling import sample

#: sub-streams ``default_rng([training seed, k])`` of the evaluation; training step k uses
#: ``[training seed, k]`` with k < 10⁹, so none of these collides with a training batch
STREAMS = {"evaluate": 10 ** 9, "reference": 10 ** 9 + 1, "floor": 10 ** 9 + 2, "digit_floor": 7,
           "analytic_composition": 5, "generate": 2 ** 31}


def stream(seed: int, name: str, offset: int = 0, *more: int) -> np.random.Generator:
    """``default_rng([seed, STREAMS[name] + offset, *more])``."""
    return np.random.default_rng([seed, STREAMS[name] + offset, *more])


def digit_classifier(x_train, y_train):
    """A multinomial logistic regression on real training digits (pixels in [−1, 1])."""
    from sklearn.linear_model import LogisticRegression
    clf = LogisticRegression(max_iter=2000, C=1.0)
    clf.fit(x_train, y_train)
    return clf


def per_class_w2(samples, labels, x_test, y_test) -> dict:
    """W2 between each class's generated images and its test images (first n_c of each)."""
    out = {}
    for c in np.unique(y_test):
        ref = x_test[y_test == c]
        gen = samples[labels == c]
        m = min(len(ref), len(gen))
        if m:
            out[int(c)] = w2(gen[:m], ref[:m])
    return out


def evaluate(tr, final: bool = False, n: int | None = None):
    """(samples, labels, reference, metrics) of trainer ``tr``; ``final`` adds the floors and the
    digits extras (and ``metrics["_inpainting"]``: the inpainted test digits, for the run to write)."""
    g = tr.g
    n = n or g["n_eval"]
    rng = stream(tr.seed, "evaluate")
    samples, labels = tr.generate(n, rng)
    metrics = {}
    data = tr.data
    if data.name == "digits":
        clf = tr.classifier()
        metrics["conditional_accuracy"] = float(np.mean(clf.predict(samples) == labels))
        pcw = per_class_w2(samples, labels, data.x_test, data.y_test)
        metrics["w2"] = float(np.mean(list(pcw.values())))
        ref = data.x_test
        metrics["mmd"] = mmd(samples[:len(ref)], ref)
        if final:
            metrics["w2_per_class"] = {str(k): v for k, v in pcw.items()}
            # the floor: real training images of each class against the test images of that class
            floor_rng = stream(tr.seed, "digit_floor")
            fl = []
            for c in range(data.n_classes):
                train_c = data.x_train[data.y_train == c]
                test_c = data.x_test[data.y_test == c]
                fl.append(w2(train_c[floor_rng.permutation(len(train_c))[:len(test_c)]], test_c))
            metrics["w2_floor"] = float(np.mean(fl))
            metrics["classifier_test_accuracy"] = float(clf.score(data.x_test, data.y_test))
            if g["condition"] == "class+top":
                metrics.update(inpaint_metrics(tr, rng))
        return samples, labels, ref, metrics
    ref = tr.reference(n, stream(tr.seed, "reference"))
    metrics["w2"] = w2(samples, ref)
    metrics["mmd"] = mmd(samples, ref)
    if final:
        frng = stream(tr.seed, "floor")
        if g["compose"]:
            draw = lambda m, r: data.product(g["compose"], m, r)  # noqa: E731
        else:
            draw = data.exact
        metrics["w2_floor"] = float(np.mean([w2(draw(n, frng), draw(n, frng))
                                             for _ in range(g["floor_repeats"])]))
        if g["compose"]:
            metrics["w2_analytic_composition"] = analytic_composition_w2(tr, n, ref)
    return samples, labels, ref, metrics


def analytic_composition_w2(tr, n: int, ref) -> float:
    """W2 of the same Langevin sampler driven by the exact conditional scores (the sampler's own gap)."""
    d = tr.data
    stds = d.component_stds()
    fns = [lambda x, sigma, c=c: toy2d.gaussian_mixture_score(x, d.means[c:c + 1], stds[c:c + 1], [1.0], sigma)
           for c in tr.g["compose"]]
    lg = tr.g["langevin"]
    x = sa.annealed_langevin_sample(sa.compose_scores(*fns), (n, d.dim), stream(tr.seed, "analytic_composition"),
                                    sigma_max=lg["sigma_max"], sigma_min=lg["sigma_min"], n_levels=lg["levels"],
                                    n_steps_per_level=tr.g["sampler_steps"], eps=lg["eps"])
    return w2(x, ref)


def inpaint_metrics(tr, rng) -> dict:
    """Top half → bottom half on the test digits: condition = [0 (no class) | top half].
    ``_inpainting`` holds (original, filled) for ``inpainting.npz``."""
    x, y, h = tr.data.x_test, tr.data.y_test, tr.data.half
    cond = np.concatenate([np.zeros((len(x), tr.data.n_classes)), x[:, :h]], axis=1)
    gen = sample(tr.model, tr.objective, len(x), tr.data.dim, rng, tr.g["sampler"], tr.g["sampler_steps"],
                 cond, tr.g["guidance"])
    filled = np.concatenate([x[:, :h], gen[:, h:]], axis=1)
    return {"inpaint_mse": float(np.mean((gen[:, h:] - x[:, h:]) ** 2)),
            "inpaint_accuracy": float(np.mean(tr.classifier().predict(filled) == y)),
            "inpaint_mse_mean_baseline": float(np.mean((tr.data.x_train[:, h:].mean(0) - x[:, h:]) ** 2)),
            "_inpainting": (x, filled)}
