"""Known-benign images: a cleared picture, its copies and recompressions are allowed, not matched."""

from __future__ import annotations

import io
import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont, ImageOps

from logowatch import Detector
from logowatch.allowlist import ALLOW_FILE, AllowList, append, content_hash, entry_for
from logowatch.errors import InputError
from logowatch.loading import LoadedImage, load_image
from tests.conftest import REFERENCES, REPO

SHIELD = REPO / "samples" / "shield-mirrored.png"
#: A match that is not the emblem itself: the seal, captioned (14 bits from it by the content hash).
CAPTIONED = REPO / "samples" / "seal-avatar-captioned.jpg"


def recompressed(path: Path, quality: int = 70, side: int = 150) -> bytes:
    image = Image.open(path).convert("RGB")
    image.thumbnail((side, side))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def test_a_cleared_image_is_allowed_and_not_matched(detector: Detector, tmp_path: Path) -> None:
    cleared = tmp_path / "cleared"
    cleared.mkdir()
    shutil.copy(SHIELD, cleared / "fp.png")
    allowing = Detector(detector.index, allow=[cleared])
    result = allowing.check(SHIELD)
    assert result.allowed and not result.match
    assert result.allowed_by == str(cleared / "fp.png")
    assert result.reference == "kesland-coast-guard"  # what it would have been, for the record
    assert result.to_dict()["allowed"] is True


def test_a_recompressed_copy_is_the_same_picture(detector: Detector, tmp_path: Path) -> None:
    allowing = Detector(detector.index, allow=[CAPTIONED])
    for side in (300, 150, 64):
        copy = allowing.check(recompressed(CAPTIONED, side=side))
        assert copy.allowed and not copy.match, side


def card(words: tuple[str, str], side: int = 500) -> Image.Image:
    """A new user's emblem: a framed card, an orange disc with a hexagon, and two words."""
    image = Image.new("RGB", (500, 300), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((10, 10, 490, 290), outline=(30, 40, 90), width=10)
    draw.pieslice((40, 50, 240, 250), 30, 330, fill=(240, 140, 30))
    draw.regular_polygon((140, 150, 40), 6, fill=(30, 40, 90))
    font = ImageFont.load_default(size=60)
    draw.text((270, 70), words[0], fill=(30, 40, 90), font=font)
    draw.text((270, 160), words[1], fill=(30, 40, 90), font=font)
    return image.resize((side, side * 3 // 5))


def test_a_cleared_look_alike_clears_its_copies_and_not_the_emblem(tmp_path: Path, cache_dir: Path) -> None:
    # A new user's trial: the same card with another name, dismissed at 0.89, hashes as near the
    # emblem as to itself, and cleared the emblem's copies (0.99) too, so that an impersonating
    # account came out clear.
    library = tmp_path / "lib"
    library.mkdir()
    card(("TAX", "BOARD")).save(library / "tax-board.png")
    look_alike = tmp_path / "yoga.png"
    card(("ZEN", "YOGA"), 250).save(look_alike)
    allowing = Detector(library, cache_dir=cache_dir, allow=[look_alike])
    for side in (200, 250, 300):
        emblem = allowing.check(jpeg(card(("TAX", "BOARD"), side)))
        assert emblem.match and not emblem.allowed, side
    for side in (250, 200):
        copy = allowing.check(jpeg(card(("ZEN", "YOGA"), side)))
        assert copy.allowed and copy.allowed_by == str(look_alike), side


def test_a_look_alike_cleared_clears_no_copy_of_a_transparent_emblem_on_either_ground(
    tmp_path: Path, cache_dir: Path
) -> None:
    # A light emblem on a transparent card is hashed on black, its copies are flattened on white
    # as often: held to its own colours, the emblem lay "never near" them, and a cleared
    # look-alike cleared them.
    def transparent(words: tuple[str, str], side: int = 500) -> Image.Image:
        # The card's colours turned over: light marks, and the card (black now) made transparent.
        pixels = np.array(ImageOps.invert(card(words, side)).convert("RGBA"))
        pixels[(pixels[..., :3] < 10).all(axis=2), 3] = 0
        return Image.fromarray(pixels)

    library = tmp_path / "lib"
    library.mkdir()
    transparent(("TAX", "BOARD")).save(library / "tax-board.png")
    def flattened(drawn: Image.Image, ground: str, side: int) -> Image.Image:
        flat = Image.new("RGB", drawn.size, ground)
        flat.paste(drawn, mask=drawn.getchannel("A"))
        return flat.resize((side, side * 3 // 5), Image.Resampling.LANCZOS)

    look_alike = tmp_path / "boaro.jpg"  # as a reviewer saved it: on white
    flattened(transparent(("TAX", "BOARO")), "white", 250).save(look_alike, quality=90)
    allowing = Detector(library, cache_dir=cache_dir, allow=[look_alike])
    assert allowing.check(look_alike).allowed
    for ground in ("white", "black"):
        for side in (200, 300):
            copy = allowing.check(jpeg(flattened(transparent(("TAX", "BOARD")), ground, side)))
            assert copy.match and not copy.allowed, (ground, side)


def test_a_look_alike_of_a_pale_symmetric_emblem_cleared_clears_no_copy_of_it(tmp_path: Path, cache_dir: Path) -> None:
    # A third trial's emblem: pale discs on a transparent ground, a name in white. Its content hash
    # flips between copies (a copy 4 bits from the cleared look-alike, 24 from the emblem); the
    # whole image's hash still holds the copies nearer the emblem.
    def river(word: str) -> Image.Image:
        drawn = Image.new("RGBA", (500, 500), (0, 0, 0, 0))
        draw = ImageDraw.Draw(drawn)
        draw.ellipse((40, 40, 460, 460), fill=(170, 200, 235, 255))
        draw.ellipse((110, 110, 390, 390), fill=(250, 240, 210, 255))
        draw.text((250, 250), word, fill=(245, 245, 245, 255), font=ImageFont.load_default(size=56), anchor="mm",
                  stroke_width=2, stroke_fill=(120, 150, 200))
        return drawn

    def copy(drawn: Image.Image, ground: str, side: int, quality: int) -> bytes:
        flat = Image.new("RGB", drawn.size, ground)
        flat.paste(drawn, mask=drawn.getchannel("A"))
        buffer = io.BytesIO()
        flat.resize((side, side), Image.Resampling.LANCZOS).save(buffer, "JPEG", quality=quality)
        return buffer.getvalue()

    library = tmp_path / "lib"
    library.mkdir()
    river("RIVER GUARD").save(library / "river-guard.png")
    look_alike = tmp_path / "guide.jpg"
    look_alike.write_bytes(copy(river("RIVER GUIDE"), "white", 400, 85))
    allowing = Detector(library, cache_dir=cache_dir, allow=[look_alike])
    for ground in ("white", "black"):
        for side, quality in ((400, 85), (400, 60), (256, 85), (200, 60)):
            result = allowing.check(copy(river("RIVER GUARD"), ground, side, quality))
            assert result.match and not result.allowed, (ground, side, quality)
    assert allowing.check(copy(river("RIVER GUIDE"), "white", 400, 60)).allowed


def test_an_emblem_cleared_is_named_in_a_warning_once(detector: Detector, caplog: pytest.LogCaptureFixture) -> None:
    # The shield sample is the emblem itself, mirrored: cleared, it clears every account that wears it.
    allowing = Detector(detector.index, allow=[SHIELD])
    assert allowing.check(SHIELD).allowed and allowing.check(SHIELD).allowed
    said = [r.getMessage() for r in caplog.records if "as copies of its emblem do" in r.getMessage()]
    assert len(said) == 1 and said[0].startswith(f"allow list: {SHIELD}, cleared, scores 0.9")
    assert "as kesland-coast-guard" in said[0] and "impersonators too" in said[0]


def test_a_picture_cleared_as_one_entity_clears_no_match_of_another(tmp_path: Path) -> None:
    # The reviewer's page records what a dismissed picture was taken for; a copy of it that some
    # day matches another entity is not what was dismissed.
    listed = tmp_path / ALLOW_FILE
    append(listed, entry_for(load_image(CAPTIONED), "fp.jpg", entity="valport-police", score=0.7))
    copy = load_image(recompressed(CAPTIONED))
    cleared = AllowList.read([listed])
    assert cleared.entries[0].entity == "valport-police" and cleared.entries[0].score == 0.7
    assert cleared.allows(copy, "valport-police") is not None
    assert cleared.allows(copy, "northmere-security-bureau") is None
    assert AllowList([replace(cleared.entries[0], entity=None)]).allows(copy, "northmere-security-bureau") is not None


def test_another_picture_of_the_same_emblem_is_not_allowed(detector: Detector) -> None:
    # Clearing one image must not clear the emblem: another picture of it is still a match.
    allowing = Detector(detector.index, allow=[SHIELD])
    other = allowing.check(REPO / "samples" / "seal-avatar-captioned.jpg")
    assert other.match and not other.allowed
    assert not allowing.check(REPO / "samples" / "ministry-thumbnail.jpg").allowed


def test_an_allow_list_file_in_the_library_is_honoured(cache_dir: Path, tmp_path: Path) -> None:
    library = tmp_path / "lib"
    shutil.copytree(REFERENCES, library)
    append(library / ALLOW_FILE, entry_for(load_image(SHIELD), str(SHIELD)), entity="kesland-coast-guard")
    result = Detector(library, cache_dir=cache_dir).check(SHIELD)
    assert result.allowed and not result.match


def test_only_the_bytes_when_the_list_has_no_hash(detector: Detector, tmp_path: Path) -> None:
    listed = tmp_path / "allow.jsonl"
    sha = load_image(SHIELD).sha256
    listed.write_text(json.dumps({"sha256": sha}) + "\n" + "not json\n")
    allowing = Detector(detector.index, allow=[listed])
    assert allowing.check(SHIELD).allowed
    assert not allowing.check(recompressed(SHIELD)).allowed


def text_avatar(background: tuple[int, int, int], text: str = "Lo", side: int = 160, size: int = 70) -> Image.Image:
    """A word on a plain square, the commonest ordinary avatar (and false positive)."""
    image = Image.new("RGB", (side, side), background)
    ImageDraw.Draw(image).text((side // 2, side // 2), text, fill=(20, 20, 20),
                                font=ImageFont.load_default(size=size), anchor="mm")
    return image


def jpeg(image: Image.Image, side: int | None = None) -> bytes:
    if side is not None:
        image = image.resize((side, side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=75)
    return buffer.getvalue()


@pytest.mark.parametrize("side", [128, 96, 64, 48])
@pytest.mark.parametrize(("text", "size"), [("Lo", 70), ("zensar", 28)])
def test_a_text_avatar_resized_by_a_platform_is_the_same_picture(text: str, size: int, side: int) -> None:
    # Its content trimmed of the plain square is the word alone, whose hash moves when it is resized: the
    # whole image's hash recognises it.
    cleared = AllowList([entry_for(load_image(jpeg(text_avatar((230, 150, 60), text, size=size))), "cleared")])
    assert cleared.allows(load_image(jpeg(text_avatar((230, 150, 60), text, size=size), side))) is not None


def test_the_same_word_on_another_colour_is_another_picture() -> None:
    # Orange and green of nearly the same brightness: the hashes, which see light and dark, cannot tell them apart.
    orange, green = (load_image(jpeg(text_avatar(colour))) for colour in ((230, 150, 60), (110, 190, 90)))
    entry = entry_for(orange, "orange")
    assert AllowList([replace(entry, colour=None)]).allows(green) is not None  # by the hashes alone
    assert AllowList([entry]).allows(green) is None


def test_an_entry_written_before_colours_were_kept_matches_by_its_hash(tmp_path: Path) -> None:
    listed = tmp_path / "allow.jsonl"
    listed.write_text(json.dumps({"phash": content_hash(load_image(SHIELD).composited()), "path": "old"}) + "\n")
    assert AllowList.read([listed]).allows(load_image(recompressed(SHIELD))) is not None


def test_a_malformed_allow_list_field_is_named_and_left_out(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    sha = load_image(SHIELD).sha256
    listed = tmp_path / "allow.jsonl"
    lines = [
        {"sha256": "abc"},  # nothing left to recognise an image by
        {"phash": 4660},  # a number, not the hex text of a hash
        {"phash": "d088af3778c8a5"},  # 14 digits
        {"sha256": sha, "colour": "red"},  # the bytes still clear it
    ]
    listed.write_text("".join(json.dumps(line) + "\n" for line in lines) + "[1, 2]\n")
    with caplog.at_level("WARNING"):
        allowed = AllowList.read([listed])
    assert [entry.sha256 for entry in allowed.entries] == [sha]
    assert [r.getMessage().removeprefix(f"{listed}:") for r in caplog.records] == [
        "1: sha256 'abc' is not 64 hex digits; left out",
        "1: not an allow-list entry (no sha256 or hash); skipped",
        "2: phash 4660 is not 16 hex digits; left out",
        "2: not an allow-list entry (no sha256 or hash); skipped",
        "3: phash 'd088af3778c8a5' is not 16 hex digits; left out",
        "3: not an allow-list entry (no sha256 or hash); skipped",
        "4: colour 'red' is not 6 hex digits; left out",
        "5: not an allow-list entry (not a JSON object); skipped",
    ]
    assert allowed.allows(load_image(SHIELD)) is not None


def test_a_small_picture_on_white_cleared_does_not_clear_another() -> None:
    # Small on a plain square, different pictures have whole-image hashes a few bits apart: only the content's
    # hash tells them apart, and a cleared one must not clear an emblem shown the same way.
    def small_on_white(path: Path) -> LoadedImage:
        picture = Image.open(path).convert("RGB")
        picture.thumbnail((40, 40))
        square = Image.new("RGB", (160, 160), "white")
        square.paste(picture, (60, 60))
        return load_image(jpeg(square))

    cleared = AllowList([entry_for(small_on_white(REPO / "samples" / "holiday-photo.jpg"), "cleared")])
    assert cleared.allows(small_on_white(REFERENCES / "valport-police" / "emblem.png")) is None
    assert cleared.allows(small_on_white(REPO / "samples" / "holiday-photo.jpg")) is not None


def test_an_entry_added_to_a_list_that_ends_without_a_line_feed_keeps_both(tmp_path: Path) -> None:
    # A list edited by hand may end without one: the entry added was glued to its last line, both lost.
    listed = tmp_path / "allow.jsonl"
    first = entry_for(load_image(SHIELD), "a.png")
    listed.write_text(json.dumps(first.to_dict()), encoding="utf-8")
    append(listed, entry_for(load_image(CAPTIONED), "b.jpg"))
    assert [entry.source for entry in AllowList.read([listed]).entries] == ["a.png", "b.jpg"]


def test_a_json_allow_list_may_hold_one_object_or_a_list_of_them(tmp_path: Path) -> None:
    entry = entry_for(load_image(SHIELD), "a.png").to_dict()
    one, several = tmp_path / "one.json", tmp_path / "several.json"
    one.write_text(json.dumps(entry, indent=2), encoding="utf-8")
    several.write_text(json.dumps([entry, {**entry, "path": "b.png"}], indent=2), encoding="utf-8")
    assert [e.source for e in AllowList.read([one]).entries] == ["a.png"]
    assert [e.source for e in AllowList.read([several]).entries] == ["a.png", "b.png"]


def test_a_folder_of_cleared_pictures_is_walked_as_a_scan_walks_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cleared = tmp_path / "cleared"
    for where in ("a.png", ".git/b.png", "@eaDir/a.png/thumb.png", "sub/c.png"):
        (cleared / where).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SHIELD, cleared / where)
    (cleared / "notes.txt").write_text("why these were cleared")
    assert [Path(e.source).relative_to(cleared).as_posix() for e in AllowList.read([cleared]).entries] == [
        "a.png", "sub/c.png"
    ]
    assert "notes.txt" not in caplog.text  # not tried as a picture


def test_a_pipe_among_cleared_pictures_is_passed_over(tmp_path: Path) -> None:
    cleared = tmp_path / "cleared"
    cleared.mkdir()
    shutil.copy(SHIELD, cleared / "a.png")
    os.mkfifo(cleared / "b.png")  # opened, it would wait for a writer that never comes
    assert [Path(e.source).name for e in AllowList.read([cleared]).entries] == ["a.png"]


def test_a_pipe_given_as_an_allow_source_is_an_error(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "list")
    with pytest.raises(InputError, match="not a file or a folder"):
        AllowList.read([tmp_path / "list"])


def test_a_missing_allow_source_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such allow list"):
        AllowList.read([tmp_path / "typo"])


def test_a_scan_s_results_are_refused_as_an_allow_list(detector: Detector, tmp_path: Path) -> None:
    # Each row carries its image's sha256: read as an allow list, it would clear every match it names.
    results = tmp_path / "results.jsonl"
    results.write_text(json.dumps(detector.check(SHIELD).to_dict()) + "\n")
    for source in (results, tmp_path):  # named, or inside a folder of cleared images
        with pytest.raises(InputError, match=r"results\.jsonl:1: a scan's results, not an allow list"):
            AllowList.read([source])
    # Saved under another name, it is known by how it begins, not skipped as no picture.
    for name in ("results.json", "results.txt", "results"):
        renamed = tmp_path / "elsewhere" / name
        renamed.parent.mkdir(exist_ok=True)
        renamed.write_bytes(results.read_bytes())
        with pytest.raises(InputError, match="a scan's results, not an allow list"):
            AllowList.read([renamed])


def test_a_cleared_picture_that_would_not_match_anyway_is_simply_clear(detector: Detector) -> None:
    strict = Detector(detector.index, threshold=0.999, allow=[SHIELD])
    result = strict.check(SHIELD)
    assert not result.match and not result.allowed and result.verdict == "clear"
