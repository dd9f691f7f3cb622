"""Evidence pictures: the image beside the emblem it matched, and how the two correspond.

A reviewer asked to act on a match wants to *see* it: the avatar, the official emblem, the
verified keypoint correspondences drawn as lines, the emblem's outline where it sits in the image,
and the entity's name and score written on the picture, so that it can be kept as a record.

The smaller pictures of the HTML report and the reviewer's page come from here too: the image with
the emblem's outline drawn (:func:`thumbnail`), a crop around the emblem when it is small in the
image (:func:`emblem_crop`), and transparent pixels shown on a checkerboard, never on black.
"""

from __future__ import annotations

import functools
import os
from datetime import datetime, timezone
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from logowatch.display import printable
from logowatch.errors import OutputError
from logowatch.library import working_emblem
from logowatch.loading import LoadedImage
from logowatch.results import Result

#: Height, in pixels, of the two panels.
PANEL_HEIGHT = 400
#: Height of the caption band above the panels.
HEADER_HEIGHT = 84
#: Narrowest picture: wide enough for the header's lines.
MIN_WIDTH = 640
#: Between the emblem's panel and the image's.
GAP = 24
#: The header's colour for a match and for anything else; the outline's, and the correspondences'.
MATCH_COLOUR = (30, 170, 60)
MISS_COLOUR = (200, 40, 40)
OUTLINE_COLOUR = (255, 214, 0)
CORRESPONDENCE_COLOUR = (40, 120, 230)
#: What the emblem's panel shows around an opaque emblem (a flag, a photographed badge), in place of
#: the margin it was prepared with: that margin repeats the emblem's edge pixels (see
#: ``library.emblem_of``), which would show a flag with its outer stripes widened. Also the panel
#: shown where there is no emblem to show.
MARGIN_GREY = 235


def _fit(rgb: np.ndarray, height: int) -> tuple[np.ndarray, float]:
    """``rgb`` resized to ``height`` pixels high, and the scale it was resized by."""
    scale = height / rgb.shape[0]
    width = max(1, round(rgb.shape[1] * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return cv2.resize(rgb, (width, height), interpolation=interpolation), scale


#: Fonts that can write the names of bodies in Chinese as well as in Latin letters, looked for in
#: this order when ``$LOGOWATCH_FONT`` names none (Debian: fonts-noto-cjk, fonts-wqy-microhei).
CJK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/System/Library/Fonts/PingFang.ttc",
    "C:/Windows/Fonts/msyh.ttc",
)


@functools.cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """A font for the picture's header: ``$LOGOWATCH_FONT``, else the first of :data:`CJK_FONTS`
    there is, else Pillow's own (Latin letters only: other scripts come out as boxes)."""
    configured = os.environ.get("LOGOWATCH_FONT")
    for candidate in ([configured] if configured else []) + list(CJK_FONTS):
        if os.path.isfile(candidate):
            try:
                return ImageFont.truetype(candidate, size)
            except OSError:
                continue
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType: a small bitmap font
        return ImageFont.load_default()


def picture(image_rgb: np.ndarray, result: Result, when: datetime | None = None) -> Image.Image:
    """The evidence picture of ``result`` for the image it was made from (``image_rgb``, as loaded).

    The header names the verdict, the entity and score, and the file, its SHA-256 and the time,
    so that the picture stands as a record on its own. Without a candidate the picture shows the
    image alone; with one below the threshold it shows the closest candidate as such.
    """
    image_panel, image_scale = _fit(image_rgb, PANEL_HEIGHT)
    # Outlines and correspondences are in the image's stored pixels, the panel in decoded ones.
    image_scale *= image_rgb.shape[0] / (result.height or image_rgb.shape[0])
    evidence = result.evidence
    if evidence is not None:
        emblem = _shown(*working_emblem(Path(evidence.variant)))
        if evidence.mirrored:
            emblem = np.ascontiguousarray(emblem[:, ::-1])
        emblem_panel, emblem_scale = _fit(emblem, PANEL_HEIGHT)
    else:
        emblem_panel, emblem_scale = np.full((PANEL_HEIGHT, PANEL_HEIGHT, 3), MARGIN_GREY, np.uint8), 1.0
    width = max(emblem_panel.shape[1] + GAP + image_panel.shape[1], MIN_WIDTH)
    canvas = Image.new("RGB", (width, HEADER_HEIGHT + PANEL_HEIGHT), (255, 255, 255))
    canvas.paste(Image.fromarray(emblem_panel), (0, HEADER_HEIGHT))
    offset_x = emblem_panel.shape[1] + GAP
    canvas.paste(Image.fromarray(image_panel), (offset_x, HEADER_HEIGHT))
    draw = ImageDraw.Draw(canvas)
    colour = MATCH_COLOUR if result.match else MISS_COLOUR
    if evidence is not None:
        for ref_x, ref_y, img_x, img_y in evidence.correspondences:
            start = (ref_x * emblem_scale, HEADER_HEIGHT + ref_y * emblem_scale)
            end = (offset_x + img_x * image_scale, HEADER_HEIGHT + img_y * image_scale)
            draw.line([start, end], fill=CORRESPONDENCE_COLOUR, width=1)
            draw.ellipse((end[0] - 2, end[1] - 2, end[0] + 2, end[1] + 2), outline=CORRESPONDENCE_COLOUR)
        if evidence.outline:
            # Drawn on the image's panel alone: an outline partly off the image stops at its edge
            # rather than running over the emblem's panel. A dark halo under a bright line stays
            # visible on any background.
            layer = Image.new("RGBA", (image_panel.shape[1], image_panel.shape[0]), (0, 0, 0, 0))
            outline = [(x * image_scale, y * image_scale) for x, y in evidence.outline]
            on_panel = ImageDraw.Draw(layer)
            on_panel.line([*outline, outline[0]], fill=(0, 0, 0, 255), width=6)
            on_panel.line([*outline, outline[0]], fill=(*OUTLINE_COLOUR, 255), width=3)
            canvas.paste(layer, (offset_x, HEADER_HEIGHT), layer)
    draw.rectangle((0, 0, width, HEADER_HEIGHT - 4), fill=colour)
    title, detail = (printable(line) for line in headline(result))
    stamp = (when or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
    record = printable(f"{Path(result.path).name}  sha256 {(result.sha256 or 'unknown')[:16]}  {stamp}")
    room = width - 20
    draw.text((10, 6), title, fill=(255, 255, 255), font=_fitting(draw, title, room, 24))
    draw.text((10, 36), detail, fill=(255, 255, 255), font=_fitting(draw, detail, room, 16))
    draw.text((10, 58), record, fill=(255, 255, 255), font=_fitting(draw, record, room, 14))
    return canvas


def _shown(emblem: np.ndarray, support: np.ndarray) -> np.ndarray:
    """The emblem as its panel shows it: an opaque emblem's margin painted :data:`MARGIN_GREY`
    (its correspondences keep their pixels). A transparent emblem's margin and background are the
    colour it was flattened onto, and stay.

    An opaque emblem's support fills a rectangle, but for its rim: shrunk to the working size, the
    rim's pixels are blends of the support and the margin, its corners more than its sides."""
    inside = support >= 128
    rows, columns = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
    if rows.size < 3 or columns.size < 3 or not inside[rows[0] + 1 : rows[-1], columns[0] + 1 : columns[-1]].all():
        return emblem
    shown = emblem.copy()
    shown[~inside] = MARGIN_GREY
    return shown


#: The formats an evidence picture is written in, by the ending of its file's name.
PICTURE_FORMATS = ("PNG", "JPEG", "WEBP")


def picture_format(target: Path) -> str:
    """The format an evidence picture is written to ``target`` in: the one its ending names
    among :data:`PICTURE_FORMATS` (``.jpg`` is JPEG), PNG for an ending that names no image
    format. Raises :class:`OutputError` for an ending that names another (``.gif``): its reader would
    expect that format and get another."""
    named = Image.registered_extensions().get(target.suffix.lower())
    if named is None:
        return "PNG"
    if named not in PICTURE_FORMATS:
        raise OutputError(f"{target}: an evidence picture is written as .png, .jpg or .webp, not {target.suffix}")
    return named


#: The smallest type a header line is set in to fit the picture's width (it is cut beyond that).
SMALLEST_TYPE = 10


def _fitting(
    draw: ImageDraw.ImageDraw, text: str, room: float, size: int
) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """The header font at ``size``, or smaller down to :data:`SMALLEST_TYPE`, so that ``text`` fits
    in ``room`` pixels: a long entity name or a narrow image must not cut the verdict's line."""
    font = _font(size)
    while size > SMALLEST_TYPE and draw.textlength(text, font=font) > room:
        size -= 1
        font = _font(size)
    return font


def headline(result: Result) -> tuple[str, str]:
    """The picture's title and detail lines: the verdict in words a reviewer can act on."""
    evidence = result.evidence
    if result.reference is None or evidence is None or result.score is None:
        return "no match", "nothing in the image resembles any reference emblem"
    if result.match:
        title = f"MATCH: {result.name} ({result.reference})"
        detail = f"score {result.score:.3f} >= threshold {result.threshold:.2f}"
    else:
        title = "no match"
        detail = (
            f"closest emblem: {result.name} ({result.reference}), score {result.score:.3f} "
            f"< threshold {result.threshold:.2f}"
        )
    if evidence.inliers:
        # The count the evidence summary gives: keypoints, however many lines they draw.
        detail += f"; {evidence.inliers} keypoints agree on the placement"
    elif "regions" in evidence.signals:
        detail += "; its flat regions agree with the image's in shape and place"
    if evidence.mirrored:
        detail += "; emblem mirrored"
    return title, detail


#: Side, in pixels, of a square of the checkerboard drawn behind transparent pixels.
CHECKER_SQUARE = 8
#: The checkerboard's two greys: light enough for a dark emblem, dark enough to show a white one.
CHECKER_GREYS = (255, 204)
#: How much room a crop leaves around the emblem's outline, as a share of the outline's longer side.
CROP_MARGIN = 0.25
#: A crop that would keep more than this share of the image's area is not made: the emblem fills the
#: image, and a picture of the whole image shows it as well.
CROP_MAX_SHARE = 0.8


def thumbnail(loaded: LoadedImage, side: int, result: Result | None = None) -> Image.Image:
    """``loaded`` fitted into ``side`` x ``side`` (small images are enlarged, so that a 48-pixel avatar
    can be seen), transparent pixels over a checkerboard, and ``result``'s emblem outline drawn."""
    return _fitted(loaded, (0, 0, loaded.size[0], loaded.size[1]), side, result)


def emblem_crop(loaded: LoadedImage, result: Result, side: int, margin: float = CROP_MARGIN) -> Image.Image | None:
    """The part of ``loaded`` around the emblem's outline (grown by ``margin``), fitted into ``side`` x
    ``side`` with the outline drawn: an emblem small in a thumbnail, at a size a reviewer can judge.
    None without an outline, when the outline lies outside the image, or when the crop would keep
    more than :data:`CROP_MAX_SHARE` of the image."""
    corners = _decoded_outline(loaded, result)
    if not corners:
        return None
    xs, ys = [x for x, _ in corners], [y for _, y in corners]
    grow = margin * max(max(xs) - min(xs), max(ys) - min(ys), 1.0)
    width, height = loaded.size
    box = (
        max(0, int(np.floor(min(xs) - grow))),
        max(0, int(np.floor(min(ys) - grow))),
        min(width, int(np.ceil(max(xs) + grow))),
        min(height, int(np.ceil(max(ys) + grow))),
    )
    area = (box[2] - box[0]) * (box[3] - box[1])
    if box[2] - box[0] < 1 or box[3] - box[1] < 1 or area > CROP_MAX_SHARE * width * height:
        return None
    return _fitted(loaded, box, side, result)


def _decoded_outline(loaded: LoadedImage, result: Result | None) -> list[tuple[float, float]]:
    """The emblem's outline in ``loaded``'s decoded pixels (results speak of the image as stored)."""
    if result is None or result.evidence is None or not result.evidence.outline:
        return []
    scale_x = loaded.size[0] / (result.width or loaded.size[0])
    scale_y = loaded.size[1] / (result.height or loaded.size[1])
    return [(x * scale_x, y * scale_y) for x, y in result.evidence.outline]


def _fitted(loaded: LoadedImage, box: tuple[int, int, int, int], side: int, result: Result | None) -> Image.Image:
    """The image's ``box`` (decoded pixels) with its longer side at ``side`` pixels, transparent
    pixels on a checkerboard, and the outline of ``result``'s emblem drawn."""
    x0, y0, x1, y1 = box
    scale = side / max(x1 - x0, y1 - y0)
    size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
    resample = Image.Resampling.LANCZOS if scale > 1 else Image.Resampling.BOX
    rgb = Image.fromarray(loaded.rgb).crop(box).resize(size, resample)
    if loaded.alpha is not None:
        # Composited after resizing, so that the squares have the same size in every picture.
        alpha = Image.fromarray(loaded.alpha).crop(box).resize(size, resample)
        rgb = Image.composite(rgb, checkerboard(size), alpha)
    corners = [((x - x0) * scale, (y - y0) * scale) for x, y in _decoded_outline(loaded, result)]
    if corners:
        draw = ImageDraw.Draw(rgb)
        draw.line([*corners, corners[0]], fill=(0, 0, 0), width=4)
        draw.line([*corners, corners[0]], fill=OUTLINE_COLOUR, width=2)
    return rgb


def checkerboard(size: tuple[int, int]) -> Image.Image:
    """A light grey checkerboard of ``size`` (width, height), shown behind transparent pixels."""
    ys, xs = np.indices((size[1], size[0]))
    light = ((ys // CHECKER_SQUARE + xs // CHECKER_SQUARE) % 2) == 0
    grey = np.where(light, CHECKER_GREYS[0], CHECKER_GREYS[1]).astype(np.uint8)
    return Image.fromarray(np.repeat(grey[..., None], 3, axis=2))
