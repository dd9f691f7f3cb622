"""Evidence pictures: the image beside the emblem it matched, and how the two correspond.

A reviewer asked to act on a match wants to *see* it: the avatar, the official emblem, the
verified keypoint correspondences drawn as lines, the emblem's outline where it sits in the image,
and the entity's name and score written on the picture, so that it can be kept as a record.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from logowatch.library import working_emblem
from logowatch.results import Result

#: Height, in pixels, of the two panels.
PANEL_HEIGHT = 400
#: Height of the caption band above the panels.
HEADER_HEIGHT = 84
#: Narrowest picture: wide enough for the header's lines.
MIN_WIDTH = 640
GAP = 24
MATCH_COLOUR = (30, 170, 60)
MISS_COLOUR = (200, 40, 40)
OUTLINE_COLOUR = (255, 214, 0)


def _fit(rgb: np.ndarray, height: int) -> tuple[np.ndarray, float]:
    scale = height / rgb.shape[0]
    width = max(1, round(rgb.shape[1] * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return cv2.resize(rgb, (width, height), interpolation=interpolation), scale


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
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
        emblem, _ = working_emblem(Path(evidence.variant))
        if evidence.mirrored:
            emblem = np.ascontiguousarray(emblem[:, ::-1])
        emblem_panel, emblem_scale = _fit(emblem, PANEL_HEIGHT)
    else:
        emblem_panel, emblem_scale = np.full((PANEL_HEIGHT, PANEL_HEIGHT, 3), 235, np.uint8), 1.0
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
            draw.line([start, end], fill=(40, 120, 230), width=1)
            draw.ellipse((end[0] - 2, end[1] - 2, end[0] + 2, end[1] + 2), outline=(40, 120, 230))
        outline = [(offset_x + x * image_scale, HEADER_HEIGHT + y * image_scale) for x, y in evidence.outline]
        # A dark halo under a bright line stays visible on any background.
        draw.line([*outline, outline[0]], fill=(0, 0, 0), width=6)
        draw.line([*outline, outline[0]], fill=OUTLINE_COLOUR, width=3)
    draw.rectangle((0, 0, width, HEADER_HEIGHT - 4), fill=colour)
    title, detail = headline(result)
    stamp = (when or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
    record = f"{Path(result.path).name}  sha256 {(result.sha256 or 'unknown')[:16]}  {stamp}"
    draw.text((10, 6), title, fill=(255, 255, 255), font=_font(24))
    draw.text((10, 36), detail, fill=(255, 255, 255), font=_font(16))
    draw.text((10, 58), record, fill=(255, 255, 255), font=_font(14))
    return canvas


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
    if evidence.mirrored:
        detail += "; emblem mirrored"
    return title, detail
