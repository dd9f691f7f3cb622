from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image, ImageDraw

from logowatch.allowlist import ALLOW_FILE, append, entry_for
from logowatch.calibration import (
    CALIBRATION_FILE,
    NAMED_CHANGES,
    Calibrated,
    OrdinaryImage,
    calibrate,
    changes,
    choose_threshold,
    distinct_count,
    just_above,
    library_threshold,
    on_canvas,
    raise_entities,
    read_calibration,
    stamp,
)
from logowatch.cli import main
from logowatch.detector import Detector
from logowatch.library import ReferenceIndex
from logowatch.loading import load_image
from logowatch.scoring import DEFAULT_THRESHOLD
from logowatch.text import Ring, RingText
from tests.conftest import REFERENCES, REPO


@pytest.mark.parametrize(
    "negatives, target, expected",
    [
        ([0.1, 0.2, 0.3], 0.0, 0.31),  # no allowance: just above the highest negative
        ([0.9] + [0.1] * 99, 0.01, 0.11),  # one in a hundred may pass
        ([0.0] * 10, 0.0, 0.05),  # never below the floor
    ],
)
def test_choose_threshold(negatives: list[float], target: float, expected: float) -> None:
    assert choose_threshold(negatives, target) == expected


def test_the_calibration_file_is_read_whole_or_not_at_all(tmp_path: Path) -> None:
    assert read_calibration(tmp_path) == Calibrated(DEFAULT_THRESHOLD, "default")
    calibration = tmp_path / CALIBRATION_FILE
    calibration.write_text(json.dumps({"threshold": 0.61, "entities": {"seal": {"threshold": 0.8}}}))
    assert read_calibration(tmp_path) == Calibrated(0.61, str(calibration), {"seal": 0.8})
    for broken in ("{broken", json.dumps({"threshold": 0.61, "entities": {"seal": {}}}),
                   json.dumps({"threshold": 0.61, "entities": ["seal"]})):
        calibration.write_text(broken)
        assert read_calibration(tmp_path).threshold == DEFAULT_THRESHOLD
        assert "unreadable" in read_calibration(tmp_path).source
    out_of_range = Calibrated(DEFAULT_THRESHOLD, f"default ({calibration} holds an out-of-range threshold)")
    # Below the library's own, or not a number, as well as above 1: entities left at the library's
    # threshold are dropped only from a file that is used.
    for own in (1.8, -3.0, float("nan")):
        calibration.write_text(json.dumps({"threshold": 0.61, "entities": {"seal": {"threshold": own}}}))
        assert read_calibration(tmp_path) == out_of_range, own
    calibration.write_text(json.dumps({"threshold": float("nan")}))
    assert read_calibration(tmp_path) == out_of_range


@pytest.mark.parametrize("score, expected", [(0.55, 0.56), (0.57, 0.58), (0.58, 0.59), (0.5799, 0.58), (1.0, 1.0)])
def test_just_above_is_above_every_score_short_of_one(score: float, expected: float) -> None:
    # 0.57 * 100 is 56.99999999999999: flooring it unrounded gives 0.57 back, which 0.57 reaches.
    assert just_above(score) == expected


@pytest.mark.parametrize(
    "ordinary, target, expected",
    [
        (0, 0.005, (0.9, "synthetic")),
        (199, 0.005, (0.9, "synthetic")),  # too few to show one in 200
        (200, 0.005, (DEFAULT_THRESHOLD, "ordinary")),
        (10_000, 0.0, (0.9, "synthetic")),  # no number of images shows a rate of zero
    ],
)
def test_the_users_images_decide_the_librarys_threshold_only_when_enough_to_show_the_target(
    ordinary: int, target: float, expected: tuple[float, str]
) -> None:
    assert library_threshold([0.89] + [0.1] * 99, ordinary, target) == expected


def test_calibrate_writes_a_threshold_that_scans_use(tmp_path: Path, cache_dir: Path) -> None:
    library = tmp_path / "lib"
    shutil.copytree(REFERENCES, library)
    runner = CliRunner()
    result = runner.invoke(main, ["calibrate", "--cache-dir", str(cache_dir), "-r", str(library)])
    assert result.exit_code == 0, result.output
    written = json.loads((library / CALIBRATION_FILE).read_text())
    assert 0.05 <= written["threshold"] <= 1.0
    assert written["synthetic_false_positive_rate"] <= 0.005
    assert written["synthetic_recall"] >= 0.8
    assert "thumbnail" in written["recall_by_family"]
    # Four emblems draw 128 images without one: too few to show 0.5%, which the output says.
    assert f"{written['negatives']:,} images cannot show a rate of 0.005 (200 needed), so none of them may match" \
        in result.output
    # Each family whose recall falls short names the emblems it missed, on the terminal too.
    entities = {path.name for path in library.iterdir() if path.is_dir()}
    for family, recall in written["recall_by_family"].items():
        missed = written["missed_by_family"].get(family, [])
        assert (recall < 1.0) == bool(missed) and set(missed) <= entities
        assert (f"  {family:12} recall {recall:.3f}, missed: " in result.output) == bool(missed)
    scan = runner.invoke(
        main, ["scan", "--cache-dir", str(cache_dir), "-r", str(library), "-f", "jsonl", str(REPO / "samples")]
    )
    rows = [json.loads(line) for line in scan.stdout.splitlines()]
    assert {row["threshold"] for row in rows} == {written["threshold"]}
    assert written["calibrated_for"] == stamp(Detector(library, cache_dir=cache_dir).index)


def test_a_calibration_of_the_library_as_it_was_is_applied_and_what_changed_is_said(
    tmp_path: Path, cache_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    library = tmp_path / "lib"
    shutil.copytree(REFERENCES, library)
    made_for = stamp(Detector(library, cache_dir=cache_dir).index)
    emblems = dict(made_for["emblems"])  # type: ignore[call-overload]
    police = emblems.pop("valport-police")
    emblems["valport-police"] = "0" * len(police)
    emblems["harbour-office"] = police
    cases = [
        (made_for, None),
        (None, None),  # a file written before files said what they were made for
        ({**made_for, "logowatch": "0.0.1"}, "it was made by logowatch 0.0.1, this is "),
        (
            {**made_for, "emblems": emblems},
            "1 emblem removed (harbour-office); 1 emblem changed (valport-police) since this library was calibrated",
        ),
        ({**made_for, "text_check": not made_for["text_check"]}, "the text check of rings was"),
    ]
    fewer = dict(made_for["emblems"])  # type: ignore[call-overload]
    fewer.pop("kesland-coast-guard")
    cases.append(({**made_for, "emblems": fewer}, "1 emblem added (kesland-coast-guard)"))
    many = {**made_for["emblems"], **{f"office-{n}": "0" for n in range(NAMED_CHANGES + 1)}}  # type: ignore[dict-item]
    cases.append(({**made_for, "emblems": many}, f"{NAMED_CHANGES + 1} emblems removed (office-0, office-1, "))
    for calibrated_for, said in cases:
        written: dict[str, object] = {"threshold": 0.62, "target_fpr": 0.001}
        if calibrated_for is not None:
            written["calibrated_for"] = calibrated_for
        (library / CALIBRATION_FILE).write_text(json.dumps(written))
        caplog.clear()
        detector = Detector(library, cache_dir=cache_dir)
        assert detector.threshold == 0.62
        if said is None:
            assert "since this library was calibrated" not in caplog.text
        else:
            assert said in caplog.text
            assert caplog.text.rstrip().endswith(
                f"To calibrate it again: logowatch calibrate -r {library} --target-fpr 0.001"
            )
    # Calibrated with the user's own images: the command gives their folders again, quoted for a shell.
    written = {"threshold": 0.62, "target_fpr": 0.001, "ordinary_images": 1200, "calibrated_for": cases[2][0],
               "negatives_from": ["/data/my avatars", "/data/more"]}
    (library / CALIBRATION_FILE).write_text(json.dumps(written))
    caplog.clear()
    Detector(library, cache_dir=cache_dir)
    assert caplog.text.rstrip().endswith(
        f"To calibrate it again: logowatch calibrate -r {library} --target-fpr 0.001 --negatives '/data/my avatars' "
        "--negatives /data/more"
    )
    # A file that does not say where they came from (written before files said so): DIR, and what it is.
    del written["negatives_from"]
    (library / CALIBRATION_FILE).write_text(json.dumps(written))
    caplog.clear()
    Detector(library, cache_dir=cache_dir)
    assert caplog.text.rstrip().endswith(
        "To calibrate it again (DIR: the folder of the 1,200 ordinary images of last time): logowatch calibrate "
        f"-r {library} --target-fpr 0.001 --negatives DIR"
    )
    # Calibrating again judges nothing: the file it replaces is not applied.
    caplog.clear()
    result = CliRunner().invoke(main, ["calibrate", "--dry-run", "--cache-dir", str(cache_dir), "-r", str(library)])
    assert result.exit_code == 0, result.output
    assert "since this library was calibrated" not in caplog.text + result.output


def test_the_text_check_is_stamped_on_only_where_a_ring_could_change_a_score(tmp_path: Path, cache_dir: Path) -> None:
    # Without a round emblem with legible text, the text model changes no score: installing it
    # after calibrating is no reason to calibrate again.
    library = tmp_path / "lib"
    shutil.copytree(REFERENCES, library)
    shutil.rmtree(library / "northmere-security-bureau")
    index = Detector(library, cache_dir=cache_dir).index
    assert not index.rings
    for model in (None, tmp_path / "model.onnx"):
        assert stamp(replace(index, text_model=model))["text_check"] is False
    made_for = {**stamp(index), "text_check": False}
    with_rings = replace(index, text_model=tmp_path / "model.onnx", rings={0: RingText(Ring((0.0, 0.0), 1.0), "A")})
    assert changes(Calibrated(0.6, "calibration.json", library=made_for), index) == []
    # A file stamped before the stamp asked for ring text says "on" wherever the model was installed.
    stamped_so = {**made_for, "text_check": True}
    assert changes(Calibrated(0.6, "c.json", library=stamped_so), replace(index, text_model=tmp_path / "m")) == []
    assert changes(Calibrated(0.6, "calibration.json", library=made_for), with_rings) == [
        "the text check of rings was off when it was made and is on here"
    ]


def _ordinary(*taken: tuple[str | None, float]) -> list[OrdinaryImage]:
    return [OrdinaryImage(f"img{number}.jpg", entity, score) for number, (entity, score) in enumerate(taken)]


def test_copies_count_once_towards_the_matches_permitted() -> None:
    ordinary = [OrdinaryImage(f"dup{n}.jpg", None, 0.1, "a" * 64) for n in range(180)]
    ordinary += [OrdinaryImage(f"img{n}.jpg", None, 0.1, f"{n:064x}") for n in range(41)]
    assert distinct_count(ordinary) == 42
    assert distinct_count([OrdinaryImage("x.jpg", None, 0.1, None), OrdinaryImage("y.jpg", None, 0.1, None)]) == 2


def test_no_entity_is_raised_while_the_users_images_stay_within_the_target() -> None:
    ordinary = _ordinary(("seal", 0.7), ("flag", 0.2), (None, 0.0))
    assert raise_entities(0.55, ordinary, permitted=1, altered={"seal": [0.9]}) == {}


def test_the_raise_that_loses_fewest_altered_emblems_is_chosen() -> None:
    # Both entities are taken for one ordinary image at 0.70; raising "seal" above it would lose
    # two of its altered emblems (0.62, 0.66), raising "flag" none.
    ordinary = _ordinary(("seal", 0.70), ("flag", 0.70))
    altered = {"seal": [0.62, 0.66, 0.95], "flag": [0.95, 0.98]}
    raised = raise_entities(0.55, ordinary, permitted=1, altered=altered)
    assert set(raised) == {"flag"}
    assert raised["flag"].threshold == 0.71 and raised["flag"].cleared == ("img1.jpg",)
    assert raised["flag"].recall == raised["flag"].recall_before == 1.0
    # Clearing the seal's image too would lose two of the three altered seals it found: it is
    # left where it was and named, with the image it still matches.
    both = raise_entities(0.55, ordinary, permitted=0, altered=altered)
    assert both["seal"].threshold == 0.55 and both["seal"].recall == 1.0
    assert both["seal"].too_simple and both["seal"].still_matched == ("img0.jpg",)
    assert not both["flag"].too_simple and both["flag"].threshold == 0.71


def test_the_loss_is_weighed_per_image_cleared() -> None:
    # Raising "seal" loses two altered emblems but clears three images; raising "flag" loses one
    # and clears one. Per image cleared, "seal" is the cheaper raise.
    ordinary = _ordinary(("seal", 0.60), ("seal", 0.60), ("seal", 0.60), ("flag", 0.60))
    altered = {"seal": [0.56, 0.58, 0.9, 0.9, 0.9, 0.9], "flag": [0.57, 0.9, 0.9]}
    assert set(raise_entities(0.55, ordinary, permitted=1, altered=altered)) == {"seal"}


def test_a_raise_that_loses_nothing_is_made() -> None:
    ordinary = _ordinary(("seal", 0.60))
    raised = raise_entities(0.55, ordinary, permitted=0, altered={"seal": [0.2, 0.3, 0.9]})
    assert raised["seal"].recall == raised["seal"].recall_before and not raised["seal"].too_simple


def test_scores_of_one_cannot_be_raised_above_and_do_not_stall_the_rest() -> None:
    ordinary = _ordinary(("seal", 1.0), ("flag", 0.8), ("flag", 0.57))
    raised = raise_entities(0.55, ordinary, permitted=0, altered={})
    assert raised["flag"].threshold == 0.81 and not raised["flag"].too_simple
    assert raised["seal"].threshold == 0.55 and raised["seal"].still_matched == ("img0.jpg",)
    assert not raised["seal"].too_simple and not raised["seal"].raised  # held by a score of 1.0, not by its cost


def test_an_image_scoring_as_the_emblems_own_copies_do_raises_nothing_and_is_named() -> None:
    # A copy of the emblem put among the user's ordinary images by mistake: its altered emblems
    # score higher still, so the recall rule alone would let it raise the entity to 0.96.
    ordinary = _ordinary(("seal", 0.956), ("flag", 0.7))
    altered = {"seal": [0.97, 0.98, 0.99, 1.0, 0.6], "flag": [0.9, 0.95]}
    raised = raise_entities(0.55, ordinary, permitted=0, altered=altered)
    assert raised["seal"].threshold == 0.55 and not raised["seal"].raised
    assert raised["seal"].likely_emblem == ("img0.jpg",) and not raised["seal"].too_simple
    assert raised["flag"].threshold == 0.71 and raised["flag"].likely_emblem == ()
    # Named even where the target allows it to match: nothing is raised, but it is likely the emblem.
    assert raise_entities(0.55, ordinary[:1], permitted=1, altered=altered)["seal"].likely_emblem == ("img0.jpg",)


def _library_and_ordinary(folder: Path) -> tuple[Path, Path]:
    """A copy of the bundled library to calibrate, and an empty folder for the user's images."""
    library = folder / "lib"
    shutil.copytree(REFERENCES, library)
    ordinary = folder / "ordinary"
    ordinary.mkdir()
    return library, ordinary


def _shield_fragment(folder: Path) -> Path:
    """Two fifths of the coast guard's shield, the rest painted over: an ordinary image a user
    might not count as the emblem, which matches it at about 0.62."""
    shield = Image.open(REFERENCES / "kesland-coast-guard" / "emblem.png").convert("RGBA")
    fragment = on_canvas(shield, 200, 0.9, (255, 255, 255))
    ImageDraw.Draw(fragment).rectangle((0, 0, 120, 200), fill=(255, 255, 255))
    fragment.save(folder / "fragment.png")
    return folder / "fragment.png"


def test_calibrate_with_the_users_images_gives_the_entity_they_are_taken_for_its_own_threshold(
    tmp_path: Path, cache_dir: Path
) -> None:
    library, ordinary = _library_and_ordinary(tmp_path)
    _shield_fragment(ordinary)
    shutil.copy(REPO / "samples" / "holiday-photo.jpg", ordinary)
    runner = CliRunner()
    args = ["calibrate", "--cache-dir", str(cache_dir), "-r", str(library), "-j", "1"]
    result = runner.invoke(main, [*args, "--target-fpr", "0", "--negatives", str(ordinary)])
    assert result.exit_code == 0, result.output
    written = json.loads((library / CALIBRATION_FILE).read_text())
    assert written["ordinary_images"] == 2 and written["threshold_from"] == "synthetic"  # too few for a rate
    assert written["negatives_from"] == [str(ordinary.absolute())]  # to calibrate again with
    assert written["ordinary_matched"] == {
        "at_library_threshold": 1, "at_own_thresholds": 0, "permitted": 0
    }
    assert "; no number of your images shows a rate of 0, so the synthetic pool decided)" in result.output
    assert set(written["entities"]) == {"kesland-coast-guard"}
    raised = written["entities"]["kesland-coast-guard"]
    own = raised["threshold"]
    assert written["threshold"] < own < 1.0 and not raised["too_simple"]
    assert raised["cleared"] == 1 and raised["cleared_examples"][0].endswith("fragment.png")
    assert "kesland-coast-guard: threshold" in result.output
    assert "(at this threshold and 1 emblem's own)" in result.output  # the recall counts the raise
    dry = runner.invoke(main, [*args, "--dry-run"])
    assert dry.output.rstrip().endswith("dry run: nothing written")
    # Enough of the user's images to show a rate of one in two: they decide, and the synthetic rate is told apart.
    # A copy counts once towards that.
    shutil.copy(ordinary / "fragment.png", ordinary / "fragment-again.png")
    theirs = runner.invoke(main, [*args, "--target-fpr", "0.5", "--negatives", str(ordinary), "--dry-run"])
    assert "(decided by your images; synthetic false positives there " in theirs.output
    assert "your 3 images (2 distinct) without an emblem: " in theirs.output
    assert ", for reference): recall " in theirs.output
    assert json.loads((library / CALIBRATION_FILE).read_text()) == written
    scan = runner.invoke(
        main, ["scan", "--cache-dir", str(cache_dir), "-r", str(library), "-f", "jsonl", str(REPO / "samples"),
               str(ordinary / "fragment.png")]
    )
    rows = {Path(row["path"]).name: row for row in map(json.loads, scan.stdout.splitlines())}
    assert rows["fragment.png"]["threshold"] == own and not rows["fragment.png"]["match"]
    assert rows["shield-mirrored.png"]["threshold"] == own and rows["shield-mirrored.png"]["match"]
    others = [row for row in rows.values() if row["reference"] != "kesland-coast-guard"]
    assert others and {row["threshold"] for row in others} == {written["threshold"]}
    table = runner.invoke(main, ["scan", "--cache-dir", str(cache_dir), "-r", str(library), "-f", "table",
                                 str(ordinary / "fragment.png")])
    assert f"(threshold {written['threshold']:g}; 1 entity has its own, from calibration)" in table.stderr
    assert f"fragment.png  (its threshold {own:.2f})\n" in table.stdout  # the row says what judged it
    given = runner.invoke(main, ["scan", "--cache-dir", str(cache_dir), "-r", str(library), "-t", "0.5", "-f", "jsonl",
                                 str(ordinary / "fragment.png")])
    assert json.loads(given.stdout)["threshold"] == 0.5 and json.loads(given.stdout)["match"]  # --threshold overrides
    # Copies of an image that does not match leave no more room for one that does.
    (ordinary / "fragment-again.png").unlink()
    for n in (2, 3):
        shutil.copy(ordinary / "holiday-photo.jpg", ordinary / f"holiday-{n}.jpg")
    padded = runner.invoke(main, [*args, "--target-fpr", "0.3", "--negatives", str(ordinary), "--dry-run"])
    assert "your 4 images (2 distinct) without an emblem: 1 matched" in padded.output
    assert "(target 0.3: at most 0)" in padded.output and "kesland-coast-guard: threshold" in padded.output


def test_an_emblem_among_the_users_images_is_named_not_blinded(tmp_path: Path, cache_dir: Path) -> None:
    # The mirrored shield put among "ordinary" images by mistake (0.998): it scores above any
    # ordinary image, so its body is not raised above it, and it is named as likely its emblem.
    library, ordinary = _library_and_ordinary(tmp_path)
    shutil.copy(REPO / "samples" / "shield-mirrored.png", ordinary)
    result = CliRunner().invoke(main, ["calibrate", "--cache-dir", str(cache_dir), "-r", str(library), "-j", "1",
                                       "--target-fpr", "0", "--negatives", str(ordinary)])
    assert result.exit_code == 0, result.output
    written = json.loads((library / CALIBRATION_FILE).read_text())
    shield = written["entities"]["kesland-coast-guard"]
    assert not shield["too_simple"] and shield["cleared"] == 0 and shield["threshold"] == written["threshold"]
    assert shield["still_matched_examples"][0].endswith("shield-mirrored.png")
    assert read_calibration(library).entities == {}  # left at the library's: none of its own
    assert "warning: 1 image of yours (" in result.stderr and "shield-mirrored.png) scores 0.90" in result.stderr
    assert "as kesland-coast-guard, as its emblem's own copies do" in result.stderr
    assert "likely its emblem" in result.stderr
    assert shield["likely_emblem"][0].endswith("shield-mirrored.png")


def test_unreadable_negatives_are_named_and_left_out(tmp_path: Path, cache_dir: Path) -> None:
    library, ordinary = _library_and_ordinary(tmp_path)
    shutil.copy(REPO / "samples" / "holiday-photo.jpg", ordinary)
    for number in range(5):
        (ordinary / f"broken{number}.jpg").write_bytes(b"not a picture")
    result = CliRunner().invoke(main, ["calibrate", "--cache-dir", str(cache_dir), "-r", str(library), "-j", "1",
                                       "--negatives", str(ordinary)])
    assert result.exit_code == 0, result.output
    assert "5 images of --negatives left out, unreadable: " in result.stderr
    # Three named, separated so that a reason with a comma in it still reads; the rest counted.
    assert result.stderr.count("broken") == 3 and " and 2 more" in result.stderr
    assert json.loads((library / CALIBRATION_FILE).read_text())["ordinary_images"] == 1


@pytest.mark.parametrize("rate", [float("nan"), -0.1, 0.6])
def test_a_target_rate_out_of_range_is_refused_before_measuring(index: ReferenceIndex, rate: float) -> None:
    measured: list[int] = []
    with pytest.raises(ValueError, match=r"target_fpr must lie in 0\.\.0\.5"):
        calibrate(index, rate, progress=lambda done, total: measured.append(done))
    assert not measured


def test_a_picture_the_allow_list_clears_raises_nothing(tmp_path: Path, cache_dir: Path) -> None:
    # A scan reports it as allowed, not as a match: calibrating on it must not raise its entity.
    library, ordinary = _library_and_ordinary(tmp_path)
    fragment = _shield_fragment(ordinary)
    shutil.copy(REPO / "samples" / "holiday-photo.jpg", ordinary)
    append(library / ALLOW_FILE, entry_for(load_image(fragment), str(fragment)))
    result = CliRunner().invoke(main, ["calibrate", "--cache-dir", str(cache_dir), "-r", str(library), "-j", "1",
                                       "--target-fpr", "0", "--negatives", str(ordinary)])
    assert result.exit_code == 0, result.output
    written = json.loads((library / CALIBRATION_FILE).read_text())
    assert written["ordinary_images"] == 2 and written["entities"] == {}
    assert written["ordinary_matched"]["at_library_threshold"] == 0
