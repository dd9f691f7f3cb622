from __future__ import annotations

import numpy as np
import pytest

from logowatch import hashing
from tests.conftest import emblem, flatten


def test_content_box_trims_a_uniform_frame() -> None:
    rgb = np.full((50, 80, 3), 240, np.uint8)
    rgb[10:30, 20:45] = (10, 20, 200)
    assert hashing.content_box(rgb) == (20, 10, 45, 30)


def test_content_box_keeps_an_image_without_frame() -> None:
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
    assert hashing.content_box(rgb) == (0, 0, 40, 40)


@pytest.mark.parametrize("entity", ["kesland-coast-guard", "valport-police"])
def test_phash_survives_resizing_but_not_mirroring(entity: str) -> None:
    image = flatten(emblem(entity))
    original = hashing.phash(np.asarray(image))
    small = hashing.phash(np.asarray(image.resize((64, 64)).resize((300, 300))))
    mirrored = hashing.phash(np.asarray(image)[:, ::-1].copy())
    assert original - small <= 6
    assert original - mirrored > hashing.DEFAULT_HASH_DISTANCE


def test_hamming_against_a_table() -> None:
    bits = np.array([True, False, True, False])
    table = np.array([[True, False, True, False], [False, True, False, True], [True, True, True, False]])
    assert hashing.hamming(bits, table).tolist() == [0, 4, 1]
