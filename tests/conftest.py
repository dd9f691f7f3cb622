"""Shared fixtures: the bundled library, an index built once per session, image helpers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from logowatch.library import ReferenceIndex, build_index

FIXTURES = Path(__file__).resolve().parent / "fixtures"
REPO = Path(__file__).resolve().parent.parent
REFERENCES = REPO / "reference_logos"


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def index(cache_dir: Path) -> ReferenceIndex:
    return build_index(REFERENCES, cache_dir)


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
