"""Soundness on random small nets of every supported layer type: no point of the ball (corners,
uniform points, the sphere, PGD's strongest points) leaves any node's computed bounds; no
certified example is broken; CROWN's intervals lie inside IBP's, layer by layer; and CROWN is
tighter than IBP on average."""

import numpy as np
import pytest
import tensorflow as tf

from robustfx.robustness.attacks.pgd import pgd
from robustfx.robustness.certification import certify, from_keras
from robustfx.robustness.certification.crown import crown_margins
from robustfx.robustness.certification.input_set import InputSet
from robustfx.robustness.certification.intermediate import crown_bounds
from robustfx.robustness.certification.intervals import interval_bounds, margin_lower_bounds
from tests.helpers.random_networks import SHAPE, random_net

EXAMPLES, SAMPLES = 4, 400
SEEDS = range(6)
BUDGET = 2**24  # small, so that bounds are made in several passes
EPSILON = {"linf": 0.1, "l2": 0.5}  # many ReLUs unstable, some examples certified


def _points(images: np.ndarray, epsilon: float, norm: str, rng) -> np.ndarray:
    """[examples, samples, *shape] points of the ball around each image, in [0, 1]:
    corners (L-infinity) or the sphere (L2), and points inside."""
    shape = (len(images), SAMPLES, *images.shape[1:])
    if norm == "linf":
        delta = rng.choice([-epsilon, epsilon], size=shape)
        delta[:, SAMPLES // 2 :] = rng.uniform(
            -epsilon, epsilon, (shape[0], SAMPLES // 2, *shape[2:])
        )
    else:
        delta = rng.normal(size=shape)
        delta /= np.sqrt((delta**2).sum(axis=(2, 3, 4), keepdims=True))
        delta *= epsilon * rng.uniform(0.5, 1, size=(*shape[:2], 1, 1, 1))
    # Clipping moves every pixel toward the image: the point stays in the ball.
    return np.clip(images[:, None] + delta, 0, 1).astype(np.float32)


def _below(values, bound, what):
    slack = 1e-5 * (1 + np.abs(bound))
    assert np.all(values >= bound - slack), f"{what}: {np.max(bound - values)} below"


@pytest.fixture(scope="module", params=SEEDS)
def case(request):
    model = random_net(request.param)
    rng = np.random.RandomState(request.param)
    images = rng.uniform(0, 1, (EXAMPLES, *SHAPE)).astype(np.float32)
    network = from_keras(model)
    labels = np.argmax(network.logits(images).numpy(), axis=1)
    return model, network, images, labels, rng


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_sampled_points_never_leave_any_nodes_bounds(case, norm):
    _, network, images, labels, rng = case
    inputs = InputSet(tf.constant(images), EPSILON[norm], norm)
    by_method = {
        "ibp": interval_bounds(network, inputs),
        "crown": crown_bounds(network, inputs, BUDGET),
    }
    points = _points(images, EPSILON[norm], norm, rng)
    for example in range(EXAMPLES):
        values = network.forward(points[example])
        for method, bounds in by_method.items():
            for index, (lower, upper) in enumerate(bounds):
                where = f"{method} node {index} ({network.nodes[index].name})"
                _below(values[index].numpy(), lower[example].numpy(), where + " lower")
                _below(-values[index].numpy(), -upper[example].numpy(), where + " upper")


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_crown_intervals_lie_inside_ibps_at_every_node(case, norm):
    # By construction: CROWN's bounds are intersected with the interval bounds made from
    # its own tighter bounds, which are inside IBP's (interval arithmetic is monotone).
    _, network, images, _, _ = case
    inputs = InputSet(tf.constant(images), EPSILON[norm], norm)
    ibp, crown = interval_bounds(network, inputs), crown_bounds(network, inputs, BUDGET)
    for index in range(len(network.nodes)):
        _below(crown[index][0].numpy(), ibp[index][0].numpy(), f"node {index} lower")
        _below(-crown[index][1].numpy(), -ibp[index][1].numpy(), f"node {index} upper")


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_no_sampled_or_attacked_point_beats_a_margin_bound(case, norm):
    model, network, images, labels, rng = case
    epsilon = EPSILON[norm]
    points = _points(images, epsilon, norm, rng)
    attacked = [
        pgd(
            model,
            tf.constant(images),
            tf.constant(labels),
            epsilon,
            norm,
            seed,
            50,
            epsilon / 4,
            True,
        )
        for seed in range(3)
    ]
    points = np.concatenate([points] + [a.numpy()[:, None] for a in attacked], axis=1)
    for method in ("ibp", "crown"):
        certificate = certify(network, images, labels, epsilon, norm, method, budget=BUDGET)
        for example in range(EXAMPLES):
            logits = network.logits(points[example]).numpy()
            own = logits[:, labels[example]]
            others = np.delete(logits, labels[example], axis=1)
            margin = np.min(own[:, None] - others, axis=1)
            _below(margin, np.full_like(margin, certificate.margins[example]), method)
            if certificate.certified[example]:
                assert np.all(np.argmax(logits, axis=1) == labels[example])


def test_crown_is_tighter_than_ibp_on_average():
    gaps = []
    for seed in SEEDS:
        network = from_keras(random_net(seed))
        images = np.random.RandomState(seed).uniform(0, 1, (EXAMPLES, *SHAPE)).astype(np.float32)
        labels = np.argmax(network.logits(images).numpy(), axis=1)
        inputs = InputSet(tf.constant(images), EPSILON["linf"], "linf")
        ibp = margin_lower_bounds(network, interval_bounds(network, inputs), labels)
        # CROWN's own backward bound only, without the interval bound it is combined with.
        crown = crown_margins(network, inputs, labels, crown_bounds(network, inputs, BUDGET))
        gaps.append(float(tf.reduce_mean(crown - ibp)))
    assert np.mean(gaps) > 0, gaps
    best = certify(network, images, labels, EPSILON["linf"], method="crown", budget=BUDGET)
    plain = certify(network, images, labels, EPSILON["linf"], method="ibp")
    assert np.all(best.margins >= plain.margins - 1e-5 * (1 + np.abs(plain.margins)))
