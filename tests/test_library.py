from __future__ import annotations

import json
import pickle
import shutil
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from logowatch import features
from logowatch import library as library_module
from logowatch.errors import ReferenceLibraryError, WorkerError
from logowatch.library import (
    FEWEST_TO_PREPARE_IN_PARALLEL,
    OBLIQUE_FEATURES_PER_VIEW,
    PREPARATION_VERSION,
    REGION_PARTS,
    ReferenceIndex,
    Variant,
    _kept,
    _renderings,
    _strongest,
    cache_path,
    describe,
    discover,
    oblique_features_per_view,
    prepare,
    prepare_cached,
    warm_cache,
)
from tests.conftest import REFERENCES, emblem, flatten


def make_library(root: Path) -> Path:
    bundled = REFERENCES
    shutil.copytree(bundled / "kesland-coast-guard", root / "coast")
    (root / "coast" / "entity.json").write_text(json.dumps({"name": "Coast Guard"}))
    shutil.copy(bundled / "valport-police" / "emblem.png", root / "police.png")
    (root / ".hidden").mkdir()
    shutil.copy(bundled / "valport-police" / "emblem.png", root / ".hidden" / "x.png")
    (root / "empty-entity").mkdir()
    (root / "README.txt").write_text("not an emblem")
    return root


def test_discover_folders_loose_files_and_names(tmp_path: Path) -> None:
    entities = discover(make_library(tmp_path))
    assert [(e.id, e.name) for e in entities] == [("coast", "Coast Guard"), ("police", "police")]
    assert [v.path.name for v in entities[0].variants] == ["emblem.png"]


def test_an_emblem_without_an_image_ending_is_taken_by_its_content(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    emblem_png = REFERENCES / "valport-police" / "emblem.png"
    shutil.copy(emblem_png, tmp_path / "saved-from-browser")  # a loose emblem, no ending
    shutil.copy(emblem_png, tmp_path / "gov.uk-logo")  # an ending that is not an image's: the whole name
    (tmp_path / "coast").mkdir()
    Image.open(emblem_png).convert("RGB").save(tmp_path / "coast" / "emblem.download", "WEBP")
    Image.open(emblem_png).save(tmp_path / "coast" / "second", "BMP")
    (tmp_path / "coast" / "notes").write_text("BMW-blue, not an emblem")
    (tmp_path / "LICENSE").write_text("not an emblem")
    (tmp_path / "seal.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    with caplog.at_level("WARNING"):
        entities = discover(tmp_path)
    assert [e.id for e in entities] == ["coast", "gov.uk-logo", "saved-from-browser"]
    assert [v.path.name for v in entities[0].variants] == ["emblem.download", "second"]
    assert [r.getMessage() for r in caplog.records] == [
        f"{tmp_path / 'seal.svg'}: vector images are not read, export the emblem as PNG; skipped"
    ]
    index = ReferenceIndex.build(tmp_path)
    assert index.features.descriptor_count > 0 and len(index.variants) == 4


@pytest.mark.parametrize(
    ("written", "name", "warning"),
    [
        ('\ufeff{"name": "Coast Guard"}', "Coast Guard", None),
        ('{"name": ["Coast", "Guard"]}', "coast", "name ['Coast', 'Guard'] should be a string; using the folder name"),
        ('{"name": "Coast Guard", "hotline": ["110"]}', "Coast Guard",
         "'hotline' not read (it reads name, names, official_accounts, hotlines)"),
        ('{"official_accounts": [{"platform": "weibo"}]}', "coast",
         "official account {'platform': 'weibo'} needs a platform and an id; ignored"),
        ('{"names": [["Coast", "Guard"]]}', "coast", "names entry ['Coast', 'Guard'] should be a string; ignored"),
        ('{"name": "Coast Guard",}', "coast", "unreadable"),
    ],
)
def test_entity_json_mistakes_are_named(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, written: str, name: str, warning: str | None
) -> None:
    shutil.copytree(REFERENCES / "kesland-coast-guard", tmp_path / "coast")
    (tmp_path / "coast" / "entity.json").write_text(written, encoding="utf-8")
    with caplog.at_level("WARNING"):
        (entity,) = discover(tmp_path)
    assert entity.name == name
    messages = [r.getMessage() for r in caplog.records]
    if warning is None:
        assert messages == []
    else:
        assert len(messages) == 1 and warning in messages[0] and "entity.json" in messages[0]


def test_a_folder_with_an_entity_file_and_no_image_keeps_its_names(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    library = make_library(tmp_path)
    office = library / "harbour-office"
    office.mkdir()
    (office / "entity.json").write_text(json.dumps(
        {"name": "Harbour Office", "official_accounts": [{"platform": "weibo", "id": "ho1"}]}
    ))
    (library / "empty").mkdir()  # nothing at all: skipped
    (library / "nested" / "sub").mkdir(parents=True)  # its image a folder too deep: skipped, and why
    (library / "nested" / "sub" / "e.png").write_bytes((library / "police.png").read_bytes())
    (library / "coast" / "variants").mkdir()  # beside its own image: not read, and said so
    (library / "coast" / "variants" / "v2.png").write_bytes((library / "police.png").read_bytes())
    (library / "nested" / ".thumbnails").mkdir()  # a hidden folder's image is not named
    (library / "nested" / ".thumbnails" / "a.png").write_bytes((library / "police.png").read_bytes())
    (library / "harbour").mkdir()  # nor a system's own folders', beside an entity's image
    for system in ("__MACOSX", "@eaDir"):
        (library / "harbour" / system).mkdir()
        (library / "harbour" / system / "e.png").write_bytes((library / "police.png").read_bytes())
    (library / "harbour" / "e.png").write_bytes((library / "police.png").read_bytes())
    for system in ("@eaDir", "__MACOSX", "$RECYCLE.BIN"):  # a system's own folders at the top: no entities
        (library / system).mkdir()
        (library / system / "direct.png").write_bytes((library / "police.png").read_bytes())
    (library / "@harbour_watch").mkdir()  # an entity named like a handle is one
    (library / "@harbour_watch" / "e.png").write_bytes((library / "police.png").read_bytes())
    (library / "ghost.png").symlink_to(tmp_path / "gone.png")  # a link to nothing, here and in a folder
    (library / "coast" / "old.png").symlink_to(tmp_path / "gone-too.png")
    entities = {e.id: e for e in discover(library)}
    assert sorted(entities) == ["@harbour_watch", "coast", "harbour", "harbour-office", "police"]
    assert "harbour:" not in caplog.text and len(entities["harbour"].variants) == 1
    assert f"ghost.png: a link to {tmp_path / 'gone.png'}, which does not exist; skipped" in caplog.text
    assert f"old.png: a link to {tmp_path / 'gone-too.png'}, which does not exist; skipped" in caplog.text
    assert "eaDir" not in caplog.text and "MACOSX" not in caplog.text
    assert f"nested: no emblem image directly inside (images in its sub-folders, such as {Path('sub', 'e.png')}, are " \
        "not read: move them up into nested/" in caplog.text
    assert f"coast: images in its sub-folders, such as {Path('variants', 'v2.png')}, are not read" in caplog.text
    assert len(entities["coast"].variants) == 1
    assert entities["harbour-office"].name == "Harbour Office" and entities["harbour-office"].variants == ()
    assert "harbour-office: no emblem image inside; its entity.json is read, for the account verdicts" in caplog.text
    assert "empty: no emblem image inside; skipped" in caplog.text
    # Names alone make no library: nothing could be matched, and the message says what to add.
    only_names = tmp_path / "only-names"
    shutil.copytree(office, only_names / "harbour-office")
    with pytest.raises(ReferenceLibraryError, match="no emblems found; add one folder per entity"):
        discover(only_names)


def test_a_favicon_or_a_blank_emblem_is_named_in_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    library = tmp_path / "library"
    for name, picture in (
        ("favicon", Image.open(REFERENCES / "valport-police" / "emblem.png").convert("RGBA").resize((16, 16))),
        ("blank", Image.new("RGB", (200, 200), "white")),
        ("badge", Image.open(REFERENCES / "valport-police" / "emblem.png")),
    ):
        (library / name).mkdir(parents=True)
        picture.save(library / name / "emblem.png")
    index = ReferenceIndex.build(library)
    assert sorted(e.id for e in index.entities) == ["badge", "blank", "favicon"]  # warned of, not refused
    assert "favicon/emblem.png: only 16x16 pixels: too little detail" in caplog.text
    assert "blank/emblem.png: no keypoints in it (blank or flat?)" in caplog.text
    assert "badge" not in caplog.text


def test_missing_or_empty_library_is_an_error(tmp_path: Path) -> None:
    said = r"does not exist; give the folder of one \(--references DIR .* Detector\(DIR\) in Python\)"
    with pytest.raises(ReferenceLibraryError, match=said):
        discover(tmp_path / "absent")
    (tmp_path / "a-file").write_text("")
    with pytest.raises(ReferenceLibraryError, match="is not a folder"):
        discover(tmp_path / "a-file")
    with pytest.raises(ReferenceLibraryError, match="no emblems found"):
        discover(tmp_path)


def cache_files(cache: Path) -> list[Path]:
    return sorted(cache.rglob(f"*-v{PREPARATION_VERSION}.npz"))


def test_cache_is_written_reused_and_follows_content(tmp_path: Path) -> None:
    library = make_library(tmp_path / "lib")
    cache = tmp_path / "cache"
    first = ReferenceIndex.build(library, cache)
    assert len(cache_files(cache)) == 2
    stamps = {p: p.stat().st_mtime_ns for p in cache_files(cache)}
    second = ReferenceIndex.build(library, cache)
    assert {p: p.stat().st_mtime_ns for p in cache_files(cache)} == stamps
    assert second.features.descriptor_count == first.features.descriptor_count
    # The oblique views come back from the cache as prepared, each keypoint with its rendering.
    assert second.oblique.descriptor_count == first.oblique.descriptor_count > 0
    assert second.oblique.renderings is not None and first.oblique.renderings is not None
    for loaded, prepared in zip(second.oblique.renderings, first.oblique.renderings, strict=True):
        assert np.array_equal(loaded, prepared) and (loaded > 0).all()
    fresh = ReferenceIndex.build(library)  # no cache at all
    assert all(
        np.array_equal(a, b) for a, b in zip(fresh.oblique.points, second.oblique.points, strict=True)
    )
    # So do the emblems' flat regions, every view's, exactly as found.
    assert len(fresh.regions) == len(second.regions) > 0
    for part in ("centres", "roots", "plain", "invariants", "members"):
        assert np.array_equal(getattr(fresh.regions, part), getattr(second.regions, part))
    # Changing an emblem's content is picked up without any flag: a new cache entry appears.
    Image.open(library / "police.png").rotate(90).save(library / "police.png")
    ReferenceIndex.build(library, cache)
    assert len(cache_files(cache)) == 3


def test_damaged_cache_is_rebuilt(tmp_path: Path) -> None:
    library = make_library(tmp_path / "lib")
    cache = tmp_path / "cache"
    reference = ReferenceIndex.build(library, cache)
    for entry in cache_files(cache):
        entry.write_bytes(b"garbage")
    rebuilt = ReferenceIndex.build(library, cache)
    assert rebuilt.features.descriptor_count == reference.features.descriptor_count
    assert all(entry.stat().st_size > 100 for entry in cache_files(cache))


def test_a_cache_that_cannot_be_written_is_warned_about_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # One line for the folder, not one for every emblem it lacks, however many builds; with jobs,
    # the folder is tried once before any worker starts.
    library = make_library(tmp_path / "lib")
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    for jobs in (1, 2):
        index = ReferenceIndex.build(library, blocked / "cache", jobs=jobs)
        assert len(index.variants) >= 2
    warnings = [r.getMessage() for r in caplog.records if "cannot write" in r.getMessage() and r.levelname == "WARNING"]
    assert len(warnings) == 1 and "cannot write the cache in" in warnings[0] and "not a directory" in warnings[0]


def test_unreadable_variant_is_skipped(tmp_path: Path) -> None:
    library = make_library(tmp_path / "lib")
    (library / "broken.png").write_bytes(b"not a png")
    index = ReferenceIndex.build(library, None)
    assert [e.id for e in index.entities] == ["broken", "coast", "police"]
    assert len(index.variants) == 2


def test_a_variant_unreadable_when_listed_is_skipped_with_the_cache_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A file that cannot be read when the library is listed (no permission, gone since) has no
    # digest to key the cache by: it is reported with the library's other unusable emblems, not
    # read again for a key, which raised past every handler.
    library = make_library(tmp_path / "lib")
    (library / "gone.png").write_bytes(b"")
    real_digest = library_module.file_digest

    def unreadable(path: Path) -> str:
        if path.name == "gone.png":
            raise PermissionError(13, "Permission denied", str(path))
        return real_digest(path)

    monkeypatch.setattr(library_module, "file_digest", unreadable)
    entities = discover(library)
    [gone] = [v for e in entities for v in e.variants if v.path.name == "gone.png"]
    assert gone.digest is None and cache_path(gone, tmp_path / "cache") is None
    assert warm_cache(entities, tmp_path / "cache") == 2  # the two readable ones
    index = ReferenceIndex.build(library, tmp_path / "cache")
    assert len(index.variants) == 2


def test_a_worker_that_dies_while_preparing_is_an_error_that_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    library = tmp_path / "lib"
    library.mkdir()
    for number in range(FEWEST_TO_PREPARE_IN_PARALLEL):
        emblem("valport-police").resize((120 + 8 * number, 120 + 8 * number)).save(library / f"e{number}.png")

    class Dying(ProcessPoolExecutor):
        def submit(self, *args: object, **kwargs: object) -> Future[None]:
            future: Future[None] = Future()
            future.set_exception(BrokenProcessPool("a child process terminated abruptly"))
            return future

    monkeypatch.setattr(library_module, "ProcessPoolExecutor", Dying)
    with pytest.raises(WorkerError, match=r"a worker process died while preparing .*e[0-9]\.png"):
        warm_cache(discover(library), tmp_path / "cache", jobs=2)


def test_what_an_index_remembers_per_process_does_not_travel_with_it(tmp_path: Path) -> None:
    index = ReferenceIndex.build(make_library(tmp_path / "lib"), None)
    index.interior(0, False)
    shipped = pickle.loads(pickle.dumps(index))
    assert index.interiors and not shipped.interiors and not shipped.discs
    assert shipped.digest == index.digest


def test_another_logowatch_version_is_another_library_digest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Results carry the digest, and a scan resumes only its own: rows scored by another release
    # must not be appended to.
    index = ReferenceIndex.build(make_library(tmp_path / "lib"), None)
    before = index.digest
    monkeypatch.setattr(library_module, "__version__", "99.0")
    assert index.digest != before


def test_small_renderings_add_keypoints_in_the_emblems_own_pixels() -> None:
    drawn = np.asarray(flatten(emblem("northmere-security-bureau")))
    full = features.detect(drawn, features.DEFAULT_REFERENCE_FEATURES)
    everything = describe(drawn)
    assert everything.renderings is not None
    described = everything.subset(everything.renderings == 0)  # the oblique views: see the next test
    assert len(described) > len(full)
    height, width = drawn.shape[:2]
    assert described.points[:, 0].min() >= 0 and described.points[:, 0].max() <= width
    assert described.points[:, 1].min() >= 0 and described.points[:, 1].max() <= height
    # Any prefix (what a large library keeps) mixes every rendering, not only the drawn one.
    assert not np.isin(described.descriptors[:40], full.descriptors).all(axis=1).all()


def test_oblique_views_add_keypoints_carried_back_into_the_emblems_pixels() -> None:
    drawn = np.asarray(flatten(emblem("kesland-coast-guard")))
    described = describe(drawn)
    assert described.renderings is not None
    assert set(np.unique(described.renderings)) == set(range(len(features.OBLIQUE_VIEWS) + 1))
    height, width = drawn.shape[:2]
    oblique = described.points[described.renderings > 0]
    # Carried back through the view, they lie on the emblem as drawn, where its own keypoints are.
    assert oblique[:, 0].min() >= -2 and oblique[:, 0].max() <= width + 2
    assert oblique[:, 1].min() >= -2 and oblique[:, 1].max() <= height + 2
    upright = described.points[described.renderings == 0]
    nearest = np.linalg.norm(oblique[:, None] - upright[None], axis=2).min(axis=1)
    assert float(np.median(nearest)) < 0.03 * max(width, height)


def test_a_large_library_keeps_the_strongest_of_either_kind() -> None:
    described = describe(np.asarray(flatten(emblem("valport-police"))))
    assert described.renderings is not None
    kept = _kept(described, (30, 12))
    assert kept.renderings is not None
    assert int((kept.renderings == 0).sum()) == 30 and int((kept.renderings > 0).sum()) == 12
    # The first of each kind, in their order: a smaller library keeps more of the same.
    upright = described.points[described.renderings == 0][:30]
    assert np.array_equal(kept.points[kept.renderings == 0], upright)
    assert _kept(described, None) is described


def test_only_a_library_too_large_for_them_keeps_no_oblique_views() -> None:
    assert oblique_features_per_view(80) == OBLIQUE_FEATURES_PER_VIEW
    assert 0 < oblique_features_per_view(600) < OBLIQUE_FEATURES_PER_VIEW
    assert oblique_features_per_view(3726) == 0


def test_warming_prepares_on_several_processes_once(tmp_path: Path) -> None:
    library = tmp_path / "lib"
    library.mkdir()
    for number in range(8):  # enough for the parallel path; each size is a distinct file
        emblem("valport-police").resize((120 + 8 * number, 120 + 8 * number)).save(library / f"e{number}.png")
    (library / "broken.png").write_bytes(b"not a png")
    cache = tmp_path / "cache"
    seen: list[tuple[int, int]] = []
    entities = discover(library)
    assert warm_cache(entities, cache, jobs=2, progress=lambda done, total: seen.append((done, total))) == 9
    assert seen[-1] == (9, 9)
    assert len(list(cache.rglob("*.npz"))) == 8 and not list(cache.rglob("*.tmp"))
    assert warm_cache(entities, cache, jobs=2) == 1  # only the unreadable one is still missing
    assert len(ReferenceIndex.build(library, cache).variants) == 8


#: What preparing one bundled emblem gave when PREPARATION_VERSION was last bumped: a change to
#: preparation must bump the version too, or caches written before it go on giving the old
#: keypoints (re-record with ``python -m tests.test_library`` after bumping).
PREPARATION_RECORD = Path(__file__).parent / "fixtures" / "prepared-emblem.npz"
RECORDED_KEYPOINTS = 60


def recorded_preparation() -> dict[str, np.ndarray]:
    prepared = prepare(Variant.of("valport-police", REFERENCES / "valport-police" / "emblem.png"))
    drawn = prepared.keypoints[0]
    return {
        "version": np.array(PREPARATION_VERSION),
        "points": drawn.points[:RECORDED_KEYPOINTS],
        "descriptors": drawn.descriptors[:RECORDED_KEYPOINTS].astype(np.float16),
        "hashes": prepared.hashes,
        **{f"regions_{side}_{part}": getattr(found, part)
           for side, found in zip(("drawn", "mirrored"), prepared.regions, strict=True) for part in REGION_PARTS},
    }


def test_a_change_to_preparation_comes_with_a_new_version() -> None:
    record = np.load(PREPARATION_RECORD)
    now = recorded_preparation()
    assert int(record["version"]) == PREPARATION_VERSION, "re-record after bumping PREPARATION_VERSION"
    # Other CPUs may round a little differently; a changed method moves descriptors by 1e-2.
    assert np.allclose(now["points"], record["points"], atol=1e-3), "preparation changed: bump PREPARATION_VERSION"
    assert np.allclose(
        now["descriptors"].astype(np.float32), record["descriptors"].astype(np.float32), atol=2e-3
    ), "preparation changed: bump PREPARATION_VERSION"
    assert np.array_equal(now["hashes"], record["hashes"]), "preparation changed: bump PREPARATION_VERSION"
    for key in (k for k in record.files if k.startswith("regions_")):
        assert now[key].shape == record[key].shape and np.allclose(
            now[key], record[key], atol=1e-3
        ), f"preparation changed ({key}): bump PREPARATION_VERSION"


if __name__ == "__main__":
    np.savez_compressed(PREPARATION_RECORD, **recorded_preparation())
    print(f"recorded preparation version {PREPARATION_VERSION} in {PREPARATION_RECORD}")


def test_a_cache_entry_gives_the_strongest_of_each_kind_as_preparing_does(tmp_path: Path) -> None:
    variant = Variant.of("valport-police", REFERENCES / "valport-police" / "emblem.png")
    fresh = prepare_cached(variant, None, keep=(30, 12))
    prepare_cached(variant, tmp_path)  # writes the entry
    for keep in [(30, 12), (30, 0), None]:
        cached = prepare_cached(variant, tmp_path, keep=keep)
        for side, expected in zip(cached.keypoints, _strongest(prepare(variant), keep).keypoints, strict=True):
            for kind in (0, 1):
                got = side.subset(_renderings(side) == 0 if kind == 0 else _renderings(side) > 0)
                want = expected.subset(_renderings(expected) == 0 if kind == 0 else _renderings(expected) > 0)
                assert np.array_equal(got.points, want.points)
                assert np.allclose(got.descriptors, want.descriptors, atol=1e-3)
    assert int((_renderings(fresh.keypoints[0]) > 0).sum()) == 12
