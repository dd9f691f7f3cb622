"""Evidence pictures: the image beside the emblem it matched, and how the two correspond.

A reviewer asked to act on a match wants to *see* it: the avatar, the official emblem, the
verified keypoint correspondences drawn as lines, the emblem's outline where it sits in the image,
and the entity's name and score written on the picture, so that it can be kept as a record.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from logowatch.library import working_emblem
from logowatch.matching import Candidate

#: Height, in pixels, of the two panels.
PANEL_HEIGHT = 400
#: Height of the caption band above the panels.
HEADER_HEIGHT = 64
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


def picture(image_rgb: np.ndarray, candidate: Candidate | None, matched: bool, threshold: float) -> Image.Image:
    """The evidence picture for ``candidate`` in ``image_rgb`` (the image as loaded, RGB).

    Without a candidate the picture shows the image alone and says that nothing resembled any
    reference; with a candidate below the threshold it shows it and says "no match".
    """
    image_panel, image_scale = _fit(image_rgb, PANEL_HEIGHT)
    if candidate is not None:
        emblem, _ = working_emblem(Path(candidate.variant))
        if candidate.mirrored:
            emblem = np.ascontiguousarray(emblem[:, ::-1])
        emblem_panel, emblem_scale = _fit(emblem, PANEL_HEIGHT)
    else:
        emblem_panel, emblem_scale = np.full((PANEL_HEIGHT, PANEL_HEIGHT, 3), 235, np.uint8), 1.0
    width = emblem_panel.shape[1] + GAP + image_panel.shape[1]
    canvas = Image.new("RGB", (width, HEADER_HEIGHT + PANEL_HEIGHT), (255, 255, 255))
    canvas.paste(Image.fromarray(emblem_panel), (0, HEADER_HEIGHT))
    offset_x = emblem_panel.shape[1] + GAP
    canvas.paste(Image.fromarray(image_panel), (offset_x, HEADER_HEIGHT))
    draw = ImageDraw.Draw(canvas)
    colour = MATCH_COLOUR if matched else MISS_COLOUR
    if candidate is not None:
        for ref_x, ref_y, img_x, img_y in candidate.correspondences:
            start = (ref_x * emblem_scale, HEADER_HEIGHT + ref_y * emblem_scale)
            end = (offset_x + img_x * image_scale, HEADER_HEIGHT + img_y * image_scale)
            draw.line([start, end], fill=(40, 120, 230), width=1)
            draw.ellipse((end[0] - 2, end[1] - 2, end[0] + 2, end[1] + 2), outline=(40, 120, 230))
        outline = [(offset_x + x * image_scale, HEADER_HEIGHT + y * image_scale) for x, y in candidate.outline]
        # A dark halo under a bright line stays visible on any background.
        draw.line([*outline, outline[0]], fill=(0, 0, 0), width=6)
        draw.line([*outline, outline[0]], fill=OUTLINE_COLOUR, width=3)
        verdict = "MATCH" if matched else "no match"
        title = f"{verdict}: {candidate.name} ({candidate.entity})"
        detail = (
            f"score {candidate.score:.3f}, threshold {threshold:.2f}; "
            f"{len(candidate.correspondences)} verified correspondences"
            + ("; emblem mirrored" if candidate.mirrored else "")
        )
    else:
        title, detail = "no match", "nothing in the image resembles any reference emblem"
    draw.rectangle((0, 0, width, HEADER_HEIGHT - 4), fill=colour)
    draw.text((10, 6), title, fill=(255, 255, 255), font=_font(24))
    draw.text((10, 36), detail, fill=(255, 255, 255), font=_font(16))
    return canvas
