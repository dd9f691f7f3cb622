"""Perceptual hashes for the whole-image case: the avatar *is* the emblem.

When an avatar is the emblem resized, recompressed or cut to a circle, its pHash stays within a
few bits of the reference's, which costs microseconds to check and needs no keypoints at all (a
32-pixel avatar has almost none). Hashes are taken of the *content*: a uniform frame around the
picture is trimmed first, so that padding does not move the hash.
"""

from __future__ import annotations

import imagehash
import numpy as np
from PIL import Image

#: Pixels differing from the frame colour by more than this (0..255, any channel) are content.
CONTENT_TOLERANCE = 30
#: A frame counts as uniform when this share of its pixels is within tolerance of its median.
UNIFORM_SHARE = 0.95
#: Bits of pHash (64 in all) at or under which two images count as the same picture.
DEFAULT_HASH_DISTANCE = 10
#: A picture (or its content) smaller than this on a side is too small to be told by its hash.
MIN_HASH_SIDE = 8


def content_box(rgb: np.ndarray) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of what lies inside a uniform frame, or the whole image when there is none."""
    height, width = rgb.shape[:2]
    whole = (0, 0, width, height)
    if height < 3 or width < 3:
        return whole
    frame = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]]).astype(np.int16)
    median = np.median(frame, axis=0)
    if float((np.abs(frame - median).max(axis=1) <= CONTENT_TOLERANCE).mean()) < UNIFORM_SHARE:
        return whole
    far = np.abs(rgb.astype(np.int16) - median) > CONTENT_TOLERANCE
    # Channel by channel: numpy's any() over a short last axis is many times slower.
    inside = far[..., 0] | far[..., 1] | far[..., 2]
    rows = np.flatnonzero(inside.any(axis=1))
    columns = np.flatnonzero(inside.any(axis=0))
    if rows.size == 0 or columns.size == 0:
        return whole
    return int(columns[0]), int(rows[0]), int(columns[-1]) + 1, int(rows[-1]) + 1


def phash(rgb: np.ndarray, side: int = 8) -> imagehash.ImageHash:
    """DCT perceptual hash of an RGB array: ``side`` x ``side`` bits (64 by default)."""
    return imagehash.phash(Image.fromarray(rgb), hash_size=side)


def hash_bits(value: imagehash.ImageHash) -> np.ndarray:
    """The hash as a flat boolean array, for vectorised Hamming distances."""
    return np.asarray(value.hash, dtype=bool).ravel()


def hamming(bits: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Hamming distance of one hash (``bits``) to every row of ``table``."""
    distances: np.ndarray = np.count_nonzero(table != bits[None, :], axis=1)
    return distances
