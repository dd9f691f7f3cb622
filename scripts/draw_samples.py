"""Draw the bundled reference emblems and sample avatars.

Every picture here is drawn in code: fictional agencies' seals, shields and stars, so that the
repository ships no third-party image. Run from the repository root:

    python scripts/draw_samples.py

It rewrites ``reference_logos/`` and ``samples/`` deterministically.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

from logowatch.calibration import circle_crop, on_canvas

ROOT = Path(__file__).resolve().parent.parent
SIZE = 512


def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def star_points(cx: float, cy: float, outer: float, inner: float, points: int = 5, turn: float = -90):
    result = []
    for i in range(points * 2):
        radius = outer if i % 2 == 0 else inner
        angle = math.radians(turn + i * 180 / points)
        result.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    return result


def text_ring(draw: ImageDraw.ImageDraw, image: Image.Image, text: str, radius: float, size: int, fill):
    """Letters set around a circle, each turned to follow it."""
    letters = list(text)
    step = 300 / max(1, len(letters))
    for i, letter in enumerate(letters):
        angle = -240 + i * step
        tile = Image.new("RGBA", (size * 2, size * 2), (0, 0, 0, 0))
        ImageDraw.Draw(tile).text((size, size), letter, font=font(size), fill=fill, anchor="mm")
        tile = tile.rotate(-(angle + 90), resample=Image.Resampling.BICUBIC)
        x = SIZE / 2 + radius * math.cos(math.radians(angle)) - size
        y = SIZE / 2 + radius * math.sin(math.radians(angle)) - size
        image.alpha_composite(tile, (round(x), round(y)))


def seal() -> Image.Image:
    """A round seal: double ring, lettering around it, a star over a key in the middle."""
    image = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    navy, gold = (18, 42, 96, 255), (214, 168, 52, 255)
    draw.ellipse((8, 8, SIZE - 8, SIZE - 8), fill=navy)
    draw.ellipse((28, 28, SIZE - 28, SIZE - 28), outline=gold, width=6)
    draw.ellipse((118, 118, SIZE - 118, SIZE - 118), fill=(245, 240, 225, 255), outline=gold, width=8)
    text_ring(draw, image, "NORTHMERE SECURITY BUREAU", 175, 34, gold)
    draw.polygon(star_points(256, 228, 92, 38), fill=navy)
    draw.rectangle((238, 272, 274, 360), fill=gold)
    draw.rectangle((274, 320, 306, 336), fill=gold)
    draw.rectangle((274, 346, 296, 358), fill=gold)
    return image


def shield() -> Image.Image:
    """A heater shield, quartered, with a chevron and three dots."""
    image = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    outline = [(70, 40), (442, 40), (442, 250), (256, 480), (70, 250)]
    draw.polygon(outline, fill=(150, 20, 30, 255))
    draw.polygon([(256, 40), (442, 40), (442, 250), (256, 250)], fill=(240, 240, 240, 255))
    draw.polygon([(70, 250), (256, 250), (256, 480)], fill=(240, 240, 240, 255))
    draw.line([(90, 330), (256, 150), (422, 330)], fill=(20, 20, 20, 255), width=34)
    for cx, cy in ((150, 110), (360, 110), (256, 400)):
        draw.ellipse((cx - 22, cy - 22, cx + 22, cy + 22), fill=(20, 20, 20, 255))
    draw.line([*outline, outline[0]], fill=(20, 20, 20, 255), width=10)
    return image


def star_badge() -> Image.Image:
    """A police-style six-pointed star badge with a round centre and initials."""
    image = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.polygon(star_points(256, 256, 240, 130, points=6), fill=(190, 150, 40, 255))
    for x, y in star_points(256, 256, 240, 130, points=6)[::2]:
        draw.ellipse((x - 20, y - 20, x + 20, y + 20), fill=(190, 150, 40, 255))
    draw.ellipse((146, 146, 366, 366), fill=(30, 30, 30, 255))
    draw.ellipse((160, 160, 352, 352), outline=(190, 150, 40, 255), width=6)
    draw.text((256, 250), "VPD", font=font(72), fill=(235, 235, 235, 255), anchor="mm")
    draw.text((256, 318), "EST 1921", font=font(24), fill=(190, 150, 40, 255), anchor="mm")
    return image


def ministry_mark() -> Image.Image:
    """A ministry's wordmark: a stylised tower in a square, with a name beside it."""
    image = Image.new("RGBA", (SIZE * 2, SIZE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    green = (10, 110, 70, 255)
    draw.rounded_rectangle((20, 60, 412, 452), radius=40, fill=green)
    draw.polygon([(216, 100), (300, 220), (132, 220)], fill=(255, 255, 255, 255))
    for i, x in enumerate(range(150, 300, 36)):
        draw.rectangle((x, 240, x + 18, 380 - 8 * i), fill=(255, 255, 255, 255))
    draw.rectangle((120, 390, 312, 412), fill=(255, 255, 255, 255))
    draw.text((450, 190), "MINISTRY", font=font(96), fill=green, anchor="lm")
    draw.text((450, 310), "OF WATERWAYS", font=font(64), fill=(60, 60, 60, 255), anchor="lm")
    return image


EMBLEMS = {
    "northmere-security-bureau": ("Northmere Security Bureau", seal),
    "kesland-coast-guard": ("Kesland Coast Guard", shield),
    "valport-police": ("Valport Police Department", star_badge),
    "ministry-of-waterways": ("Ministry of Waterways", ministry_mark),
}


def landscape(width: int, height: int, seed: int) -> Image.Image:
    """A soft, blurred backdrop for thumbnails: sky gradient, hills, some noise."""
    rng = random.Random(seed)
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    top, bottom = (rng.randint(60, 120), rng.randint(120, 170), 220), (230, 200, rng.randint(120, 180))
    for y in range(height):
        t = y / height
        draw.line([(0, y), (width, y)], fill=tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)))
    for _ in range(3):
        base = rng.randint(height // 2, height)
        draw.ellipse((rng.randint(-width, width // 2), base - 80, rng.randint(width // 2, 2 * width), base + 200),
                     fill=(rng.randint(30, 80), rng.randint(90, 140), rng.randint(30, 70)))
    return image.filter(ImageFilter.GaussianBlur(3))


def main() -> None:
    references = ROOT / "reference_logos"
    samples = ROOT / "samples"
    emblems = {}
    for entity, (name, draw_it) in EMBLEMS.items():
        folder = references / entity
        folder.mkdir(parents=True, exist_ok=True)
        emblem = draw_it()
        emblem.save(folder / "emblem.png", optimize=True)
        (folder / "entity.json").write_text(json.dumps({"name": name}, indent=2) + "\n", encoding="utf-8")
        emblems[entity] = emblem
    samples.mkdir(exist_ok=True)
    seal_img, shield_img = emblems["northmere-security-bureau"], emblems["kesland-coast-guard"]
    badge, mark = emblems["valport-police"], emblems["ministry-of-waterways"]

    avatar = circle_crop(on_canvas(seal_img, 200, 1.0, (255, 255, 255)))
    draw = ImageDraw.Draw(avatar)
    draw.rectangle((0, 160, 200, 200), fill=(200, 20, 20))
    draw.text((100, 180), "OFFICIAL", font=font(22), fill=(255, 255, 255), anchor="mm")
    avatar.save(samples / "seal-avatar-captioned.jpg", quality=70)

    ImageOps.mirror(on_canvas(shield_img, 160, 0.9, (235, 235, 240))).save(samples / "shield-mirrored.png")
    grey = ImageOps.grayscale(on_canvas(badge, 128, 0.9, (250, 250, 250))).convert("RGB")
    grey.resize((48, 48), Image.Resampling.BILINEAR).resize((128, 128), Image.Resampling.BILINEAR).save(
        samples / "badge-grey-lowres.jpg", quality=60
    )
    thumb = landscape(640, 360, 7)
    small = mark.copy()
    small.thumbnail((260, 130), Image.Resampling.LANCZOS)
    thumb.paste(small, (360, 200), small)
    thumb.save(samples / "ministry-thumbnail.jpg", quality=80)

    landscape(400, 400, 3).save(samples / "holiday-photo.jpg", quality=85)
    other = Image.new("RGB", (200, 200), (250, 250, 250))
    odraw = ImageDraw.Draw(other)
    odraw.ellipse((20, 20, 180, 180), fill=(230, 120, 30))
    odraw.text((100, 100), "Bo's Bakery", font=font(24), fill=(255, 255, 255), anchor="mm")
    other.save(samples / "bakery-avatar.png")
    pattern = Image.new("RGB", (240, 240), (255, 255, 255))
    pdraw = ImageDraw.Draw(pattern)
    for i in range(0, 240, 30):
        pdraw.line([(i, 0), (240 - i, 240)], fill=(40, 90, 160), width=6)
    pattern.save(samples / "pattern-avatar.png")


if __name__ == "__main__":
    main()
