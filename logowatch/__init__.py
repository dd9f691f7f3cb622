"""logowatch: find avatars and thumbnails that carry one of your official emblems.

The library API::

    from logowatch import Detector
    detector = Detector("reference_logos")
    result = detector.check("avatar.jpg")      # a path, bytes, a PIL image or an RGB array
    for result in detector.scan(paths):        # in input order; Detector(..., jobs=4) for processes
        print(result.path, result.match, result.reference, result.score)

    from logowatch import AccountChecker, read_manifest
    for verdict in AccountChecker(detector).check(read_manifest("accounts.csv").rows):
        print(verdict.account_id, verdict.verdict, verdict.entity, verdict.reason)
"""

from __future__ import annotations

__version__ = "0.2.0"

from logowatch.accounts import AccountChecker, AccountVerdict, read_manifest
from logowatch.detector import Detector
from logowatch.errors import (
    ClusterError,
    ExitCode,
    ImageLoadError,
    ImageTooLargeError,
    InputError,
    LogowatchError,
    ManifestError,
    OutputError,
    ReferenceLibraryError,
    TextModelError,
    WorkerError,
)
from logowatch.library import Entity, ReferenceIndex
from logowatch.loading import LoadedImage, load_image
from logowatch.results import Evidence, Result, Scored

__all__ = [
    "AccountChecker",
    "AccountVerdict",
    "ClusterError",
    "Detector",
    "Entity",
    "Evidence",
    "ExitCode",
    "ImageLoadError",
    "ImageTooLargeError",
    "InputError",
    "LoadedImage",
    "LogowatchError",
    "ManifestError",
    "OutputError",
    "ReferenceIndex",
    "ReferenceLibraryError",
    "Result",
    "Scored",
    "TextModelError",
    "WorkerError",
    "__version__",
    "load_image",
    "read_manifest",
]
