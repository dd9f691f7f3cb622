"""Shared fixtures: the bundled library, a Detector built once per session, image helpers."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw

from logowatch import Detector, ReferenceIndex, features
from logowatch.calibration import on_canvas

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


@pytest.fixture()
def locked_folders(monkeypatch: pytest.MonkeyPatch) -> str:
    """Folders named as this returns cannot be listed, as for a user without the permission (the
    tests run as root too, whom no permission stops)."""
    listing = os.scandir

    def refusing(path: str | os.PathLike[str]) -> object:
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return listing(path)

    monkeypatch.setattr(os, "scandir", refusing)
    return "locked"


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


def foreshortened(image: Image.Image, tilt: float, direction: float, side: int) -> np.ndarray:
    """The emblem on a card turned away from the viewer: shrunk by ``tilt`` along ``direction``
    (degrees), its longer side about ``side`` pixels, on a dark backdrop."""
    canvas = np.asarray(on_canvas(image, 240, 0.85))
    linear = features.oblique_view(tilt, direction) * (side / 240)
    corners = np.array([[0, 0], [240, 0], [240, 240], [0, 240]], np.float64) @ linear.T
    low, high = corners.min(axis=0), corners.max(axis=0)
    transform = np.hstack([linear, (20 - low)[:, None]])
    size = (int(high[0] - low[0]) + 40, int(high[1] - low[1]) + 40)
    return cv2.warpAffine(canvas, transform, size, flags=cv2.INTER_AREA, borderValue=(30, 30, 30))


def screen() -> Image.Image:
    """A simple emblem: a rounded frame with a triangle rising from its lower side, on a white
    card. Its flat regions: the frame and the triangle (one dark region), the card inside the
    frame, and the card's corners outside it."""
    drawn = Image.new("RGB", (300, 200), "white")
    draw = ImageDraw.Draw(drawn)
    draw.rounded_rectangle([20, 20, 280, 180], radius=30, outline="black", width=14)
    draw.polygon([(110, 180), (190, 180), (150, 120)], fill="black")
    return drawn


def askew(
    picture: Image.Image, squash: float, direction: float, side: int, ground: tuple[int, int, int] = (30, 30, 30)
) -> tuple[np.ndarray, np.ndarray]:
    """``picture`` squashed by ``squash`` across ``direction`` (degrees), as a flat card seen from
    afar at an angle, fitted into a ``side`` x ``side`` image of ``ground``; and that affine map (2x3)."""
    width, height = picture.size
    angle = np.deg2rad(direction)
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    linear = turn.T @ np.diag([1.0, squash]) @ turn
    corners = (np.array([[0, 0], [width, 0], [width, height], [0, height]]) - [width / 2, height / 2]) @ linear.T
    linear = linear * 0.8 * side / np.ptp(corners, axis=0).max()
    transform = np.hstack([linear, (np.array([side / 2, side / 2]) - linear @ [width / 2, height / 2])[:, None]])
    view = cv2.warpAffine(np.asarray(picture), transform, (side, side), borderValue=ground)
    return view, transform
