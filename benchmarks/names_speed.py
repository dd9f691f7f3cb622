"""How many display names a second ``NameMatcher.claim`` decides, on synthetic names.

    python benchmarks/names_speed.py [--names 100000] [--bodies 50] [--seed 0]

Makes ``--bodies`` invented bodies with three names each (two Chinese, one English), then ``--names`` display
names: most are ordinary (random Chinese or English words), a quarter carry one of the bodies' names written
with a trick (spaced, dotted, zero-width, traditional, full-width, upper case, digits, emoji, homoglyphs) between
a prefix and a suffix. Prints names/second for ``claim`` and for ``normalise`` on one process, and how many
names were claimed. Nothing is read from disk.
"""

from __future__ import annotations

import argparse
import pickle
import random
import time

from logowatch.names import NameMatcher, normalise

# Characters to invent names from: common simplified characters, several of which have traditional forms.
CHINESE = "国家中华人民公安海关税务消防救援局部门中心反诈安全机关青年团总署发布在线官方热线资讯宣传员小助手为了东南西北"
TRADITIONAL = dict(zip("国关税务发线诈热团", "國關稅務發線詐熱團", strict=True))
WORDS = ["river", "harbour", "state", "national", "central", "bureau", "police", "guard", "coast", "fire", "rescue"]
HOMOGLYPHS = dict(zip("aceopxi", "\u0430\u0441\u0435\u043e\u0440\u0445\u0456", strict=True))  # Cyrillic lookalikes
LEET = {"o": "0", "i": "1", "e": "3", "a": "4", "s": "5", "t": "7"}


def invent_bodies(count: int, rng: random.Random) -> dict[str, list[str]]:
    """``count`` bodies, each with two Chinese names and one English name."""
    bodies: dict[str, list[str]] = {}
    taken: set[str] = set()
    while len(bodies) < count:
        names = ["".join(rng.choices(CHINESE, k=rng.randint(4, 7))) for _ in range(2)]
        names.append(" ".join(rng.sample(WORDS, k=rng.randint(2, 4))).title())
        if taken.isdisjoint(names):  # two bodies never share a name
            taken.update(names)
            bodies[f"body-{len(bodies):03d}"] = names
    return bodies


def disguise(name: str, rng: random.Random) -> str:
    """``name`` written with one trick an impersonator uses."""
    trick = rng.randrange(9)
    if trick == 0:
        return " ".join(name)
    if trick == 1:
        return "·".join(name)
    if trick == 2:
        return "\u200b".join(name)
    if trick == 3:
        return "".join(TRADITIONAL.get(char, char) for char in name)
    if trick == 4:
        return "".join(chr(ord(char) + 0xFEE0) if "!" <= char <= "~" else char for char in name)
    if trick == 5:
        return name.upper()
    if trick == 6:
        return "".join(LEET.get(char, char) for char in name)
    if trick == 7:
        return f"🚨{name}✅"
    return "".join(HOMOGLYPHS.get(char, char) for char in name)


def invent_names(count: int, bodies: dict[str, list[str]], rng: random.Random) -> list[str]:
    aliases = [alias for names in bodies.values() for alias in names]
    names = []
    for _ in range(count):
        if rng.random() < 0.25:
            prefix = rng.choice(["", "【官方】", "12345", "我是", "The "])
            suffix = rng.choice(["", "热线", " News", "小助手", " HQ"])
            names.append(prefix + disguise(rng.choice(aliases), rng) + suffix)
        elif rng.random() < 0.5:
            names.append("".join(rng.choices(CHINESE, k=rng.randint(2, 10))))
        else:
            names.append(" ".join(rng.choices(WORDS, k=rng.randint(1, 4))).title())
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--names", type=int, default=100_000)
    parser.add_argument("--bodies", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    bodies = invent_bodies(args.bodies, rng)
    names = invent_names(args.names, bodies, rng)

    started = time.perf_counter()
    matcher = NameMatcher(bodies)
    built = time.perf_counter() - started
    shipped = pickle.loads(pickle.dumps(matcher))  # what a worker process gets

    started = time.perf_counter()
    claimed = sum(1 for name in names if shipped.claim(name) is not None)
    claiming = time.perf_counter() - started
    started = time.perf_counter()
    for name in names:
        normalise(name)
    normalising = time.perf_counter() - started

    print(f"{args.bodies} bodies, {3 * args.bodies} names, matcher built in {built * 1000:.1f} ms")
    print(
        f"claim:     {len(names) / claiming:,.0f} names/s "
        f"({len(names):,} names in {claiming:.2f} s, {claimed:,} claimed)"
    )
    print(f"normalise: {len(names) / normalising:,.0f} names/s")


if __name__ == "__main__":
    main()
