"""Bytes or a path in, an honest RGB array out.

Loading is where most image tools quietly lie: they ignore EXIF orientation, turn a transparent
background black, clip 16-bit images, or allocate gigabytes for a file that only claims to be huge.
This module does none of that:

- the format is found from the content, never from the extension;
- the pixel count in the header is checked before any pixel is decoded (decompression bombs);
- JPEGs are decoded at a reduced scale when they are far larger than we need;
- animations give their first frame, EXIF orientation is applied;
- palette, LA, CMYK, 16-bit and float modes are converted deliberately;
- transparency is composited onto a background that contrasts with the opaque pixels, so a dark
  emblem lands on white and a white emblem on black, instead of vanishing.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from logowatch.errors import ImageLoadError, ImageTooLargeError
from logowatch.files import is_folder

logger = logging.getLogger(__name__)
#: What Pillow raises for a damaged file besides the errors it documents: its format plugins index
#: past the end of a truncated frame table (IndexError), meet a tag of the wrong type in a damaged
#: TIFF (TypeError), miss a key (KeyError), unpack too few bytes (struct.error) or divide by a
#: zero field. Each is the file's fault, and becomes its error row, not the end of a scan.
DAMAGED_FILE_ERRORS = (
    OSError, ValueError, SyntaxError, EOFError, IndexError, TypeError, KeyError, struct.error, ZeroDivisionError
)

#: Modes that Pillow averages down by a whole factor (``Image.reduce``) as they are.
REDUCIBLE_MODES = ("L", "LA", "RGB", "RGBA", "RGBa", "La", "I", "F", "CMYK")
#: Refuse images whose header claims more pixels than this (about 10x a 12 MP camera).
DEFAULT_MAX_PIXELS = 120_000_000
#: Images are reduced so that their longer side is at most this many pixels.
DEFAULT_MAX_SIDE = 1024
#: Refuse files larger than this many bytes before even parsing them.
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
#: An alpha value below this (0..255) counts as transparent when looking for the emblem's extent.
ALPHA_VISIBLE = 128


@dataclass(frozen=True)
class LoadedImage:
    """A decoded image: 8-bit RGB pixels, the alpha channel if it carried information, and facts."""

    rgb: np.ndarray
    alpha: np.ndarray | None
    format: str
    #: (width, height) of the image as stored, turned upright when EXIF said so.
    original_size: tuple[int, int]
    frames: int
    #: SHA-256 of the file's bytes (hex); None for an image handed over already decoded.
    sha256: str | None = None

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the decoded, possibly reduced, pixels."""
        return int(self.rgb.shape[1]), int(self.rgb.shape[0])

    def composited(self) -> np.ndarray:
        """RGB with transparency flattened onto a background that contrasts with the emblem."""
        if self.alpha is None:
            return self.rgb
        return composite_on_contrast(self.rgb, self.alpha)


def contrast_background(rgb: np.ndarray, alpha: np.ndarray) -> float:
    """255 (white) or 0 (black): whichever contrasts more with the opaque pixels of ``rgb``."""
    opaque = alpha >= ALPHA_VISIBLE
    if not opaque.any():
        return 255.0
    luma = rgb[opaque].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    return 0.0 if float(luma.mean()) > 150.0 else 255.0


def composite_on_contrast(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Flatten ``rgb`` over white or black, whichever contrasts more with its opaque pixels."""
    return composite(rgb, alpha, contrast_background(rgb, alpha))


def composite(rgb: np.ndarray, alpha: np.ndarray, background: float) -> np.ndarray:
    """Flatten ``rgb`` with its ``alpha`` over a grey level (255 white, 0 black)."""
    a = alpha.astype(np.float32)[..., None] / 255.0
    out = rgb.astype(np.float32) * a + background * (1.0 - a)
    flat: np.ndarray = np.clip(out + 0.5, 0, 255).astype(np.uint8)
    return flat


#: What :func:`load_image` reads: a path, the file's bytes, a Pillow image, an RGB(A) array, or an
#: image it has already loaded (returned as it is, so that a caller who needs the pixels too,
#: for an evidence picture, decodes once).
ImageSource = str | Path | bytes | Image.Image | np.ndarray | LoadedImage


def require_image_source(source: object) -> None:
    """Raise ``TypeError`` for what no :data:`ImageSource` is (None, a number): a caller's mistake,
    which no error row of a bad image should hide."""
    if not isinstance(source, (str, os.PathLike, bytes, Image.Image, np.ndarray, LoadedImage)):
        raise TypeError(
            f"an image is a path, the file's bytes, a Pillow image or a numpy array, not {type(source).__name__}"
        )


def load_image(
    source: ImageSource,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_side: int = DEFAULT_MAX_SIDE,
    name: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> LoadedImage:
    """Decode ``source`` into a :class:`LoadedImage`.

    ``source`` is a path, the file's bytes, a Pillow image, or a numpy array (height x width
    grey, or x 3 RGB, or x 4 RGBA: RGB order, not OpenCV's BGR; 8-bit, 16-bit, boolean or float
    in 0..1). Raises :class:`ImageLoadError` with a reason a person can act on when the file is
    empty, is not an image, is truncated or corrupt, and :class:`ImageTooLargeError` for
    decompression bombs and for files or bytes over ``max_bytes``. The SHA-256 of a file's bytes
    is kept, for audits and deduplication. Error messages name the image ``name``, by default the
    path (or ``<bytes>``, ``<array>``...). Anything else than these is a ``TypeError``: no image.
    """
    require_image_source(source)
    if isinstance(source, LoadedImage):
        return source
    if isinstance(source, Image.Image):
        return _load_pillow(source, name or "<image>", max_pixels, max_side, digest=None, own=False)
    if isinstance(source, np.ndarray):
        return _load_pillow(_from_array(source), name or "<array>", max_pixels, max_side, digest=None, own=True)
    name = name or ("<bytes>" if isinstance(source, bytes) else str(source))
    data = source if isinstance(source, bytes) else _read_bytes(Path(source), max_bytes)
    if len(data) > max_bytes:  # bytes given as they are: a file's size is checked before it is read
        raise ImageTooLargeError(f"{name}: refused, over the {max_bytes:,} byte limit")
    digest = hashlib.sha256(data).hexdigest()
    try:
        return _from_bytes(data, name, max_pixels, max_side, digest)
    except ImageLoadError as exc:
        # The bytes were read: an audit can still name them.
        raise type(exc)(str(exc), sha256=digest) from exc


def _from_bytes(data: bytes, name: str, max_pixels: int, max_side: int, digest: str) -> LoadedImage:
    """:func:`load_image` for a file's bytes, once read."""
    if not data:
        raise ImageLoadError(f"{name}: the file is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise _bomb(name, exc, max_pixels) from exc
    except UnidentifiedImageError as exc:
        raise ImageLoadError(f"{name}: not an image in any supported format ({_sniff(data)})") from exc
    except DAMAGED_FILE_ERRORS as exc:
        raise ImageLoadError(f"{name}: cannot parse the image header: {_reason(exc)}") from exc
    return _load_pillow(image, name, max_pixels, max_side, digest=digest, own=True)


def _load_pillow(
    image: Image.Image, name: str, max_pixels: int, max_side: int, digest: str | None, own: bool
) -> LoadedImage:
    """:func:`load_image` for a Pillow image: one of our ``own`` decoding, or a caller's, which is
    not changed."""
    width, height = image.size
    if width * height > max_pixels:
        raise _too_many(name, width * height, max_pixels, f" ({width}x{height})")
    if width < 1 or height < 1:
        raise ImageLoadError(f"{name}: the image has no pixels ({width}x{height})")
    try:
        # Counting an animation's frames reads its frame table, which a truncated file lacks.
        frames = int(getattr(image, "n_frames", 1) or 1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            decoded, turned = _decoded(image, max_side, own)
    except Image.DecompressionBombError as exc:
        raise _bomb(name, exc, max_pixels) from exc
    except DAMAGED_FILE_ERRORS as exc:
        raise ImageLoadError(f"{name}: the image data is corrupt or truncated: {_reason(exc)}") from exc
    rgb, alpha = _at_most(decoded, max_side)
    # EXIF orientation may have turned the image: its original size is the upright one. (Told by
    # the turn itself: a 3000x3001 image decodes to 512x512, whose shape says nothing of it.)
    upright = (height, width) if turned else (width, height)
    return LoadedImage(
        rgb=rgb,
        alpha=alpha,
        format=str(image.format or "unknown"),
        original_size=upright,
        frames=frames,
        sha256=digest,
    )


def _reason(exc: BaseException) -> str:
    """An exception as a reason: its message, with its type where the message alone says little
    (Pillow's ``IndexError``, say, reads "list index out of range")."""
    if isinstance(exc, (OSError, ValueError, SyntaxError)) and str(exc):
        return str(exc)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _too_many(name: str, pixels: int, max_pixels: int, detail: str = "") -> ImageTooLargeError:
    return ImageTooLargeError(
        f"{name}: refused as a possible decompression bomb: the header claims {pixels:,} pixels{detail}, "
        f"more than the limit of {max_pixels:,}"
    )


def _bomb(name: str, exc: Image.DecompressionBombError, max_pixels: int) -> ImageTooLargeError:
    """Pillow's own refusal, which comes first for the largest claims, worded like ours."""
    claimed = re.search(r"\((\d+) pixels\)", str(exc))
    return _too_many(name, int(claimed.group(1)) if claimed else max_pixels + 1, max_pixels)


def _from_array(array: np.ndarray) -> Image.Image:
    """A Pillow image of an RGB(A) or grey array of any common dtype."""
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
        raise ImageLoadError(
            f"<array>: an image array is height x width (grey) or height x width x 3 (RGB) or 4 (RGBA); "
            f"got shape {array.shape}"
        )
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.dtype == np.bool_:
        array = array.astype(np.uint8) * 255
    elif array.dtype == np.uint16:
        array = (array.astype(np.float32) / 257.0 + 0.5).astype(np.uint8)
    elif np.issubdtype(array.dtype, np.floating):
        array = (np.clip(np.nan_to_num(array.astype(np.float32)), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    elif array.dtype != np.uint8:
        raise ImageLoadError(f"<array>: unsupported pixel type {array.dtype}; use uint8, uint16, bool or float")
    return Image.fromarray(np.ascontiguousarray(array))


#: Bytes read at a time from a stream whose size is not known beforehand (see :func:`read_at_most`).
READ_CHUNK = 1 << 20


def read_at_most(stream: BinaryIO, limit: int) -> bytes:
    """The bytes of ``stream``, up to ``limit`` of them, read a megabyte at a time: asked for
    ``limit`` bytes at once, Python sets that much memory aside first, whatever the stream holds."""
    return _joined(_chunks(stream, limit))


def _joined(chunks: list[bytes]) -> bytes:
    """The chunks as one ``bytes``; a single one is not copied."""
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _chunks(stream: BinaryIO, limit: int) -> list[bytes]:
    """:func:`read_at_most`'s bytes, in the chunks they were read in."""
    chunks: list[bytes] = []
    left = limit
    while left > 0 and (chunk := stream.read(min(READ_CHUNK, left))):
        chunks.append(chunk)
        left -= len(chunk)
    return chunks


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ImageTooLargeError(f"{path}: refused, the file is {size:,} bytes, over the {max_bytes:,} byte limit")
        with path.open("rb") as stream:
            # A regular file at once; a device (/dev/zero) or a pipe, which has no size, no further
            # than the limit, and what is read of one over it is not joined up only to be refused.
            chunks = [stream.read(size + 1)] if size else _chunks(stream, max_bytes + 1)
        if sum(len(chunk) for chunk in chunks) > max_bytes:
            raise ImageTooLargeError(f"{path}: refused, over the {max_bytes:,} byte limit")
        return _joined(chunks)
    except IsADirectoryError as exc:
        try:
            os.scandir(path).close()
        except OSError as unlisted:
            raise ImageLoadError(
                f"{path}: cannot list the folder ({unlisted.strerror or unlisted}); the images in it cannot be read"
            ) from exc
        raise ImageLoadError(f"{path}: is a folder, not an image") from exc
    except PermissionError as exc:
        if is_folder(path):
            raise ImageLoadError(
                f"{path}: cannot list the folder (permission denied); the images in it cannot be read"
            ) from exc
        raise ImageLoadError(f"{path}: permission denied") from exc
    except FileNotFoundError as exc:
        # A list of files written by hand often carries spaces around a name, hard to see in a message.
        spaced = any(part != part.strip() for part in Path(path).parts)
        hint = "; a name in its path begins or ends with white space" if spaced else ""
        raise ImageLoadError(f"{path}: no such file{hint}") from exc
    except OSError as exc:
        raise ImageLoadError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except ValueError as exc:
        # os.stat refuses a NUL in a name, and a lone surrogate that UTF-8 cannot encode (a name cut
        # in the middle of an emoji by a scraper): no file has such a name.
        raise ImageLoadError(f"{path}: no file can have this name ({exc})") from exc


def _sniff(data: bytes) -> str:
    """A short description of what a non-image file seems to be, for the error message."""
    head = data[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head:
        return "looks like an HTML page, perhaps a refused download"
    try:
        data[:512].decode("utf-8")
    except UnicodeDecodeError:
        return f"{len(data):,} bytes of unrecognised binary data"
    return "looks like text"


def _decoded(image: Image.Image, max_side: int, own: bool) -> tuple[Image.Image, bool]:
    """The image decoded by Pillow (its first frame), upright, and averaged down by a whole factor
    where it is huge; and whether turning it upright (its EXIF orientation) swapped its sides. An
    image of our ``own`` decoding is turned in place; a caller's is left as it was given.

    Everything Pillow does with the file's data happens here, where a damaged file shows."""
    if not own and getattr(image, "n_frames", 1) > 1 and image.tell() != 0:
        # A caller's animation at a later frame: its first frame from a copy, the caller's untouched.
        frame = image.tell()
        image.seek(0)
        first = image.copy()
        image.seek(frame)
        image = first
    elif getattr(image, "n_frames", 1) > 1:
        image.seek(0)
    if image.format == "JPEG" and own:
        # Let libjpeg decode at 1/2, 1/4 or 1/8 scale: a 35 MP photo costs a fraction of full decode.
        # (Not a caller's image, which would stay at that scale.)
        image.draft(None, (max_side, max_side))
    image.load()
    stored = image.size
    if own:
        ImageOps.exif_transpose(image, in_place=True)
    else:
        image = ImageOps.exif_transpose(image) or image
    turned = image.size != stored
    # A huge image of another format (a 110 MP PNG) is first averaged down by a whole factor, to
    # twice the size wanted or more, in Pillow's own memory: converted whole, it peaked at 1.5 GB.
    factor = max(image.size) // (2 * max_side)
    if factor >= 2 and image.mode in REDUCIBLE_MODES:
        image = image.reduce(factor)
    return image, turned


def _at_most(image: Image.Image, max_side: int) -> tuple[np.ndarray, np.ndarray | None]:
    """A decoded image's RGB pixels and alpha (None where it has none), at most ``max_side`` on
    the longer side."""
    rgb, alpha = _to_rgb_alpha(image)
    height, width = rgb.shape[:2]
    if max(height, width) > max_side:
        scale = max_side / max(height, width)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        # Area averaging, as matching reduces a working copy: an image loaded at the working size is
        # the very copy that matching would otherwise have made from a larger one.
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        if alpha is not None:
            alpha = cv2.resize(alpha, size, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(rgb), alpha


def _to_rgb_alpha(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        values = np.asarray(image).astype(np.float32)
        top = 65535.0 if mode.startswith("I;16") or float(values.max()) > 255 else 255.0
        if mode == "F":
            low, high = float(values.min()), float(values.max())
            values = (values - low) / max(high - low, 1e-6) * 255.0
        else:
            values = values / top * 255.0
        grey = np.clip(values + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2), None
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode in ("LA", "La", "PA", "RGBa"):
        image = image.convert("RGBA")
    elif mode == "RGBA":
        pass
    elif mode != "RGB":
        # CMYK, YCbCr, LAB, HSV, L and 1 all have a defined conversion to RGB.
        image = image.convert("RGB")
    array = np.asarray(image)
    if image.mode == "RGBA":
        alpha = np.ascontiguousarray(array[..., 3])
        rgb = np.ascontiguousarray(array[..., :3])
        if int(alpha.min()) == 255:
            return rgb, None
        return rgb, alpha
    return np.ascontiguousarray(array), None
