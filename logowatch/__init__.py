"""logowatch: find avatars and thumbnails that carry one of your official emblems.

The library API, in the order data flows through it::

    from logowatch import build_index, load_image, match
    index = build_index(Path("reference_logos"))
    candidates = match(index, load_image("avatar.jpg"))
"""

from __future__ import annotations

__version__ = "0.1.0"

from logowatch.errors import ExitCode, ImageLoadError, ImageTooLargeError, LogowatchError
from logowatch.library import ReferenceIndex, build_index
from logowatch.loading import LoadedImage, load_image
from logowatch.matching import Candidate, match

__all__ = [
    "Candidate",
    "ExitCode",
    "ImageLoadError",
    "ImageTooLargeError",
    "LoadedImage",
    "LogowatchError",
    "ReferenceIndex",
    "__version__",
    "build_index",
    "load_image",
    "match",
]
