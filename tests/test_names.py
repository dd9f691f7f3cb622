"""Which body's name a display name claims, however it is written.

The bodies are invented: the Kesland Coast Guard (凯斯兰海岸警卫队, whose characters have traditional forms), the
Valport Police (瓦港警察) with its academy, and Harbourwatch, a one-word name. Each trick an impersonator uses
has a test that fails when the normalisation that reads it is removed.
"""

from __future__ import annotations

import logging
import pickle

import pytest

from logowatch.names import TRICKS, NameClaim, NameMatcher, normalise

ALIASES = {
    "kesland-coast-guard": ["凯斯兰海岸警卫队", "Kesland Coast Guard"],
    "valport-police": ["瓦港警察", "Valport Police"],
    "valport-police-academy": ["瓦港警察学院", "Valport Police Academy"],
    "harbourwatch": ["Harbourwatch"],
}

KESLAND_TRADITIONAL = "凱斯蘭海岸警衛隊"
CYRILLIC = dict(zip("aceopKC", "\u0430\u0441\u0435\u043e\u0440\u041a\u0421", strict=True))
GREEK = dict(zip("aoKP", "\u03b1\u03bf\u039a\u03a1", strict=True))


def fullwidth(text: str) -> str:
    """``text`` in full-width forms, the way a Chinese input method types Latin letters."""
    return "".join(
        chr(ord(char) + 0xFEE0) if "!" <= char <= "~" else "\u3000" if char == " " else char for char in text
    )


def swap(text: str, table: dict[str, str]) -> str:
    return "".join(table.get(char, char) for char in text)


@pytest.fixture(scope="module")
def matcher() -> NameMatcher:
    return NameMatcher(ALIASES)


def claimed_with(matcher: NameMatcher, display_name: str, trick: str) -> tuple[str, str] | None:
    """(entity, alias) that ``display_name`` claims, once its claim says it was written with ``trick``."""
    claim = matcher.claim(display_name)
    assert claim is not None, display_name
    assert trick in claim.tricks, claim.tricks
    return claim.entity, claim.alias


def claimed(matcher: NameMatcher, display_name: str) -> tuple[str, str] | None:
    claim = matcher.claim(display_name)
    return None if claim is None else (claim.entity, claim.alias)


KESLAND = ("kesland-coast-guard", "Kesland Coast Guard")
KESLAND_ZH = ("kesland-coast-guard", "凯斯兰海岸警卫队")
VALPORT = ("valport-police", "Valport Police")
VALPORT_ZH = ("valport-police", "瓦港警察")


#: Display names that claim a body's name, by how they are written.
CLAIMS = {
    "plain": [
        ("Kesland Coast Guard", KESLAND),
        ("凯斯兰海岸警卫队", KESLAND_ZH),
        ("Valport Police", VALPORT),
        ("Harbourwatch", ("harbourwatch", "Harbourwatch")),
    ],
    "spaced": [
        ("K e s l a n d   C o a s t   G u a r d", KESLAND),
        ("Kesland  Coast   Guard", KESLAND),
        ("KeslandCoastGuard", KESLAND),
        ("凯 斯 兰 海 岸 警 卫 队", KESLAND_ZH),
        ("瓦\u3000港\u3000警\u3000察", VALPORT_ZH),
    ],
    "dotted-or-barred": [
        ("K·e·s·l·a·n·d· ·C·o·a·s·t· ·G·u·a·r·d", KESLAND),
        ("V.a.l.p.o.r.t P.o.l.i.c.e", VALPORT),
        ("V|a|l|p|o|r|t|P|o|l|i|c|e", VALPORT),
        ("V-a-l-p-o-r-t_P-o-l-i-c-e", VALPORT),
        ("凯·斯·兰·海·岸·警·卫·队", KESLAND_ZH),
        ("瓦|港|警|察", VALPORT_ZH),
        ("瓦/港/警/察", VALPORT_ZH),
    ],
    "emoji-or-brackets": [
        ("🚓Valport Police🚨", VALPORT),
        ("【Valport Police】", VALPORT),
        ("🇨🇳瓦港警察❤️", VALPORT_ZH),
        ("「瓦港🚓警察」", VALPORT_ZH),
        ("《凯斯兰海岸警卫队》✅", KESLAND_ZH),
    ],
    "prefix-or-suffix": [
        ("110 Valport Police hotline", VALPORT),
        ("110Valport Police热线", VALPORT),
        ("Valport Police110", VALPORT),
        ("Valport Police publicity commissioner", VALPORT),
        ("Valport Police for the people", VALPORT),
        ("Valport PoliceOfficial", VALPORT),
        ("NEWSValport Police", VALPORT),
        ("我是瓦港警察宣传员", VALPORT_ZH),
        ("12345瓦港警察热线", VALPORT_ZH),
        ("Harbourwatch-fans", ("harbourwatch", "Harbourwatch")),
        ("HarbourwatchNews", ("harbourwatch", "Harbourwatch")),
        ("Official:Harbourwatch!", ("harbourwatch", "Harbourwatch")),
    ],
}


@pytest.mark.parametrize(
    ("display_name", "expected"),
    [case for cases in CLAIMS.values() for case in cases],
    ids=[f"{trick}-{number}" for trick, cases in CLAIMS.items() for number in range(len(cases))],
)
def test_a_whole_name_however_written_is_claimed(
    matcher: NameMatcher, display_name: str, expected: tuple[str, str]
) -> None:
    assert claimed(matcher, display_name) == expected


@pytest.mark.parametrize(
    "display_name",
    [
        KESLAND_TRADITIONAL,
        "【官方】凱斯蘭海岸警衛隊在線",
        "凱 斯 蘭 海 岸 警 衛 隊",
        "凯斯蘭海岸警衛队",  # some characters traditional, some not
        "凱斯蘭海岸警衞隊",  # Hong Kong's form of 衛
    ],
)
def test_traditional_characters_are_read_as_simplified(matcher: NameMatcher, display_name: str) -> None:
    assert claimed_with(matcher, display_name, "traditional") == KESLAND_ZH


@pytest.mark.parametrize(
    ("display_name", "expected"),
    [
        (fullwidth("Valport Police"), VALPORT),
        ("我是" + fullwidth("Kesland Coast Guard") + "资讯", KESLAND),
        (fullwidth("VALPORT") + " Police", VALPORT),
    ],
)
def test_full_width_forms_are_read_as_ascii(matcher: NameMatcher, display_name: str, expected: tuple[str, str]) -> None:
    assert claimed_with(matcher, display_name, "full-width") == expected


@pytest.mark.parametrize("display_name", ["KESLAND COAST GUARD", "kesland coast guard", "kEsLaNd CoAsT gUaRd"])
def test_case_is_ignored(matcher: NameMatcher, display_name: str) -> None:
    assert claimed_with(matcher, display_name, "case") == KESLAND


@pytest.mark.parametrize(
    "display_name",
    [
        "K3sl4nd C0ast Gu4rd",
        "KESL4ND COAS7 GUARD",
        "Kes1and Coast Guard",  # 1 for l
        "Ke5land Coa5t Guard",
        "Kesland C0ast 6uard",
    ],
)
def test_digits_are_read_as_the_letters_they_stand_for(matcher: NameMatcher, display_name: str) -> None:
    assert claimed_with(matcher, display_name, "digits-for-letters") == KESLAND


@pytest.mark.parametrize(
    ("display_name", "expected"),
    [
        (swap("Kesland Coast Guard", CYRILLIC), KESLAND),
        (swap("Kesland Coast Guard", GREEK), KESLAND),
        ("\U0001d40a\U0001d41e\U0001d42c\U0001d425\U0001d41a\U0001d427\U0001d41d Coast Guard", KESLAND),  # bold
        ("Kesl\u00e1nd C\u00f6ast Gu\u00e0rd", KESLAND),  # diacritics
        ("VaIport PoIice", VALPORT),  # capital I for l
        ("Valport Pollce", VALPORT),  # l for i
    ],
)
def test_letters_that_look_latin_are_read_as_latin(
    matcher: NameMatcher, display_name: str, expected: tuple[str, str]
) -> None:
    assert claimed_with(matcher, display_name, "homoglyphs") == expected


@pytest.mark.parametrize(
    "invisible",
    ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u034f", "\u3164", "\u180e"],
    ids=["zwsp", "zwnj", "zwj", "word-joiner", "bom", "soft-hyphen", "cgj", "hangul-filler", "mongolian-vs"],
)
@pytest.mark.parametrize("name", ["凯斯兰海岸警卫队", "Kesland"])
def test_invisible_characters_are_dropped(matcher: NameMatcher, invisible: str, name: str) -> None:
    display_name = invisible.join(name) + (" Coast Guard" if name == "Kesland" else "")
    claim = matcher.claim(display_name)
    assert claim is not None
    assert claim.entity == "kesland-coast-guard"
    assert "invisible" in claim.tricks
    assert normalise(display_name) == normalise(display_name.replace(invisible, ""))


@pytest.mark.parametrize(
    "display_name",
    [
        "凯斯兰美食地图",  # shares the place name
        "海岸警卫爱好者",  # shares a word
        "瓦港咖啡馆",
        "警察故事",
        "Coast Guard Fan Club",
        "Kesland Coast",
        "Kesland Coastal Guardians",  # the words, but longer words
        "Kesland Coast Guardians",
        "Valport Policeman",
        "Valport Policemen",
        "Police Valport",  # the words in another order
        "harbourwatchers",  # a one-word name inside a longer word
        "myharbourwatch",
        "HARBOURWATCHERS",
        "1Harbourwatch",  # a single digit next to a word reads as a letter of it
        "",
        "🚓🚓🚓",
    ],
)
def test_names_that_only_share_words_claim_nothing(matcher: NameMatcher, display_name: str) -> None:
    assert matcher.claim(display_name) is None


def test_the_longest_name_wins(matcher: NameMatcher) -> None:
    assert claimed(matcher, "瓦港警察学院招生办") == ("valport-police-academy", "瓦港警察学院")
    assert claimed(matcher, "VALPORT POLICE ACADEMY") == ("valport-police-academy", "Valport Police Academy")


def test_a_longer_name_wins_over_a_shorter_one_that_starts_earlier() -> None:
    matcher = NameMatcher({"river-port": ["河港"], "port-bureau": ["港务管理局"]})
    assert claimed(matcher, "东河港务管理局") == ("port-bureau", "港务管理局")


def test_a_tie_goes_to_the_name_that_starts_first() -> None:
    matcher = NameMatcher({"b-body": ["北岸局"], "a-body": ["南岸局"]})
    assert claimed(matcher, "北岸局与南岸局") == ("b-body", "北岸局")
    assert claimed(matcher, "南岸局与北岸局") == ("a-body", "南岸局")


def test_a_name_two_bodies_share_goes_to_the_first_entity_id(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="logowatch.names"):
        matcher = NameMatcher({"zeta-port": ["Port Authority"], "alpha-port": ["PORT AUTHORITY"]})
    assert claimed(matcher, "Port Authority") == ("alpha-port", "PORT AUTHORITY")
    assert "reads the same" in caplog.text


@pytest.mark.parametrize(
    ("display_name", "span"),
    [
        ("Valport Police", (0, 14)),
        ("【官方】凱斯蘭海岸警衛隊小助手", (4, 12)),
        ("🚓 V a l p o r t   P o l i c e 热线", (2, 29)),
        ("瓦\u200b港\u200b警\u200b察\u200b在线", (0, 7)),
        ("110Valport Police", (3, 17)),
    ],
)
def test_span_is_where_the_name_lies_in_the_original(
    matcher: NameMatcher, display_name: str, span: tuple[int, int]
) -> None:
    claim = matcher.claim(display_name)
    assert claim is not None
    assert claim.span == span


@pytest.mark.parametrize(
    ("display_name", "tricks"),
    [
        ("Valport Police", ()),
        ("瓦港警察宣传员", ()),
        ("V a l p o r t  P o l i c e", ("spaced",)),
        ("凱斯蘭海岸警衛隊", ("traditional",)),
        (fullwidth("Valport Police"), ("full-width",)),
        (swap("Valport Police", CYRILLIC), ("homoglyphs",)),
        ("瓦\u200b港警察", ("invisible",)),
        ("VALPORT POLICE", ("case",)),
        ("Valp0rt P0lice", ("digits-for-letters",)),
        ("🚓瓦港警察", ("emoji",)),
        ("🚓V4LPORT·POLICE", ("spaced", "case", "digits-for-letters", "emoji")),
    ],
)
def test_tricks_say_how_the_name_was_written(matcher: NameMatcher, display_name: str, tricks: tuple[str, ...]) -> None:
    claim = matcher.claim(display_name)
    assert claim is not None
    assert claim.tricks == tricks
    assert set(claim.tricks) <= set(TRICKS)


def test_an_emoji_variation_selector_is_not_an_invisible_trick(matcher: NameMatcher) -> None:
    claim = matcher.claim("瓦港❤\ufe0f警察")
    assert claim is not None
    assert claim.tricks == ("spaced", "emoji")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Valport Police", "valport police"),
        ("【官方】" + fullwidth("Valport") + "\u200b Police🚓", "官方 valport police"),
        ("凱斯蘭海岸警衛隊", "凯斯兰海岸警卫队"),
        (swap("Kesland", CYRILLIC) + " Coast", "kesland coast"),
        ("K·e·s·l·a·n·d", "k e s l a n d"),
        ("Kesl\u00e1nd", "kesland"),
        ("Valp0rt", "valp0rt"),  # digits stay digits in the readable form
        ("  瓦港  警察  ", "瓦港 警察"),
    ],
)
def test_normalise(text: str, expected: str) -> None:
    assert normalise(text) == expected


def test_a_claim_carries_the_normalised_name(matcher: NameMatcher) -> None:
    claim = matcher.claim("【官方】凱斯蘭海岸警衛隊在線")
    assert claim == NameClaim(
        entity="kesland-coast-guard",
        alias="凯斯兰海岸警卫队",
        normalised="官方 凯斯兰海岸警卫队在线",
        span=(4, 12),
        tricks=("traditional",),
    )


def test_the_matcher_pickles(matcher: NameMatcher) -> None:
    shipped = pickle.loads(pickle.dumps(matcher))
    for display_name in ["凱斯蘭海岸警衛隊", "K3sl4nd C0ast Gu4rd", "瓦港咖啡馆", "🚓Valport Police🚨"]:
        assert shipped.claim(display_name) == matcher.claim(display_name)


@pytest.mark.parametrize(
    ("aliases", "message"),
    [
        ({"empty": [""]}, "empty"),
        ({"blank": ["   "]}, "empty"),
        ({"punctuation": ["!!!"]}, "no letters or digits"),
        ({"one-string": "Valport Police"}, "list of strings"),
    ],
)
def test_bad_names_are_refused_with_the_entity_named(aliases: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message) as error:
        NameMatcher(aliases)  # type: ignore[arg-type]
    assert next(iter(aliases)) in str(error.value)


def test_a_name_cut_in_the_middle_of_an_emoji_is_read_through_the_public_functions(matcher: NameMatcher) -> None:
    # A lone half of a UTF-16 pair, which JSON admits and the Chinese conversion refuses to encode.
    assert normalise("Valport\ud83d Police") == normalise("Valport\ufffd Police")
    claim = matcher.claim("Valport Police\ud83d")
    assert claim is not None and claim.entity == "valport-police"
