"""Shared fixtures: the bundled library, a Detector built once per session, image helpers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from logowatch import Detector, ReferenceIndex

FIXTURES = Path(__file__).resolve().parent / "fixtures"
REPO = Path(__file__).resolve().parent.parent
REFERENCES = REPO / "reference_logos"


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def detector(cache_dir: Path) -> Detector:
    return Detector(REFERENCES, cache_dir=cache_dir)


@pytest.fixture(scope="session")
def index(detector: Detector) -> ReferenceIndex:
    return detector.index


def emblem(entity: str) -> Image.Image:
    """A bundled emblem as RGBA."""
    return Image.open(REFERENCES / entity / "emblem.png").convert("RGBA")


def flatten(image: Image.Image, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    canvas = Image.new("RGB", image.size, background)
    canvas.paste(image, (0, 0), image)
    return canvas


def noise_image(size: int, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8))
