"""Rule-based classifier of one council-session utterance into a section of the acta.

This is the embedded CORE for text: every transcribed utterance of a session goes through
`classify`, which says which section (template) of the acta it belongs to and pulls out the
structured data that section carries (times, dates, names, agenda items, vote tallies...).

Why rules and not a model: the output lands in an official document, so it must be
deterministic, explainable and cheap enough to run inline on every segment; a reviewer can read
why an utterance went where it went. The module is pure: no I/O, no network, no global state
besides compiled regexes, and it never raises on any `str`.

How: the text is whitespace-normalised and the tenant's entities dictionary applied; then an
accent-folded, lower-cased copy is built character by character with the same length, so rules
match on the folded copy while names and titles are cut, by position, from the original.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import itertools
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from .offices import HEAD_QUALIFIERS, OFFICE_SCOPES, ONE_HOLDER_OFFICES

__all__ = [
    "DEFAULT_PLACEHOLDER_MAP",
    "INTENTS",
    "INTENT_BY_TEMPLATE",
    "TEMPLATE_BY_INTENT",
    "TEMPLATE_IDS",
    "TEMPLATE_LABELS",
    "TPL_APERTURA",
    "TPL_APROBACION_ACTAS",
    "TPL_APROBACION_ORDEN_DIA",
    "TPL_CIERRE",
    "TPL_COMUNICACION",
    "TPL_DEBATE",
    "TPL_FIRMAS",
    "TPL_LLAMADO_LISTA",
    "TPL_ORDEN_DIA",
    "TPL_PROPOSICION",
    "TPL_PROYECTO_ACUERDO",
    "TPL_VARIOS",
    "Classification",
    "apply_entities",
    "classify",
]

# --------------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------------

TPL_APERTURA: Final = "TPL_APERTURA"
TPL_ORDEN_DIA: Final = "TPL_ORDEN_DIA"
TPL_LLAMADO_LISTA: Final = "TPL_LLAMADO_LISTA"
TPL_APROBACION_ORDEN_DIA: Final = "TPL_APROBACION_ORDEN_DIA"
TPL_APROBACION_ACTAS: Final = "TPL_APROBACION_ACTAS"
TPL_DEBATE: Final = "TPL_DEBATE"
TPL_PROYECTO_ACUERDO: Final = "TPL_PROYECTO_ACUERDO"
TPL_PROPOSICION: Final = "TPL_PROPOSICION"
TPL_COMUNICACION: Final = "TPL_COMUNICACION"
TPL_VARIOS: Final = "TPL_VARIOS"
TPL_CIERRE: Final = "TPL_CIERRE"
TPL_FIRMAS: Final = "TPL_FIRMAS"

TEMPLATE_IDS: Final[tuple[str, ...]] = (
    TPL_APERTURA,
    TPL_ORDEN_DIA,
    TPL_LLAMADO_LISTA,
    TPL_APROBACION_ORDEN_DIA,
    TPL_APROBACION_ACTAS,
    TPL_DEBATE,
    TPL_PROYECTO_ACUERDO,
    TPL_PROPOSICION,
    TPL_COMUNICACION,
    TPL_VARIOS,
    TPL_CIERRE,
    TPL_FIRMAS,
)

INTENT_BY_TEMPLATE: Final[dict[str, str]] = {tpl: tpl.removeprefix("TPL_") for tpl in TEMPLATE_IDS}
TEMPLATE_BY_INTENT: Final[dict[str, str]] = {i: t for t, i in INTENT_BY_TEMPLATE.items()}
INTENTS: Final[tuple[str, ...]] = tuple(INTENT_BY_TEMPLATE.values())

TEMPLATE_LABELS: Final[dict[str, str]] = {
    TPL_APERTURA: "Apertura de la sesión",
    TPL_ORDEN_DIA: "Orden del día",
    TPL_LLAMADO_LISTA: "Llamado a lista y verificación del quórum",
    TPL_APROBACION_ORDEN_DIA: "Aprobación del orden del día",
    TPL_APROBACION_ACTAS: "Aprobación de actas anteriores",
    TPL_DEBATE: "Intervención",
    TPL_PROYECTO_ACUERDO: "Proyecto de acuerdo",
    TPL_PROPOSICION: "Proposición",
    TPL_COMUNICACION: "Comunicaciones",
    TPL_VARIOS: "Asuntos varios",
    TPL_CIERRE: "Cierre de la sesión",
    TPL_FIRMAS: "Firmas",
}

#: Zone (content-control tag of the skeleton) each template is written into.
DEFAULT_PLACEHOLDER_MAP: Final[dict[str, str]] = {
    TPL_APERTURA: "HEADER_ZONE",
    TPL_ORDEN_DIA: "ZONE_AGENDA",
    TPL_LLAMADO_LISTA: "ZONE_ROLLCALL",
    TPL_APROBACION_ORDEN_DIA: "ZONE_AGENDA_APPROVAL",
    TPL_APROBACION_ACTAS: "ZONE_PRIOR_ACTAS",
    TPL_DEBATE: "ZONE_DEBATE",
    TPL_PROYECTO_ACUERDO: "ZONE_PROYECTOS",
    TPL_PROPOSICION: "ZONE_PROPOSICIONES",
    TPL_COMUNICACION: "ZONE_COMUNICACIONES",
    TPL_VARIOS: "ZONE_VARIOS",
    TPL_CIERRE: "ZONE_CIERRE",
    TPL_FIRMAS: "SIGNATURE_BLOCK",
}

# Templates a vote can belong to, and where a vote goes given the previous block.
_VOTING_TEMPLATES: Final = frozenset(
    {TPL_PROYECTO_ACUERDO, TPL_PROPOSICION, TPL_APROBACION_ORDEN_DIA, TPL_APROBACION_ACTAS}
)
_VOTE_FOLLOWS: Final[dict[str, str]] = {
    **{tpl: tpl for tpl in _VOTING_TEMPLATES},
    TPL_ORDEN_DIA: TPL_APROBACION_ORDEN_DIA,  # a vote right after the agenda is read approves it
}
# Sections of interventions a vote with no subject stays in: the item under way (an election,
# a debate, anything the rules do not know) or "asuntos varios" (see _vote_template).
_VOTE_STAYS: Final = frozenset({TPL_DEBATE, TPL_VARIOS})

# Confidence of each kind of rule.
_CONF_STRONG: Final = 0.9
_CONF_SECTION: Final = 0.85
_CONF_SPEAKER: Final = 0.8
_CONF_VOTE_CONTEXT: Final = 0.8
_CONF_WEAK: Final = 0.6
_CONF_NEXT_POINT: Final = 0.6
_CONF_SPEECH: Final = 0.5
_CONF_NEXT_POINT_NO_CONTEXT: Final = 0.4
_CONF_FALLBACK: Final = 0.3


@dataclass(frozen=True, slots=True)
class Classification:
    """The section an utterance belongs to and the data extracted from it."""

    text: str
    intent: str
    label: str
    template_id: str
    structured_data: dict[str, Any]
    confidence: float


# --------------------------------------------------------------------------------------------
# Text: original plus an accent-folded lower-case copy with the same character positions
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Text:
    raw: str  # normalised original: slices of it go into the output
    low: str  # folded copy, same length as raw: rules match on it
    after_cut: bool = False  # the words go on with the utterance before, cut at the maximum length


@functools.lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    if ch.isascii():
        return ch.lower()
    decomposed = unicodedata.normalize("NFD", ch)
    base = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return base if len(base) == 1 else ch


_CONSEJAL_RE: Final = re.compile(r"\bconsej(?=al(?:a|es|as)?\b)")
""""consejal", as Whisper (and many a hand) spells "concejal": recorded live, "Tiene la palabra
la consejal de la Valencia Palau." made "consejal de la Valencia Palau" the speaker's name."""


_TITLE_HEARD_APART_RE: Final = re.compile(
    r"(?:(?<=\bpalabra el )|(?<=\bpalabra al ))(?P<concejo>concejo al )(?=[^\W\d_])"
    r"|(?<=\bpalabra )(?P<el_concejo>el concejo )(?!al )(?=[^\W\d_])"
    r"|(?<=\bla )(?P<concejala>concejal a )(?=[^\W\d_])"
)
"""The councillor's title as Whisper heard it apart, before a name: "Tiene la palabra el Concejo
al Mauricio Andrés" (recorded live: the grant named "Concejo" its speaker, "CONCEJO: …"; the
floor is given to a person, never to the council), "Tiene la palabra el concejo Altezo Lómez"
("concejal" heard as one word short) and "la concejal a Marcela Quintero" (a proposal's author
lost, a councillor given the floor written "concejal")."""

_BODY_ADJECTIVE_RE: Final = re.compile(
    r"(?:al|il|ar|or|ario|aria|ivo|iva|ico|ica|ense)$"
    r"|^(?:afro\w*|indigena|metropolitano|ciudadano|colombiano|vallecaucano|caleno|campesino|palenquero"
    r"|privado|rom)$"
)
"""The first word of a body whose "Consejo" Whisper writes "Concejo" (they sound alike): how its
adjective ends ("Territorial de Planeación", "Nacional Electoral", "Estudiantil", "Superior",
"Comunitario", "Consultivo") or what it is ("Indígena Nasa Kiwe", "Afrocolombiano", "Afro Cali",
"Metropolitano Ambiental", "Ciudadano"). After "el concejo" such a word is the body, not a
councillor's name; a first name ending so ("Víctor", "Óscar", "Mario", "Mónica", "Angélica") is
then left unnamed, as it was before "el concejo" + a name was read as the title: a speaker
missing is corrected by the stenographer, one made up from a body's name could go unnoticed."""


def _title_heard_apart(text: str, low: str) -> str:
    """``low`` with the title heard apart (:data:`_TITLE_HEARD_APART_RE`) read as "concejal" or
    "concejala", padded with spaces so that every position stays that of ``text``, where a
    capitalised word that is no title, office or word of grammar follows it: "el Concejo al
    Alcalde" is the council. "el concejo" (no "al") takes the place of the article too, and
    only before two such words of which the first does not read as a body's
    (:data:`_BODY_ADJECTIVE_RE`): "el Concejo Municipal", "el Concejo Territorial de Planeación"
    are bodies."""

    def capitalised_name(at: int) -> re.Match[str] | None:
        word = _NAME_TOKEN_RE.match(text, at)
        if word is None or not word[1][0].isupper() or _fold(word[1]) in _NAME_STOPWORDS:
            return None
        return word

    def heard(m: re.Match[str]) -> str:
        word = capitalised_name(m.end())
        if word is None:
            return m.group(0)
        if m["el_concejo"] and (
            _BODY_ADJECTIVE_RE.search(_fold(word[1])) or capitalised_name(word.end()) is None
        ):
            return m.group(0)
        return "concejala  " if m["concejala"] else "concejal   "

    return _TITLE_HEARD_APART_RE.sub(heard, low)


def _fold(text: str) -> str:
    """Lower-case and strip accents, one character for one character (ñ becomes n), "consejal"
    read as "concejal", and so the title heard apart before a name (:func:`_title_heard_apart`)."""
    low = _CONSEJAL_RE.sub("concej", "".join(_fold_char(ch) for ch in text))
    heard_apart = "concejo al " in low or "el concejo " in low or "concejal a " in low
    return _title_heard_apart(text, low) if heard_apart else low


_ABBREVIATION_END_RE: Final = re.compile(r"\b[apAP]\.\s?[mM]\.$")


def _normalise(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def _slice(t: _Text, start: int, end: int) -> str:
    """Original text between two positions, without surrounding punctuation."""
    text = t.raw[start:end].strip(" ,;:-–—\"'“”«»")
    return text if _ABBREVIATION_END_RE.search(text) else text.strip(".").strip()


# --------------------------------------------------------------------------------------------
# Entities dictionary
# --------------------------------------------------------------------------------------------


def _key_pattern(key: str) -> str:
    return r"\s+".join(re.escape(part) for part in key.split())


@functools.lru_cache(maxsize=64)
def _entities_regex(keys: tuple[str, ...]) -> re.Pattern[str]:
    alternation = "|".join(_key_pattern(k) for k in keys)
    return re.compile(rf"(?<!\w)(?:{alternation})(?!\w)", re.IGNORECASE)


def apply_entities(text: str, entities: Mapping[str, str]) -> str:
    """Replace whole-word, case-insensitive occurrences of each key by its canonical value.

    Longer keys win over shorter ones ("Jhon Jairo" before "Jhon"); the rest of the text is kept
    as it is. Whitespace inside a key matches any run of whitespace in the text.
    """
    usable = {" ".join(k.split()): v for k, v in entities.items() if k.strip()}
    if not usable or not text:
        return text
    keys = tuple(sorted(usable, key=lambda k: (-len(k), k)))
    by_lower = {k.lower(): usable[k] for k in reversed(keys)}

    def replace(match: re.Match[str]) -> str:
        found = " ".join(match.group(0).split())
        value = by_lower.get(found.lower())
        if value is not None:
            return value
        for key in keys:  # case folding that .lower() does not mirror (rare scripts)
            if re.fullmatch(_key_pattern(key), found, re.IGNORECASE):
                return usable[key]
        return match.group(0)

    return _entities_regex(keys).sub(replace, text)


# --------------------------------------------------------------------------------------------
# Spanish numbers
# --------------------------------------------------------------------------------------------

_UNITS: Final[dict[str, int]] = {
    "cero": 0, "ningun": 0, "ninguno": 0, "ninguna": 0,
    "un": 1, "uno": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4,
    "cinco": 5, "seis": 6, "siete": 7, "ocho": 8, "nueve": 9,
}  # fmt: skip
_TEENS: Final[dict[str, int]] = {
    "diez": 10, "once": 11, "doce": 12, "trece": 13, "catorce": 14, "quince": 15,
    "dieciseis": 16, "diecisiete": 17, "dieciocho": 18, "diecinueve": 19,
    "veintiun": 21, "veintiuno": 21, "veintiuna": 21, "veintidos": 22, "veintitres": 23,
    "veinticuatro": 24, "veinticinco": 25, "veintiseis": 26, "veintisiete": 27,
    "veintiocho": 28, "veintinueve": 29,
}  # fmt: skip
_TENS: Final[dict[str, int]] = {
    "veinte": 20, "treinta": 30, "cuarenta": 40, "cincuenta": 50,
    "sesenta": 60, "setenta": 70, "ochenta": 80, "noventa": 90,
}  # fmt: skip
_HUNDREDS: Final[dict[str, int]] = {
    "cien": 100, "ciento": 100, "doscientos": 200, "doscientas": 200,
    "trescientos": 300, "trescientas": 300, "cuatrocientos": 400, "cuatrocientas": 400,
    "quinientos": 500, "quinientas": 500, "seiscientos": 600, "seiscientas": 600,
    "setecientos": 700, "setecientas": 700, "ochocientos": 800, "ochocientas": 800,
    "novecientos": 900, "novecientas": 900,
}  # fmt: skip
_NUMBER_WORDS: Final = frozenset({*_UNITS, *_TEENS, *_TENS, *_HUNDREDS, "mil"})

_NUM_TOKEN_RE: Final = re.compile(r"[0-9]+|[^\W\d_]+|[,;]")


def _alt(words: Iterable[str]) -> str:
    """Regex alternation of words (longest first), spaces matching any whitespace."""
    items = sorted(set(words), key=lambda w: (-len(w), w))
    return "|".join(r"\s+".join(map(re.escape, w.split())) for w in items)


_NUM_WORD_ALT: Final = _alt(_NUMBER_WORDS)
# A number as said: digits, or a chain of number words ("dos mil veintiseis", "cuarenta y cinco").
_NUM_PHRASE: Final = (
    rf"(?:[0-9]{{1,9}}(?![0-9])|(?:{_NUM_WORD_ALT})\b(?:\s+(?:y\s+)?(?:{_NUM_WORD_ALT})\b){{0,6}})"
)


def _below_thousand(toks: list[str], i: int) -> tuple[int, int] | None:
    """Parse 0..999 in words starting at toks[i]; return (value, next index)."""
    value, j, found = 0, i, False
    if j < len(toks) and toks[j] in _HUNDREDS:
        value, j, found = _HUNDREDS[toks[j]], j + 1, True
    if j < len(toks) and toks[j] in _TENS:
        value, j, found = value + _TENS[toks[j]], j + 1, True
        if j + 1 < len(toks) and toks[j] == "y" and _UNITS.get(toks[j + 1], 0) > 0:
            value, j = value + _UNITS[toks[j + 1]], j + 2
    elif j < len(toks) and toks[j] in _TEENS:
        value, j, found = value + _TEENS[toks[j]], j + 1, True
    elif j < len(toks) and toks[j] in _UNITS and not (found and _UNITS[toks[j]] == 0):
        value, j, found = value + _UNITS[toks[j]], j + 1, True
    return (value, j) if found else None


def _number_at(toks: list[str], i: int) -> tuple[int, int] | None:
    """Parse one number (digits, or words up to 999 999) at toks[i]."""
    if i >= len(toks):
        return None
    tok = toks[i]
    if tok[0] in "0123456789":
        return (int(tok), i + 1) if len(tok) <= 9 else None
    head = _below_thousand(toks, i)
    j = head[1] if head else i
    if j < len(toks) and toks[j] == "mil" and (head is None or head[0] > 0):
        value = (head[0] if head else 1) * 1000
        tail = _below_thousand(toks, j + 1)
        return (value + tail[0], tail[1]) if tail else (value, j + 1)
    return head


def _tokens(low: str, start: int = 0, limit: int = 40) -> list[str]:
    out: list[str] = []
    for m in _NUM_TOKEN_RE.finditer(low, start):
        out.append(m.group(0))
        if len(out) >= limit:
            break
    return out


def _parse_number(phrase: str) -> int | None:
    """Value of a number said in digits or Spanish words ("cuarenta y cinco" -> 45)."""
    parsed = _number_at(_tokens(_fold(phrase)), 0)
    return parsed[0] if parsed else None


# Said between the groups of a number read out group by group ("dos mil veinticinco guion cuatro
# mil ciento ochenta y siete": 2025-4187).
_GROUP_JOINERS: Final = frozenset({"guion", "raya"})


def _groups_at(toks: list[str], i: int, limit: int) -> tuple[list[str], int]:
    """Up to limit groups of a number read out group by group from toks[i], as written: a "cero"
    said in words is a leading zero of the group after it ("cero cuarenta y cinco" is "045",
    "cero cero siete" "007"), and "guion" joins two groups. Returns the groups and the index
    after them."""
    groups: list[str] = []
    zeros = ""
    while len(groups) < limit and (parsed := _number_at(toks, i)) is not None:
        value, i = parsed
        if value == 0 and not toks[i - 1].isdigit():
            zeros += "0"
            continue
        groups.append(zeros + str(value))
        zeros = ""
        if i + 1 < len(toks) and toks[i] in _GROUP_JOINERS and _number_at(toks, i + 1) is not None:
            i += 1
    if zeros and len(groups) < limit:
        groups.append(zeros)
    return groups, i


def _number_said(phrase: str) -> str | None:
    """A number as said, for the record: digits as written ("012"), words in digits keeping a
    leading "cero" ("cero cuarenta y cinco" is "045", "doce" is "12"); None if it is none."""
    toks = _tokens(_fold(phrase))
    if toks[:1] and toks[0][0].isdigit():
        return toks[0]
    groups, _ = _groups_at(toks, 0, 1)
    return groups[0] if groups else None


def _number_list(low: str, start: int) -> list[int]:
    """Numbers listed from position start: "44, 45 y cuarenta y seis" -> [44, 45, 46]."""
    toks = _tokens(low, start)
    out: list[int] = []
    i = 0
    while (parsed := _number_at(toks, i)) is not None:
        out.append(parsed[0])
        i = parsed[1]
        if i < len(toks) and toks[i] in {",", ";", "y", "e"}:
            i += 1
            if i < len(toks) and toks[i] in {"numero", "numeros", "no"}:
                i += 1
            continue
        break
    return out


# --------------------------------------------------------------------------------------------
# Time and date
# --------------------------------------------------------------------------------------------

_HOUR_ALT: Final = _alt(
    [w for w, v in {**_UNITS, **_TEENS, **_TENS}.items() if v <= 24 and not w.startswith("ning")]
)
_NUM59_ALT: Final = (
    rf"(?:veinte|treinta|cuarenta|cincuenta)(?:\s+y\s+(?:{_alt(k for k, v in _UNITS.items() if v)}))?"
    rf"|{_alt(k for k in (*_TEENS, *_UNITS) if not k.startswith('ning'))}"
)
_AMPM_RE: Final = re.compile(r"\b([ap])\s?\.?\s?m\b\.?")
_TIME_RE: Final = re.compile(
    rf"\blas?\s+(?P<h>[0-9]{{1,2}}|{_HOUR_ALT})\b"
    r"(?:\s*(?::|h)\s*(?P<mm>[0-5][0-9])\b|\.(?P<mm2>[0-5][0-9])\b)?"
    r"(?:\s+(?P<hwd>horas?))?"
    rf"(?:\s+(?P<op>y|con|menos)\s+(?P<m>[0-9]{{1,2}}|cuarto|media|{_NUM59_ALT})\b"
    r"(?:\s+minutos?)?)?"
    r"(?:\s+(?P<punto>en punto))?"
    r"(?:\s+(?P<per>am|pm|de la manana|de la tarde|de la noche|de la madrugada|del medio\s?dia"
    r"|horas|hrs))?"
)
_TIME_CONTEXT_RE: Final = re.compile(
    r"(?:siendo|a|hasta|desde|son|eran|sean|para|sobre|antes de|despues de|partir de)\s*$"
)
_NOON_RE: Final = re.compile(r"\b(?:al|a|el) medio\s?dia\b")
_AFTERNOON: Final = frozenset({"pm", "de la tarde", "de la noche"})


def _time_of(m: re.Match[str]) -> str | None:
    """24h "HH:MM" of a _TIME_RE match, or None when it is not a plausible time."""
    hour = _parse_number(m["h"])
    minutes_digits = m["mm"] or m["mm2"]
    minutes = int(minutes_digits) if minutes_digits else 0
    if m["op"]:
        said = {"cuarto": 15, "media": 30}.get(m["m"]) or _parse_number(m["m"])
        minutes = said if said is not None else -1
    if hour is None or not 0 <= hour <= 24 or not 0 <= minutes <= 59:
        return None
    period = " ".join((m["per"] or "").split())
    if period in _AFTERNOON and hour < 12:
        hour += 12
    elif hour == 12 and period in {"am", "de la noche", "de la madrugada"}:
        hour = 0
    total = hour * 60 + (-minutes if m["op"] == "menos" else minutes)
    total %= 24 * 60
    return f"{total // 60:02d}:{total % 60:02d}"


def _find_time(low: str) -> str | None:
    """First time of day said in the (folded) text, as "HH:MM" in 24h."""
    text = _AMPM_RE.sub(lambda m: f" {m.group(1)}m", low)
    for m in _TIME_RE.finditer(text):
        said_as_time = _TIME_CONTEXT_RE.search(text, max(0, m.start() - 16), m.start())
        if not (said_as_time or any(m[g] for g in ("mm", "mm2", "hwd", "op", "punto", "per"))):
            continue  # "las dos proposiciones" is not a time
        found = _time_of(m)
        if found is not None:
            return found
    return "12:00" if _NOON_RE.search(text) else None


_MONTHS: Final[dict[str, int]] = {
    "enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7,
    "agosto": 8, "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12,
}  # fmt: skip
_DAY: Final = rf"[0-9]{{1,2}}|primero|{_NUM59_ALT}"
_DATE_RE: Final = re.compile(
    rf"\b(?P<d>{_DAY})\s*[°º]?\s+de\s+(?P<mes>{_alt(_MONTHS)})\b"
    rf"(?:\s*,?\s+(?:de|del)\s+(?:ano\s+)?(?P<y>{_NUM_PHRASE}))?"
)
_NUMERIC_DATE_RE: Final = re.compile(r"\b([0-9]{1,2})[/-]([0-9]{1,2})[/-]([0-9]{4})\b")


def _iso_date(year: int | None, month: int, day: int | None) -> str | None:
    if year is None or day is None or not 1900 <= year <= 2200:
        return None
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def _find_date(low: str) -> str | None:
    """First complete date (day, month and year) said in the text, in ISO format."""
    for m in _DATE_RE.finditer(low):
        day = 1 if m["d"] == "primero" else _parse_number(m["d"])
        year = _parse_number(m["y"]) if m["y"] else None
        found = _iso_date(year, _MONTHS[m["mes"]], day)
        if found:
            return found
    for m in _NUMERIC_DATE_RE.finditer(low):
        found = _iso_date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        if found:
            return found
    return None


# --------------------------------------------------------------------------------------------
# Names of people
# --------------------------------------------------------------------------------------------

_NAME_PARTICLES: Final = frozenset({"de", "del", "la", "las", "los", "san", "santa"})
_STOPWORD_TEXT: Final = """
    el lo los las un una unos unas y e o u ni que quien quienes cual cuales cuyo con para por en
    a al sobre sin hasta desde como cuando donde se su sus le les me mi mis nos nuestro nuestra
    es son fue fueron ha han hay habia esta este esto estos estas estan era ser sera muy mas
    menos ya no si tambien ademas entonces pues bueno bien ok gracias muchas buenos buenas dias
    tardes noches senor senora senores senoras senorita presidente presidenta vicepresidente
    vicepresidenta secretario secretaria concejal concejala concejales concejalas honorable
    honorables doctor doctora general municipal distrital alcalde alcaldesa personero personera
    ciudadano ciudadana funcionario funcionaria director directora gerente jefe jefa contralor
    contralora partido bancada tiene tienen palabra interviene dice manifiesta expresa solicita
    propone presenta presentan sirvase favor minutos minuto hora horas vota voto votos votaron
    abstencion excuso excusa excusado excusados excusada excusadas ausente ausentes presente presentes quorum
    decisorio deliberativo contestaron respondieron asistieron sesion acta proyecto proposicion
    comunicacion oficio punto orden dia siguiente hace uso quiere quisiera desea va voy vamos
    comunidad comunidades ciudadania publico administracion plenaria corporacion concejo recinto
    hemiciclo
    sale salen salio salieron abandona abandonan abandono abandonaron siendo
    vocero vocera voceros voceras
    comandante subsecretario subsecretaria delegado delegada gobernador gobernadora
    hoy ayer anteayer manana ahora anteriormente previamente aun todavia tampoco
    """
_NAME_STOPWORDS: Final = frozenset(_STOPWORD_TEXT.split()) | _NUMBER_WORDS
_MAX_NAME_WORDS: Final = 6
_NAME_TOKEN_RE: Final = re.compile(r"\s*([^\W\d_][\w'’\-]*)")
# Academic and courtesy titles said before a name: not part of it.
_TITLES: Final = (
    r"doctor|doctora|doctores|dr|dra|ingeniero|ingeniera|ing|licenciado|licenciada|lic"
    r"|arquitecto|arquitecta|arq|abogado|abogada|economista|contador|contadora|magister"
    r"|profesor|profesora|don|dona|coronel|teniente|capitan|monsenor|presbitero|maestro|maestra"
)
_TITLE_RE: Final = re.compile(rf"\b(?:{_TITLES})\b")
_PERSON_FILLER_RE: Final = re.compile(
    r"\s*(?:(?:a la|a los|a las|al|a|de la|de los|del|el|la|los|las)\s+)?"
    r"(?:(?:senor|senora|senores|senoras|sra\.|sr\.|srta\.|honorable|honorables|h\.|joven)\s+)?"
    r"(?:(?:concejal|concejala|concejales|concejalas|presidente|presidenta|vicepresidente"
    rf"|vicepresidenta|secretario|secretaria|general|electo|electa|electos|electas|{_TITLES})\b\.?\s*)"
    r"{0,6}"
    r"(?:(?:del|de la)\s+(?:honorable\s+)?(?:concejo|corporacion)(?:\s+(?:municipal|distrital))?"
    r"(?:\s+de\s+[^\W\d_]+)?\s*,?\s*)?"
)
_LIST_SEP_RE: Final = re.compile(r"\s*(?:[,;]\s*(?:(?:y|e)\s+)?|(?:y|e)\s+)")


def _take_name(t: _Text, pos: int) -> tuple[str, int] | None:
    """Name of a person starting at pos, and where it ends.

    Words are taken until punctuation or a function word; when the name starts with a capital,
    only capitalised words (and particles like "de la") are taken, and an initial between two
    of them ("Jorge L. Castaño").
    """
    words: list[str] = []
    pending: list[str] = []
    end = pos
    capitalised = False
    while len(words) < _MAX_NAME_WORDS:
        m = _NAME_TOKEN_RE.match(t.raw, pos)
        if m is None:
            break
        word, key = m.group(1), t.low[m.start(1) : m.end(1)]
        if words and key in _NAME_PARTICLES:
            after = _NAME_TOKEN_RE.match(t.raw, m.end())
            if _PARTY_NAME_RE.match(t.low, m.start(1)) or (
                after is not None and _PARTY_NAME_RE.match(t.low, after.start(1))
            ):
                break  # "Eva Mora del Pacto Histórico", "… de la U": the party, not more name
            pending.append(word)
            pos = m.end()
            continue
        if key in _NAME_STOPWORDS or key in _NAME_PARTICLES:
            break
        if words and capitalised and not word[0].isupper():
            break
        if not words:
            capitalised = word[0].isupper()
        pos = m.end()
        if words and _INITIAL_RE.match(t.raw, m.start(1)):
            word, pos = word + ".", pos + 1  # "Jorge L. Castaño", as Whisper writes "Eliécer"
        words += [*pending, word]
        pending.clear()
        end = pos
    return (" ".join(words), end) if words else None


_INITIAL_RE: Final = re.compile(r"[A-ZÁÉÍÓÚÑ]\.\s+[A-ZÁÉÍÓÚÑ]")
"""An initial inside a name, the next name word after it."""


def _take_person(t: _Text, pos: int) -> tuple[str, int] | None:
    """Like _take_name, after skipping articles, honorifics and roles ("el concejal ...")."""
    filler = _PERSON_FILLER_RE.match(t.low, pos)
    return _take_name(t, filler.end() if filler else pos)


def _take_people(t: _Text, pos: int) -> tuple[list[str], int]:
    """A list of people: "los concejales Ana Ruiz, Luis Mora y la concejala Eva Paz". After a
    capitalised name, words in lowercase are no name of the list: "de la concejala Ana Ruiz,
    tengo dudas sobre…" is one author, and speech after her."""
    names: list[str] = []
    end = pos
    while len(names) < 80:
        got = _take_person(t, pos)
        if got is None or (names and names[0][:1].isupper() and not got[0][:1].isupper()):
            break
        names.append(got[0])
        end = got[1]
        sep = _LIST_SEP_RE.match(t.low, end)
        if sep is None:
            break
        pos = sep.end()
    return names, end


def _person_after(regex: re.Pattern[str], t: _Text, accept: Callable[[str], bool] = bool) -> str | None:
    """First person named right after a match of regex whose name ``accept`` takes."""
    for m in regex.finditer(t.low):
        got = _take_person(t, m.end())
        if got and accept(got[0]):
            return got[0]
    return None


# --------------------------------------------------------------------------------------------
# Speakers: who, with which role and party
# --------------------------------------------------------------------------------------------

_SPEAKER_TRIGGER_RE: Final = re.compile(
    r"\b(?:(?:tiene|tendra|toma|tomara|concedo|concede|le concedo|se le concede|cedo|le cedo"
    r"|doy|le doy|damos|otorgo|se otorga|hace uso de|en uso de|con)\s+(?:el\s+uso\s+de\s+)?"
    r"la\s+palabra|continua\s+(?:en|con)\s+(?:el\s+)?uso\s+de\s+la\s+palabra"
    r"|interviene|intervino|intervencion\s+(?:de|del|de la))\b\s*,?"
)
# "[Habla] [el] concejal Juan Pérez: …", a transcript's speaker label.
_SPEAKER_PREFIX_RE: Final = re.compile(r"^(?:habla\s+)?(?:(?:el|la)\s+)?(?:honorable\s+)?(?=\w+)")
_ROLE_RE: Final = re.compile(
    r"\s*(?:(?:el|la|al|a la|a|del|de la)\s+)?(?:(?:senor|senora|honorable)\s+)?"
    r"(?P<role>concejala|concejal|subsecretari[oa]|secretari[oa]|personer[oa]|alcaldesa|alcalde"
    r"|ciudadan[oa]|funcionari[oa]|vicepresident[ea]|president[ea]|contralora?|directora?"
    r"|gerente|jef[ea]|veedora?|lideresa|lider|representante|edil(?:esa)?|asesora?"
    r"|comandante|inspectora?|delegad[oa]|gobernador(?:a)?)\b(?:\s+(?:municipal|distrital|delegad[oa]))?"
)
# The mayor's (or the governor's) delegate, an office said whole: "el señor delegado del alcalde
# doctor Álvaro Benítez", "la delegada de la señora gobernadora".
_DELEGATE_OFFICE: Final = (
    r"delegad[oa]\s+(?:del|de\s+la)\s+(?:(?:senor|senora)\s+)?(?:alcalde|alcaldesa|gobernador"
    r"|gobernadora)\b(?:\s+(?:distrital|municipal|departamental))?"
)
_DELEGATE_OFFICE_RE: Final = re.compile(_DELEGATE_OFFICE)
_COMMA_RE: Final = re.compile(r"\s*,\s*")
_ARTICLE_RE: Final = re.compile(r"(?:el|la|los|las)\s+")
# A councillor addressed or named: "concejal Pedro Gómez", "honorable concejala Ana Ruiz".
_COUNCILLOR_TITLE_RE: Final = re.compile(
    r"(?:(?:el|la|senor|senora|honorable|querido|querida|apreciado|apreciada)\s+){0,3}concejala?\b"
)
_COUNCIL_SEATS: Final = frozenset({"concejal", "concejala", "presidente", "vicepresidente"})
"""Roles of the council's own members: a councillor named after them is who holds them."""
_PHRASE_END_RE: Final = re.compile(r"[,.;:!?]")
# What a president presides in the council: anything else (a community board, an association)
# makes the president a citizen.
_COUNCIL_BODY_RE: Final = re.compile(
    r"(?:la\s+|el\s+)?(?:comision|mesa|concejo|corporacion|plenaria|sesion)\b"
)
# What a governor governs that makes the governor a citizen: an indigenous or community
# authority ("gobernador del cabildo indígena Nasa"), not the department's.
_COMMUNITY_AUTHORITY_RE: Final = re.compile(
    r"(?:la\s+|el\s+|los\s+)?(?:cabildos?|resguardos?|pueblos?|comunidad|consejo\s+comunitario)\b"
)
# What an office as a citizen's ends with besides its clause: the place said after a comma
# ("presidente de la Junta de Acción Comunal de La Buitrera, sector El Otoño", "…del acueducto
# veredal de Campoalegre, en el corregimiento de Felidia").
_PLACE_CLAUSE_RE: Final = re.compile(
    r",\s*(?:en\s+)?(?:(?:el|la|los|las)\s+)?(?:sector|barrio|vereda|comuna|corregimiento|zona"
    r"|localidad|municipio|resguardo)\b"
)
_MAX_CARGO_CHARS: Final = 160
_MAX_PLACE_WORDS: Final = 6
"""A place said after a comma is a few words ("sector El Otoño"): more is what is said of it."""
# The organisation a citizen is said to be of, after the name: "la señora Ana Ruiz, de la
# Asociación de Usuarios de La Castilla", "el joven Luis Mora, de la Plataforma de Juventudes".
# Only one its first word says is the community's: a party, an office of the administration
# or a place said there are no citizen's office ("Juan Pérez, del Polo", "…, de la Secretaría
# de Salud").
_ORGANISATION_RE: Final = re.compile(
    r"(?:de|del|de\s+la|de\s+los|de\s+las)\s+(?=(?:junta|juntas|jac|jal|asojuntas|asociacion"
    r"|fundacion|plataforma|veeduria|red|colectivo|comite|cabildo|resguardo|cooperativa|sindicato"
    r"|federacion|organizacion|corporacion\s+(?!autonoma)|consejo\s+comunitario|mesa\s+(?:de\s+)?"
    r"(?:victimas|participacion|mujeres|juventud|juventudes)|acueducto|asamblea\s+comunitaria"
    r"|grupo|club|parroquia|institucion\s+educativa|colegio|escuela)\b)"
)
# An official's office goes on past a name's words: "de Acueducto y Alcantarillado de EMCALI",
# "de Salud Pública Distrital".
_OFFICE_AND_RE: Final = re.compile(r"\s+(?:y|e)\s+")
_OFFICE_SCOPE_RE: Final = re.compile(r"\s+(?:distrital|municipal|departamental|nacional|publico)\b")
_MAX_OFFICE_PARTS: Final = 3
# Said between the grant and the speaker: "tiene la palabra nuevamente / de nuevo / hasta por
# cinco minutos / para responder / para una moción de orden / final el secretario de Hacienda".
_FLOOR_ADVERB_RE: Final = re.compile(
    r"\s*,?\s*(?:nuevamente|de nuevo|otra vez|ahora|brevemente|enseguida|inmediatamente|final"
    r"|a continuacion|en su orden|por favor|(?:hasta\s+)?por\s+(?:espacio\s+de\s+)?"
    r"(?:[0-9]{1,2}|[^\W\d_]+(?:\s+y\s+[^\W\d_]+)?)\s+minutos"
    r"|para\s+(?:responder|replicar|contestar|aclarar|cerrar|concluir|(?:una\s+)?replica"
    r"|(?:una\s+)?(?:mocion\s+de\s+(?:orden|procedimiento)|interpelacion)))\b\s*,?"
)
_NAME_END_RE: Final = re.compile(r"\s*(?:[,.;:!?)]|$)")
# The speaker's part in the item, said before or after the name: "la concejala ponente Eva
# Paz", "el concejal citante, Luis Mora", "Eva Paz, del Partido Verde, ponente del proyecto".
_PART: Final = r"(?:coordinador[a]?\s+)?(?:co-?)?(?P<part>ponente|citante)s?\b(?:\s+coordinador[a]?\b)?"
# A party's spokesperson, said before the name: "la vocera del Partido Verde, concejala Eva Paz",
# "el vocero de la bancada liberal, Luis Mora".
_SPOKESPERSON_RE: Final = re.compile(
    r"\s*(?:(?:el|la)\s+)?vocer(?P<g>[oa])\s+(?:de\s+(?:la\s+)?bancada\s+)?(?:(?:del|de la|de)\s+)?"
    r"(?:(?:partido|bancada|movimiento)\s+)?"
)
_PART_BEFORE_NAME_RE: Final = re.compile(rf"\s*(?:(?P<art>el|la)\s+)?{_PART}\s*,?")
_PART_AFTER_NAME_RE: Final = re.compile(rf",\s*(?:(?:el|la)\s+)?(?:concejala?\s+)?{_PART}")
_CLAUSE_END_RE: Final = re.compile(r"[.;:!?](?:\s|$)")
_ROLE_SCOPE_RE: Final = re.compile(r"\s+(?:de|del|de la|de los)\s+")
_COUNCIL_RE: Final = re.compile(r"\s+(?:general\b|(?:del|de la)\s+(?:honorable\s+)?(?:concejo|corp))")
_ROLE_NAMES: Final[tuple[tuple[str, str], ...]] = (
    ("concejala", "concejala"),
    ("concejal", "concejal"),
    ("personer", "personero"),
    ("alcald", "alcalde"),
    ("ciudadan", "ciudadano"),
    ("veedor", "ciudadano"),
    ("lider", "ciudadano"),
    ("representante", "ciudadano"),
    ("vicepresident", "vicepresidente"),
    ("president", "presidente"),
    ("contralor", "contralor"),
    ("edil", "edil"),
)
_HEAD_QUALIFIER_RE: Final = re.compile(
    rf"(?:\s+(?:{_alt(OFFICE_SCOPES)}))?\s+(?:{_alt(HEAD_QUALIFIERS)})(?=[\s,.;:!?]|$)"
)
"""Said after a personero's or a comptroller's office: another official, or its holder for a time."""
_KNOWN_PARTIES: Final[dict[str, str]] = {
    "liberal": "Liberal",
    "conservador": "Conservador",
    "de la u": "de la U",
    "centro democratico": "Centro Democrático",
    "cambio radical": "Cambio Radical",
    "alianza verde": "Alianza Verde",
    "verde": "Verde",
    "pacto historico": "Pacto Histórico",
    "polo democratico": "Polo Democrático",
    "polo democratico alternativo": "Polo Democrático Alternativo",
    "colombia humana": "Colombia Humana",
    "mira": "MIRA",
    "comunes": "Comunes",
    "nuevo liberalismo": "Nuevo Liberalismo",
    "dignidad": "Dignidad",
    "en marcha": "En Marcha",
    "colombia justa libres": "Colombia Justa Libres",
    "salvacion nacional": "Salvación Nacional",
    "creemos": "Creemos",
    "fuerza ciudadana": "Fuerza Ciudadana",
}
_PARTY_NAME_RE: Final = re.compile(rf"(?:{_alt(_KNOWN_PARTIES)})\b")
_PARTY_RE: Final = re.compile(r"\bpartido\s+(?:politico\s+)?")
_PARTY_UNNAMED_RE: Final = re.compile(
    rf"\b(?:bancada|movimiento|partido)\s+(?:del\s+|de la\s+)?(?P<p>{_alt(_KNOWN_PARTIES)})\b"
    rf"|\b(?P<q>{_alt(k for k in _KNOWN_PARTIES if ' ' in k and k != 'de la u')})\b"
)


def _clause_end(t: _Text, pos: int) -> int:
    """Where the clause holding pos ends (a comma, a sentence's end, the text's end)."""
    stop = _PHRASE_END_RE.search(t.low, pos)
    return stop.start() if stop else len(t.low)


def _bounded(t: _Text, start: int, end: int) -> int:
    """end, or the last word's end within _MAX_CARGO_CHARS of start (speech heard without
    punctuation has no clause end: the office is not the rest of the speech)."""
    if end - start <= _MAX_CARGO_CHARS:
        return end
    cut = t.low.rfind(" ", start, start + _MAX_CARGO_CHARS)
    return cut if cut > start else start + _MAX_CARGO_CHARS


def _citizen_office_end(t: _Text, start: int, pos: int) -> int:
    """Where a citizen's office said from start ends: its clause's end, and the place said in
    the clauses after it (see _PLACE_CLAUSE_RE), within _MAX_CARGO_CHARS."""
    end = _bounded(t, start, _clause_end(t, pos))
    for _ in range(2):
        place = _PLACE_CLAUSE_RE.match(t.low, end)
        more = _clause_end(t, place.end()) if place else end
        if (
            place is None
            or more - start > _MAX_CARGO_CHARS
            or len(t.low[end:more].split()) > _MAX_PLACE_WORDS
        ):
            break
        end = more
    return end


def _office_end(t: _Text, end: int) -> int:
    """Where an official's office whose name-like words end at end goes on to: its scope
    ("… Distrital", "… Público", a word a name stops at) and more capitalised words joined by
    "y" ("de Acueducto y Alcantarillado de EMCALI": see _office_words), a few times at most; a
    lowercase word after "y" is another clause."""
    for _ in range(_MAX_OFFICE_PARTS):
        if scope := _OFFICE_SCOPE_RE.match(t.low, end):
            end = scope.end()
            continue
        joined = _OFFICE_AND_RE.match(t.low, end)
        more = _take_name(t, joined.end()) if joined else None
        if more is None or not more[0][:1].isupper() or not _office_words(more[0]):
            break
        end = more[1]
    return end


def _office_words(said: str) -> bool:
    """Whether words joined to an office by "y" go on with it: one word ("Hacienda y Crédito
    Público") or words with a particle ("Acueducto y Alcantarillado de EMCALI"); two or more
    words without one may be a person ("el gerente de EMCALI y Luis Mora")."""
    words = said.split()
    return len(words) == 1 or any(_fold(w) in _NAME_PARTICLES for w in words[1:])


def _role(t: _Text, pos: int) -> tuple[str, str | None, int] | None:
    """Role said at pos: (rol, cargo for officials and citizens who hold an office, end
    position). The president of a body other than the council ("presidente de la Junta de
    Acción Comunal del barrio El Retiro") is a citizen, with that office as said; the mayor's
    delegate is an official whose office is "delegado del alcalde" as said, and so is a delegate
    of the personero or the comptroller, or one said to hold the office for a time or to leave it
    ("personera delegada…", "el personero saliente": not the personero, nor named "Saliente")."""
    m = _ROLE_RE.match(t.low, pos)
    if m is None:
        return None
    word, end = m["role"], m.end()
    if word.startswith("delegad") and (delegate := _DELEGATE_OFFICE_RE.match(t.low, m.start("role"))):
        return "funcionario", _slice(t, delegate.start(), delegate.end()), delegate.end()
    # "la personera delegada para…", "el personero saliente": an official of the office, or one
    # who held or holds it for a time, not the one the session knows as its head
    qualified = word in ONE_HOLDER_OFFICES and _HEAD_QUALIFIER_RE.match(t.low, m.end("role"))
    if qualified:
        end = max(end, qualified.end())
    scope = _ROLE_SCOPE_RE.match(t.low, end)
    council = _COUNCIL_RE.match(t.low, end)
    if word.startswith("secretari") and (scope is None or council is not None):
        return "secretario", None, (council.end() if council else end)
    civic = scope is not None and council is None and _COUNCIL_BODY_RE.match(t.low, scope.end()) is None
    community = (  # "gobernador del cabildo indígena": a community's authority, not the department's
        word.startswith("gobernador")
        and scope is not None
        and _COMMUNITY_AUTHORITY_RE.match(t.low, scope.end()) is not None
    )
    if ("president" in word and civic) or community:
        cargo_end = _citizen_office_end(t, m.start("role"), end)
        return "ciudadano", _slice(t, m.start("role"), cargo_end), cargo_end
    if "president" in word and scope is not None:
        article = _ARTICLE_RE.match(t.low, scope.end())
        if body := _take_name(t, article.end() if article else scope.end()):
            end = body[1]  # "presidente de la Comisión de Presupuesto, concejal Luis Mora": no name
    for prefix, rol in _ROLE_NAMES:
        if word.startswith(prefix) and not qualified:
            return rol, None, end
    cargo_end = end
    if scope is not None:  # "la directora de la Personería": the office's article is the office's
        article = _ARTICLE_RE.match(t.low, scope.end())
        if (office := _take_name(t, article.end() if article else scope.end())) is not None:
            cargo_end = _office_end(t, office[1])
    return "funcionario", _slice(t, m.start("role"), cargo_end), cargo_end


def _party(t: _Text) -> str | None:
    """The speaker's party as said: "del Partido Liberal" is "Partido Liberal", "de Alianza
    Verde" is "Alianza Verde" (a known party's name in its usual spelling)."""
    for m in _PARTY_RE.finditer(t.low):
        known = _PARTY_NAME_RE.match(t.low, m.end())
        if known:
            return "Partido " + _KNOWN_PARTIES[" ".join(known.group(0).split())]
        named = _take_name(t, m.end())
        if named:
            return "Partido " + named[0]
    m2 = _PARTY_UNNAMED_RE.search(t.low)
    if m2:
        return _KNOWN_PARTIES[" ".join((m2["p"] or m2["q"]).split())]
    return None


def _person_after_role(t: _Text, pos: int, rol: str) -> tuple[str, int] | None:
    """Person named right after a role, or after the office and a comma ("la secretaria de
    Salud, doctora Ana Ruiz"). After the comma it must look like a name: titled, or capitalised
    and ending the clause ("…de Salud, Ana Ruiz.", "…, Ana Ruiz, quien…"). "…de Salud, ella nos
    dirá" names nobody, nor does a capitalised word the sentence goes on from ("…de Movilidad,
    Cali necesita soluciones": a place, followed by its verb), nor a councillor after an office
    that is not a seat of the council ("…la palabra del alcalde, concejal Pedro Gómez": said to
    him; "el presidente de la comisión, concejal Luis Mora" is him)."""
    if (person := _take_person(t, pos)) is not None:
        return person
    comma = _COMMA_RE.match(t.low, pos)
    if comma is None or (person := _take_person(t, comma.end())) is None:
        return None
    if rol not in _COUNCIL_SEATS and _COUNCILLOR_TITLE_RE.match(t.low, comma.end()):
        return None
    name_at = person[1] - len(person[0])
    if _TITLE_RE.search(t.low, comma.end(), name_at) is not None:
        return person
    ends_clause = _NAME_END_RE.match(t.low, person[1]) is not None
    return person if person[0][0].isupper() and ends_clause else None


# An office said right after a name, with no comma (speech to text in lowercase): "tiene la palabra
# el capitan jorge eliecer paz castillo comandante del cuerpo de bomberos", "…la doctora ana ruiz
# secretaria de salud". The name ends before it (its words are _NAME_STOPWORDS).
_OFFICE_AFTER_NAME_RE: Final = re.compile(
    r"\s+(?:secretari[oa]|subsecretari[oa]|director[a]?|gerente|comandante|jef[ea]|delegad[oa]"
    r"|gobernador[a]?)\s+(?:de|del|de\s+la|de\s+los)\s"
)


def _speaker_at(t: _Text, pos: int) -> dict[str, Any]:
    """Speaker introduced at pos: "el concejal Juan Pérez", "la doctora Ana Ruiz, secretaria...",
    "el director del DAGMA, ingeniero Luis Mora", "la concejala ponente Eva Paz", "la vocera del
    Partido Verde, concejala Eva Paz"."""
    out: dict[str, Any] = {}
    for _ in range(3):  # "tiene la palabra nuevamente, hasta por cinco minutos, el secretario…"
        adverb = _FLOOR_ADVERB_RE.match(t.low, pos)
        if adverb is None:
            break
        pos = adverb.end()
    spokesperson = _SPOKESPERSON_RE.match(t.low, pos)
    if spokesperson and (party_end := _party_end(t, spokesperson.end())) is not None:
        comma = _COMMA_RE.match(t.low, party_end)  # the party is _party's to read
        pos = comma.end() if comma else party_end
    else:
        spokesperson = None
    part_before = _PART_BEFORE_NAME_RE.match(t.low, pos)
    role = _role(t, part_before.end() if part_before else pos)
    part_after_role = _PART_BEFORE_NAME_RE.match(t.low, role[2]) if role else None
    part = part_before or part_after_role
    if role is not None:
        person = _person_after_role(t, part_after_role.end() if part_after_role else role[2], role[0])
    else:
        person = _take_person(t, part.end() if part else pos)
    if person is not None:
        out["orador"] = person[0]
        if role is None and (comma := _COMMA_RE.match(t.low, person[1])):
            role = _described(t, comma.end())
        elif role is None and (t.raw[: person[1]].islower() or _OFFICE_AFTER_NAME_RE.match(t.low, person[1])):
            # no comma is heard, in lowercase speech ("tiene la palabra el doctor alvaro rengifo
            # presidente de metrocali": given the floor by office later, he had no name) nor before an
            # office said right after the name ("…el capitán Jorge Paz comandante del Cuerpo de…")
            role = _described(t, person[1])
    if role is not None:
        out["rol"] = role[0]
        if role[1]:
            out["cargo"] = role[1]
    elif part is not None:
        # A ponente or citante is a councillor; the article says which ("la ponente Eva Paz", "la
        # ponente", whom the bill's heading may name).
        out["rol"] = "concejala" if part["art"] == "la" else "concejal"
    elif spokesperson is not None and person is not None:
        out["rol"] = "concejala" if spokesperson["g"] == "a" else "concejal"  # a party's, in the council
    parts = {part["part"]} if part else set()
    if person is not None:
        stop = _CLAUSE_END_RE.search(t.low, person[1])
        end = stop.start() if stop else len(t.low)
        parts |= {m["part"] for m in _PART_AFTER_NAME_RE.finditer(t.low, person[1], end)}
    out |= {p: True for p in sorted(parts)}
    return out


def _described(t: _Text, pos: int) -> tuple[str, str | None, int] | None:
    """What a person named before pos is said to be there, as _role gives it: a role ("…,
    secretaria de Salud"), a citizen's organisation (_organisation), or what a citizen is, as
    said ("la señora María Angulo, veedora ciudadana")."""
    role = _role(t, pos) or _organisation(t, pos)
    if role is not None and role[0] == "ciudadano" and role[1] is None:
        said = _ROLE_RE.match(t.low, pos)
        start = said.start("role") if said else pos
        role = ("ciudadano", _slice(t, start, _clause_end(t, role[2])), role[2])
    return role


def _organisation(t: _Text, pos: int) -> tuple[str, str | None, int] | None:
    """A citizen's organisation said at pos (see _ORGANISATION_RE), as _role gives a role: the
    organisation as said, without its "de la", and the office in it said next ("…, de la
    Plataforma Distrital de Juventudes, delegada de la zona rural")."""
    m = _ORGANISATION_RE.match(t.low, pos)
    if m is None:
        return None
    end = _citizen_office_end(t, m.end(), m.end())
    comma = _COMMA_RE.match(t.low, end)
    if comma is not None and (office := _ROLE_RE.match(t.low, comma.end())) is not None:
        end = max(end, _bounded(t, m.end(), _clause_end(t, office.end())))
    return "ciudadano", _slice(t, m.end(), end), end


def _speaker(t: _Text) -> dict[str, Any]:
    """Who speaks in the utterance, when it says so.

    Fields: orador (the name, without role or titles), rol (concejal, concejala, funcionario,
    personero, ciudadano…), cargo (an official's office as said: "secretaria de Movilidad"),
    partido, and ponente / citante (true when the speaker is the bill's rapporteur or the
    councillor who called the debate: "la concejala ponente Eva Paz").
    """
    out: dict[str, Any] = {}
    grant = _floor_grant(t)
    triggers = [] if grant is None else [grant]
    for count, trigger in enumerate(_SPEAKER_TRIGGER_RE.finditer(t.low)):
        if count >= _MAX_TRIGGERS:
            break
        if grant is not None and trigger.start() == grant.start():
            continue
        if not _said_of_the_floor(t, trigger):  # "nadie tiene la palabra final", "su intervención de…"
            triggers.append(trigger)
    if triggers:
        # the grant of the floor, else the first mention that names someone ("intervención de
        # la comunidad. … Tiene la palabra el señor Wilmer Caicedo"); a mention that names nobody
        # is not the speaker's role ("…con la palabra del alcalde", said by the secretary)
        found = [
            _speaker_continuing(t, trigger)
            if t.low.startswith("continua", trigger.start())
            else _speaker_at(t, trigger.end())
            for trigger in triggers
        ]
        out = next((f for f in found if "orador" in f), found[0] if grant is not None else {})
    elif (call := _citizen_call(t)) is not None:
        out = call[1]
    else:
        prefix = _SPEAKER_PREFIX_RE.match(t.low)
        role = _role(t, prefix.end()) if prefix else None
        if role is not None:
            person = _person_after_role(t, role[2], role[0])
            named_party = person is not None and _PARTY_NAME_RE.fullmatch(_fold(person[0])) is not None
            # the party said before the colon only of a person named right after the role: "Señor
            # presidente, concejala Ana Ruiz, de Alianza Verde: …" addresses the chair
            direct = person is not None and "," not in t.low[role[2] : person[1] - len(person[0])]
            if person and not named_party and _label_ends(t, person[1], party=direct):
                # "Presidente Juan Pérez: …"; "Presidente, Centro Democrático: votamos no." is a party
                out = _speaker_at(t, prefix.end() if prefix else 0)
        if not out:
            out = _self_named(t) or _introduced(t) or _named_first(t)
    if "partido" not in out and (party := _party(t)):
        out["partido"] = party
    if isinstance(name := out.get("orador"), str) and name == name.lower():
        out["orador"] = _capitalised(name)
    return out


# The speaker's party said in a speaker label, between the name and the colon: "La concejala Eva
# Mora del Pacto Histórico: …", "El concejal Juan Pérez, del Partido Liberal: …".
_LABEL_PARTY_RE: Final = re.compile(
    r"\s*,?\s*(?:del|de\s+la|de)\s+(?:(?:partido|bancada|movimiento)\s+(?:politico\s+)?(?:del?\s+|de\s+la\s+)?)?"
)


def _label_ends(t: _Text, pos: int, *, party: bool) -> bool:
    """Whether a speaker label ends at ``pos`` (after the speaker's name): with its colon, or
    (``party``) with the speaker's party and then the colon."""
    if t.raw[pos:].lstrip().startswith(":"):
        return True
    if not party:
        return False
    said = _LABEL_PARTY_RE.match(t.low, pos)
    end = _party_end(t, said.end()) if said is not None else None
    return end is not None and t.raw[end:].lstrip(" ,").startswith(":")


# Who continues in the use of the floor, named after it: "Continúa en el uso de la palabra el
# concejal Juan Pérez".
_NAMED_AFTER_CONTINUING_RE: Final = re.compile(r"\s*,?\s*(?:el|la)\s")


def _speaker_continuing(t: _Text, trigger: re.Match[str]) -> dict[str, Any]:
    """Who ``trigger`` ("continúa en el uso de la palabra") says continues: named after it, or
    the subject that starts its sentence ("El concejal Juan Pérez continúa en el uso de la
    palabra, pero…": not "Pero"); {} when neither names them."""
    if _NAMED_AFTER_CONTINUING_RE.match(t.low, trigger.end()):
        return _speaker_at(t, trigger.end())
    start = _sentence_start(t, trigger.start())
    start += len(t.low[start:]) - len(t.low[start:].lstrip())
    if not _NAMED_AFTER_CONTINUING_RE.match(t.low, start):
        return {}  # "Mientras el concejal… continúa…": no subject named first
    said = _speaker_at(t, start)
    name = said.get("orador")
    if isinstance(name, str) and _fold(name) in t.low[start : trigger.start()]:
        return said
    return {}


# A speaker who starts by addressing the chair and saying their own name, often with the party:
# "Presidente, Rodrigo Zapata, de Cambio Radical. …", "Gracias, señora presidenta. Sandra Mejía.",
# "Gracias, presidente, les habla Ana Ruiz, del Partido Verde."
_NOT_A_SPEAKER_RE: Final = re.compile(
    r"\b(?:cali|bogota|santiago|colombia|valle|medellin|distrito|navidad|feliz|buenas|buenos)\b"
)
"""Capitalised words after "Presidente," that are a place or a greeting, not a speaker's name."""
_SELF_NAMED_RE: Final = re.compile(
    r"[\s¡¿]*(?:(?:muchas\s+)?gracias\s*,?\s*)?(?:(?:senor|senora)\s+)?president[ea]\s*[,.:]\s*"
    r"(?:(?:le\s+|les\s+)?habla\s+)?"
)
# After the name: its clause's end, or the party, said alone or as its spokesperson ("…, vocero
# del Centro Democrático").
_SELF_NAME_END_RE: Final = re.compile(
    r"\s*(?:[.;:](?:\s|$)|$|,\s*(?:(?:el|la)\s+)?(?:vocer(?P<g>[oa])\s+(?:de\s+(?:la\s+)?bancada\s+)?)?"
    rf"(?:(?:del|de la|de)\s+)?(?:(?:partido|bancada|movimiento)\s+(?:(?:del|de la|de)\s+)?)?"
    rf"(?P<party>{_alt(_KNOWN_PARTIES)})\b)"
)
# What a speaker taking the floor asks for ("una moción", "moción de procedimiento", "una
# pregunta") or says they speak for ("para dejar constancia…", "para una moción", "solicito…").
_OWN_REQUEST: Final = (
    r"(?:constancia|mocion|replica|aclaracion|interpelacion|pregunta|intervencion|observacion)"
)
_OWN_PURPOSE: Final = (
    rf"(?:para\s+(?:[^\W\d_]+(?:ar|er|ir)(?:me|le|les|lo|la)?|una\s+{_OWN_REQUEST})|solicito|pido"
    r"|quiero|dejo|propongo|me\s+permito)\b"
)
# After the name and a comma, the speaker's own request or purpose: "Presidente, Luis Alberto
# Lozano, una moción. Yo considero…", "…, moción de procedimiento.", "…, para dejar constancia…".
_SELF_NAMED_PURPOSE_RE: Final = re.compile(rf",\s*(?:{_OWN_PURPOSE}|(?:una\s+)?{_OWN_REQUEST}\b)")
# What one naming themselves says before the name: nothing, or the office of a member ("Presidente,
# concejala Ana Ruiz, una moción"); not an article ("el concejal…": told of) nor a title or a
# courtesy ("doctor Juan Pérez", "señora Ana Velasco": someone addressed).
_SELF_NAMED_LEAD_RE: Final = re.compile(r"\s*(?:(?:honorable\s+)?concejala?\s*)?")

# The part the speaker says they speak in, after their name: "Presidente, Harold Mosquera, como
# ponente. Acojo…", "…, Luis Mora, citante del debate."
_SELF_NAMED_PART_RE: Final = re.compile(
    rf",\s*(?:como\s+)?(?:(?:el|la)\s+)?(?:concejala?\s+)?{_PART}(?=\s*(?:[.;:,]|$)|\s+(?:del|de la)\s)"
)


def _self_named(t: _Text) -> dict[str, Any]:
    """The speaker who names themselves right after addressing the chair, {} if none: the name
    is capitalised, of two words or more, and ends its clause or is followed by the party
    ("Presidente, Sandra Mejía. Para solicitar…", "Presidente, Rodrigo Zapata, de Cambio
    Radical.", "Gracias, presidenta. Habla Carlos Mejía, vocero del Centro Democrático.") or by
    the speaker's own request ("Presidente, Luis Alberto Lozano, una moción.": see
    _SELF_NAMED_PURPOSE_RE; not after "el concejal", which may tell of another's request);
    "Presidente, Juan Pérez tiene razón" and "Presidente, Cali necesita…" name no speaker. The
    party said right after the name is the speaker's (``partido``), whatever other parties the
    speech names ("…postulamos a la concejala Ana Velasco, del Partido Liberal"); a party's
    spokesperson is a councillor of the gender said."""
    lead = _SELF_NAMED_RE.match(t.low)
    if lead is None:
        return {}
    filler = _PERSON_FILLER_RE.match(t.low, lead.end())
    said = t.low[lead.end() : filler.end()] if filler else ""
    got = _take_name(t, filler.end() if filler else lead.end())
    if got is None or not got[0][:1].isupper() or len(got[0].split()) < 2:
        return {}
    part = _SELF_NAMED_PART_RE.match(t.low, got[1])
    end = _SELF_NAME_END_RE.match(t.low, got[1])
    # "Presidente, el concejal Luis Mora, una moción": the secretary may be telling of his request;
    # "Presidente, doctor Juan Pérez, quiero preguntarle…": a guest addressed by a title
    own = _SELF_NAMED_LEAD_RE.fullmatch(said) and _SELF_NAMED_PURPOSE_RE.match(t.low, got[1])
    if part is None and end is None and not own:
        return {}
    if _PARTY_NAME_RE.fullmatch(_fold(got[0])) or _NOT_A_SPEAKER_RE.search(_fold(got[0])):
        return {}  # "Presidente, Centro Democrático: votamos no.", "Presidente, Santiago de Cali…"
    found: dict[str, Any] = {"orador": got[0]}
    g = end["g"] if end is not None else None
    if _FEMININE_CUE_RE.search(said) or g == "a":  # "Presidente, la concejala Ana Ruiz, …"
        found["rol"] = "concejala"
    elif _MASCULINE_CUE_RE.search(said) or g == "o":
        found["rol"] = "concejal"
    if (
        end is not None
        and end["party"]
        and (party := _party(_Text(t.raw[got[1] : end.end()], t.low[got[1] : end.end()])))
    ):
        found["partido"] = party
    if part is not None:
        found[part["part"]] = True  # "Presidente, Harold Mosquera, como ponente."
    return found


# A speaker introducing themselves near the start, after a greeting or not: "Buenos días. Mi
# nombre es Rubiel Quintana, soy el presidente de…", "Buenas tardes. Yo soy Aurelio Pillimué,
# gobernador del cabildo…", "Con la venia de la presidencia, habla la concejala Beatriz Elena
# Caicedo Sinisterra, de la bancada…" ("habla" alone: see _introduced).
_INTRODUCTION_RE: Final = re.compile(
    r"(?:^|(?<=[.,;:!?¡¿])\s*|(?<=\bgracias )|(?<=\bpresidente )|(?<=\bpresidenta ))(?:(?:y|e)\s+)?"
    r"(?:mi\s+nombre\s+es|me\s+llamo|yo\s+soy|les\s+habla|le\s+habla|(?P<bare>habla))\s+"
)
# Whom a member who introduces themselves turns to after the name, in speech heard without
# punctuation: "presidente muchas gracias habla el concejal juan martin bravo ramirez secretaria
# a mí me preocupa…": the name ends there.
_TURNS_TO_RE: Final = re.compile(
    r"\s*,?\s*(?:(?:senor|senora)\s+)?(?:president[ea]|secretari[oa]|honorables?|companer[oa]s)\b"
)
_INTRODUCTION_WINDOW: Final = 160
"""How far into the utterance an introduction is looked for: a speaker says it first."""
# After the name, what the speaker says they are: ", soy el presidente de…", ", como veedora…".
_INTRODUCED_AS_RE: Final = re.compile(
    r"\s*,\s*(?:(?:y|e)\s+)?(?:(?:(?:yo\s+)?soy|como|en\s+calidad\s+de)\s+)?"
)


def _introduced(t: _Text) -> dict[str, Any]:
    """The speaker who introduces themselves near the start of the utterance (see
    _INTRODUCTION_RE), {} if none: the name capitalised and of two words or more, and what they
    say they are after it ("…, soy el presidente de la junta administradora del acueducto
    veredal de Campoalegre, en el corregimiento de Felidia": a citizen, with that office as
    said), or the role said before it ("les habla el presidente de la corporación, Carlos
    Lemos"). A name heard in lowercase is not taken: its end cannot be told. "Habla" alone
    introduces only when declared (not asked, denied nor reported) and the name ends its clause:
    "…, habla la concejala Ana Ruiz de transparencia" speaks of her."""
    m = _INTRODUCTION_RE.search(t.low, 0, _INTRODUCTION_WINDOW)
    if m is None:
        return {}
    role = _role(t, m.end())
    got = _person_after_role(t, role[2], role[0]) if role else _take_person(t, m.end())
    if got is None or len(got[0].split()) < 2:
        return {}
    # In lowercase, a member's name whose end is told by whom they turn to (_TURNS_TO_RE)
    turns_to = role is not None and role[0] in ("concejal", "concejala") and _TURNS_TO_RE.match(t.low, got[1])
    if not got[0][:1].isupper() and not turns_to:
        return {}
    if m["bare"] is not None and (
        _not_declared(t, m.start("bare"), _sentence_start(t, m.start("bare")))
        or (_NAME_END_RE.match(t.low, got[1]) is None and not turns_to)
    ):
        return {}
    if _PARTY_NAME_RE.fullmatch(_fold(got[0])) or _NOT_A_SPEAKER_RE.search(_fold(got[0])):
        return {}
    if role is None and (said := _INTRODUCED_AS_RE.match(t.low, got[1])) is not None:
        role = _described(t, said.end())
    found: dict[str, Any] = {"orador": got[0]}
    if role is not None:
        found["rol"] = role[0]
        if role[1]:
            found["cargo"] = role[1]
    return found


# A speaker who says their name first and then addresses the chair, often heard without
# punctuation: "rodrigo salazar presidente para dejar constancia de mi voto negativo…". The
# "presidente" after the name is said to the chair only when the speaker's own purpose or request
# follows it ("para dejar…", "para una moción", "una observación", "solicito…"): "Carlos Lemos,
# presidente del Concejo" is his office, and "carlos lemos presidente no ha convocado" speaks of him.
_CHAIR_ADDRESSED_AFTER_NAME_RE: Final = re.compile(
    rf"\s*,?\s*(?:(?:senor|senora)\s+)?president[ea]\s*[,.:;]?\s*(?:{_OWN_PURPOSE}|una\s+{_OWN_REQUEST}\b)"
)
_LEADING_RE: Final = re.compile(r"[\W_]*")


def _named_first(t: _Text) -> dict[str, Any]:
    """The speaker who starts the utterance with their own name and then addresses the chair
    (see _CHAIR_ADDRESSED_AFTER_NAME_RE), {} if none: a name of two words or more (a greeting,
    "muchas gracias", is none), not a place nor a party; in lowercase it is written as a name."""
    lead = _LEADING_RE.match(t.low)
    got = _take_name(t, lead.end() if lead else 0)
    if got is None or len(got[0].split()) < 2 or not _CHAIR_ADDRESSED_AFTER_NAME_RE.match(t.low, got[1]):
        return {}
    if _PARTY_NAME_RE.fullmatch(_fold(got[0])) or _NOT_A_SPEAKER_RE.search(_fold(got[0])):
        return {}
    return {"orador": got[0]}


# The secretary calling a citizen inscribed to speak: "Primera inscrita, la señora Luz Dary
# Mosquera, presidenta de…", "Tercer inscrito, el señor Jhon Caicedo.".
_ORDINAL_WORDS: Final = (
    r"primer|primero|primera|segundo|segunda|tercer|tercero|tercera|cuarto|cuarta|quinto|quinta"
    r"|sexto|sexta|septimo|septima|octavo|octava|noveno|novena|decimo|decima|siguiente|proximo"
    r"|proxima|ultimo|ultima"
)
_CITIZEN_CALL_RE: Final = re.compile(
    rf"(?:^|(?<=[.!?;:¡¿])\s*)(?:(?:el|la)\s+)?(?:{_ORDINAL_WORDS})\s+(?:ciudadan[oa]\s+)?"
    r"inscrit[oa]\b(?:\s+(?:es|sera))?\s*[,:]?\s*"
)


def _citizen_call(t: _Text) -> tuple[re.Match[str], dict[str, Any]] | None:
    """The secretary's call of a citizen inscribed to speak, at a sentence's start, as a grant
    of the floor: the match and the citizen (``orador``, ``rol`` ciudadano, ``cargo`` as said:
    the office or the organisation), or only the office when no name is said ("Sexto inscrito,
    el señor gobernador del cabildo indígena Nasa."). None when it names neither, or someone
    who is not a citizen ("Siguiente inscrito, señor secretario.": the chair asking for the
    call), or a name heard in lowercase (its end cannot be told)."""
    for count, m in enumerate(_CITIZEN_CALL_RE.finditer(t.low)):
        if count >= _MAX_TRIGGERS:
            break
        called = _speaker_at(t, m.end())
        if called.get("rol", "ciudadano") != "ciudadano":
            continue
        name = called.get("orador")
        if isinstance(name, str) and name[:1].isupper():
            return m, {**called, "rol": "ciudadano"}
        if name is None and called.get("cargo"):
            return m, called
    return None


def _capitalised(name: str) -> str:
    """A name heard in lowercase (speech to text), written as a name for the acta's speaker
    line: "alba nelly rentería" is "Alba Nelly Rentería", "luis de la torre" "Luis de la Torre"."""
    words = name.split()
    return " ".join(
        w if i and w in _NAME_PARTICLES else "-".join(p[:1].upper() + p[1:] for p in w.split("-"))
        for i, w in enumerate(words)
    )


_MAX_TRIGGERS: Final = 8
# The chair's words giving the floor, which may follow a few words of their own ("En varios,
# tiene la palabra…", "Para responder, tiene la palabra…").
_GRANT_VERB_RE: Final = re.compile(
    r"(?:tiene|tendra|concedo|concede|le concedo|se le concede|cedo|le cedo|doy|le doy|damos"
    r"|otorgo|se otorga|continua)\b"
)
_MAX_LEAD_IN_WORDS: Final = 4
_LEAD_IN_WINDOW: Final = 60
# Words that make what comes before "tiene la palabra" something other than a lead-in: "el
# concejal que tiene la palabra", "si nadie más tiene la palabra", "presidente, le doy…".
_SUBJECT_ARTICLES: Final = frozenset({"el", "la", "los", "las", "su", "nuestra", "nuestro"})
"""An article right before the noun before "tiene la palabra" makes the noun its subject."""
_THE_CHAIR: Final = frozenset({"presidencia"})
"""A subject that is the chair itself, granting: "La Presidencia concede el uso de la palabra…"."""
_LEAD_IN_PREPOSITIONS: Final = frozenset({"para", "en", "con", "por", "de", "a", "sobre"})
"""A preposition before that article makes the noun its complement, a lead-in of the chair's
grant: "Para las conclusiones tiene la palabra el concejal citante…" (the citante's conclusions
were written under no name)."""


def _noun_is_subject(words: list[str]) -> bool:
    """Whether the last of the words before "tiene la palabra" is its subject ("el alcalde",
    "la comunidad"; not "la presidencia", the chair, nor "para las conclusiones")."""
    if len(words) < 2 or words[-2] not in _SUBJECT_ARTICLES or words[-1] in _THE_CHAIR:
        return False
    return len(words) < 3 or words[-3] not in _LEAD_IN_PREPOSITIONS


_NOT_A_LEAD_IN: Final = frozenset(
    {"que", "quien", "quienes", "cuando", "si", "no", "nadie", "como", "porque", "mientras", "donde"}
    | {"presidente", "presidenta"}
)


def _floor_grant(t: _Text) -> re.Match[str] | None:
    """The mention that gives the floor: one that starts its sentence ("Tiene la palabra…",
    "Interviene el concejal…"), or the chair's grant after a short lead-in ("En varios, tiene la
    palabra…", "para responder tiene la palabra…"), or the chair's grant that ends the utterance
    after more words of the chair (see _grant_ends_utterance). Only a short window before each
    mention is looked at, and the grant's own sentence after it, so a long text is read a bounded
    number of times."""
    for count, trigger in enumerate(_SPEAKER_TRIGGER_RE.finditer(t.low)):
        if count >= _MAX_TRIGGERS:
            break
        window = max(0, trigger.start() - _LEAD_IN_WINDOW)
        ends = [m.end() for m in _ANNOUNCEMENT_END_RE.finditer(t.raw, window, trigger.start())]
        granting = _GRANT_VERB_RE.match(t.low, trigger.start()) is not None
        if ends or window == 0:  # else a long sentence before it: spoken of, unless it ends it all
            lead = t.low[ends[-1] if ends else 0 : trigger.start()].strip(" ,;:.-¡¿")
            if not lead:
                return trigger
            words = lead.replace(",", " ").split()
            # "el alcalde tiene la palabra": the noun is its subject (not so after a comma, nor
            # the chair's own: "La Presidencia concede el uso de la palabra a…")
            comma = t.low[: trigger.start()].rstrip().endswith(",")
            subject = not comma and _noun_is_subject(words)
            if granting and len(words) <= _MAX_LEAD_IN_WORDS and not _NOT_A_LEAD_IN.intersection(words):
                if not subject:
                    return trigger
                continue
        if granting and _grant_ends_utterance(t, trigger):
            return trigger
    return None


def _grant_ends_utterance(t: _Text, trigger: re.Match[str]) -> bool:
    """Whether a grant said after other words of the chair ("queda constancia bienvenido concejal
    caicedo tiene la palabra la concejala alba nelly rentería", "Gracias, concejal. Bienvenido
    el concejal Caicedo, queda constancia de su llegada, tiene la palabra…") gives the floor: it
    names the speaker, by role or a capitalised name, and ends the utterance (the speaker's words
    come in the next one), and the words right before it do not make it something said of the
    floor ("el concejal que tiene la palabra", "presidente, le doy la palabra…"). Reads the
    grant's sentence and two words before it."""
    if _said_of_the_floor(t, trigger):
        return False
    stop = _ANNOUNCEMENT_END_RE.search(t.raw, trigger.end())
    if stop is not None and len(t.raw[stop.end() :].split()) >= 2:
        return False  # the speaker's words follow in this utterance: not this case
    named = _speaker_at(t, trigger.end())
    orador = named.get("orador")
    return isinstance(orador, str) and ("rol" in named or orador[:1].isupper())


# Said right before "intervención de…", they make it the noun of something said of it: "en mi
# intervención de ayer", "me sumo a la intervención del concejal…", or the complement of another
# noun: "el plan de intervención de la comuna trece" (a councillor's speech, written under the
# name "COMUNA").
_INTERVENTION_DETERMINERS: Final = frozenset(
    {"la", "una", "su", "sus", "mi", "mis", "tu", "esta", "esa", "nuestra", "aquella", "de"}
)


def _said_of_the_floor(t: _Text, trigger: re.Match[str]) -> bool:
    """Whether the two words before a mention of the floor make it something said of the floor
    or of an intervention, which gives it to nobody: "si nadie más tiene la palabra", "el
    concejal que tiene la palabra", "presidente, le doy…", "la comunidad tiene la palabra", "el
    secretario interviene mañana" (not so after a comma: "Gracias, concejal, tiene la palabra…"),
    "en su intervención de la mañana"."""
    before = t.low[max(0, trigger.start() - 40) : trigger.start()].replace(",", " ").split()
    if _NOT_A_LEAD_IN.intersection(before[-2:]):
        return True
    clause_ends = t.low[: trigger.start()].rstrip().endswith((",", ";", ":", "."))
    if not clause_ends and _noun_is_subject(before):
        return True  # "el alcalde tiene la palabra", "la comunidad tiene la palabra": said of it
    noun = t.low.startswith("intervencion", trigger.start())
    return noun and bool(before) and before[-1] in _INTERVENTION_DETERMINERS


def _has_speaker(t: _Text) -> bool:
    return bool(_SPEAKER_TRIGGER_RE.search(t.low)) or "orador" in _speaker(t)


# --------------------------------------------------------------------------------------------
# Votes
# --------------------------------------------------------------------------------------------

_VOTE_RE: Final = re.compile(
    r"\bvotacion\b|\bvotaron\b|\bvotos?\s+(?:por|a favor|en contra|afirmativ|negativ|positiv)"
    r"|\bpor el (?:si|no)\b|\bvota(?:mos|n)?\s+(?:si|no|a favor|en contra)\b|\babstenci"
    r"|\bse abstuv|\bse abstien|\bpor unanimidad\b|\bse (?:aprueba|aprueban|niega|niegan)\b"
    r"|\b(?:queda|quedo|ha sido|han sido|fue|fueron|ha quedado|resulta|resulto|es|son)\s+"
    r"(?:\w+\s+)?(?:aprobad|negad|rechazad|improbad)\w*"
    r"|(?:^|[.!?;:¡¿]\s*)(?:aprobad|negad|rechazad)[oa]s?\b"  # "¿Lo aprueba la plenaria? Aprobado."
    r"|\blista\s+para\s+votar\b"  # "sírvase llamar a lista para votar el impedimento": a vote's call
    # the electronic register opened: "se abre el registro", "abra el registro de votación"; not
    # for the quorum, the attendance or the citizens' inscription ("se abre el registro para
    # verificar el quórum", the roll call)
    r"|\b(?:se\s+abre|abra|abrir|abrimos|abro)\s+el\s+registro\b(?!\s+de\s+(?!(?:la\s+)?votacion))"
    r"(?=\s*(?:$|[.,;:!?]|senor|secretari|de\s|para\s+(?:votar|la\s+votacion)|electronico))"
    r"(?![^.?!]*\b(?:quorum|asistencia|inscripcion|inscrib\w*)\b)"
)
_APPROVAL_QUESTION_RE: Final = re.compile(
    r"\baprueba(?:n)?\b|\b(?:se somete|someto|sometemos|pongo|ponemos)\s+a\s+"
    r"(?:consideracion|votacion|aprobacion)\b"
)
# The chair conducting an item's vote: putting it to consideration, opening or closing its
# discussion or vote, asking whether the plenary approves it. Said at a sentence's start (or as
# a question) by the chair, who nobody addresses as "presidente".
_SENTENCE_START: Final = r"(?:^|(?<=[.,;:!?¡¿])|(?<=[.,;:!?¡¿]\s))"
_CHAIR_CONDUCT_RE: Final = re.compile(
    rf"{_SENTENCE_START}(?:(?:se|lo|la|los|las)\s+)?(?:somete|someto|sometemos|pone|pongo|ponemos)"
    r"\s+(?:a\s+)?(?:la\s+)?(?:consideracion|votacion|aprobacion|discusion)\b"
    rf"|{_SENTENCE_START}(?:en|a)\s+consideracion\b"
    r"|\b(?:se\s+(?:abre|cierra|reabre)|abrimos|cerramos|abro|cierro|queda\s+(?:abierta|cerrada))\s+"
    r"(?:la\s+)?(?:discusion|votacion)\b"
    r"|¿[^?¿]{0,60}?\baprueba(?:n)?\b"
    r"|\baprueba(?:n)?\s+(?:la\s+)?(?:plenaria|corporacion|(?:los\s+)?honorables\s+concejales"
    r"|el\s+concejo)\b"
)
_ADDRESSES_CHAIR_RE: Final = re.compile(
    r"\b(?:senor(?:a)?\s+|gracias,?\s+(?:senor(?:a)?\s+)?)president[ea]\b|\bcon la venia\b"
    r"|^\W*president[ea]\b"
)


def _is_chair_conduct(t: _Text) -> bool:
    """Whether the utterance is the chair conducting an item's vote ("¿Lo aprueba la
    plenaria?", "Se somete a consideración…", "En consideración la proposición leída.", "se
    cierra la discusión"), not a speaker addressing the chair."""
    return bool(_CHAIR_CONDUCT_RE.search(t.low)) and not _ADDRESSES_CHAIR_RE.search(t.low)


# "La proposición con que termina el informe de ponencia" opens a bill's vote: it is the bill's.
_PONENCIA_PROPOSAL_RE: Final = re.compile(
    r"\bproposicion\s+(?:final\b|con\s+(?:la\s+)?que\s+(?:termina|finaliza|concluye|culmina|cierra)\b)"
    r"[^.?!]{0,40}?\bponencia\b"
)
# So does the one ending the report on a bill of a commission named for it (the accidental
# commission on the mayor's objections: "Proposición con que termina el informe: declárese
# fundada la objeción… del proyecto de acuerdo 089…"), when the bill is named with it.
_REPORT_PROPOSAL_RE: Final = re.compile(
    r"\bproposicion\s+(?:final\b|con\s+(?:la\s+)?que\s+(?:termina|finaliza|concluye|culmina|cierra)\b)"
    r"[^.?!]{0,40}?\binforme\b"
)
# A proposal amending the bill's text ("proposición modificatoria al artículo cuarto", "proposición
# aditiva", "proposición de modificación"): the bill's, voted in it, not a proposición of its own.
_AMENDMENT_RE: Final = re.compile(
    r"\bproposici(?:on|ones)\s+(?:(?P<kind>modificatori|aditiv|sustitutiv|supresiv)[oa]s?\b"
    r"|de\s+(?P<of>modificacion|adicion|sustitucion|supresion)\b|(?:al|del)\s+articulo\b)"
)
# A moción de censura against an official (Constitution, art. 313.11) is political control: the
# proposición that brings it ("Proposición número 082… proponemos a la plenaria moción de censura
# contra el secretario…") is read, debated and voted in its own item of the agenda, in the debate
# zone; read as a proposición, it took the whole item (the official's defence, the councillors,
# the nominal vote) to the proposals, and split the vote from its declared result.
_CENSURE_RE: Final = re.compile(r"\bmocion(?:es)?\s+de\s+censura\b")
# The moción a proposición brings, against the official: "moción de censura contra el secretario…"
# ("que el Concejo rechace cualquier moción de censura sin pruebas" is a proposal of its own).
_CENSURE_PROPOSED_RE: Final = re.compile(r"\bmocion\s+de\s+censura\s+(?:contra|en\s+contra\s+de|al|a\s+la)\b")
# What a vote is on, when it says so: the first one named wins (ties: list order). None is "the
# proposal" ("la propuesta de la concejala…", "la propuesta de modificación"): the one made in the
# item under consideration, else a proposición. An election (a dignitary of the board, the
# contralor) has no zone of its own in the acta: it is an item of the session, written in the
# debate zone ("desarrollo de la sesión") as said, for its vote is for candidates ("por la
# concejala X, doce votos; …; un voto en blanco"), not a sí/no vote with totals to sum up.
_VOTE_SUBJECTS: Final[tuple[tuple[re.Pattern[str], str | None], ...]] = (
    (re.compile(r"\borden del dia\b"), TPL_APROBACION_ORDEN_DIA),
    (re.compile(r"\bactas?\b"), TPL_APROBACION_ACTAS),
    (_PONENCIA_PROPOSAL_RE, TPL_PROYECTO_ACUERDO),
    (re.compile(r"\bproyectos?\b|\bponencia\b|\barticulado\b"), TPL_PROYECTO_ACUERDO),
    (_AMENDMENT_RE, TPL_PROYECTO_ACUERDO),
    # voted in its own item, in the debate zone, with sí/no totals ("Se archiva la proposición")
    (_CENSURE_RE, TPL_DEBATE),
    (re.compile(r"\bproposici(?:on|ones)\b"), TPL_PROPOSICION),
    (re.compile(r"\bpropuestas?\b"), None),
    # a count for candidates is an election's too: blank votes, the scrutiny ("por la concejala
    # Karina Escobar, doce votos; …; y un voto en blanco"); a sí/no vote has neither
    (
        re.compile(
            r"\belecci(?:on|ones)\b|\belegir\b|\belegid[oa]s?\b|\bpostulaci|\bescrutinio\b"
            r"|\bvotos?\s+en\s+blanco\b|\ben\s+blanco\s*[,:]?\s+(?:un\s+voto|uno)\b"
        ),
        TPL_DEBATE,
    ),
)
_CENSURE: Final = next(i for i, (rx, _) in enumerate(_VOTE_SUBJECTS) if rx is _CENSURE_RE)
_SIDE_WORDS: Final = r"si|no|a favor|en contra|afirmativos?|positivos?|negativos?"
_FILL_WORDS: Final = r"(?:\s+(?:votos?|honorables|concejales|concejal|miembros|votaron|sufragios))*"
_NUM_SIDE_RE: Final = re.compile(
    rf"\b(?P<n>{_NUM_PHRASE}){_FILL_WORDS}\s+(?:por\s+(?:el|la)\s+(?:opcion\s+(?:del?\s+)?)?)?"
    rf"(?P<side>{_SIDE_WORDS})\b"
)
_SIDE_NUM_RE: Final = re.compile(
    rf"\b(?P<side>{_SIDE_WORDS})\b\s*[:=]?\s*(?:(?:votaron|votos?|con|fueron|hubo|hay)\s+)*"
    rf"(?P<n>{_NUM_PHRASE})"
)
_ABSTENTION: Final = r"abstenciones|abstencion|se abstuvieron|se abstuvo|se abstienen|se abstiene"
_NUM_ABS_RE: Final = re.compile(rf"\b(?P<n>{_NUM_PHRASE})\s+(?:votos?\s+(?:de\s+)?)?(?:{_ABSTENTION})\b")
_ABS_NUM_RE: Final = re.compile(rf"\b(?:{_ABSTENTION})\b\s*[:=]?\s*(?P<n>{_NUM_PHRASE})")
_CAP_WORD: Final = r"[A-ZÁÉÍÓÚÑÜ][\w'’\-]+"
_WORD_START: Final = r"(?<![\w'’\-])"
"""A name starts a word: without it a run of capitals ("ÁÁÁ…", 20,000 of them in a text frame)
is tried from every position, each giving the rest of the run back a letter at a time, and one
frame held CORE for 15 s."""
_VOTE_ITEM_RE: Final = re.compile(
    rf"{_WORD_START}(?P<name>{_CAP_WORD}(?:\s+(?:(?:de|del|de la|de los)\s+)?{_CAP_WORD}){{0,4}})"
    r"(?:\s*[:,\-–]\s*|\s+(?i:vota|vot[oó])\s+(?i:por\s+el\s+)?|\s+(?=(?i:se\s+abstiene)))"
    r"(?P<v>(?i:s[ií]|no|abstenci[oó]n|se abstiene|me abstengo|a favor|en contra|impedid[oa]))(?!\w)"
)
# A member's answer ends the item: the utterance ends, a stop or a dash follows, the next
# member's name, or the secretary or the chair addressed ("Ana Ruiz: sí, señora secretaria").
# "…votó por Rengifo, no por Cárdenas" goes on into its sentence: a contrast, not a vote.
_VOTE_ITEM_END_RE: Final = re.compile(
    r"\s*(?:$|[.,;:!?)\]»”\"—–\-]|(?<=\s)[A-ZÁÉÍÓÚÑÜ]"
    r"|(?i:se[ñn]or|se[ñn]ora|presidente|presidenta|secretario|secretaria)\b)"
)
# Said before the name, it makes the name an object, not a member answering: the candidate
# voted for ("votó por Rengifo, no…"), the one spoken to ("le digo al concejal Pedro Gómez, sí
# señor…") or of ("dijo que Luis Mora, no…").
_NAME_AS_OBJECT_RE: Final = re.compile(
    r"\b(?:por|a|al|para|con|contra|sobre|entre|que)\s+(?:(?:el|la|los|las)\s+)?"
    r"(?:(?:honorables?|concejal|concejala|doctor|doctora|senor|senora|candidat[oa])\s+)*$"
)
_NAME_CONTEXT_CHARS: Final = 40
_NEGATED_RE: Final = re.compile(
    r"\b(?:negad[oa]s?|rechazad[oa]s?|improbad[oa]s?|hundid[oa]s?|no (?:fue |ha sido |es |queda |"
    r"quedo |resulta )?aprobad[oa]s?|no se aprueba|se niegan?|no alcanz\w* (?:la )?mayoria)\b"
)
_APPROVED_RE: Final = re.compile(r"\baprobad[oa]s?\b|\bse aprueban? por\b")
# A tie is its own result, whatever else is said of it ("hay empate; la proposición no es
# aprobada"): the rules call for the vote to be taken again, and the acta says so.
_TIE_RE: Final = re.compile(
    r"(?<!rompe el )(?<!rompio el )(?<!romper el )\b(?:empate|empatad[oa]s?|empataron|empata)\b"
)
_NOT_A_TIE_RE: Final = re.compile(
    r"\b(?:no\s+(?:hubo|hay|habra|hubiera)|sin|en\s+caso\s+de|si\s+(?:hay|hubiera)|de\s+haber"
    r"|evitar|para\s+que\s+no\s+haya)\s+(?:un\s+)?empate\b"
)
"""A tie spoken of, not had: "no hubo empate", "en caso de empate se repetirá"."""
_REPEAT_RE: Final = re.compile(
    r"\b(?:se\s+(?:repetira|repite|repetiria)\s+(?:la\s+)?votacion"
    r"|(?:la\s+)?votacion\s+se\s+(?:repetira|repite)"
    r"|se\s+(?:volvera|vuelve)\s+a\s+votar|(?:se\s+)?(?:repetir|repetimos)\s+la\s+votacion"
    r"|se\s+votara\s+(?:nuevamente|de\s+nuevo))\b"
)
_SENTENCE_RE: Final = re.compile(r"[^.!?;¿]*[.!?;]?|¿[^?]*\??")


def _vote_items(t: _Text) -> list[dict[str, str]]:
    """Individual votes named in the text: "Juan Pérez: sí; María Gómez: no". A name answering
    sí or no inside a sentence is none: the answer must end the item (_VOTE_ITEM_END_RE), the
    name must not be the object of what is said (_NAME_AS_OBJECT_RE: "el concejal Jaramillo votó
    por Rengifo, no por Cárdenas" lists no vote "Rengifo: no"), nor asked ("¿cómo votó Luis
    Mora: sí?"). New dicts each call: the caller keeps them in its data."""
    return [{"nombre": name, "voto": vote} for name, vote in _votes_said(t)]


@functools.lru_cache(maxsize=8)
def _votes_said(t: _Text) -> tuple[tuple[str, str], ...]:
    """(name, vote) of each member's vote in the text (see :func:`_vote_items`), read once per
    text: the section's choice, a constancia's check and the vote's data all ask."""
    votes: list[tuple[str, str]] = []
    for m in _VOTE_ITEM_RE.finditer(t.raw):
        if (
            not _VOTE_ITEM_END_RE.match(t.raw, m.end())
            or _NAME_AS_OBJECT_RE.search(t.low, max(0, m.start() - _NAME_CONTEXT_CHARS), m.start())
            or _asked(t, m.start("v"))
        ):
            continue
        words = m["name"].split()
        while words and _fold(words[0]) in _NAME_STOPWORDS:
            words.pop(0)
        if not words:
            continue
        said = _fold(m["v"])
        vote = "sí" if said in {"si", "a favor"} else "no" if said in {"no", "en contra"} else ""
        votes.append((" ".join(words), vote or (said if said.startswith("impedid") else "abstención")))
    if all(vote.startswith("impedid") for _, vote in votes):
        votes = []  # "La concejala Olga Rendón, impedida, se retira": said of her, in no list
    if not votes and t.raw == t.raw.lower():
        votes = _votes_heard_in_lowercase(t)
    return tuple(votes)


# A member's vote in a list heard in lowercase, without stops (speech to text): "sonia esperanza
# valencia cobo no william fernando agudelo rojas si …". A name is 2 to 5 words, none of them a
# word of speech (particles only inside it). Matched on the folded text: "sí" is "si".
# A member who declared an impediment is called too and answers it ("olga lucia rendon salazar
# impedida"): on the list, in no side of the count.
_LOWER_VOTE_ITEM_RE: Final = re.compile(  # from a word's start, as _VOTE_ITEM_RE
    r"(?<![^\W\d_])(?P<name>[^\W\d_]+(?:\s+[^\W\d_]+){1,4}?)\s+(?P<v>si|no|impedid[oa])\b\s*[,.;]?\s*"
)
_MIN_LOWER_VOTES: Final = 3
_MIN_LOWER_VOTES_AFTER_A_CUT: Final = 2
"""Past a cut at the maximum length the list goes on: recorded live, its last two votes ("alba
lucía ramírez sinisterra si roberto carlos benítez perea si") were left out of the table."""
# The secretary's count said right after the list's last vote ("…william yesid cardenas orejuela
# no. señor presidente votaron dieciocho honorables concejales doce por el si y seis por el no").
_COUNT_AFTER_LIST_RE: Final = re.compile(
    r"(?:(?:senor(?:a)?\s+)?(?:president[ea]|secretari[oa])\s*,?\s*)?(?:votaron|han votado|en total)\b"
)


def _count_follows(t: _Text, end: int) -> bool:
    """Whether what follows ``end`` is the secretary's count of the vote (_COUNT_AFTER_LIST_RE)."""
    return _COUNT_AFTER_LIST_RE.match(t.low, end) is not None and any(_tally(t.low[end:]).values())


def _votes_heard_in_lowercase(t: _Text) -> list[tuple[str, str]]:
    """The members' votes of a nominal list heard in lowercase (see _LOWER_VOTE_ITEM_RE), read
    only when they run back to back from the utterance's start to its end, three or more (two
    in words that go on past a cut at the maximum length): the
    rest of a list read name by name ("…Rubén Darío Estupiñán, sí." then "sonia esperanza
    valencia cobo no william fernando agudelo rojas si…"), which was left out of the vote's table
    and count. The secretary's count may end it (_count_follows), and a member may answer that
    she is impeded ("olga lucia rendon salazar impedida"). A "sí" or "no" inside a sentence is
    none: its words are speech ("que", "dice", "yo"); so are those ending a speech ("…lo digo
    claro educacion publica si salud digna si corrupcion rampante no": no vote)."""
    items: list[tuple[str, str]] = []
    begin: int | None = None
    end: int | None = None
    for m in _LOWER_VOTE_ITEM_RE.finditer(t.low):
        if end is not None and m.start() != end:
            if items and _count_follows(t, end):
                break  # the list is over: its count follows
            items = []  # not back to back: what came before was no list
        if not items:
            begin = m.start()
        start, words = m.start("name"), m["name"].split()
        while not items and len(words) > 2 and (words[0] in _NAME_STOPWORDS or words[0] in _NAME_PARTICLES):
            start += len(words.pop(0)) + 1  # the words before the list's first name
        if words[0] in _NAME_PARTICLES or any(
            w in _NAME_STOPWORDS and w not in _NAME_PARTICLES for w in words
        ):
            items, end = [], None
            continue
        name = t.raw[start : m.end("name")]
        items.append((_capitalised(" ".join(name.split())), {"si": "sí"}.get(m["v"], m["v"])))
        end = m.end()
    if (
        begin != 0
        or end is None
        or len(items) < (_MIN_LOWER_VOTES_AFTER_A_CUT if t.after_cut else _MIN_LOWER_VOTES)
    ):
        return []
    if end != len(t.low) and not _count_follows(t, end):
        return []
    return items


def _tally(low: str) -> dict[str, int]:
    """Totals for sí / no / abstención said as "quince votos por el sí" or "sí quince": only the
    sides said ("con quince votos a favor y tres en contra" says no abstentions), a zero said
    ("no cero") kept; a side left out is no zero nobody said."""

    def collect(regex: re.Pattern[str]) -> tuple[dict[str, int], int]:
        found: dict[str, int] = {}
        first = len(low)
        for m in regex.finditer(low):
            value = _parse_number(m["n"])
            side = "si" if m["side"] in {"si", "a favor"} or m["side"].startswith(("af", "po")) else "no"
            if value is not None and value <= 10_000 and side not in found:
                found[side] = value
                first = min(first, m.start())
        return found, first

    num_side, num_first = collect(_NUM_SIDE_RE)
    side_num, side_first = collect(_SIDE_NUM_RE)
    prefer_num_first = (len(num_side), -num_first) >= (len(side_num), -side_first)
    counts = num_side if prefer_num_first else side_num
    abstentions = _NUM_ABS_RE.search(low) or _ABS_NUM_RE.search(low)
    abst = _parse_number(abstentions["n"]) if abstentions else None
    said: dict[str, int] = {side: counts[side] for side in ("si", "no") if side in counts}
    if abst is not None and abst <= 10_000:
        said["abstencion"] = abst
    return said


# A vote said not to be held: "los puntos que no requieren votación", "la proposición no se
# puede someter a votación", "sin votación", "se aplaza la votación". Nothing was voted; the
# acta must not say it was.
_NOT_VOTED_BEFORE_RE: Final = re.compile(r"\b(?:no|sin|aplaz\w*|pospon\w*)\s+(?:[^\W\d_]+\s+){0,4}$")
# A vote opened after words the negation was of: "sin mas se abre la votacion", "si no hay
# objeciones abrimos la votacion" (speech heard without commas); "no se somete a votación" is not.
_OPENED_AFTER_RE: Final = re.compile(
    r"\s+(?!se\b)[^\W\d_]+\s+(?:[^\W\d_]+\s+)*?(?:se\s+)?"
    r"(?:abre|abrimos|abro|somete|sometemos|someto|pone|ponemos|pongo|inicia|iniciamos)\b"
)


def _vote_said(low: str) -> bool:
    """Whether a vote's words are said (:data:`_VOTE_RE`), other than a vote said not held."""
    return any(
        m.group() != "votacion"
        or (not_held := _NOT_VOTED_BEFORE_RE.search(low, max(0, m.start() - 40), m.start())) is None
        or _OPENED_AFTER_RE.match(low, not_held.start() + len(not_held.group().split()[0]), m.start())
        for m in _VOTE_RE.finditer(low)
    )


def _statements(low: str) -> str:
    """The text without its questions, so "¿lo aprueba?" is not taken as a result."""
    kept = [s for s in _SENTENCE_RE.findall(low) if not s.strip().startswith("¿")]
    return " ".join(s for s in kept if not s.rstrip().endswith("?"))


_EARLIER_STEP_RE: Final = re.compile(
    r"\b(?:(?P<perfect>ha sido|han sido)|fue|habia sido|fueron)\s+(?P<r>aprobad|negad)[oa]s?\s+en\s+"
    r"(?:(?:el\s+)?(?:primer|primero|segundo)\s+debate|(?:la\s+)?comision|(?:la\s+)?sesion anterior)[^.;!?]*"
    r"|\b(?:aprobad|negad|rechazad|improbad)[oa]s?\s+(?:[^\W\d_]+\s+){0,3}?(?:la semana pasada"
    r"|el (?:ano|mes|periodo) pasado|ayer|anteriormente|hace\s+(?:[^\W\d_]+\s+)?(?:dias|semanas|meses"
    r"|anos)|en (?:la|una) sesion anterior)\b[^.;!?]*"
    r"|\bcomision\s+(?:[^\W\d_]+\s+){0,5}?(?:(?:lo|la|los|las)\s+)?(?:aprobo|nego|rechazo|improbo)\b[^.;!?]*"
    r"|\bya\s+(?:fue|fueron|ha\s+sido|han\s+sido|habia\s+sido|habian\s+sido)\s+(?P<ya>aprobad|negad|rechazad"
    r"|improbad)[oa]s?\b[^.;!?]*"
    # the date it was voted on: right after the verb, or after who voted and the session ("fue
    # negado el dos de mayo", "fue aprobada por la plenaria en sesión del dieciocho de…"), not a
    # date of what was voted ("fue aprobada el acta de la sesión del quince de octubre")
    rf"|\b(?:fue|fueron|habia\s+sido|habian\s+sido)\s+(?:aprobad|negad|rechazad|improbad)[oa]s?\s+"
    r"(?:por\s+(?:el|la|los|las)\s+(?:[^\W\d_]+\s+){1,3}?)?"
    r"(?:en\s+(?:la\s+)?sesion(?:\s+[^\W\d_]+)?\s+del?|el)\s+"
    rf"(?:dia\s+)?(?:{_DAY})\s+de\s+(?:{_alt(_MONTHS)})\b[^.;!?]*"
)
"""A step already taken ("el proyecto fue aprobado en primer debate en la Comisión", "aprobada la
semana pasada una similar", "la Comisión Segunda lo aprobó con nueve votos", "De las tres
proposiciones, dos ya fueron negadas.", "…fue aprobada por la plenaria en sesión del dieciocho de
septiembre", a considerando of a resolution read in a sesión solemne): a report of an earlier
vote, not the result of one held now."""


# The chair closing a vote under way ("¿Algún concejal desea cambiar su voto? Se cierra la
# votación.", said between a nominal list and its count): no vote of its own. Taken for an empty
# vote's call, it began another vote, and the list before it got a result of its own, counted.
_VOTE_CLOSED_RE: Final = re.compile(
    r"\b(?:se\s+cierra|cerramos|cierro|queda\s+cerrada|se\s+da\s+por\s+cerrada)\s+(?:la\s+)?votacion\b"
)


# The majority a vote needs, said by the chair before it ("la moción de censura requiere el voto
# afirmativo de la mitad más uno de los miembros de la corporación, es decir, once votos de los
# veintiún concejales"): the votes needed, said, or counted from the members said. A majority of
# the members is not one of those voting: 10 sí to 7 no does not reach 11, and the count alone
# read "APROBADO".
_MAJORITY_REQUIRED_RE: Final = re.compile(
    r"\b(?:requiere|requieren|requerira|necesita|necesitan|exige|exigen|debe\s+obtener|deben\s+obtener)\b"
    r"[^.;]{0,60}?\b(?:(?P<half>(?:la\s+)?mitad\s+mas\s+uno)|(?P<two>(?:las\s+)?dos\s+terceras\s+partes)"
    r"|mayoria\s+(?:absoluta|calificada|especial|cualificada))\b(?P<rest>[^.;]{0,160})"
)
# The quorum said to require it ("el quórum decisorio requiere la mitad más uno de los veintiún
# concejales"): the members needed to decide, not the votes a decision needs.
_QUORUM_REQUIRES_RE: Final = re.compile(r"\bquorum\b[^.;]*$")
_MAJORITY_VOTES_RE: Final = re.compile(rf"\b(?P<n>{_NUM_PHRASE})\s+votos\b")
_MAJORITY_MEMBERS_RE: Final = re.compile(
    rf"\b(?:de\s+)?(?:los\s+)?(?P<n>{_NUM_PHRASE})\s+(?:honorables\s+)?(?:concejales|miembros|integrantes)\b"
)


def _majority_required(low: str) -> int | None:
    """The votes a vote needs to pass, when the chair says a qualified majority with its figure
    ("…es decir, once votos") or the members it is counted on ("…de los veintiún concejales"),
    else None. The quorum's majority (_QUORUM_REQUIRES_RE) is none: a bill voted 9 to 7 with
    quorum passes."""
    m = next(
        (m for m in _MAJORITY_REQUIRED_RE.finditer(low) if not _QUORUM_REQUIRES_RE.search(low, 0, m.start())),
        None,
    )
    if m is None:
        return None
    if (votes := _MAJORITY_VOTES_RE.search(m["rest"])) is not None:
        return _parse_number(votes["n"])
    members = _MAJORITY_MEMBERS_RE.search(m["rest"])
    total = _parse_number(members["n"]) if members is not None else None
    if total is None or not (m["half"] or m["two"]):
        return None
    return total // 2 + 1 if m["half"] else -(-2 * total // 3)


def _vote(t: _Text) -> dict[str, Any] | None:
    """The vote said in the utterance, or None when there is none."""
    votes = _vote_items(t)
    now = _EARLIER_STEP_RE.sub(" ", t.low)
    # The count said with a step reported is that step's ("fue aprobado en primer debate por la
    # Comisión … con nueve votos a favor y dos en contra"), not this vote's; one said in the
    # present perfect may be this vote's declaration (below).
    counts = _tally(_EARLIER_STEP_RE.sub(lambda m: m.group(0) if m["perfect"] else " ", t.low))
    if not (_vote_said(_VOTE_CLOSED_RE.sub(" ", now)) or votes or any(counts.values())):
        return None  # nothing said but the vote closed ("Se cierra la votación."): no vote called
    if now != t.low and (votes or any(counts.values())):
        # The utterance tallies a vote held now ("votaron sí quince, no dos. Ha sido aprobado en
        # segundo debate el proyecto…"): a step it names in the present perfect, or one that
        # agrees with the count, is this vote's result; "fue aprobado en primer debate en la
        # comisión" after "sí diez, no doce" stays a report.
        tally = counts if any(counts.values()) else _items_tally(votes)

        def this_vote(m: re.Match[str]) -> str:
            said = m["r"] or m["ya"]  # "…no dos. Ya fue aprobado.": this vote's, if the count agrees
            agrees = said is not None and (tally.get("si", 0) > tally.get("no", 0)) == (said == "aprobad")
            return m.group(0) if said is not None and (m["perfect"] or agrees) else " "

        now = _EARLIER_STEP_RE.sub(this_vote, t.low)
        counts = _tally(now)
    if not any(counts.values()) and votes:
        counts = _items_tally(votes)
    said = _statements(now)
    tie = _TIE_RE.search(_NOT_A_TIE_RE.sub(" ", said)) is not None
    if tie and any(counts.values()) and counts.get("si") != counts.get("no"):
        tie = False  # "…empatada el año pasado…; hoy doce votos contra tres": the count says
    result = "empate" if tie else "negado" if _NEGATED_RE.search(said) else None
    if result is None and (_APPROVED_RE.search(said) or "por unanimidad" in said):
        result = "aprobado"
    if result == "negado" and _ARTICLES_RE.search(said) and _mixed_results(said):
        result = None  # articles approved and others negated: one result cannot sum them up
    if not any(counts.values()) and not votes:
        # Nothing counted: the count the result is said with ("aprobado por los diecinueve
        # concejales presentes"), else none at all; a zero would be a figure nobody said.
        counts = _unanimous_count(said, result) or _approved_with(said, result)
    elif result in ("aprobado", "negado") and "por unanimidad" in said and not votes:
        # "aprobado por unanimidad, con quince votos por el sí": all voted alike, so the other
        # sides are said to be none
        counts = {side: counts.get(side, 0) for side in ("si", "no", "abstencion")}
    vote: dict[str, Any] = {
        **counts,
        "resultado": result,
        "nominal": bool(votes) or "nominal" in t.low,
    }
    if result == "empate" and _REPEAT_RE.search(said):
        vote["repetir"] = True  # "…la votación se repetirá en la próxima sesión"
    if result in ("aprobado", "negado") and _POSTPONEMENT_DECIDED_RE.search(said):
        vote["objeto"] = "aplazamiento"  # what was decided, not the item it postpones
    if result in ("aprobado", "negado") and (way := _DECIDED_BY_RE.search(said)):
        vote["modo"] = f"por {'aclamación' if way['how'] == 'aclamacion' else 'unanimidad'}"
    if (required := _majority_required(t.low)) is not None:
        vote["mayoria_requerida"] = required  # the count alone cannot pass it: see the builder
    if articles := _voted_articles(said):
        vote["articulos"] = articles  # "Han sido aprobados los artículos primero, segundo…"
    elif result in ("aprobado", "negado") and (parts := _voted_parts(said)):
        vote["partes"] = parts  # "En consideración el título y el preámbulo. … Aprobados."
    if result in ("aprobado", "negado") and (stage := _STAGE_RESULT_RE.search(said)):
        vote["debate"] = "primero" if stage["first"] else "segundo"  # "Aprobado en segundo debate…"
    if result == "aprobado" and vote.get("debate") != "primero" and _sent_to_sanction(said):
        vote["sancion"] = True  # "…Pase a sanción del señor alcalde."
    if votes:  # only when members are named: an empty list would render an empty table
        vote["votos"] = votes
    return vote


# A postponement decided, said with its result: "ha sido aprobado el aplazamiento", "se niega la
# solicitud de aplazamiento", "el aplazamiento fue aprobado". Voted while a bill is considered,
# its "Resultado: APROBADO." under the bill's heading read as the bill approved.
_POSTPONEMENT_DECIDED_RE: Final = re.compile(
    r"\b(?:aprobad[oa]|negad[oa]|aprueba|niega)\s+(?:el|la\s+solicitud\s+de)\s+aplazamiento\b"
    r"|\b(?:el|la\s+solicitud\s+de)\s+aplazamiento\s+(?:(?:ha|fue|queda)\s+)?(?:sido\s+)?(?:aprobad|negad)"
)
# How a result was reached when it is said, written with it: "aprobada por aclamación" (no
# count was taken: "Resultado: APROBADO" alone hid that), "negada por unanimidad".
_DECIDED_BY_RE: Final = re.compile(r"\bpor\s+(?:la\s+)?(?P<how>aclamacion|unanimidad)\b")


_MEMBERS: Final = r"(?:honorables\s+)?(?:concejales|concejalas|miembros|cabildantes|corporados)\b"
# The count a result is said with when all present voted alike: "aprobado por los diecinueve
# concejales presentes", "por unanimidad de los veinte concejales", "por unanimidad, con quince
# votos". "Unanimidad" or "presentes" says it was all of them; "por diez concejales" or "por los
# diez concejales del Partido Liberal" does not say how the others voted.
_UNANIMOUS_RE: Final = re.compile(
    rf"\bpor\s+(?:(?:la\s+)?unanimidad\s*,?\s+(?:de|con)\s+(?:los\s+|las\s+)?(?P<n>{_NUM_PHRASE})"
    rf"\s+(?:{_MEMBERS}|votos\b)|(?:los|las)\s+(?P<m>{_NUM_PHRASE})\s+{_MEMBERS}\s+presentes\b)"
)


def _unanimous_count(said: str, result: str | None) -> dict[str, int]:
    """sí (approved) or no (negated) as the count said with a unanimous result, the other
    sides none; {} when no count is said with it."""
    side = {"aprobado": "si", "negado": "no"}.get(result or "")
    m = _UNANIMOUS_RE.search(said) if side else None
    value = _parse_number(m["n"] or m["m"]) if m else None
    if side is None or value is None or not 0 < value <= 10_000:
        return {}
    return {"si": 0, "no": 0, "abstencion": 0, side: value}


# An approval said with its votes and no side: "Aprobado el artículo cuarto…, con dieciocho
# votos" (the votes it was approved with are the sí; a side said is _tally's). A margin is none:
# "ganó por dos votos", "por dos votos de diferencia".
_APPROVED_WITH_RE: Final = re.compile(
    rf"\b(?:con|(?<!gano )(?<!supero )por)\s+(?P<n>{_NUM_PHRASE})\s+votos\b"
    r"(?!\s+(?:de\s+(?:diferencia|ventaja)|mas\b|menos\b))"
)


def _approved_with(said: str, result: str | None) -> dict[str, int]:
    """sí as the votes an approval is said with ("aprobado…, con dieciocho votos", "aprobada el
    acta… por diecisiete votos"), the other sides left out (not said: not zeros); {} for another
    result ("negado con cinco votos" does not say whose) or none."""
    m = _APPROVED_WITH_RE.search(said) if result == "aprobado" else None
    value = _parse_number(m["n"]) if m else None
    if value is None or not 0 < value <= 10_000:
        return {}
    return {"si": value}


# The stage a bill's vote decides ("Aprobado en segundo debate el proyecto…") and the bill sent on
# to the mayor ("Pase a sanción del señor alcalde."): the bill's final result, with its vote.
_STAGE_RESULT_RE: Final = re.compile(
    r"\b(?:aprobad|negad|rechazad|improbad)[oa]s?\s+en\s+(?:el\s+)?"
    r"(?:(?P<first>primer|primero|1er)|segundo|2do)\s+debate\b"
)
_SANCTION_RE: Final = re.compile(
    r"\b(?:pase|pasa|pasara|pasar|remitase|remite|enviese|envia|enviara)\s+(?:a|para)\s+(?:la\s+)?sancion\b"
)


def _sent_to_sanction(said: str) -> bool:
    """Whether the statements said (:func:`_statements`) send the bill to the mayor's sanction
    ("Pase a sanción del señor alcalde."), not denied ("Este proyecto no pasa a sanción…")."""
    return any(
        _DENIED_RE.search(said, max(0, m.start() - _DENIED_CHARS), m.start()) is None
        for m in itertools.islice(_SANCTION_RE.finditer(said), _MAX_TRIGGERS)
    )


# The bill's articles named: "los artículos primero, segundo y octavo", "el artículo cuarto",
# "artículos 1, 2 y 3". One of another norm ("el artículo trescientos trece de la Constitución",
# "el artículo 23 del reglamento") is not the bill's.
_ARTICLES_RE: Final = re.compile(r"\barticulos?\s+")
_OTHER_NORM_RE: Final = re.compile(
    r"\s*,?\s*(?:de|del)\s+(?:la\s+|el\s+)?(?:constitucion|ley|reglamento|decreto|codigo|resolucion"
    r"|acuerdo|estatuto|carta)\b"
)
_ARTICLE_JOINERS: Final = frozenset({",", "y", "e"})
_MAX_ARTICLE_TOKENS: Final = 60  # a list's words looked at (bounds the work on long text)
_MAX_ARTICLE_MENTIONS: Final = 8


def _articles_listed(low: str, start: int) -> tuple[list[int], int]:
    """The articles listed from start, as ordinals or as numbers, never mixed ("primero,
    segundo y octavo" [1, 2, 8], "1, 2 y 3", "décimo primero" [11]), and where the list ends;
    a number of votes ("…cuarto, dieciocho votos") ends it."""
    found = list(itertools.islice(_NUM_TOKEN_RE.finditer(low, start), _MAX_ARTICLE_TOKENS))
    words = [m.group(0) for m in found]
    out: list[int] = []
    i, end, ordinals = 0, start, None
    while i < len(words):
        pair = " ".join(words[i : i + 2]) if i + 1 < len(words) else ""
        if ordinals is not False and (pair in _ORDINALS or words[i] in _ORDINALS):
            value, j = (_ORDINALS[pair], i + 2) if pair in _ORDINALS else (_ORDINALS[words[i]], i + 1)
            ordinals = True
        elif ordinals is not True and (parsed := _number_at(words, i)) is not None and parsed[0] > 0:
            value, j = parsed
            if j < len(words) and words[j] in ("voto", "votos"):
                break
            ordinals = False
        else:
            break
        out.append(value)
        end, i = found[j - 1].end(), j
        if i < len(words) and words[i] in _ARTICLE_JOINERS:
            i += 1
            continue
        break
    return out, end


def _voted_articles(said: str) -> list[int]:
    """The bill's articles a vote is on, as its statements name them ("Han sido aprobados los
    artículos primero, segundo…", "el artículo séptimo ha sido negado"); [] when none, when
    they name different ones, or when some are approved and some negated ("aprobados los
    artículos primero y segundo; el artículo tercero fue negado"): one result cannot sum them up."""
    lists: list[list[int]] = []
    for m in itertools.islice(_ARTICLES_RE.finditer(said), _MAX_ARTICLE_MENTIONS):
        if listed := _bills_articles(said, m.end()):
            lists.append(listed)
    if not lists or any(other != lists[0] for other in lists) or _mixed_results(said):
        return []
    return lists[0]


def _mixed_results(said: str) -> bool:
    """Whether the statements say some things approved and others negated ("Los artículos
    primero, segundo y tercero fueron aprobados, el cuarto fue negado.")."""
    return bool(_NEGATED_RE.search(said) and _APPROVED_RE.search(_NEGATED_RE.sub(" ", said)))


# The bill's title and preamble, voted apart from its articles ("En consideración el título y el
# preámbulo. ¿Los aprueba la plenaria? Aprobados.", "Aprobados el título y el preámbulo por los
# cinco concejales presentes."): named with their article, "del proyecto" after them being theirs.
_BILL_PARTS_RE: Final = re.compile(r"\b(?:el|los)\s+(?P<part>titulo|preambulo)\b")
_PART_OF_THE_BILL_RE: Final = re.compile(r"\b(titulo|preambulo)\s+del\s+proyecto(?:\s+de\s+acuerdo)?\b")
_PART_NAMES: Final = {"titulo": "título", "preambulo": "preámbulo"}
# Anything else a vote can be on: a sentence naming it is about something other than the parts.
_OTHER_VOTE_SUBJECT_RE: Final = re.compile(
    r"\barticul|\bproyectos?\b|\bproposici|\bpropuestas?\b|\bactas?\b|\borden del dia\b|\bimpediment"
    r"|\bponencia\b|\binforme\b"
)
_MAX_VOTE_SENTENCES: Final = 40  # the statements looked at for what a result is on (bounds the work)


def _voted_parts(said: str) -> list[str]:
    """The bill's parts other than its articles (its title, its preamble) a result is on: named
    in the result's statement, or in the last statement naming what is voted before it, with
    nothing else named there ("En consideración el título y el preámbulo. Aprobados." ["título",
    "preámbulo"]); [] when the result is on something else ("Aprobado el artículo noveno. En
    consideración el título…": the title comes after the result) or on more than the parts."""
    subject: list[str] = []
    for m in itertools.islice(_SENTENCE_RE.finditer(said), _MAX_VOTE_SENTENCES):
        sentence = _PART_OF_THE_BILL_RE.sub(r"\1", m.group(0))
        parts = list(dict.fromkeys(_PART_NAMES[p["part"]] for p in _BILL_PARTS_RE.finditer(sentence)))
        other = _OTHER_VOTE_SUBJECT_RE.search(sentence) is not None
        if parts or other:
            subject = [] if other else parts
        if _APPROVED_RE.search(sentence) or _NEGATED_RE.search(sentence):
            return subject
    return []


def _items_tally(votes: list[dict[str, str]]) -> dict[str, int]:
    """Totals counted from the members' individual votes."""
    counts = {"si": 0, "no": 0, "abstencion": 0}
    for item in votes:
        if not item["voto"].startswith("impedid"):  # an impeded member votes on no side
            counts[{"sí": "si", "no": "no"}.get(item["voto"], "abstencion")] += 1
    return counts


@functools.lru_cache(maxsize=8)
def _vote_subject(low: str) -> int | None:
    """Index in _VOTE_SUBJECTS of what a vote says it is on (the first named), or None; read once
    per text (the section's choice and its data both ask)."""
    subjects = [(m.start(), i) for i, (rx, _) in enumerate(_VOTE_SUBJECTS) if (m := rx.search(low))]
    return min(subjects)[1] if subjects else None


def _vote_template(t: _Text, previous: str | None) -> tuple[str, float]:
    """Section a vote belongs to: what the text names, else the item being voted (the previous
    block's), else where it is said. A vote that names nothing after the debate or in "asuntos
    varios" is the item under way's: an election announced ("Cuarto punto: elección del
    Personero…", then "Vamos a proceder a la votación nominal…", "yo voto por Jorge Iván
    Quintero"), a debate, varios; it stays there, in order. It went to the bills' section,
    which then kept the election and what followed under "PROYECTOS DE ACUERDO" in a session
    with no bill: a bill's vote follows its bill's blocks."""
    subject = _vote_subject(t.low)
    if subject is not None:
        named = _VOTE_SUBJECTS[subject][1]
        return named or _VOTE_FOLLOWS.get(previous or "", TPL_PROPOSICION), _CONF_STRONG
    if previous in _VOTE_FOLLOWS:
        return _VOTE_FOLLOWS[previous], _CONF_VOTE_CONTEXT
    return (previous if previous in _VOTE_STAYS else TPL_DEBATE), _CONF_WEAK


# A member declaring an impediment (conflict of interest) to take part in an item: "me declaro
# impedido para participar en la discusión y votación…", "pongo a consideración de la plenaria un
# impedimento, porque…". Said in the first person: the chair's "si algún concejal tiene
# impedimento" or "en consideración el impedimento manifestado por…" declares none.
_IMPEDIMENT_DECLARED_RE: Final = re.compile(
    r"\b(?:me\s+declaro|me\s+declare|declararme)\s+impedid[oa]\b"
    r"|\b(?:(?:quiero|deseo|debo|necesito|voy\s+a|me\s+permito)\s+(?:manifestar|presentar|radicar"
    r"|plantear|declarar|poner)|manifiesto|presento|radico|declaro|planteo|tengo|pongo)"
    r"(?:\s+a\s+consideracion(?:\s+de\s+(?:la\s+)?(?:plenaria|corporacion|comision))?)?"
    r"\s+(?:un|mi)\s+impedimento\b"
)
_IMPEDIMENT_REASON_RE: Final = re.compile(
    r"\b(?:por\s+cuanto|porque|ya\s+que|puesto\s+que|debido\s+a\s+que|dado\s+que|toda\s+vez\s+que"
    r"|en\s+razon\s+(?:a|de)\s+que)\s+"
)
# The plenary's decision on one, said after it ("el impedimento del concejal X ha sido aceptado",
# "…de la concejala Y, fue negado") or before it ("fue negado el impedimento de…", "se acepta el
# impedimento"); a question ("¿se acepta el impedimento?") decides nothing.
_IMPEDIMENT_WORD_RE: Final = re.compile(r"\bimpedimento\b")
_IMPEDIMENT_OF_RE: Final = re.compile(
    r"\s+(?:(?:manifestado|presentado|declarado|propuesto|radicado|planteado)\s+)?"
    r"(?:por\s+(?:el|la)|del|de\s+la)\s+(?:honorable\s+)?(?:concejal|concejala)\s+"
)
_DECIDED: Final = r"(?P<d>aceptad|negad|rechazad|aprobad|improbad|denegad)[oa]s?"
_DECIDED_AFTER_RE: Final = re.compile(
    rf"\s*,?\s*(?P<neg>no\s+)?(?:ha\s+sido|fue|queda|quedo|ha\s+quedado|resulto)\s+{_DECIDED}\b"
)
_DECIDED_BEFORE_RE: Final = re.compile(
    rf"\b(?P<neg>no\s+)?(?:(?:ha\s+sido|fue|queda|quedo)\s+)?{_DECIDED}\s+(?:el\s+)?impedimento\b"
    r"|\b(?P<neg2>no\s+)?(?:se\s+)?(?P<d2>acept|nieg|neg|rechaz|aprueb|aprob)[ao]\s+(?:el\s+)?impedimento\b"
)
_DECIDED_WORD: Final = {
    "aceptad": "aceptado",
    "negad": "negado",
    "rechazad": "rechazado",
    "aprobad": "aprobado",
    "improbad": "improbado",
    "denegad": "denegado",
    "acept": "aceptado",
    "nieg": "negado",
    "neg": "negado",
    "rechaz": "rechazado",
    "aprueb": "aprobado",
    "aprob": "aprobado",
}


@functools.lru_cache(maxsize=8)
def _questions(low: str) -> list[tuple[int, int]]:
    """Where the questions are ("¿…?"), as :func:`_statements` reads them; found once per text
    (the rules of one utterance ask it again and again)."""
    spans = (m.span() for m in _SENTENCE_RE.finditer(low) if m.group(0))
    return [(a, b) for a, b in spans if low[a:b].strip().startswith("¿") or low[a:b].rstrip().endswith("?")]


def _asked(t: _Text, pos: int) -> bool:
    """Whether pos is in a question ("¿se acepta el impedimento?", "¿Se retiró el concejal X?")."""
    questions = _questions(t.low)
    i = bisect.bisect_right(questions, (pos, len(t.low))) - 1
    return i >= 0 and questions[i][0] <= pos < questions[i][1]


# Said right before a verb, it says the act is not done: "no se retira", "yo no tengo un
# impedimento", "no ha sido elegido".
_DENIED_RE: Final = re.compile(r"\b(?:no|nunca|tampoco|ni)\s+$")
_DENIED_CHARS: Final = 10


def _denied(t: _Text, pos: int) -> bool:
    """Whether the verb said at pos is denied ("no se suspende la sesión")."""
    return _DENIED_RE.search(t.low, max(0, pos - _DENIED_CHARS), pos) is not None


# Speech reported, not a declaration made now: "el periódico dice que ha sido elegido…", "el
# concejal dijo que no fue aceptado el impedimento…", "según la secretaría…".
_REPORTED_RE: Final = re.compile(
    r"\b(?:dice|dicen|dijo|dijeron|decia|decian|afirma|afirman|afirmo|afirmaron|asegura|aseguran"
    r"|aseguro|aseguraron|cuenta|cuentan|conto|contaron|comenta|comentan|comento|comentaron|sostiene"
    r"|sostienen|sostuvo|publica|publico|publicaron|cree|creen|creo|creia|supone|suponen)\s+que\b"
    r"|\bsegun\b|\bdizque\b"
)
_MAX_SENTENCE_LOOKBACK: Final = 240  # the words of a sentence read back for who reports it


def _not_declared(t: _Text, pos: int, sentence: int) -> bool:
    """Whether what is said at pos, in the sentence starting at sentence, is not declared as
    done now: denied ("no se acepta el impedimento"), asked ("¿ha sido elegida…?"), supposed or
    told of right before (_HYPOTHESIS_RE, _TOLD_RE: "si se acepta el impedimento…", "cuando fue
    elegido…"), or reported earlier in its sentence ("…dice que ha sido elegido…")."""
    before = max(0, pos - _TOLD_CHARS * 2)
    return (
        _denied(t, pos)
        or _asked(t, pos)
        or _HYPOTHESIS_RE.search(t.low, before, pos) is not None
        or _TOLD_RE.search(t.low, before, pos) is not None
        or _REPORTED_RE.search(t.low, max(sentence, pos - _MAX_SENTENCE_LOOKBACK), pos) is not None
    )


def _sentence_at(starts: list[int], pos: int) -> int:
    """Where the sentence holding pos starts (starts: :func:`_sentence_starts`)."""
    return starts[bisect.bisect_right(starts, pos) - 1]


def _decided_earlier(t: _Text, m: re.Match[str]) -> bool:
    """Whether the decision matched at ``m`` is told of as an earlier step (_EARLIER_STEP_RE, from
    within it: "la reconsideración fue negada la semana pasada", "el aplazamiento fue aprobado
    ayer"): not what the vote held now decides."""
    step = _EARLIER_STEP_RE.search(t.low, m.start())
    return step is not None and step.start() <= m.end()


# The words that start the impediment named ("si el impedimento… fue aceptado").
_IMPEDIMENT_LEAD_RE: Final = re.compile(r"\b(?:el|su|este|ese|dicho)\s+$")


def _impediment_decided(t: _Text) -> dict[str, Any] | None:
    """The plenary's decision on an impediment (see :func:`_impediment`), or None; one asked,
    supposed, told of or reported ("si se acepta el impedimento…", "…dice que no fue aceptado el
    impedimento…") is none."""
    starts: list[int] | None = None

    def declared(pos: int) -> bool:
        nonlocal starts
        starts = _sentence_starts(t) if starts is None else starts
        return not _not_declared(t, pos, _sentence_at(starts, pos))

    for word in _IMPEDIMENT_WORD_RE.finditer(t.low):
        name, pos = None, word.end()
        if (of := _IMPEDIMENT_OF_RE.match(t.low, pos)) and (got := _take_name(t, of.end())):
            name, pos = got
        lead = _IMPEDIMENT_LEAD_RE.search(t.low, max(0, word.start() - 8), word.start())
        if (said := _DECIDED_AFTER_RE.match(t.low, pos)) and declared(lead.start() if lead else word.start()):
            return _decision(said["d"], said["neg"], name)
    for said in _DECIDED_BEFORE_RE.finditer(t.low):
        if declared(said.start()):
            of = _IMPEDIMENT_OF_RE.match(t.low, said.end())
            got = _take_name(t, of.end()) if of else None
            return _decision(said["d"] or said["d2"], said["neg"] or said["neg2"], got[0] if got else None)
    return None


# A reconsideración of the vote just taken, decided (the rules let a member ask that a vote be
# taken again, and the plenary votes on that): "Ha sido negada la reconsideración", "Negada la
# solicitud de reconsideración, queda en firme…", "la reconsideración fue aprobada". Its count is
# not the bill's, and its result must say what it decides: after the report "APROBADO", a bare
# "NEGADO" read as the bill negated.
# What may come between a subject and its verb ("la reconsideración solicitada por el concejal…
# fue negada"): no comma nor "y el…", where another subject is said ("Sin solicitud de
# reconsideración, la proposición fue aprobada", "el informe… y el articulado ha sido aprobado").
_SAME_SUBJECT_GAP: Final = r"(?:(?!\b(?:y|e)\s+(?:el|la|los|las)\b)[^.;?,]){0,60}?"
_RECONSIDERATION_DECIDED_RE: Final = re.compile(
    r"\b(?P<neg>no\s+)?(?:(?:ha\s+sido|fue|queda|quedo)\s+)?(?P<d>aprobad|negad|rechazad|denegad|improbad)a"
    r"\s+(?:la\s+)?(?:solicitud\s+de\s+)?reconsideracion\b"
    rf"|\breconsideracion\b{_SAME_SUBJECT_GAP}\b(?P<neg2>no\s+)?(?:ha\s+sido|fue|queda|quedo|resulto)\s+"
    r"(?P<d2>aprobad|negad|rechazad|denegad|improbad)a\b"
    r"|\b(?P<neg3>no\s+)?se\s+(?P<d3>aprueba|niega|rechaza|deniega)\s+(?:la\s+)?(?:solicitud\s+de\s+)?"
    r"reconsideracion\b"
)


# What a vote says of the bill (its articles or parts voted, its debate, its sanction).
_BILL_VOTE_FACTS: Final = frozenset({"articulos", "partes", "debate", "sancion"})


def _reconsideration_decided(t: _Text) -> str | None:
    """The plenary's decision on a reconsideración ("aprobada", "negada"), or None; one asked,
    supposed or told of ("si se niega la reconsideración…") is none."""
    for m in _RECONSIDERATION_DECIDED_RE.finditer(t.low):
        sentence = _sentence_at(_sentence_starts(t), m.start())
        if _not_declared(t, m.start(), sentence) or _decided_earlier(t, m):
            continue
        approved = (m["d"] or m["d2"] or m["d3"]) in ("aprobad", "aprueba")
        return "aprobada" if approved and not (m["neg"] or m["neg2"] or m["neg3"]) else "negada"
    return None


# The result said of a report ("Aprobado el informe de la comisión accidental con doce votos…",
# "Aprobado el informe que declara fundadas las objeciones", "el informe de la comisión fue
# negado"): what the vote decides. Written in the bill's section as a bare "Resultado:
# APROBADO.", it read as the bill approved, when the plenary decided on the report on the
# mayor's objections to it. The report is named as said: whose it is, when that is said.
_REPORT_OWNER: Final = r"(?:\s+de\s+(?:la\s+comision(?:\s+accidental)?|ponencia|minoria))?"
_REPORT_DECIDED_RE: Final = re.compile(
    rf"\b(?:aprobad|negad|rechazad|improbad)o\s+el\s+informe(?P<of>{_REPORT_OWNER})\b"
    rf"|\bel\s+informe(?P<of2>{_REPORT_OWNER})\b{_SAME_SUBJECT_GAP}"
    r"\b(?:ha\s+sido|fue|queda|quedo|resulto)\s+(?:aprobad|negad|rechazad|improbad)o\b"
)
_REPORT_OWNERS: Final = {
    "la comision accidental": "de la comisión accidental",
    "la comision": "de la comisión",
    "ponencia": "de ponencia",
    "minoria": "de minoría",
}


def _report_decided(t: _Text) -> str | None:
    """The report a result is said of, named as said ("informe de la comisión accidental",
    "informe"), or None; one asked or denied ("¿fue aprobado el informe…?") is none."""
    for m in _REPORT_DECIDED_RE.finditer(t.low):
        sentence = _sentence_at(_sentence_starts(t), m.start())
        if not _not_declared(t, m.start(), sentence) and not _decided_earlier(t, m):
            of = (m["of"] or m["of2"] or "").split(" de ", 1)[-1].strip()
            return f"informe {_REPORT_OWNERS[' '.join(of.split())]}" if of else "informe"
    return None


def _decision(word: str, negated: str | None, name: str | None) -> dict[str, Any]:
    decided = _DECIDED_WORD[word]
    impediment: dict[str, Any] = {"estado": f"no {decided}" if negated else decided}
    if name:
        impediment["nombre"] = _capitalised(name) if name == name.lower() else name
    return impediment


# A verb in the third person's past ("presentó", "manifestó"), which folded reads as the first
# person's present ("presento").
_PAST_THIRD_RE: Final = re.compile(r"[^\W\d_]ó\b")
_SUBJECT_CHARS: Final = 120


def _declared_by_another(t: _Text, declared: re.Match[str], sentence: int) -> bool:
    """Whether an impediment's declaration is said of another member: in the third person's past
    ("El concejal Luis Mora presentó un impedimento"), or with a member named right before the
    verb ("el concejal luis mora presento un impedimento", heard without accents)."""
    if _PAST_THIRD_RE.search(t.raw, declared.start(), declared.end()):
        return True
    member = None
    for found in _MEMBER_AT_RE.finditer(
        t.low, max(sentence, declared.start() - _SUBJECT_CHARS), declared.start()
    ):
        member = found  # the last one named before the verb
    if member is None:
        return False
    words = t.low[member.end() : declared.start()].split()  # the name, and nothing else
    return 0 < len(words) <= _MAX_NAME_WORDS and all(
        w.isalpha() and (w not in _NAME_STOPWORDS or w in _NAME_PARTICLES) for w in words
    )


def _impediment(t: _Text, decided: dict[str, Any] | None) -> dict[str, Any] | None:
    """An impediment declared by the one speaking (``estado`` "manifestado", with the reason
    said: ``motivo``) or the plenary's decision on one (decided, :func:`_impediment_decided`:
    ``estado`` as said: "aceptado", "negado"…, with the member whose it is, ``nombre``, when
    named); None when neither. One denied, asked, supposed, reported or said of another member
    ("Yo no tengo un impedimento", "El concejal X presentó un impedimento…") is not declared."""
    starts: list[int] | None = None
    for count, declared in enumerate(_IMPEDIMENT_DECLARED_RE.finditer(t.low)):
        if count >= _MAX_TRIGGERS:
            break
        starts = _sentence_starts(t) if starts is None else starts
        sentence = _sentence_at(starts, declared.start())
        if _not_declared(t, declared.start(), sentence) or _declared_by_another(t, declared, sentence):
            continue
        impediment: dict[str, Any] = {"estado": "manifestado"}
        end = _SENTENCE_END_RE.search(t.raw, declared.end())
        stop = end.start() if end else len(t.low)
        reason = _IMPEDIMENT_REASON_RE.search(t.low, declared.end(), stop)
        if reason and (motivo := _slice(t, reason.end(), stop)):
            impediment["motivo"] = motivo
        return impediment
    return decided


# --------------------------------------------------------------------------------------------
# Extractors, one per section
# --------------------------------------------------------------------------------------------

# "sesión plenaria ordinaria" is said whole: the plenary's ordinary session (its type is both).
_SESSION_TYPE_RE: Final = re.compile(
    r"\bsesion(?:es)?\s+(?:[^\W\d_]+\s+){0,2}?(?P<t>plenaria\s+(?:extraordinaria|ordinaria|especial"
    r"|solemne)|extraordinaria|ordinaria|plenaria|especial|solemne|(?P<i>instalacion)"
    r"|(?P<a>cabildo\s+abierto))\b"
    r"|\b(?P<c>comision)\b|\b(?P<p>plenaria)\b"
)
_SESSION_TYPE_ORDER: Final = (
    "instalación",
    "cabildo abierto",
    "extraordinaria",
    "ordinaria",
    "especial",
    "solemne",
    "comisión",
)
# The closing session of a period of sessions: "sesión de clausura del segundo período de sesiones
# ordinarias", its type as said (the acta must say what kind of session it was).
_CLOSING_SESSION_RE: Final = re.compile(
    r"\bsesion\s+de\s+(?P<k>clausura(?:\s+del\s+(?:[^\W\d_]+\s+)?periodo\s+de\s+sesiones"
    r"(?:\s+(?:ordinarias|extraordinarias))?)?)\b"
)
_SESSION_NUMBER_RE: Final = re.compile(
    rf"\bsesion\s+(?:[^\W\d_]+\s+){{0,2}}?(?:numero|no\.?|n[°o]\.?|#)\s*(?P<n>{_NUM_PHRASE})"
)
# Who presides, and whether provisionally (an installation session is presided by the oldest
# member until the board is elected: "presidirá provisionalmente esta sesión el concejal de mayor
# edad, el honorable concejal Jorge Eliécer Lozano").
_PROVISIONALLY: Final = r"provisionalmente|transitoriamente|interinamente"
_PRESIDE_RE: Final = re.compile(
    rf"\b(?:preside|presidira|presidiendo|bajo la presidencia de(?:l)?"
    rf"|presidid[oa](?=\s+(?:(?:{_PROVISIONALLY})\s+)?por\b))\b\s*"
    rf"(?:(?P<prov>{_PROVISIONALLY})\s+)?(?:por\s+)?"
    r"(?:(?:esta|la)\s+sesion\s+)?(?:(?:el|la)\s+concejala?\s+de\s+mayor\s+edad\s*,?\s*)?"
)
_CONCEJALA_BEFORE_RE: Final = re.compile(r"\bla\s+(?:honorable\s+)?concejala\b")
_PERIOD_RE: Final = re.compile(r"\bperiodo\s+(?:constitucional\s+)?(?:(?:de|del)\s+)?(?:ano\s+)?")
_PERIOD_JOINERS: Final = frozenset({"a", "al", "y", "guion", "hasta"})
# Who installs the council for the mayor: "asisto como delegado del señor alcalde", "en calidad
# de delegada de la alcaldesa".
_DELEGATE_RE: Final = re.compile(rf"\b{_DELEGATE_OFFICE}")
_SELF_INTRO_RE: Final = re.compile(r"\b(?:mi nombre es|me llamo|les habla)\s+")
# The delegate present, said in the clause that names the office: "asisto como delegado…", "en
# calidad de delegada…", "nos acompaña el delegado…", "con el delegado del alcalde…", "el delegado
# del alcalde se encuentra presente"; and denied: "no pudo asistir", "sin el delegado".
_DELEGATE_PRESENT_RE: Final = re.compile(
    r"\b(?:asist\w*|acompan\w*|presentes?|presencia|se\s+encuentra|instal\w*|vengo|viene|vino|llego"
    r"|llega|estoy|esta\s+(?:aqui|hoy|presente))\b"
    r"|\b(?:como|calidad\s+de|con\s+(?:el|la))\s+(?:(?:senor|senora)\s+)?delegad[oa]\b"
)
_DELEGATE_DENIED_RE: Final = re.compile(r"\b(?:no|sin|nunca|tampoco|ni|ausencia|ausente)\b")
_MAX_OFFICE_CHARS: Final = 80
# The session's secretary and the office as said: "actúa como secretaria de la comisión la
# doctora Luz Perlaza", "la secretaria general, doctora Gloria Salcedo", "secretario ad hoc el
# concejal Luis Mora", "el secretario general del Concejo, Héctor Londoño".
_SECRETARY_OFFICE: Final = (
    r"secretari[oa](?:\s+general|\s+ad[\s-]?hoc|\s+provisional)?"
    r"(?:\s+de\s+la\s+comision(?:\s+(?:primera|segunda|tercera|cuarta|quinta|sexta|septima))?)?"
)
_SECRETARY_RE: Final = re.compile(
    rf"\b(?P<office>{_SECRETARY_OFFICE})"
    r"(?:\s+(?:del|de la)\s+(?:honorable\s+)?(?:concejo|corporacion)(?:\s+(?:municipal|distrital))?)?"
    r"\s*[,:]?\s*(?:(?:es|sera|actua)\s+)?"
)
# The office said again after the secretary's name, the one that tells which: "actúa como
# secretaria la doctora Ana Ruiz, secretaria de la comisión", "…, quien es la secretaria ad hoc".
_SECRETARY_OFFICE_AFTER_RE: Final = re.compile(
    r"\s*,?\s*(?:(?:quien\s+es|en\s+su\s+calidad\s+de|como)\s+)?(?:(?:la|el)\s+)?"
    rf"(?P<office>{_SECRETARY_OFFICE})\b"
)
_PLACE_RE: Final = re.compile(
    r"\ben\s+(?:el|la|las|los)\s+(?:recinto|salon|sala|sede|instalaciones|auditorio|hemiciclo"
    r"|edificio|casa|teatro|biblioteca|coliseo|plaza|centro)\b[^,.;:]*"
)
# A place said of those greeted ("…ciudadanos que nos acompañan en el recinto y por las redes
# sociales del Concejo") is where they follow the session, not where it is held.
_GREETED_RE: Final = re.compile(
    r"\b(?:acompanan?|acompanandonos|siguen|sigue|ven|escuchan|observan|presentes)\s+$"
)
_PLACE_STOP_RE: Final = re.compile(r"\s(?:siendo|a las|se|con|bajo|presidid\w*|y se|el dia)\b")
_MODALITY_RE: Final = re.compile(
    r"\b(?P<mixta>mixta|hibrida|semipresencial)\b|\b(?P<virtual>virtual|remota)\b"
    r"|\b(?P<presencial>presencial)\b"
)


_GUESTS_RE: Final = re.compile(
    r"\b(?:(?:nos\s+)?acompanan?|contamos\s+con\s+la\s+(?:grata\s+)?presencia\s+de"
    r"|asisten?|se\s+encuentran?\s+presentes?|(?:esta|estan)\s+presentes?)"
    r"(?:\s+(?:hoy|en\s+(?:esta|la)\s+sesion))?\s+(?:(?:como|en\s+calidad\s+de)\s+invitad[oa]s?"
    r"(?:\s+especiales)?)\s*[:,]?\s*"
    r"|\b(?:nos\s+acompanan?|contamos\s+con\s+la\s+(?:grata\s+)?presencia\s+de)\s*[:,]?\s*"
    r"|\binvitad[oa]s?(?:\s+especiales)?\s*:\s*"
)
_GUEST_SEP_RE: Final = re.compile(
    r"\s*(?:[,;]\s*)?\b(?:y|e)\s+(?=(?:el|la|los|las)\s)|\s*;\s*|\s*,\s*(?=(?:el|la)\s)"
)


# What starts a guest after a semicolon: an article or a title ("; la gerente de EMCALI", "; doctor
# Mario Paz"); "; gracias por venir" ends the list.
_GUEST_NEXT_RE: Final = re.compile(
    rf"\s*(?:(?:y|e)\s+)?(?:el|la|los|las|senor|senora|senores|honorable|{_TITLES})\b"
)


def _guest_at(t: _Text, start: int, stop: int) -> Any:
    """One guest as ``{"nombre", "cargo"?}`` ("la secretaria de Movilidad, doctora Ana Ruiz",
    "Ana Ruiz, gerente de EMCALI"), or the words as said when no name can be told apart or the
    name and office do not cover them ("la Junta de Acción Comunal del barrio El Retiro"): the
    opening's summary writes the guests instead of the words, so none may be dropped."""
    t = _Text(t.raw[:stop], t.low[:stop])
    said = _slice(t, start, stop)
    role, cargo = _role(t, start), ""
    if role is not None and (m := _ROLE_RE.match(t.low, start)) is not None:
        cargo = _slice(t, m.start("role"), role[2])
        comma = _COMMA_RE.match(t.low, role[2])  # "el director del DAGMA, ingeniero Julián Mejía"
        person = _take_person(t, comma.end()) if comma else _take_name(t, role[2])
        covered = person[1] if person else stop
    else:
        person = _take_person(t, start)
        covered = person[1] if person else stop
        if person is not None and (comma := _COMMA_RE.match(t.low, person[1])):
            after = _role(t, comma.end())
            if after is not None and (m := _ROLE_RE.match(t.low, comma.end())) is not None:
                cargo = _slice(t, m.start("role"), after[2])
                covered = after[2]
    if person is None or not person[0][:1].isupper() or _slice(t, covered, stop):
        return said
    return {"nombre": person[0], "cargo": cargo} if cargo else {"nombre": person[0]}


# "…ciudadanos que nos acompañan…": those greeted, described; the guests are announced as such.
_GREETED_CLAUSE_RE: Final = re.compile(r"\b(?:que|quienes)\s+$")


def _guests(t: _Text) -> list[Any]:
    """Guests of the opening ("nos acompañan como invitados la secretaria de Movilidad, doctora
    Claudia Benítez, y el director del DAGMA, ingeniero Julián Mejía"), up to the sentence end.
    A greeting ("…ciudadanos que nos acompañan en el recinto y por las redes sociales") names
    none: who "nos acompañan" there describes those greeted, unless they are said to be guests
    ("…que nos acompañan como invitados: …")."""
    return _guests_said(t)[0]


_MAX_BESIDE_GUESTS_WORDS: Final = 6
"""Words said before or after the guests' sentence in an utterance that only greets them ("Buenos
días a todos.", "Bienvenidos."): more is a speech, written word for word where it is."""


def _only_guests(t: _Text) -> bool:
    """Whether the utterance names guests (_guests) and says little else (a greeting)."""
    found, start, end = _guests_said(t)
    if not found:
        return False
    before = t.low[: _sentence_start(t, start)].split()
    return max(len(before), len(t.low[end:].split())) <= _MAX_BESIDE_GUESTS_WORDS


def _guests_said(t: _Text) -> tuple[list[Any], int, int]:
    """_guests, with where the words naming them start and where their sentence ends."""
    for m in _GUESTS_RE.finditer(t.low):
        greeted = _GREETED_CLAUSE_RE.search(t.low, max(0, m.start() - 10), m.start())
        if greeted is not None and "invitad" not in m.group(0):
            continue
        end = len(t.raw)
        for stop in _SENTENCE_END_RE.finditer(t.raw, m.end()):
            # A list of guests may be split by semicolons: "…, doctor Mario Paz; la gerente…".
            if t.raw[stop.start()] != ";" or not _GUEST_NEXT_RE.match(t.low, stop.end()):
                end = stop.start()
                break
        bounds = [m.end()]
        for sep in _GUEST_SEP_RE.finditer(t.low, m.end(), end):
            bounds += [sep.start(), sep.end()]
        bounds.append(end)
        found = [
            _guest_at(t, a, b) for a, b in zip(bounds[::2], bounds[1::2], strict=True) if _slice(t, a, b)
        ]
        if found:
            return found, m.start(), end
    return [], 0, 0


def _secretary(t: _Text, plenary: bool = False) -> dict[str, str]:
    """The session's secretary (``secretario``) and the office as said (``secretario_cargo``:
    "secretaria de la comisión", "secretario ad hoc", "secretaria general"). The acta's default
    office is the general secretary's: "actúa como secretario el doctor…" gives no office, and
    "actúa como secretaria la doctora…" the general secretary's in the gender said, unless the
    office is said after the name ("…la doctora Ana Ruiz, secretaria de la comisión"). In a
    plenary, a commission's secretary ("soy la secretaria de la Comisión Segunda, María…") is a
    guest, not the session's secretary."""
    for count, m in enumerate(_SECRETARY_RE.finditer(t.low)):
        if count >= _MAX_TRIGGERS:  # each look may read on far: a few, not one per word said
            break
        got = _take_person(t, m.end())
        if got is None:
            continue
        office = _slice(t, m.start("office"), m.end("office"))
        if _fold(office) in {"secretario", "secretaria"} and (
            after := _SECRETARY_OFFICE_AFTER_RE.match(t.low, got[1])
        ):
            office = _slice(t, after.start("office"), after.end("office"))
        if plenary and "comision" in _fold(office):
            continue
        if _fold(office) == "secretaria":
            office += " general"
        found = {"secretario": got[0]}
        if _fold(office) not in {"secretario", "secretario general"}:
            found["secretario_cargo"] = office
        return found
    return {}


_COMMISSION_RE: Final = re.compile(r"\bcomision\b(?!\s+(?:numero|no\b|n[°o]?\.))")
_AND_RE: Final = re.compile(r"\s+(?:y|e)\s+")
_COMMISSION_LINKS: Final = _NAME_PARTICLES | {"y", "e"}
_MAX_COMMISSION_WORDS: Final = 10


def _commission(t: _Text) -> str | None:
    """The commission whose session it is, as said: "la sesión número veintidós de la Comisión
    Segunda Permanente de Presupuesto" (the word alone, "secretaria de la comisión", is none)."""
    for m in _COMMISSION_RE.finditer(t.low):
        if t.raw[m.start()].isupper():  # a proper name: its capitalised words and particles
            words, end, pos = 0, m.start(), m.start()
            while words < _MAX_COMMISSION_WORDS and (w := _NAME_TOKEN_RE.match(t.raw, pos)):
                if w.group(1)[0].isupper():
                    words, end = words + 1, w.end()
                elif t.low[w.start(1) : w.end(1)] not in _COMMISSION_LINKS:
                    break
                pos = w.end()
            if words > 1:
                return _slice(t, m.start(), end)
            continue
        got = _take_name(t, m.start())
        if got is None or len(got[0].split()) < 2:
            continue
        end = got[1]
        for _ in range(3):  # "comision primera del plan y tierras"
            more = _AND_RE.match(t.low, end)
            if more is None or (rest := _take_name(t, more.end())) is None:
                break
            end = rest[1]
        return _slice(t, m.start(), end)
    return None


def _preside(t: _Text) -> dict[str, Any]:
    """Who presides (``preside``), and ``preside_provisional`` when said to preside
    provisionally; or the president who says so opening the session ("Les habla el presidente
    de la corporación, Carlos Andrés Lemos Ordóñez", "les habla Ana Ruiz, presidenta del
    Concejo"), with ``preside_rol`` "concejala" when "la presidenta" is said (the opening's
    summary writes "la concejala", the signature "Presidenta")."""
    for count, m in enumerate(_PRESIDE_RE.finditer(t.low)):
        if count >= _MAX_TRIGGERS:
            break
        if (got := _take_person(t, m.end())) is not None:
            data: dict[str, Any] = {"preside": got[0], **({"preside_provisional": True} if m["prov"] else {})}
            after = _PRESIDENT_AFTER_NAME_RE.match(t.low, got[1])
            if _CONCEJALA_BEFORE_RE.search(t.low, m.end(), got[1]) or (
                after is not None and after["g"] == "a"
            ):
                data["preside_rol"] = "concejala"  # "Preside la concejala Ana Ruiz, presidenta…"
            return data
    for count, m in enumerate(_PRESIDENT_SPEAKS_RE.finditer(t.low)):
        if count >= _MAX_TRIGGERS:
            break
        office: re.Match[str] | None = m if m["g"] is not None else None
        if office is not None:
            got = _person_after_role(t, m.end(), "presidente")
        elif (got := _take_person(t, m.end())) is not None:
            office = _PRESIDENT_AFTER_NAME_RE.match(t.low, got[1])
        if office is None or got is None or not got[0][:1].isupper() or len(got[0].split()) < 2:
            continue
        return {"preside": got[0], **({"preside_rol": "concejala"} if office["g"] == "a" else {})}
    return {}


_PRESIDENT_OF_COUNCIL: Final = (
    r"president(?P<g>[ea])(?:\s+(?:de\s+la\s+corporacion|del\s+(?:honorable\s+)?concejo"
    r"(?:\s+(?:distrital|municipal))?(?:\s+de\s+santiago\s+de\s+cali)?))?"
)
# "Les habla el presidente de la corporación, Carlos Lemos", "les habla Carlos Lemos, presidente
# del Concejo", and "habla" alone starting its clause ("Buenos días a todos. Habla Juan Carlos
# Olaya Ciro, presidente del Concejo Distrital…"): the president opening the session presides it
# (a president of anything else after the name, "presidente de la junta…", is not).
_PRESIDENT_SPEAKS_RE: Final = re.compile(
    r"(?:\b(?:les|le)\s+|(?:^|(?<=[.,;:!])\s*))habla\s+"
    rf"(?:(?:el|la)\s+{_PRESIDENT_OF_COUNCIL}\s*,?\s*"
    r"(?:(?:el|la)\s+)?(?:concejala?\s+)?)?"
)
_PRESIDENT_AFTER_NAME_RE: Final = re.compile(
    rf"\s*,\s*(?:(?:el|la)\s+)?{_PRESIDENT_OF_COUNCIL}(?=\s*(?:[,.;:!?]|$|y\s))"
)
# The president addressed by name at a clause's start, after a courtesy or none: "Con mucho gusto
# señor presidente Héctor Fabio Escobar Potes.", "Gracias, señora presidenta Ana María Velasco, …".
_PRESIDENT_ADDRESSED_RE: Final = re.compile(
    r"(?:^|(?<=[.,;:!¡]))\s*(?:(?:(?:muchas\s+)?gracias|con\s+(?:mucho\s+)?gusto|buenos\s+dias"
    r"|buenas\s+(?:tardes|noches)|si|bueno)\s*,?\s*)?(?P<title>senor|senora)\s+president[ea]\s+"
)
# The general secretary as she introduces herself, after her name or before it: "Buenos días,
# habla Claudia Patricia Morales Giraldo, secretaria general.", "les habla la secretaria general
# del Concejo, Claudia Patricia Morales Giraldo.".
_GENERAL_SECRETARY: Final = (
    r"(?P<office>secretari[oa]\s+general)(?:\s+(?:del|de\s+la)\s+(?:honorable\s+)?"
    r"(?:concejo|corporacion)(?:\s+(?:municipal|distrital))?(?:\s+de\s+[^\W\d_]+)?)?"
)
_SECRETARY_BEFORE_NAME_RE: Final = re.compile(rf"(?:el|la)\s+{_GENERAL_SECRETARY}\s*,?\s*")
_SECRETARY_AFTER_NAME_RE: Final = re.compile(
    rf"\s*,\s*(?:(?:el|la)\s+)?{_GENERAL_SECRETARY}(?=\s*(?:[,.;:!?]|$))"
)


def _officers_named(t: _Text) -> dict[str, str]:
    """The president and the general secretary an utterance at the session's start names, as the
    opening's ``preside`` (``preside_rol`` "concejala" when "señora presidenta" is said) and
    ``secretario`` (``secretario_cargo`` "secretaria general" when said so): the president
    addressed by name ("Con mucho gusto señor presidente Héctor Fabio Escobar Potes."), the
    secretary introducing herself with the office ("Buenos días, habla Claudia Patricia Morales
    Giraldo, secretaria general."). Only near the utterance's start (_INTRODUCTION_WINDOW), a
    capitalised name of two words or more that ends its clause, one not asked, denied nor
    reported: "…, el señor presidente Luis Mora dijo…", "¿Habla Ana Ruiz, secretaria general?"
    and "señor presidente Héctor Fabio y honorables concejales" name nobody."""
    found: dict[str, str] = {}
    for m in itertools.islice(_PRESIDENT_ADDRESSED_RE.finditer(t.low, 0, _INTRODUCTION_WINDOW), 2):
        got = _take_name(t, m.end())
        if _officer_said(t, m.start("title"), got) and got is not None:
            found["preside"] = got[0]
            if m["title"] == "senora":
                found["preside_rol"] = "concejala"
            break
    intro = _INTRODUCTION_RE.search(t.low, 0, _INTRODUCTION_WINDOW)
    if intro is None:
        return found
    office = _SECRETARY_BEFORE_NAME_RE.match(t.low, intro.end())
    got = _take_person(t, office.end() if office else intro.end())
    if office is None and got is not None:
        office = _SECRETARY_AFTER_NAME_RE.match(t.low, got[1])
    if office is not None and _officer_said(t, intro.start(), got) and got is not None:
        found["secretario"] = got[0]
        if t.low[office.start("office") : office.end("office")].startswith("secretaria"):
            found["secretario_cargo"] = _slice(t, office.start("office"), office.end("office"))
    return found


def _officer_said(t: _Text, said_at: int, got: tuple[str, int] | None) -> bool:
    """Whether a name taken for an officer of the session (see _officers_named) is one: capitalised,
    of two words or more, ending its clause, neither a place nor a party, and said at said_at
    as a declaration (not asked, denied nor reported)."""
    if got is None or not got[0][:1].isupper() or len(got[0].split()) < 2:
        return False
    if _NAME_END_RE.match(t.low, got[1]) is None:
        return False
    if _PARTY_NAME_RE.fullmatch(_fold(got[0])) or _NOT_A_SPEAKER_RE.search(_fold(got[0])):
        return False
    return not _not_declared(t, said_at, _sentence_start(t, said_at))


# The topic the session is held for, said in the opening: "…se abre la sesión de cabildo
# abierto para tratar el tema de la calidad del agua en la zona rural."
_TOPIC_RE: Final = re.compile(r"\bpara\s+tratar\s+")
# What a sesión solemne is held for, said in its opening: "damos inicio a la sesión solemne…, para
# exaltar a la maestra Amparo Riascos Valencia y al Benemérito Cuerpo de Bomberos…", "…la sesión
# solemne en homenaje a los cincuenta años de…" (the opening's summary wrote the type and lost whom
# the session honours). Kept from "para" or "en": "para exaltar a…", "en homenaje a…".
_PURPOSE_RE: Final = re.compile(
    r"\bsesion\s+solemne\b[^.;:!?]*?\b(?P<p>para\s+(?:exaltar|homenajear|rendir\s+(?:un\s+)?homenaje"
    r"|condecorar|conmemorar|celebrar|reconocer)|en\s+(?:homenaje|honor|reconocimiento|conmemoracion)"
    r"\s+(?:a|al|de|del)\b)"
)


def _topic(t: _Text) -> str | None:
    """The topic said after "para tratar", as said up to its sentence's end (within
    _MAX_CARGO_CHARS: speech heard without punctuation has no end)."""
    m = _TOPIC_RE.search(t.low)
    if m is None:
        return None
    stop = _SENTENCE_END_RE.search(t.raw, m.end())
    end = _bounded(t, m.end(), stop.start() if stop else len(t.raw))
    return _slice(t, m.end(), end) or None


def _purpose(t: _Text) -> str | None:
    """What a sesión solemne is held for (see _PURPOSE_RE), as said up to its sentence's end."""
    m = _PURPOSE_RE.search(t.low)
    if m is None:
        return None
    stop = _SENTENCE_END_RE.search(t.raw, m.end())
    end = _bounded(t, m.start("p"), stop.start() if stop else len(t.raw))
    return _slice(t, m.start("p"), end) or None


def _period(low: str) -> str | None:
    """The constitutional period said ("para el período constitucional dos mil veinticuatro dos
    mil veintisiete"), as "2024-2027"; None unless two years in order are said."""
    for count, m in enumerate(_PERIOD_RE.finditer(low)):
        if count >= _MAX_TRIGGERS:
            break
        toks = _tokens(low, m.end(), 12)
        first = _number_at(toks, 0)
        if first is None:
            continue
        i = first[1] + (first[1] < len(toks) and toks[first[1]] in _PERIOD_JOINERS)
        second = _number_at(toks, i)
        if second is not None and 1900 <= first[0] < second[0] <= 2200:
            return f"{first[0]}-{second[0]}"
    return None


def _delegate(t: _Text) -> dict[str, str]:
    """The mayor's delegate who installs the council: ``delegacion`` as said ("delegado del
    señor alcalde"), ``delegado`` (the name, introduced by the speaker, "mi nombre es…", or
    named right after: "el delegado del alcalde, doctor Álvaro Benítez") and ``delegado_cargo``
    (the office said after the name: "…Benítez, secretario de gobierno distrital, y asisto…").
    The delegate must be said to attend, in the clause that names the office ("asisto como
    delegado…", "nos acompaña el delegado…", "se instala la sesión con el delegado…"), or to
    introduce himself ("mi nombre es…"), and not be denied: "El delegado del señor alcalde no pudo
    asistir hoy." names none (the opening's summary wrote "Asistió el delegado…")."""
    intro = _SELF_INTRO_RE.search(t.low)
    phrase = None
    for count, said in enumerate(_DELEGATE_RE.finditer(t.low)):
        if count >= _MAX_TRIGGERS:
            break
        window = max(0, said.start() - _MAX_OFFICE_CHARS)
        start = max(window - 1, *(t.low.rfind(ch, window, said.start()) for ch in ",.;:!?")) + 1
        clause = (start, min(_clause_end(t, said.end()), said.end() + _MAX_OFFICE_CHARS))
        if _DELEGATE_DENIED_RE.search(t.low, *clause) is None and (
            intro is not None or _DELEGATE_PRESENT_RE.search(t.low, *clause) is not None
        ):
            phrase = said
            break
    if phrase is None:
        return {}
    found = {"delegacion": _slice(t, phrase.start(), phrase.end())}
    got = _take_person(t, intro.end()) if intro else _person_after_role(t, phrase.end(), "funcionario")
    if got is None or not (got[0][:1].isupper() or t.raw == t.raw.lower()):
        return found
    found["delegado"] = got[0]
    comma = _COMMA_RE.match(t.low, got[1])
    if intro and comma and (role := _ROLE_RE.match(t.low, comma.end())) is not None:
        end = min(_clause_end(t, role.end()), role.end() + _MAX_OFFICE_CHARS)
        found["delegado_cargo"] = _slice(t, role.start("role"), end)
    return found


def _apertura_data(t: _Text) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if hora := _find_time(t.low):
        data["hora"] = hora
    if fecha := _find_date(t.low):
        data["fecha"] = fecha
    kinds = set()
    for m in _SESSION_TYPE_RE.finditer(t.low):
        if m["a"]:
            kinds.add("cabildo abierto")
        else:
            kinds.add("instalación" if m["i"] else m["t"] or ("comisión" if m["c"] else "plenaria"))
    for kind in (*_SESSION_TYPE_ORDER, "plenaria"):
        if said := [k for k in kinds if k == kind or k.endswith(" " + kind)]:
            data["tipo_sesion"] = max(said, key=len)  # "plenaria ordinaria" over "ordinaria"
            break
    if closing := _CLOSING_SESSION_RE.search(t.low):
        data["tipo_sesion"] = _slice(t, closing.start("k"), closing.end("k"))
    number = _SESSION_NUMBER_RE.search(t.low)
    if number and (value := _parse_number(number["n"])) is not None:
        data["numero_sesion"] = value
    if periodo := _period(t.low):
        data["periodo"] = periodo
    plenary = "plenaria" in data.get("tipo_sesion", "")
    data |= _preside(t) | _secretary(t, plenary) | _delegate(t)
    if (comision := _commission(t)) and not (
        plenary and re.search(r"secretari[oa]\s+de\s+la\s+" + re.escape(_fold(comision)), t.low)
    ):  # a plenary's guest, the commission's secretary, says which commission is hers
        data["comision"] = comision
    if tema := _topic(t):
        data["tema"] = tema
    elif proposito := _purpose(t):
        data["proposito"] = proposito
    for place in itertools.islice(_PLACE_RE.finditer(t.low), _MAX_TRIGGERS):
        if _GREETED_RE.search(t.low, max(0, place.start() - 24), place.start()):
            continue
        stop = _PLACE_STOP_RE.search(t.low, place.start() + 3, place.end())
        data["lugar"] = _slice(t, place.start() + 3, stop.start() if stop else place.end())
        break
    if guests := _guests(t):
        data["invitados"] = guests
    modes = {k for m in _MODALITY_RE.finditer(t.low) for k, v in m.groupdict().items() if v}
    if modes:
        both = {"virtual", "presencial"} <= modes
        data["modalidad"] = "mixta" if "mixta" in modes or both else modes.pop()
    return data


_ORDINALS: Final[dict[str, int]] = {
    "primero": 1, "segundo": 2, "tercero": 3, "cuarto": 4, "quinto": 5, "sexto": 6,
    "septimo": 7, "setimo": 7, "octavo": 8, "noveno": 9, "decimo": 10, "undecimo": 11,
    "decimo primero": 11, "decimoprimero": 11, "duodecimo": 12, "decimo segundo": 12,
    "decimosegundo": 12, "decimo tercero": 13, "decimotercero": 13, "decimo cuarto": 14,
    "decimocuarto": 14, "decimo quinto": 15, "decimoquinto": 15,
}  # fmt: skip
# Items read by their number in words: "Uno, llamado a lista. Dos, lectura del orden del día."
_ITEM_NUMBERS: Final[dict[str, int]] = {
    w: v for w, v in {**_UNITS, **_TEENS, **_TENS}.items() if 1 <= v <= 20 and w not in {"un", "una"}
}
_ITEM_NUMBER_ALT: Final = _alt(_ITEM_NUMBERS)
_AGENDA_MARK_RE: Final = re.compile(
    r"(?:(?<=[\s,;:.(])|^)(?:"
    rf"(?:punto\s+)?(?<!y )(?<!menos )(?P<ord>{_alt(_ORDINALS)})(?:\s+punto)?\b"
    r"(?!\s+(?:debate|lugar|vicepresidente|piso|informe|periodo|semestre|trimestre|ano|dia|mes"
    r"|grado|orden|de\b))"
    r"|(?P<short>primer|tercer)\s+punto\b"
    rf"|punto\s+(?:numero\s+)?(?P<pn>[0-9]{{1,2}}|{_NUM59_ALT})\b"
    r"|(?P<num>[0-9]{1,2})\s*[.)\-–]\s*(?=[^\W\d_])"
    # a number word followed by a comma, where a clause starts or after "orden del día" (not
    # "dos mil veinticinco,", "a las nueve,"); not one of a count (see _COUNTED_BEFORE_RE)
    rf"|(?:(?<![^\W\d_]\s)|(?<=orden del dia\s))(?P<card>{_ITEM_NUMBER_ALT})(?=\s*,)"
    rf"(?!\s*,\s*(?:{_ITEM_NUMBER_ALT})\s*,)"
    r")\s*[,:.\-–)]*\s*"
)
# A number word right after another and a comma is counted ("uno, dos, tres,"), not an item.
_COUNTED_BEFORE_RE: Final = re.compile(rf"\b(?:{_ITEM_NUMBER_ALT})\s*,\s*$")
_COUNTED_LOOKBACK: Final = 24  # chars read back for it: a number word and its comma
# The agenda said as a heading, where a clause starts: "Orden del día, sesión plenaria…", "El orden
# del día es el siguiente: uno, …"; not "sobre la lectura del orden del día", "lea el orden del día".
_AGENDA_HEADING_RE: Final = re.compile(r"(?:^|[.,;:!?¿¡])\s*(?:el\s+)?orden del dia\b")
_ORDEN_DIA_RE: Final = re.compile(r"\borden del dia\b")
_AGENDA_INTRO_RE: Final = re.compile(r"\borden del dia\b[^:]{0,80}:")
_SEMICOLON_RE: Final = re.compile(r";")
_ITEM_TAIL_RE: Final = re.compile(r"[\s,;:.\-–]*(?:\by)?[\s,;:.\-–]*$")


@dataclass(frozen=True, slots=True)
class _Mark:
    start: int
    end: int
    value: int
    counting: bool = False  # a number word ("Uno, …")


def _agenda_marks(low: str) -> list[_Mark]:
    """Longest run of consecutive item markers (primero, segundo... / 1., 2)... / "uno, dos,")
    in the text. Number words mark items only where the agenda is read ("Orden del día: uno,
    …", "el orden del día es…") or its reading goes on (the agenda not named): in "Dos
    observaciones al orden del día. Uno, que el himno…" they count a speaker's points."""
    marks: list[_Mark] = []
    for m in _AGENDA_MARK_RE.finditer(low):
        if m["ord"]:
            value: int | None = _ORDINALS[" ".join(m["ord"].split())]
        elif m["short"]:
            value = 1 if m["short"] == "primer" else 3
        elif m["card"]:
            counted = _COUNTED_BEFORE_RE.search(low, max(0, m.start() - _COUNTED_LOOKBACK), m.start())
            value = None if counted else _ITEM_NUMBERS[m["card"]]
        else:
            value = _parse_number(m["pn"] or m["num"])
        if value is not None:
            marks.append(_Mark(m.start(), m.end(), value, counting=m["card"] is not None))
        if len(marks) >= 200:
            break
    best: list[_Mark] = []
    for i, first in enumerate(marks):
        run = [first]
        for mark in marks[i + 1 :]:
            if mark.value == run[-1].value + 1:
                run.append(mark)
        if len(run) > len(best):
            best = run
    if best and all(m.counting for m in best):
        if _ORDEN_DIA_RE.search(low) and not _ORDEN_DIA_READ_RE.search(low):
            return []
        # read as the agenda only from the utterance's start (its reading goes on) or after the
        # agenda said as a heading ("Orden del día, sesión…. Uno, …"): "Secretaria, lea el orden
        # del día. Presidente, dos cosas. Uno, que…" and, after the agenda, "Presidente, dos
        # cosas. Uno, …" are a speaker's points
        said_at = best[0].start
        if _LEADING_RE.fullmatch(low, 0, said_at) is None and not _AGENDA_HEADING_RE.search(low, 0, said_at):
            return []
    return best


def _item_text(t: _Text, start: int, end: int) -> str:
    """An agenda item as said, without trailing separators, capitalised."""
    tail = _ITEM_TAIL_RE.search(t.low, start, end)
    text = t.raw[start : tail.start() if tail else end].strip(" ,;:.-–")
    return text[:1].upper() + text[1:]


# A new sentence after the last item: "…Octavo, proposiciones y varios. ¿Lo aprueba la plenaria?"
_SENTENCE_START_RE: Final = re.compile(r"(?<=[.!?…])\s++(?=[¿¡]?[A-ZÁÉÍÓÚÑ])|[¿¡]")
_ABBREVIATIONS: Final = frozenset({"sr", "sra", "srta", "dr", "dra", "no", "nro", "num", "art", "ing", "lic"})


def _last_item_end(t: _Text, start: int) -> int:
    """Where the last item of an agenda read aloud ends: with its sentence, so that what is said
    after the items ("¿Lo aprueba la plenaria?", "Está leído, señor presidente.") is not taken
    for part of the last one; the text's end when no other sentence follows. A period after an
    abbreviation ("Sr. Alcalde", "No. 12") does not end it."""
    for m in _SENTENCE_START_RE.finditer(t.raw, start):
        if m.group(0) in "¿¡":
            return m.start()
        before = t.low[max(start, m.start() - 9) : m.start() - 1].split()
        if not before or before[-1] not in _ABBREVIATIONS:
            return m.start()
    return len(t.raw)


def _orden_dia_data(t: _Text) -> dict[str, Any]:
    marks = _agenda_marks(t.low)
    points: list[str] = []
    for i, mark in enumerate(marks):
        end = marks[i + 1].start if i + 1 < len(marks) else _last_item_end(t, mark.end)
        item = _item_text(t, mark.end, end)
        if item:
            points.append(f"{mark.value}. {item}")
    if not points and (intro := _AGENDA_INTRO_RE.search(t.low)):
        bounds = [intro.end(), *(m.end() for m in _SEMICOLON_RE.finditer(t.low, intro.end()))]
        ends = [*bounds[1:], _last_item_end(t, bounds[-1])]
        items = [_item_text(t, a, b) for a, b in zip(bounds, ends, strict=True)]
        if len([i for i in items if i]) >= 2:
            points = [f"{n}. {item}" for n, item in enumerate(filter(None, items), 1)]
    return {"puntos": points}


# "No se encuentran presentes los concejales…" names the absent: "presentes" there is not a list.
_NOT_THERE: Final = r"(?<!no )(?<!no se encuentran )(?<!no se encuentra )(?<!no estan )(?<!no esta )"
_PRESENT_RE: Final = re.compile(
    r"\b(?<!no )(?:contest\w*|respond\w*)\s+(?:a\s+|al\s+)?(?:lista|llamado)\s*,?"
    r"|\b(?<!no )(?:se\s+encuentran|estan)\s+conectad[oa]s\b\s*[:,]?"
    rf"|\b{_NOT_THERE}(?:se encuentran presentes|se hicieron presentes|presentes|asistentes|asistieron)\b"
    r"\s*[:,]?"
)
_ABSENT_RE: Final = re.compile(
    r"\b(?:ausentes?|no\s+contest\w*(?:\s+(?:a|al)\s+(?:lista|llamado))?|no\s+asisti\w*"
    r"|no\s+se\s+hicieron\s+presentes|faltaron|no\s+se\s+(?:ha\s+|han\s+|habia\s+|habian\s+)?conectad[oa]\w*"
    r"|no\s+(?:se\s+encuentran?|estan?)\s+(?:presentes?|conectad[oa]s?))\b\s*[:,]?"
)
# An excuse sent ("envió excusa por escrito", "presentaron su excusa"); "no envió excusa" is none.
_EXCUSE_VERB: Final = (
    r"(?<!\bno )(?<!\bno ha )(?<!\bno han )(?:present|envi|allego|allegaron|radic|remiti)\w*\s+"
    r"(?:(?:su|sus|una|la)\s+)?excusas?"
)
_EXCUSED_RE: Final = re.compile(
    rf"\b(?:con\s+excusa|se\s+excus\w*|excusad[oa]s?(?!\s+(?:de|del|para)\s)|{_EXCUSE_VERB})\b\s*[:,]?"
)
# An excuse said right after a member's absence: "Luis Mora, no se encuentra, presentó excusa
# por…", "no está, se encuentra excusada". Only one sent: "no presentó excusa", "dicen que
# presentó excusa", "presentará excusa" leave the member absent.
_EXCUSE_AFTER_ABSENCE: Final = (
    r"\s*,?\s*(?:y\s+)?(?:(?:presento|envio|allego|radico|remitio|hizo\s+llegar"
    r"|ha\s+(?:presentado|enviado|allegado|radicado|remitido|hecho\s+llegar))\s+(?:(?:su|una|la)\s+)?"
    r"(?:respectiva\s+)?excusa|se\s+excuso|(?:(?:se\s+encuentra|esta)\s+)?excusad[oa](?!\s+(?:de|del|para)\s)"
    r"|con\s+excusa)"
)
# A member's answer when called by name: "Ana Ruiz, presente.", "Luis Mora: no se encuentra.",
# "eva paz excusada por incapacidad" (see _roll_call_items).
_ANSWER_RE: Final = re.compile(
    r"\b(?:(?P<presentes>(?:(?:se\s+encuentra|esta)\s+)?presente)"
    r"|(?P<ausentes>ausente|no\s+(?:se\s+)?(?:encuentra|esta)"
    r"(?:\s+(?:presente|conectad[oa]))?|no\s+(?:contesta|contesto|responde|respondio|asistio)"
    r"|no\s+se\s+ha\s+conectado)"
    rf"(?P<excusa>{_EXCUSE_AFTER_ABSENCE})?"
    r"|(?P<excusados>(?:(?:se\s+encuentra|esta)\s+)?excusad[oa](?!\s+(?:de|del|para)\s)|se\s+excuso"
    r"|con\s+excusa))\b"
)
# Where a member's name called in a roll call can start: after a clause, or after the heading
# of the call ("Honorables concejales: Ana Ruiz, presente."), said with no mark after it too
# ("continúo con el llamado a lista patricia solarte gómez presente").
_CLAUSE_MARKS: Final = ".;:!?¿¡"
_CALL_HEADING_RE: Final = re.compile(
    r"\b(?:llamad[oa]|llamar|llamo|llamamos)\s+(?:a\s+)?lista\b|\blista\s+de\s+asistencia\b"
    r"|\bverificacion\s+del?\s+quorum\b"
)
# The members counted present: "diecinueve concejales", "diecinueve de los veintiún concejales",
# "respondieron diecinueve de veintiún", "con la presencia de quince concejales", "un total de
# diecinueve concejales". The number after "de los" is the whole corporation, out of which they
# answered ("De los veintiún concejales, contestaron diecinueve"), not the count; the count said
# first ("diecinueve de los veintiún…") is found first.
_HEADCOUNT_RE: Final = re.compile(
    rf"(?<!\bde los )(?<!\bde las )\b(?P<n>{_NUM_PHRASE})\s+"
    rf"(?:{_MEMBERS}|de\s+(?:los\s+|las\s+)?(?:{_NUM_PHRASE})\s+{_MEMBERS})"
    rf"|\b(?:contest|respond)\w*(?:\s+(?:a|al)\s+(?:lista|llamado))?\s+(?P<m>{_NUM_PHRASE})\s+de\s+"
    rf"(?:los\s+|las\s+)?(?:{_NUM_PHRASE})\b"
)
# "No se ha conformado el quórum", "no se haya completado el quórum decisorio".
_NOT_FORMED: Final = (
    r"no se (?:ha|haya|habia|hubiera|pudo) (?:conformado|completado|configurado|logrado|conformar|completar)"
)
# Said before a quorum missing, in both rules below.
_QUORUM_MISSING: Final = (
    r"no hay|no existe|no tenemos|no hubo|falta de|no se (?:conforma|configura|completa|registra|tiene)"
    rf"|{_NOT_FORMED}"
)
_NO_QUORUM_RE: Final = re.compile(rf"\b(?:{_QUORUM_MISSING}|sin)\s+(?:el\s+)?quorum\b")
# "Quórum para deliberar y decidir" is the quorum to decide (deciding needs deliberating too).
_QUORUM_DECIDE_RE: Final = re.compile(
    r"\bquorum\s+(?:decisorio|para\s+(?:deliberar\s+y\s+(?:para\s+)?)?decidir"
    r"|(?:deliberatorio|deliberativo)\s+y\s+decisorio)\b"
)
_QUORUM_DELIBERATE_RE: Final = re.compile(r"\bquorum\s+(?:deliberatori\w*|deliberativo|para deliberar)\b")
# The quorum to decide said missing ("hay quórum deliberatorio pero no hay quórum decisorio",
# "continúa sin haber quórum decisorio; hay quórum para deliberar", "no hay quórum para
# decidir"): the members may still deliberate, never decide. The quorum "decisorio" named there
# is the one lacking, and the "no hay quórum" said of it leaves the one to deliberate.
_NO_DECIDING_QUORUM_RE: Final = re.compile(
    rf"\b(?:{_QUORUM_MISSING}|sin(?: haber| que haya)?|no)\s+(?:(?:el|un)\s+)?(?:quorum\s+)?"
    r"(?:decisorio|para\s+decidir)\b"
)
_QUORUM_RE: Final = re.compile(
    r"\b(?:hay|existe|tenemos|se conforma|se configura|se completa|se registra|con|habiendo)\s+(?:el\s+)?"
    r"quorum\b|\bquorum reglamentario\b"
)


_ANSWERED_NEXT_RE: Final = re.compile(r"[\s,;:.]*(?:se\s+encuentra\s+|esta\s+)?presente\b")


def _people_after(regex: re.Pattern[str], t: _Text) -> list[str]:
    names: list[str] = []
    for m in regex.finditer(t.low):
        people, end = _take_people(t, m.end())
        if _ANSWERED_NEXT_RE.match(t.low, end):
            # "Mauricio Vallejo Arango, No Contesta, Julián, David, Posso, Lenis, Presente.": the
            # roll call goes on (speech to text put a comma between every word), the words
            # after the answer are the next member's, who answers "presente"; no list of absentees
            continue
        names += [n for n in people if n not in names]
    return names


# The reason of an excuse: "por…", "debido a…", the document the member filed ("excusado,
# allegó incapacidad médica": the reason is the incapacidad, not a member named after it), or
# where the member is ("excusada, se encuentra en comisión oficial en Bogotá", "está de viaje").
# "excusa por escrito por incapacidad médica": "por escrito" is how it was sent, not the reason.
_REASON_RE: Final = re.compile(
    r"\s*,?\s*(?:por\s+escrito\s*,?\s*)?(?:por|debido a|a causa de|con motivo de)\s+(?!escrito\b)"
    r"|\s*,?\s*(?:allego|allegaron|presento|presentaron|radico|radicaron|aporto|aportaron|envio|enviaron)"
    r"\s+(?:(?:una|la|su)\s+)?(?=(?:incapacidad|licencia|certificado|constancia)\b)"
    r"|\s*,?\s*(?:(?:ya\s+que|pues|porque)\s+)?(?:se\s+encuentra|esta)\s+(?:en\s+|de\s+)?"
    r"(?=(?:comision|viaje|licencia|vacaciones|incapacidad|incapacitad[oa]|calamidad|cita|fuera)\b)"
)
# It ends at a punctuation mark, or at "y" starting what comes next: another member ("y la concejala
# …") or a clause of its own ("por incapacidad médica y aún no se ha hecho presente el concejal X",
# which was written as the reason).
_REASON_END_RE: Final = re.compile(
    r"[,;:.!?()]|\s(?:y|e)\s+(?=(?:el|la|los|las)\s|(?:honorables?|senor\w*|concejal\w*)\b"
    r"|(?:aun|todavia|tampoco|no|se|ha|han|hay)\s)"
)
_FEMININE_CUE_RE: Final = re.compile(r"\b(?:concejala|concejalas)\b")
_MASCULINE_CUE_RE: Final = re.compile(r"\b(?:concejal|concejales)\b")
_FEMININE_PLURAL_RE: Final = re.compile(r"\bconcejalas\b")
_MASCULINE_SINGULAR_RE: Final = re.compile(r"\bconcejal\b")
_AND_CAPITAL_RE: Final = re.compile(r"\s(?:y|e)\s+(?=[A-ZÁÉÍÓÚÑ])")


def _councillor_said(t: _Text, pos: int, all_women: bool) -> tuple[str | None, bool]:
    """The role the words before a listed name at pos say ("la concejala" concejala, "el concejal"
    concejal, "los concejales" neither: it includes women), and whether "las concejalas …" goes on
    to the names after it ("las concejalas Ana Ruiz y Paula Gil": both)."""
    filler = _PERSON_FILLER_RE.match(t.low, pos)
    said = t.low[pos : filler.end()] if filler else ""
    if _FEMININE_PLURAL_RE.search(said):
        return "concejala", True
    if _FEMININE_CUE_RE.search(said):
        return "concejala", all_women
    if _MASCULINE_CUE_RE.search(said):
        return ("concejal" if _MASCULINE_SINGULAR_RE.search(said) else None), False
    return ("concejala" if all_women else None), all_women


def _reason(t: _Text, end: int, limit: int | None = None) -> tuple[str, int] | None:
    """The reason of an excuse said at end (", por incapacidad médica"), and where it ends (by
    limit at the latest); none asked about ("excusada, ¿se encuentra en comisión?")."""
    reason = _REASON_RE.match(t.low, end)
    limit = len(t.raw) if limit is None else limit
    if reason is None or reason.end() > limit or _asked(t, reason.end()):
        return None
    stop = _REASON_END_RE.search(t.low, reason.end(), limit)
    stops = [limit, stop.start() if stop else limit]
    if (person := _person_in_reason(t, reason.end(), min(stops))) is not None:
        stops.append(person)  # " y Luis Mora": the next excused member; "en Bogotá y Medellín": not
    motivo = _slice(t, reason.end(), min(stops))
    return (motivo, min(stops)) if motivo else None


def _excused_before(t: _Text, m: re.Match[str], limit: int) -> list[Any]:
    """Members named right before the excuse: "La concejala Ana Ruiz presentó excusa por
    incapacidad médica", "el concejal Luis Gómez se excusó" (the reason said by limit)."""
    before = _Text(t.raw[: m.start()], t.low[: m.start()])  # "ana ruiz presentó": not a name
    for member in _MEMBER_AT_RE.finditer(before.low, max(0, m.start() - 240)):
        names, end = _take_people(before, member.start())
        if names and not before.low[end:].strip(" ,"):
            reason = _reason(t, m.end(), limit)
            feminine = _FEMININE_CUE_RE.search(member.group(0)) is not None
            extra = {"motivo": reason[0]} if reason else {}
            extra |= {"rol": "concejala"} if feminine else {}
            return [{"nombre": n, **extra} if extra else n for n in names]
    return []


def _excused(t: _Text) -> list[Any]:
    """Members excused, each with the reason when one is said ("la concejala Ana Ruiz, por
    incapacidad médica, y el concejal Luis Mora, por comisión oficial"; "el concejal Luis Gómez
    se excusó por calamidad doméstica"): a name, or ``{"nombre", "motivo"?, "rol"?}`` where
    ``rol`` is "concejala" only when the speech says so (names alone say nothing about who is a
    woman)."""
    found: list[Any] = []
    excuses = list(_EXCUSED_RE.finditer(t.low))
    for m, after in itertools.zip_longest(excuses, excuses[1:]):
        # "las concejalas Ana Ruiz … y Paula Gil": both; "la concejala Ana Ruiz … y Luis Mora": one.
        pos, all_women = m.end(), False
        limit = after.start() if after else len(t.raw)  # a reason ends where the next excuse is said
        named = len(found)
        unreasoned: list[int] = []  # members listed since the last reason said (by place in found)
        while len(found) < 80:
            if _REASON_RE.match(t.low, pos):
                break  # "Yesid Cuero, excusado, allegó incapacidad médica": the answer's reason
            rol, all_women = _councillor_said(t, pos, all_women)
            feminine = rol == "concejala"
            got = _take_person(t, pos)
            if got is None:
                break
            entry: dict[str, str] = {"nombre": got[0]}
            end = got[1]
            if reason := _reason(t, end, limit):
                entry["motivo"], end = reason
                # "los concejales Ana Ruiz y Luis Mora por comisión oficial": the reason said
                # once is each one's
                for i in unreasoned:
                    found[i] = {**_as_entry(found[i]), "motivo": reason[0]}
                unreasoned.clear()
            if feminine:
                entry["rol"] = "concejala"
            if all(_entry_name(e) != got[0] for e in found):
                if "motivo" not in entry:
                    unreasoned.append(len(found))
                found.append(entry if len(entry) > 1 else got[0])
            sep = _LIST_SEP_RE.match(t.low, end)
            if sep is None:
                break
            if ";" in sep.group(0):
                unreasoned.clear()  # "Ana Ruiz; Luis Mora, por viaje": a list of its own each
            pos = sep.end()
        if len(found) == named:
            before = _excused_before(t, m, limit)
            found += [e for e in before if all(_entry_name(f) != _entry_name(e) for f in found)]
    return found


def _as_entry(entry: Any) -> dict[str, str]:
    return dict(entry) if isinstance(entry, dict) else {"nombre": str(entry)}


def _person_in_reason(t: _Text, start: int, stop: int) -> int | None:
    """Where a reason said from start is followed by the next excused person (" y Luis Mora",
    " y Luis, por viaje"), or None: "en Bogotá y Medellín" goes on with the reason."""
    for m in _AND_CAPITAL_RE.finditer(t.raw, start, stop):
        got = _take_person(t, m.end())
        if got is not None and (len(got[0].split()) >= 2 or _REASON_RE.match(t.low, got[1])):
            return m.start()
    return None


def _entry_name(entry: Any) -> str:
    return str(entry["nombre"]) if isinstance(entry, dict) else str(entry)


@dataclass(frozen=True, slots=True)
class _Answer:
    key: str  # presentes, ausentes or excusados
    entry: Any  # the name, or {"nombre", "motivo"?, "rol"?} for an excused member
    start: int  # where the name starts


def _roll_call_items(t: _Text) -> list[_Answer]:
    """Members called by name and their answers: "Ana Ruiz, presente. Luis Mora, no se
    encuentra. La concejala Eva Paz, excusada por incapacidad médica." The name is what comes
    right before the answer, from the clause's start (or the previous answer's end, and its
    reason's, for speech to text without full stops: "ana ruiz presente, luis mora ausente"),
    and must be all of it: "Presidente, hay seis presentes" names nobody. Linear: each answer
    looks back only to the one before it."""
    found: list[_Answer] = []
    lowercase = t.raw == t.raw.lower()
    answers = list(itertools.islice(_ANSWER_RE.finditer(t.low), _MAX_ANSWERS))
    headings = [h.end() for h in itertools.islice(_CALL_HEADING_RE.finditer(t.low), _MAX_ANSWERS)]
    # "Verificación del quórum. henry peláez presente…": the call heard in lowercase after its heading
    lowercase = lowercase or (bool(headings) and t.raw[headings[0] :] == t.raw[headings[0] :].lower())
    previous_end = 0
    for m, after in itertools.zip_longest(answers, answers[1:]):
        end = _trimmed_end(t, previous_end, m.start())
        start = max(previous_end, *(t.raw.rfind(ch, previous_end, end) + 1 for ch in _CLAUSE_MARKS))
        if start == end and start > previous_end and t.raw[start - 1] == "." and _alone(t, m.end()):
            # "Ana Ruiz. Presente. Luis Mora. Presente.": speech to text heard the answer as a
            # sentence of its own; the name is the sentence before it
            end = start - 1
            start = max(previous_end, *(t.raw.rfind(ch, previous_end, end) + 1 for ch in _CLAUSE_MARKS))
        heading = bisect.bisect_right(headings, end) - 1
        if heading >= 0 and headings[heading] > start:
            start = headings[heading]  # "continúo con el llamado a lista patricia solarte presente"
        if sep := _LIST_SEP_RE.match(t.low, start):
            start = sep.end()  # ", y luis mora presente": the name is after the list mark
        previous_end = m.end()
        filler = _PERSON_FILLER_RE.match(t.low, start)
        got = _take_person(t, start)
        key = _answer_key(t, m)
        reason = None
        if key == "excusados":
            reason = _answer_reason(t, m.end(), after.start() if after else None, lowercase)
            previous_end = reason[1] if reason else previous_end  # the next member is named after it
        if got is None or got[1] > end or t.raw[got[1] : end].strip():
            continue  # not a name, or not all of what comes before the answer
        if not (got[0][:1].isupper() or lowercase):
            continue
        entry: Any = got[0]
        if key == "excusados":
            said = t.low[start : filler.end()] if filler else ""
            extra = {"motivo": reason[0]} if reason else {}
            # "la concejala Eva Paz, excusada" / "Eva Paz, se encuentra excusada": a woman, as said
            feminine = _FEMININE_CUE_RE.search(said) or m.group(0).endswith("excusada")
            extra |= {"rol": "concejala"} if feminine else {}
            entry = {"nombre": got[0], **extra} if extra else got[0]
        found.append(_Answer(key, entry, got[1] - len(got[0])))
    return found


def _answer_key(t: _Text, answer: re.Match[str]) -> str:
    """The list a member's answer puts the member in: absent, but excused when an excuse sent is
    said right after ("no se encuentra, presentó excusa por incapacidad médica"), unless asked
    ("no se encuentra, ¿presentó excusa?")."""
    if answer["excusa"] and not _asked(t, answer.start("excusa")):
        return "excusados"
    return next(k for k in _ROLL_CALL_KEYS if answer[k])


_MAX_ANSWERS: Final = 200
# The last word of a reason, to tell it from the next member's name in speech to text without
# punctuation nor capitals ("ana gómez excusada por enfermedad pedro ruiz presente"), and the
# cities a member is away in ("…en comisión oficial en la ciudad de bogotá wilson andrés lozano
# perea presente"): only those that are no one's name ("Marta", "Pereira" may be a member's).
_REASON_LAST_TEXT: Final = """
    medica medico medicas medicos enfermedad salud domestica familiar familiares personal
    personales oficial oficiales viaje licencia incapacidad calamidad duelo luto vacaciones
    mayor exterior pais ciudad trabajo laboral laborales compromiso compromisos cita maternidad
    paternidad academica academicas academico academicos quirurgica quirurgico cirugia
    hospitalizacion urgencia emergencia extranjero capital
    bogota medellin barranquilla cartagena bucaramanga manizales popayan ibague villavicencio
    cucuta quibdo buenaventura tulua jamundi yumbo monteria tunja neiva
    """
_REASON_LAST_WORDS: Final = frozenset(_REASON_LAST_TEXT.split())
_WORD_RE: Final = re.compile(r"[^\W\d_][\w'’\-]*")


def _answer_reason(t: _Text, end: int, next_answer: int | None, lowercase: bool) -> tuple[str, int] | None:
    """The reason said after an answer at end ("excusada por incapacidad médica"), and where it
    ends: before the next member called, whose answer starts at next_answer. Said without
    punctuation, the reason ends at the first capitalised word (not after an article or a
    preposition) that names all the rest up to the next answer, or, all in lower case, after
    the last word that ends a reason (_REASON_LAST_WORDS). Else it would run on to the next
    answer, through the next member's name ("por compromisos de bancada pedro ruiz"): none is
    said (the next member is lost either way)."""
    if next_answer is None:
        return _reason(t, end)
    stop = _trimmed_end(t, end, next_answer)
    said, reason = _REASON_RE.match(t.low, end), _reason(t, end, stop)
    if said is None or reason is None or reason[1] < stop:
        return reason  # ended by punctuation, or by " y la concejala…", before the next name
    words = list(_WORD_RE.finditer(t.low, said.end(), stop))[-_MAX_NAME_WORDS - 1 :]
    if lowercase:
        splits = [b.start() for a, b in itertools.pairwise(words) if a.group(0) in _REASON_LAST_WORDS][::-1]
    else:  # "por cita en el Hospital Valle Eva Paz": not after "el"
        splits = [
            b.start()
            for a, b in itertools.pairwise(words)
            if t.raw[b.start()].isupper() and a.group(0) not in _NAME_STOPWORDS | _NAME_PARTICLES
        ]
    for split in splits:
        got = _take_person(t, split)
        if got is not None and got[1] == stop and (motivo := _slice(t, said.end(), split)):
            return motivo, split
    return None


def _alone(t: _Text, end: int) -> bool:
    """Whether the words ending at end end their clause ("Presente." / "presente, Luis…")."""
    rest = t.raw[end:].lstrip()
    return not rest or rest[0] in ".,;"


def _trimmed_end(t: _Text, start: int, end: int) -> int:
    """end, before the spaces and marks that precede it (not before start): where the words
    said before an answer end."""
    while end > start and t.raw[end - 1] in " ,:-–":
        end -= 1
    return end


_MEMBER_RE: Final = r"(?:(?:el|la|los|las)\s+)?(?:(?:honorables?|senor|senora)\s+)?concejal(?:a|es|as)?\s+"
_PRESENT_VERB: Final = r"se\s+(?:hizo|hace|ha\s+hecho|hicieron|hacen|han\s+hecho)\s+presentes?"
_ARRIVE_VERB: Final = (
    r"se\s+(?:incorporo|incorpora|ha\s+incorporado|incorporaron|han\s+incorporado)"
    # back after leaving: "se reintegra a la sesión", "se reincorporó al recinto"
    r"|se\s+(?:re(?:integr|incorpor)(?:a|o|an|aron)|ha(?:n)?\s+re(?:integr|incorpor)ado)"
    r"|llego|llegaron|ha\s+llegado|han\s+llegado|ingreso|ingresaron|ha\s+ingresado|han\s+ingresado"
    # virtual sessions: "se conectó", "acaba de conectarse"; "no se ha conectado" is absent
    r"|(?<!no )se\s+(?:conecto|conectaron|ha\s+conectado|han\s+conectado)"
    r"|acaban?\s+de\s+(?:conectarse|llegar|ingresar|incorporarse|unirse)"
)
_ROOM: Final = (
    r"(?:al|a\s+la|en\s+el|en\s+la)\s+(?:recinto|sesion|plenaria|salon|hemiciclo|sala)\b"
    r"(?!\s+(?:anterior|pasada|de\s+ayer))"  # "volvió a la sesión anterior": another session
)
# Arriving or coming back, said with the room only ("llega al recinto", "regresa a la sesión"):
# bare, "llega tarde", "regresa de Bogotá", "vuelve al tema" are not attendance.
_TO_ROOM_VERB: Final = (
    r"llega|llegan|ingresa|ingresan|regresa|regreso|regresan|regresaron|ha\s+regresado|han\s+regresado"
    r"|vuelve|volvio|vuelven|volvieron|ha\s+vuelto|han\s+vuelto|retorna|retorno|retornan|retornaron"
)
_ARRIVED_RE: Final = re.compile(
    rf"\s*(?:,[^,.;]{{1,60}},)?\s*(?:ya\s+)?(?:(?P<present>{_PRESENT_VERB})|(?P<verb>{_ARRIVE_VERB})"
    rf"|(?P<to_room>(?:{_TO_ROOM_VERB})\s+{_ROOM}))\b"
)
# After "llegó", "ingresó", "se incorporó": what makes it an arrival to the session ("llegó al
# recinto", "ya llegó.", "llegó tarde", "se incorporó a las 9:40") and not "llegó a la
# conclusión", "ingresó una proposición", "se incorporó a la comisión accidental".
_ARRIVED_WHERE_RE: Final = re.compile(
    rf"\s*(?:{_ROOM}|tarde\b|(?:[.,;:!?)]|$)|a\s+las?\s+(?:[0-9]{{1,2}}|{_HOUR_ALT})\b"
    rf"(?:\s*[:.h]\s*[0-5][0-9]|\s+(?:y|con|menos)\s|\s+en punto|\s+de la|\s*[ap]\.?\s?m\b|\s+horas))"
)
_ARRIVAL_NOUN: Final = r"(?:llegada|incorporacion|reincorporacion|ingreso|regreso)"
_ARRIVAL_BEFORE_RE: Final = re.compile(
    rf"\b(?:(?P<present>{_PRESENT_VERB})(?:\s+{_ROOM})?|(?:{_ARRIVE_VERB})\s+{_ROOM}"
    rf"|(?P<to_room>{_TO_ROOM_VERB})\s+{_ROOM}|(?P<came>{_ARRIVE_VERB})"
    rf"|(?P<with>con\s+(?:la|el)\s+{_ARRIVAL_NOUN}\s+(?:de|del))"
    rf"|(?P<noun>(?:{_ARRIVAL_NOUN}|presencia)(?:\s+{_ROOM})?\s+(?:de|del)))\s+$"
)
# "Con la llegada del concejal X se completa el quórum": the quorum made now by who arrived
# ("se completaría", "para completar el quórum" are not yet).
_QUORUM_NOW_RE: Final = re.compile(
    r"\s*(?:,[^,.;]{1,60},)?\s*,?\s*(?:ya\s+)?(?:se\s+(?:completa|conforma|configura|integra|establece)"
    r"|hay|tenemos|contamos\s+con|existe)\s+(?:el\s+)?quorum\b"
)
# A presence put on record: with it, "llegó", "la llegada de…" need no more ("se deja constancia
# de que el concejal Luis Mora llegó a las diez", "registramos la llegada del concejal…").
_ON_RECORD_RE: Final = re.compile(r"\bconstancia\b|\bque conste\b|\bregistr(?:a|amos|o|e)\b")
_MEMBER_AT_RE: Final = re.compile(rf"\b{_MEMBER_RE}")


def _sentence_starts(t: _Text) -> list[int]:
    """Where each sentence of the text starts (a. m. does not end one), found once."""
    return [0, *(m.end() for m in _SENTENCE_END_RE.finditer(t.raw))]


def _said_arriving(t: _Text, start: int, end: int, on_record: bool) -> bool:
    """Do the members named between start and end arrive to the session, as said around them?
    Not when the verb before them is denied ("no llega al recinto la concejala X todavía")."""
    before = _ARRIVAL_BEFORE_RE.search(t.low, max(0, start - 80), start)
    if before is not None and _denied(t, before.start()):
        return False
    if before is not None and before["to_room"] and not on_record:
        return not _another_time(t, before.start(), start, end)
    if before is not None and before["with"]:
        # "Con la llegada del concejal X se completa el quórum." ("con la presencia de los
        # concejales … hay quórum" is who is there, said by the roll call)
        return on_record or _QUORUM_NOW_RE.match(t.low, end) is not None
    if before is not None and (on_record or not (before["noun"] or before["came"])):
        return True
    if before is not None and before["came"] and _ARRIVED_WHERE_RE.match(t.low, end):
        return True  # "Ya llegó la concejala Eva Paz.", "se conectó la concejala Eva Paz a las 3:10"
    arrived = _ARRIVED_RE.match(t.low, end)
    if arrived is None:
        return False
    if arrived["to_room"] and not on_record:
        return not _another_time(t, start, start, arrived.end())
    return bool(arrived["present"] or on_record or _ARRIVED_WHERE_RE.match(t.low, arrived.end()))


# What may be, or is usual, not done now: "cuando el concejal X regresa al recinto…".
_HYPOTHESIS_RE: Final = re.compile(
    r"\b(?:cuando|si|cada\s+vez\s+que|apenas|en\s+cuanto|hasta\s+que|antes\s+de\s+que|para\s+que)\s+$"
)


def _another_time(t: _Text, said_at: int, start: int, end: int) -> bool:
    """A move of the members named between start and end (said from said_at) told of another
    time: a past time around it ("regresó al recinto el concejal X el año pasado"), or what may
    be or is usual ("cuando llega al recinto el concejal X…")."""
    if _HYPOTHESIS_RE.search(t.low, max(0, said_at - 40), said_at):
        return True
    return _PAST_TIME_RE.search(t.low, max(0, start - 80), min(len(t.low), end + 120)) is not None


# Leaving the session: "se retira del recinto", "se retiró de la sesión", "se desconecta",
# "abandonó el recinto"; "se retira la proposición", "se retira del partido" are not.
_LEAVE_VERB: Final = (
    r"se\s+(?:retira|retiro|ha\s+retirado|retiran|retiraron|han\s+retirado|desconecta|desconecto"
    r"|ha\s+desconectado|desconectan|desconectaron|han\s+desconectado)"
    r"|abandona|abandono|ha\s+abandonado|abandonan|abandonaron|sale|salio|ha\s+salido|salen|salieron"
)
_FROM_ROOM: Final = (
    r"(?:de\s+la|del|el|la|de)\s+(?:recinto|sesion|plenaria|salon|hemiciclo|sala|reunion|audiencia"
    r"|plataforma|conexion)\b"
)
_LEFT_RE: Final = re.compile(
    rf"\s*(?:,[^,.;]{{1,60}},)?\s*(?:(?P<off>se\s+(?:desconect\w*|ha\s+desconectado|han\s+desconectado))"
    rf"|(?P<verb>{_LEAVE_VERB}))\b"
)
# After "se retira", "salió": what makes it leaving the session ("se retira del recinto", "se
# retira siendo las…", "se retiró con permiso de la presidencia", "se retira.").
_LEFT_WHERE_RE: Final = re.compile(
    rf"\s*,?\s*(?:{_FROM_ROOM}|siendo\s+las?\b|a\s+las?\s+(?:[0-9]{{1,2}}|{_HOUR_ALT})\b"
    r"|con\s+(?:el\s+)?(?:permiso|autorizacion|excusa)\b)"
)
_LEFT_SENTENCE_END_RE: Final = re.compile(r"\s*(?:[.;!?)]|$)")
"""A departure said alone ("se retira.", "se desconecta;"): only "se retira" / "se desconecta"."""
_PAST_TIME_RE: Final = re.compile(
    r"\b(?:el\s+ano\s+pasado|la\s+semana\s+pasada|el\s+mes\s+pasado|ayer|anteayer|hace\s+(?:un|una|unos"
    r"|unas|dos|tres|varios|varias|mucho)\b|anteriormente|en\s+aquella\s+ocasion)"
)
_LEAVE_ALONE_VERB: Final = (
    r"se\s+(?:retira|retiro|retiran|retiraron|ha\s+retirado|han\s+retirado"
    r"|desconecta|desconecto|desconectan|desconectaron|ha\s+desconectado|han\s+desconectado)"
)
_DEPARTURE_BEFORE_RE: Final = re.compile(
    rf"\b(?:(?:{_LEAVE_VERB})\s+{_FROM_ROOM}[^.;:,]{{0,40}}?"
    rf"|(?P<noun>(?:salida|retiro|desconexion)\s+(?:de|del))|(?P<alone>{_LEAVE_ALONE_VERB}))\s+$"
)
# A period said with the time: without one, "a las tres y cincuenta" in a session is p. m.
_PERIOD_SAID_RE: Final = re.compile(
    r"\b(?:manana|madrugada|tarde|noche|mediodia|medio dia|horas|hrs|[ap]\.?\s?m)\b"
)
_AFTERNOON_HOURS: Final = range(1, 7)


def _said_leaving(t: _Text, start: int, end: int, on_record: bool) -> bool:
    """Do the members named between start and end leave the session, as said around them?
    Not when the verb before them is denied ("No se retira el concejal X.")."""
    before = _DEPARTURE_BEFORE_RE.search(t.low, max(0, start - 120), start)
    if before is not None and _denied(t, before.start()):
        return False
    if before is not None and before["alone"]:
        # "Se retiró el concejal X." / "… del recinto", "… siendo las…"; not "se retira el
        # concejal X de la bancada", nor a story ("el año pasado se retiró el concejal X.")
        said = _LEFT_WHERE_RE.match(t.low, end) or _LEFT_SENTENCE_END_RE.match(t.low, end)
        return bool(said) and (on_record or not _another_time(t, before.start(), start, end))
    if before is not None and (on_record or not before["noun"]):
        return True
    left = _LEFT_RE.match(t.low, end)
    if left is None:
        return False
    if on_record:
        return True
    if _PAST_TIME_RE.search(t.low, max(0, start - 80), min(len(t.low), left.end() + 120)):
        return False  # "cuando el concejal X se retiró de la plenaria el año pasado": a story
    if _LEFT_WHERE_RE.match(t.low, left.end()):
        return True
    said_alone = left["off"] or left.group(0).lstrip(" ,").startswith(("se retir", "se desconect"))
    return bool(said_alone and _LEFT_SENTENCE_END_RE.match(t.low, left.end()))


def _session_time(low: str) -> str | None:
    """A time said during the session: "a las tres y cincuenta" with no period is 15:50 (a
    council does not sit at 3 a. m.); said with one ("de la mañana", "a. m.") it is as said."""
    hora = _find_time(low)
    if hora is None or int(hora[:2]) not in _AFTERNOON_HOURS or _PERIOD_SAID_RE.search(low):
        return hora
    return f"{int(hora[:2]) + 12:02d}{hora[2:]}"


def _members_said(t: _Text, said: Callable[[_Text, int, int, bool], bool]) -> list[dict[str, str]]:
    """Members named as concejal/concejala for whom `said` holds, with the time of the sentence
    when one is said; none named in a question ("¿Se retiró el concejal X?", "¿Ya llega al
    recinto…?") unless it puts a presence on record. Linear in the text (it runs on the event
    loop): the sentences and the questions are found once, and a time is looked for once per
    sentence."""
    found: list[dict[str, str]] = []
    lowercase = t.raw == t.raw.lower()  # speech to text without capitals: names are not marked
    starts = _sentence_starts(t)
    records = [m.start() for m in _ON_RECORD_RE.finditer(t.low)]
    times: dict[int, str | None] = {}
    listed_to = -1
    for member in _MEMBER_AT_RE.finditer(t.low):
        start = member.start()
        if start < listed_to:
            continue  # named in the list taken before ("los concejales X y la concejala Y")
        names, end = _take_people(t, start)
        listed_to = end
        names = [n for n in names if n[:1].isupper() or lowercase]
        sentence = bisect.bisect_right(starts, start) - 1
        record = bisect.bisect_left(records, starts[sentence])
        on_record = record < len(records) and records[record] < start
        if not names or (not on_record and _asked(t, start)) or not said(t, start, end, on_record):
            continue
        if sentence not in times:
            stop = starts[sentence + 1] if sentence + 1 < len(starts) else len(t.raw)
            times[sentence] = _session_time(t.low[starts[sentence] : stop])
        hora = times[sentence]
        for name in names:
            if all(a["nombre"] != name for a in found):
                found.append({"nombre": name, **({"hora": hora} if hora else {})})
    return found


def _arrivals(t: _Text) -> list[dict[str, str]]:
    """Members who arrived after the roll call, with the time when said: "se deja constancia de
    que el concejal Harold Cuero se hizo presente a las nueve y cuarenta", "se hizo presente en
    el recinto la concejala Ana Ruiz", "la llegada del concejal Luis Mora", "el concejal Luis
    Mora acaba de conectarse a la sesión". Only members named as concejal/concejala (an
    official or a guest arriving is not attendance), and only in a presence context: "llegó a
    la conclusión", "ingresó una proposición", "agradezco la presencia del concejal…" are
    speech."""
    return _members_said(t, _said_arriving)


def _departures(t: _Text) -> list[dict[str, str]]:
    """Members who left the session, with the time when said: "se deja constancia de que el
    concejal Jhon Montaño se retira del recinto siendo las nueve y cuarenta", "la concejala
    Teresa Arango se desconecta de la sesión a las tres y cincuenta", "se retiró de la sesión
    el concejal Luis Mora", or let go by the chair (:func:`_granted_departures`). Only members
    named as concejal/concejala, and only leaving the session: "el concejal Luis Mora se retira
    del partido", "retira la proposición" are not."""
    said = _members_said(t, _said_leaving)
    return said + [d for d in _granted_departures(t) if all(s["nombre"] != d["nombre"] for s in said)]


# The chair granting members leave: "se le concede el permiso a la concejala X", "concedido el
# permiso al concejal X", "la presidencia le otorga permiso para retirarse a…".
_LEAVE_GRANTED_RE: Final = re.compile(
    r"\b(?:(?:se\s+)?(?:le|les)\s+)?(?:concede|concedo|concedemos|otorga|otorgo|ha\s+concedido"
    r"|ha\s+otorgado)\s+(?:el\s+)?permiso|\b(?:concedido|otorgado)\s+(?:el\s+)?permiso"
    r"|\bpermiso\s+(?:concedido|otorgado)"
)
_LEAVE_TO_RE: Final = re.compile(
    r"(?:\s+solicitado)?(?:\s+para\s+retirarse(?:\s+de\s+la\s+(?:sesion|plenaria))?)?\s*,?\s+(?:a|al)\s+"
)
# Their leaving put on record right after, "su" the member just let go: "deje constancia de su
# retiro", "que conste su retiro", "se deja constancia de su salida".
_OWN_DEPARTURE_RECORDED_RE: Final = re.compile(
    r"\b(?:(?:deje|dejar|dejo|dejamos|deja|quede|queda)\s+(?:en\s+el\s+acta\s+)?constancia"
    r"|conste)\s+(?:en\s+el\s+acta\s+)?(?:de\s+)?su\s+(?:retiro|salida)\b"
)


def _granted_departures(t: _Text) -> list[dict[str, str]]:
    """Members the chair lets go, their leaving put on record in the same sentence or the next:
    "Se le concede el permiso a la concejala Palacios. Señora secretaria, deje constancia de su
    retiro a las once y diez de la mañana." (the time: the record's sentence's, else the
    grant's). Leave asked for ("solicita permiso para retirarse") is no departure, nor leave
    denied, asked about, supposed or reported, nor leave granted with no retiro recorded (what
    it was for is not said), nor a retiro recorded after another member is named ("su" may be
    that one's). Linear: the sentences, the records, the members named and each sentence's time
    are found once."""
    if "permiso" not in t.low:
        return []
    records = list(itertools.islice(_OWN_DEPARTURE_RECORDED_RE.finditer(t.low), _MAX_TRIGGERS))
    if not records:
        return []
    starts = _sentence_starts(t)
    record_starts = [r.start() for r in records]
    members = [m.start() for m in _MEMBER_AT_RE.finditer(t.low)]
    lowercase = t.raw == t.raw.lower()
    times: dict[int, str | None] = {}  # each sentence's time, looked for once
    found: list[dict[str, str]] = []
    for grant in itertools.islice(_LEAVE_GRANTED_RE.finditer(t.low), _MAX_TRIGGERS):
        to = _LEAVE_TO_RE.match(t.low, grant.end())
        member = _MEMBER_AT_RE.match(t.low, to.end()) if to else None
        sentence = bisect.bisect_right(starts, grant.start()) - 1
        if member is None or _not_declared(t, grant.start(), starts[sentence]):
            continue
        at = bisect.bisect_left(record_starts, member.end())
        if at == len(records):
            continue
        record = records[at]
        # the names end before the record: "Palacios, deje constancia…" ("deje constancia" is no one)
        before = _Text(t.raw[: record.start()], t.low[: record.start()])
        names, end = _take_people(before, member.start())
        if lowercase and t.low[end : record.start()].strip() and not _NAME_END_RE.match(t.low, end):
            continue  # "a la concejala palacios muy amable deje constancia…": where the name ends
        said_in = bisect.bisect_right(starts, record.start()) - 1
        if (
            not names
            or said_in > sentence + 1
            or bisect.bisect_left(members, end) < bisect.bisect_left(members, record.start())
            or _not_declared(t, record.start(), starts[said_in])
        ):
            continue
        for i in (said_in, sentence):
            if i not in times:
                times[i] = _session_time(_sentence_of(t, starts, i))
        hora = times[said_in] or times[sentence]  # the record's, else the grant's
        for name in names:
            if (name[:1].isupper() or lowercase) and all(f["nombre"] != name for f in found):
                found.append({"nombre": name, **({"hora": hora} if hora else {})})
    return found


def _sentence_of(t: _Text, starts: list[int], index: int) -> str:
    """The folded words of the sentence ``index`` of ``starts`` (:func:`_sentence_starts`)."""
    return t.low[starts[index] : starts[index + 1] if index + 1 < len(starts) else len(t.low)]


_IMPEDIMENT_RE: Final = re.compile(r"\bimpedid[oa]s?\b|\bimpedimentos?\b")


def _session_departures(t: _Text, departures: list[dict[str, str]]) -> list[dict[str, str]]:
    """The departures that leave the session: a member whose impediment the utterance speaks of
    ("el impedimento del concejal Mauricio Tenorio ha sido aceptado… El concejal Tenorio se
    retira del recinto") withdraws from that item's discussion and vote, not from the session;
    the acta says so where it was said, and the attendance keeps the member present. A member
    is the impediment's when a sentence that speaks of one names the same person as concejal or
    concejala (:func:`_same_words`: "Tenorio" and "Mauricio Tenorio Rojas"; not "Luis Mora" and
    "Pedro Mora"): the impediment's own sentence, or the departure said in one ("Aceptado el
    impedimento, se retira del recinto el concejal Luis Mora.")."""
    if not departures or _IMPEDIMENT_RE.search(t.low) is None:
        return departures
    starts = _sentence_starts(t)
    by_word: dict[str, set[tuple[str, ...]]] = {}  # the names said with one, by each word
    read: set[int] = set()  # each sentence once: linear in the text
    for m in itertools.islice(_IMPEDIMENT_RE.finditer(t.low), _MAX_TRIGGERS):
        at = bisect.bisect_right(starts, m.start())
        if at not in read:
            read.add(at)
            end = starts[at] if at < len(starts) else len(t.low)
            for member in itertools.islice(_MEMBER_AT_RE.finditer(t.low, starts[at - 1], end), _MAX_TRIGGERS):
                for name in _take_people(t, member.start())[0]:
                    words = tuple(_fold(name).split())
                    for word in words:
                        by_word.setdefault(word, set()).add(words)

    def impeded(departure: dict[str, str]) -> bool:
        words = _fold(departure["nombre"]).split()
        sharing = set().union(*(by_word.get(word, ()) for word in words))  # only these can be the same
        return any(_same_words(words, other) for other in sharing)

    return [d for d in departures if not impeded(d)]


def _same_words(a: Sequence[str], b: Sequence[str]) -> bool:
    """Whether two names said, as their folded words, are one person ("Tenorio" and "Mauricio
    Tenorio Rojas"): every word of the shorter is in the longer (the builder's rule,
    docx_builder._same_person)."""
    shorter, longer = sorted((a, b), key=len)
    return bool(shorter) and all(w in longer for w in shorter)


_ROLL_CALL_KEYS: Final = ("presentes", "ausentes", "excusados")


def _llamado_data(t: _Text) -> dict[str, Any]:
    """The roll call: who is present, absent or excused, the quorum and the count said.

    Members answering by name ("Ana Ruiz, presente. Luis Mora, no se encuentra.") come first;
    then the lists said ("se encuentran conectados los concejales…", "no se han conectado…",
    "la concejala Eva Paz envió excusa por…"), each member once: a member said absent and
    excused is excused."""
    lists: dict[str, list[Any]] = {key: [] for key in _ROLL_CALL_KEYS}
    for answer in _roll_call_items(t):
        lists[answer.key].append(answer.entry)
    excused = _excused(t)
    excused_names = {_entry_name(e) for e in excused}
    lists["ausentes"] = [e for e in lists["ausentes"] if _entry_name(e) not in excused_names]
    lists_said = [
        ("excusados", excused),
        ("presentes", _people_after(_PRESENT_RE, t)),
        ("ausentes", _people_after(_ABSENT_RE, t)),
    ]
    for key, entries in lists_said:
        named = {_entry_name(e) for v in lists.values() for e in v}
        lists[key] += [e for e in entries if _entry_name(e) not in named]
    data: dict[str, Any] = {key: entries for key, entries in lists.items() if entries}
    if _NO_DECIDING_QUORUM_RE.search(t.low):
        data["quorum"] = "deliberativo" if _QUORUM_DELIBERATE_RE.search(t.low) else "no hay quórum decisorio"
    elif _NO_QUORUM_RE.search(t.low):
        data["quorum"] = "no hay quórum"
    elif _QUORUM_DECIDE_RE.search(t.low):
        data["quorum"] = "decisorio"
    elif _QUORUM_DELIBERATE_RE.search(t.low):
        data["quorum"] = "deliberativo"
    elif _QUORUM_RE.search(t.low):
        data["quorum"] = "hay quórum"
    headcount = _HEADCOUNT_RE.search(t.low)
    said = _parse_number(headcount["n"] or headcount["m"]) if headcount else None
    if said is not None and said <= 10_000:
        data["total_presentes"] = said
    elif "presentes" in data:
        data["total_presentes"] = len(data["presentes"])
    return data


_ACTA_NUMBERS_RE: Final = re.compile(r"\bactas?\s+(?:(?:numeros?|nos?\.?|n[°o]s?\.?|#)\s*)?")


def _actas_data(t: _Text) -> dict[str, Any]:
    numbers: list[int] = []
    for m in _ACTA_NUMBERS_RE.finditer(t.low):
        numbers += [n for n in _number_list(t.low, m.end()) if n not in numbers]
    return {"actas": numbers, **_spoken(t)}


_ABBREVIATED_BEFORE: Final = "".join(
    rf"(?<!\b{word})"
    for word in ("[Dd]r", "[Dd]ra", "[Ss]r", "[Ss]ra", "[Ii]ng", "[Ll]ic", "[Aa]rq", "[A-ZÁÉÍÓÚÑ]")
)
_ANNOUNCEMENT_END_RE: Final = re.compile(rf"(?:{_ABBREVIATED_BEFORE}\.|[!?;:])\s")
"""The end of a sentence: not the period of a title abbreviated before a name ("Dr.", "Sra.",
"Ing.") nor of an initial ("Jorge L. Paz"), as Whisper writes them: recorded live, "Tiene la
palabra el señor personero distrital, Dr. Jorge L. Castaño Rivas." made the name his words."""


def _sentence_start(t: _Text, pos: int) -> int:
    """Where the sentence holding pos starts."""
    ends = [m.end() for m in _ANNOUNCEMENT_END_RE.finditer(t.raw, 0, pos)]
    return ends[-1] if ends else 0


# The time the speaker is given, said after the grant: the chair's words too ("Tiene la palabra
# la señora Ana Ruiz. Tiene cinco minutos.").
_TIME_GIVEN_RE: Final = re.compile(
    r"\s*(?:usted\s+)?(?:tiene|tendra|dispone\s+de|cuenta\s+con)\s+(?:hasta\s+)?"
    r"(?:[0-9]{1,2}|[^\W\d_]+(?:\s+y\s+[^\W\d_]+)?)\s+minutos\W*$"
)


# The one called to speak is said not to be there: "No se encuentra el señor Yacumal.", "El
# señor Yacumal no se encuentra.", "No está presente.".
_ABSENT: Final = (
    r"no\s+(?:se\s+encuentra|esta\s+presente|se\s+hizo\s+presente|se\s+presento|ha\s+llegado|llego)"
)
_CALLED: Final = r"(?:el|la)\s+(?:senor|senora|joven|ciudadan[oa]|inscrit[oa])\b"
_NOT_PRESENT_RE: Final = re.compile(
    rf"(?:^|(?<=[.!?;:¡¿])\s*){_ABSENT}(?:\s+(?:en\s+el\s+recinto|en\s+la\s+sala|aqui))?"
    rf"(?:\s*(?:[,.;!?]|$)|\s+{_CALLED}(?P<who>))"
    rf"|\b{_CALLED}(?P<whom>)\s+(?:[^\W\d_]+\s+){{0,4}}?{_ABSENT}\b"
)
_MAX_ABSENCE_WORDS: Final = 50
"""The chair's words on one called who is not there are brief: a speech saying someone is not
there ("No se encuentra el señor Pérez, y eso demuestra…") is a speaker's."""


def _said_not_present(t: _Text) -> bool:
    """Whether the utterance says the one called to speak is not there (see _NOT_PRESENT_RE):
    briefly, and not of an office ("No se encuentra el señor secretario de Hacienda": a
    councillor's complaint, not the chair's words after a call)."""
    if len(t.low.split()) > _MAX_ABSENCE_WORDS:
        return False
    for count, m in enumerate(_NOT_PRESENT_RE.finditer(t.low)):
        if count >= _MAX_TRIGGERS:
            break
        who = max(m.end("who"), m.end("whom"))  # -1 when not said: "No está presente."
        if who < 0 or _ROLE_RE.match(t.low, who) is None:
            return True
    return False


def _grant_of_the_floor(t: _Text) -> dict[str, Any]:
    """texto and anuncio / anuncio_texto of an utterance whose sentence gives the floor, or {}.

    A sentence announcing who speaks ("[Siguiente punto.] Tiene la palabra el concejal Pedro
    Gómez.") holds the chair's or the secretary's words, not the speaker's. The speaker's own
    are what follows that sentence (texto), and the words up to it are kept apart (anuncio_texto:
    the acta writes them as said, before the speaker's line, so no word is lost); with nothing
    after it the utterance is an announcement (anuncio), which the acta writes as said rather
    than under the speaker's name.
    """
    trigger = _floor_grant(t)
    if trigger is None and (call := _citizen_call(t)) is not None:
        trigger = call[0]  # "Primera inscrita, la señora…": the secretary gives her the floor
    if trigger is None:
        return {}  # "…como dijo el concejal que tiene la palabra…": not a grant
    stop = _ANNOUNCEMENT_END_RE.search(t.raw, trigger.end())
    rest = t.raw[stop.end() :].strip() if stop else ""
    if (
        len(rest.split()) >= 2
        and stop is not None
        and not _TIME_GIVEN_RE.match(t.low, stop.end())
        and not _office_alone(rest)
    ):
        return {"texto": rest, "anuncio_texto": t.raw[: stop.end()].strip()}
    return {"texto": t.raw, "anuncio": True}


_OFFICE_WORDS_RE: Final = re.compile(r"[^\W\d_][\w'’\-]*|,")
_MAX_OFFICE_WORDS: Final = 10


def _office_alone(said: str) -> bool:
    """Whether the words after a grant's sentence are only an office, the grant's words still
    (:func:`_grant_of_the_floor`): an office's word, then capitalised words and particles, up
    to the utterance's end. Whisper ends a sentence where the chair pauses: recorded live,
    "Tiene la palabra la doctora Claudia Patricia Restrepo Lozano. Secretaria de Salud Pública
    Distrital." wrote the office as her words and her speech under no name. A sentence said to
    the official ("Secretario de Movilidad, usted no ha cumplido.") is the speaker's."""
    words = _OFFICE_WORDS_RE.findall(said.rstrip(".").strip())
    if not 2 <= len(words) <= _MAX_OFFICE_WORDS or "?" in said or words[1] == ",":
        return False
    office = _ROLE_RE.fullmatch(_fold(words[0]))
    return office is not None and all(
        w == "," or w[0].isupper() or _fold(w) in _NAME_PARTICLES | {"y", "el"} for w in words[1:]
    )


# The chair's oath question naming who swears, ending the utterance: "¿Jura usted, doctor Carlos
# Rengifo, por Dios y por la patria, cumplir…?"; the answer ("Sí, juro.") is his.
_OATH_ASKED_RE: Final = re.compile(r"¿\s*jura\s+usted\s*(?:,\s*)?")
_OATH_VOCATIVE_RE: Final = re.compile(r"(?:doctor|doctora|senor|senora|ingeniero|ingeniera)\s+")


def _sworn_asked(t: _Text) -> str | None:
    """Who the oath question that ends the utterance names (see _OATH_ASKED_RE), or None: a
    name capitalised, of two words or more, ending its clause, or addressed by title at the
    utterance's start and followed by a comma (_OATH_VOCATIVE_RE); the answer is then his, as
    the words after a grant of the floor are the speaker's."""
    questions = list(_OATH_ASKED_RE.finditer(t.low))
    if not questions or not t.raw.rstrip().endswith("?"):
        return None
    asked = questions[-1]  # the last question, the one the utterance ends with
    if "?" in t.raw[asked.end() :].rstrip()[:-1]:
        return None
    got = _take_person(t, asked.end()) if "," in asked.group() else None
    if got and got[0][:1].isupper() and len(got[0].split()) >= 2 and _NAME_END_RE.match(t.low, got[1]):
        return got[0]
    # "Doctor Andrés Felipe Rengifo Salazar, por favor levante su mano derecha. ¿Jura usted por
    # Dios…?" (recorded live): the one asked, addressed at the start of the utterance
    got = _take_person(t, 0) if _OATH_VOCATIVE_RE.match(t.low) else None
    if got is None or not got[0][:1].isupper() or len(got[0].split()) < 2:
        return None
    return got[0] if t.low.startswith(",", got[1]) else None


# The chair giving the floor back to a member named, the whole utterance: "Continúe, concejal
# Pérez.", "Puede continuar, honorable concejala Ana Ruiz, por favor."
_FLOOR_BACK_RE: Final = re.compile(
    r"[\s¡]*(?:(?:gracias|bien|muy\s+bien)\s*[,.]\s*)?(?:continue|puede\s+continuar|siga|prosiga)\s*,?\s*"
)
_FLOOR_BACK_END_RE: Final = re.compile(r"\s*(?:,\s*por\s+favor)?\s*[.!]?\s*$")


def _floor_back(t: _Text) -> dict[str, Any]:
    """The member the chair gives the floor back to (see _FLOOR_BACK_RE), as a grant names the
    speaker, or {}: a councillor named, and nothing else said after."""
    back = _FLOOR_BACK_RE.match(t.low)
    if back is None or not _COUNCILLOR_TITLE_RE.match(t.low, back.end()):
        return {}
    said = _speaker_at(t, back.end())
    person = _take_person(t, back.end())
    if "orador" not in said or person is None or not _FLOOR_BACK_END_RE.match(t.low, person[1]):
        return {}
    return {k: v for k, v in said.items() if k in ("orador", "rol")} | {"anuncio": True}


# A member said to have asked for the floor, before the chair grants it by role alone: "la concejala
# luz dary hurtado mina me ha pedido la palabra tiene la palabra concejala". The grant names her.
_FLOOR_ASKED_RE: Final = re.compile(
    r"\s*,?\s*(?:(?:me|nos|le)\s+)?(?:ha\s+|han\s+)?(?:pedido|solicitado|pide|pidio|solicita|solicito)"
    r"\s+(?:el\s+uso\s+de\s+)?la\s+palabra\b"
)
_GRANT_BY_ROLE_RE: Final = re.compile(
    r"\W*(?:(?:tiene|tendra)\s+(?:usted\s+)?la\s+palabra|(?:le\s+)?(?:concedo|doy|cedo)\s+la\s+palabra)"
    r"(?:\s*,?\s*(?:honorable\s+)?(?:concejala?|doctora?))?\W*$"
)


def _floor_asked(t: _Text) -> dict[str, Any]:
    """The councillor said to have asked for the floor (see _FLOOR_ASKED_RE), when the chair then
    grants it naming no one else and the utterance ends: as a grant names the speaker; else {}."""
    for m in _COUNCILLOR_TITLE_RE.finditer(t.low):
        person = _take_person(t, m.start())
        asked = _FLOOR_ASKED_RE.match(t.low, person[1]) if person is not None else None
        if asked is None:
            continue
        stop = _ANNOUNCEMENT_END_RE.search(t.raw, asked.end())
        if _GRANT_BY_ROLE_RE.match(t.low, stop.end() if stop else asked.end()) is None:
            return {}
        said = _speaker_at(t, m.start())
        if not isinstance(name := said.get("orador"), str):
            return {}
        return {"orador": _capitalised(name) if name == name.lower() else name, "anuncio": True} | (
            {"rol": said["rol"]} if "rol" in said else {}
        )
    return {}


# The chair inviting someone by name to speak, as a ceremony does it ("Tercer punto, invocación.
# Invitamos a monseñor Rodrigo Gallego Trujillo, vicario general de la Arquidiócesis de Cali.",
# "Invito al doctor Luis Mora a hacer uso de la palabra"): a grant of the floor (the invocation
# after it was written with no name). Invited to something else ("…a recibir la Mención de Honor",
# "…a acercarse a la mesa", "…a que retire…") it is not.
_INVITED_RE: Final = re.compile(
    r"(?:^|(?<=[.;:!?])\s+)(?:(?:ahora|enseguida|a\s+continuacion)\s*,?\s+)?(?:invito|invitamos)\s+"
    r"(?:(?:ahora|enseguida|muy\s+especialmente)\s+)?"
)
_INVITED_TO_SPEAK_RE: Final = re.compile(
    r"\b(?:uso\s+de\s+la\s+palabra|unas\s+palabras|(?:la|una|su)\s+(?:invocacion|oracion|intervencion)"
    r"|intervenir)\b"
)
# What the invited is invited to, said after the name or after a clause of their office: "… a
# recibir…", "…, a la mesa", "… para que…".
_INVITED_ELSEWHERE_RE: Final = re.compile(
    r"(?:^|,|\by)\s*(?:a|al|para|hasta|que)\b"
    # invited to do something: "…y a los bomberos a ponerse de pie", "…a recibir…"
    r"|\ba\s+[^\W\d_]+(?:ar|er|ir)(?:se|nos|los|las|les|le|lo|la)?\b"
)
_MAX_INVITED_TAIL_WORDS: Final = 12


def _invited_to_speak(t: _Text) -> dict[str, Any]:
    """The person the utterance's last sentence invites to speak (see _INVITED_RE), as a grant
    names the speaker: named with capitals (or two words in speech without them), and invited
    to speak, or to nothing else with no more than their office after the name; else {}."""
    invitations = list(_INVITED_RE.finditer(t.low))
    if not invitations:
        return {}
    m = invitations[-1]
    person = _take_person(t, m.end())
    if person is None or not (person[0][:1].isupper() or (t.raw == t.raw.lower() and " " in person[0])):
        return {}
    rest = t.low[person[1] :]
    if _SENTENCE_END_RE.search(rest.rstrip().rstrip(".!")):
        return {}  # more is said after the invitation's sentence: not a grant that ends the utterance
    if _INVITED_TO_SPEAK_RE.search(rest) is None and (
        _INVITED_ELSEWHERE_RE.search(rest) is not None or len(rest.split()) > _MAX_INVITED_TAIL_WORDS
    ):
        return {}
    said = _speaker_at(t, m.end())
    if not isinstance(name := said.get("orador"), str):
        return {}
    kept = {k: v for k, v in said.items() if k in ("rol", "cargo")}
    return {"orador": _capitalised(name) if name == name.lower() else name, **kept, "anuncio": True}


def _intervention_data(t: _Text) -> dict[str, Any]:
    data: dict[str, Any] = {**_speaker(t), "texto": t.raw}
    if grant := _grant_of_the_floor(t):
        data |= grant
    elif "orador" not in data and (sworn := _sworn_asked(t)) is not None:
        data |= {"orador": sworn, "anuncio": True}  # the chair's question: the answer is his
    elif "orador" not in data and (back := _floor_back(t)):
        data |= back  # "Continúe, concejal Pérez.": the words after it are his again
    elif (
        "orador" in data
        and ":" in t.raw
        and not _SPEAKER_TRIGGER_RE.search(t.low)
        and not _SELF_NAMED_RE.match(t.low)
    ):
        # "Concejal Juan Pérez: buenas tardes…": the name is the acta's speaker line already.
        data["texto"] = t.raw.split(":", 1)[1].strip() or t.raw
    if "orador" not in data and (asked := _floor_asked(t)):
        data |= asked  # "la concejala X me ha pedido la palabra, tiene la palabra concejala"
    if "orador" not in data and not _SPEAKER_TRIGGER_RE.search(t.low) and (invited := _invited_to_speak(t)):
        data |= invited  # "Invitamos a monseñor X, vicario general…": the invocation after it is his
    return data


def _spoken(t: _Text) -> dict[str, Any]:
    """An intervention said while an item is considered (the floor given during an acta's or
    the agenda's approval, a speaker's label): its speaker and words as in a debate, so the acta
    writes them the same way; {} when it names no speaker."""
    return _intervention_data(t) if _has_speaker(t) else {}


# A bill's number: after "número", in digits, or in words where a number ends: read group by
# group from a leading "cero" ("proyecto de acuerdo cero cuarenta y siete") or before the year ("…
# ciento veintitrés de dos mil veinticinco"); "el proyecto dos veces aplazado" names none.
_PROJECT_NUMBER_RE: Final = re.compile(
    r"\bproyecto(?:\s+de\s+acuerdo)?\s+(?:"
    rf"(?:numero|no\.?|n[°o]\.?|#)\s*(?P<n>{_NUM_PHRASE})"
    r"|(?P<d>[0-9]{1,6})"
    rf"|(?P<w>(?=cero\b){_NUM_PHRASE}|(?!(?:un|una|uno)\b){_NUM_PHRASE}"
    r"(?=\s+de\s+(?:ano\s+)?(?:[0-9]{4}\b|dos\s+mil\b|mil\s+novecientos\b))))\b"
    rf"(?:\s*(?:de|del|-|/)\s*(?:ano\s+)?(?P<y>[0-9]{{4}}|{_NUM_PHRASE}))?"
)
_TITLE_START_RE: Final = re.compile(
    r"(?P<por>\bpor\s+(?:medio\s+(?:del|de\s+(?:el|la|los|las))|el|la|los|las)\s+cual(?:es)?\b)"
    r"|\b(?:titulado|denominado|cuyo titulo es|que se titula)\s*:?\s*"
)
_TITLE_END_RE: Final = re.compile(
    r",?\s+(?:en|para|a)\s+(?:su\s+)?(?:primer|segundo|1er|2do|1|2)\w*\s+debate"
    r"|[.;?!](?:\s|$)|,\s+(?:cuyo|cuya|presentado|radicado|de autoria|ponente|autor)"
)
_DEBATE_RE: Final = re.compile(
    r"\b(?:(?P<first>primer|primero|1er|1[°º]?)|(?P<second>segundo|2do|2[°º]?))\s+debate\b"
)


_MAX_REPORTER_MENTIONS: Final = 8  # the mentions of ponentes read (bounds the work on long text)
_REPORTERS_RE: Final = re.compile(
    r"\b(?:ponentes?|(?:con\s+)?ponencia\s+(?:de|del|de la|de los|a cargo de(?:l)?))\s*[:,]?\s*"
    r"(?:(?:son|es|fueron|fue)\s+)?"
)


# A ponencia report read out ("Informe de ponencia para segundo debate. … rendimos ponencia
# positiva…"), which its ponentes sign: "Firman Laura Victoria Benítez, coordinadora ponente, y
# Harold Mosquera Riascos, ponente." The signers of the report are its ponentes; "firman" said
# elsewhere is not (a bill's authors, a letter's senders).
_PONENCIA_REPORT_RE: Final = re.compile(
    r"^\W*(?:(?:el|este)\s+)?informe\s+de\s+ponencia\b"
    r"|\b(?:rendimos|rindo|rinden|presentamos|presento)\s+(?:informe\s+de\s+)?ponencia\b"
)
_SIGNERS_RE: Final = re.compile(
    r"\b(?:(?:lo|la)\s+)?(?:firman|suscriben|firmad[oa]s?\s+por|suscrit[oa]s?\s+por)\s*:?\s*"
)
# What a ponente is said to be after the name ("…Benítez, coordinadora ponente, y Harold…"):
# not a name, passed over.
_REPORTER_ROLE_RE: Final = re.compile(
    r"\s*,?\s*(?:(?:como\s+)?(?:coordinador(?:a)?|coponente|ponentes?)\b\s*)+(?=[,;.]|\s+(?:y|e)\b|$)"
)


def _reporters(t: _Text, report: bool = False) -> list[Any]:
    """The bill's ponentes as the heading names them ("Ponentes, la concejala Ana Ruiz y el
    concejal Luis Mora"): a name, or ``{"nombre", "rol"}`` when the words before it say which
    councillor ("concejala" or "concejal"; "los concejales" says neither), so that "Tiene la
    palabra la concejala ponente." can be told to be hers when the acta is built. With
    ``report`` (the utterance reads the ponencia report), its signers too ("Firman Laura
    Victoria Benítez, coordinadora ponente, y Harold Mosquera Riascos, ponente."). What each is
    said to be after the name ("coordinadora", "ponente") is passed over."""
    found: list[tuple[int, Any]] = []  # where each is named, and how: in the order said
    seen: set[str] = set()
    lowercase = t.raw == t.raw.lower()  # speech to text without capitals: names are not marked
    mentions = [*_REPORTERS_RE.finditer(t.low), *(_SIGNERS_RE.finditer(t.low) if report else ())]
    for m in sorted(mentions, key=lambda m: m.start())[:_MAX_REPORTER_MENTIONS]:
        pos, all_women = m.end(), False
        for _ in range(80):  # a bounded list after each mention, as _take_people reads
            rol, all_women = _councillor_said(t, pos, all_women)
            got = _take_person(t, pos)
            if got is None:
                break
            if (got[0][:1].isupper() or lowercase) and got[0] not in seen:
                seen.add(got[0])
                found.append((got[1], {"nombre": got[0], "rol": rol} if rol else got[0]))
            end = role.end() if (role := _REPORTER_ROLE_RE.match(t.low, got[1])) else got[1]
            sep = _LIST_SEP_RE.match(t.low, end)
            if sep is None:
                break
            pos = sep.end()
    return [person for _, person in sorted(found, key=lambda item: item[0])]


# The mayor's objections to a bill taken up (Law 136 of 1994, arts. 78–80): "Estudio del informe
# de la comisión accidental designada para el estudio de las objeciones presentadas por el señor
# alcalde distrital al proyecto de acuerdo 089…". The heading said only the bill, so the acta
# did not say what the plenary studied: a bill already approved in two debates, returned.
_OBJECTIONS_TAKEN_UP_RE: Final = re.compile(
    # named as the item studied ("…el estudio de las objeciones…", "Quinto punto. Objeciones
    # presentadas por…"), not spoken of ("La administración no tiene objeciones al proyecto…")
    r"(?:\b(?:estudio|informe|consideracion|tramite|discusion)\s+(?:[^\W\d_]+\s+){0,8}?(?:de|sobre)\s+"
    r"(?:las\s+)?|^[\s,]*|(?:[.:]\s*|\bpunto\s*,?\s*)(?:las\s+)?)"
    r"objeciones\s+(?:(?:presentadas|formuladas|interpuestas)\s+)?(?:por\s+(?:el|la)\s+"
    r"(?:senor(?:a)?\s+)?alcalde(?:sa)?(?:\s+(?:distrital|de\s+santiago\s+de\s+cali))?\s+)?"
    r"(?:al|del)\s+proyecto\s+de\s+acuerdo\b"
)


def _proyecto_data(t: _Text, under_consideration: bool = False) -> dict[str, Any]:
    """A bill's heading (number, year, title, debate, ponentes), who speaks, the part of it read.
    ``under_consideration``: said while the bill is considered (after a block of its own, no new
    point announced): its number without a title is the bill named again (the ponencia's
    reference, its vote, "Aprobado en segundo debate el proyecto de acuerdo cero cuarenta y
    siete…"), written as said, not a heading that would sum the words up."""
    data: dict[str, Any] = {}
    if start := _TITLE_START_RE.search(t.low):
        begin = start.start() if start["por"] else start.end()
        end = _TITLE_END_RE.search(t.low, begin)
        if title := _slice(t, begin, end.start() if end else len(t.raw)):
            data["titulo"] = title
    if (not under_consideration or "titulo" in data) and (m := _PROJECT_NUMBER_RE.search(t.low)):
        group = "d" if m["d"] else "n" if m["n"] else "w"
        if (said := _number_said(m[group])) is not None:
            data["numero"] = said  # as written, keeping leading zeros: "012", "cero doce"
        year = _parse_number(m["y"]) if m["y"] else None
        if year is not None and 1900 <= year <= 2200:
            data["anio"] = year
    if debate := _DEBATE_RE.search(t.low):
        data["debate"] = "primero" if debate["first"] else "segundo"
    if "numero" in data and _OBJECTIONS_TAKEN_UP_RE.search(t.low):
        data["objeciones"] = True  # the item is the mayor's objections to it, not a debate of it
    report = _PONENCIA_REPORT_RE.search(t.low) is not None
    if ("numero" in data or "titulo" in data) and (reporters := _reporters(t, report)):
        data["ponentes"] = reporters
    elif report and not _floor_grant(t) and (reporters := _reporters(t, report)):
        # the report read while its bill is considered, signed by its ponentes: the bill's
        # heading names them when the acta is built (it is said before the report)
        data["ponentes"] = reporters
    if trigger := _floor_grant(t) or _SPEAKER_TRIGGER_RE.search(t.low):
        data.update({k: v for k, v in _speaker(t).items() if k != "partido"})
        data.update(_grant_of_the_floor(t))  # the ponente given the floor, as in a debate
        stop = _ANNOUNCEMENT_END_RE.search(t.raw, trigger.end())
        grant = _Text(
            t.raw[trigger.start() : stop.end() if stop else None],
            t.low[trigger.start() : stop.end() if stop else None],
        )
        if "orador" in data and (party := _party(grant)):
            # the party said with the grant is the speaker's ("el coponente, concejal Diego
            # Lasso, del Partido Conservador"); one said of the bill elsewhere is not
            data["partido"] = party
        if data.get("anuncio") and ("numero" in data or "titulo" in data):
            # The bill announced and the floor given in one breath: the heading sums the bill
            # up, and the grant, the chair's words, is written as said after it.
            data["anuncio_texto"] = t.raw[_sentence_start(t, trigger.start()) :].strip()
    elif not data and (named := _self_named(t)):
        # "Presidente, Rodrigo Zapata, de Cambio Radical. No estoy en contra…": under his name
        data.update(named, texto=t.raw)
        if "partido" not in data and (party := _party(t)):
            data["partido"] = party
    if "orador" not in data:
        data |= _bill_part(t)
    return data


# A part of the bill read out at the start of an utterance: an article ("Artículo séptimo.
# Facúltese al alcalde…", "Artículo noveno, vigencia."), the title or the preamble ("Título del
# proyecto: por medio del cual…").
_BILL_PART_RE: Final = re.compile(
    r"^\W*(?:(?:el|la)\s+)?(?:(?P<art>articulos?\s+)(?=(?:unico|[0-9]|"
    rf"{_alt(_ORDINALS)}|{_NUM_WORD_ALT})\b)|titulo\b|preambulo\b)"
)
_AMENDMENT_KINDS: Final[dict[str, str]] = {
    "modificatori": "modificatoria", "modificacion": "modificatoria", "aditiv": "aditiva",
    "adicion": "aditiva", "sustitutiv": "sustitutiva", "sustitucion": "sustitutiva",
    "supresiv": "supresiva", "supresion": "supresiva",
}  # fmt: skip


def _bill_part(t: _Text) -> dict[str, Any]:
    """The part of the bill the utterance reads or amends: the articles read at its start
    (``articulos``: "Artículo séptimo. Facúltese…" [7]), and a proposal amending them presented
    ("Artículo cuarto. Tiene proposición modificatoria presentada por el concejal Harold
    Mosquera…": ``proposicion`` "modificatoria", its ``autores``, the article it amends); {}
    when it reads none."""
    out: dict[str, Any] = {}
    read = _BILL_PART_RE.match(t.low)
    articles = _bills_articles(t.low, read.end()) if read and read["art"] else []
    amendment = _AMENDMENT_RE.search(t.low)
    if amendment is not None and (authors := _authors(t)[0]):
        if kind := amendment["kind"] or amendment["of"]:
            out["proposicion"] = _AMENDMENT_KINDS[kind]
        out["autores"] = authors
        if not articles and (named := _ARTICLES_RE.search(t.low, amendment.start())):
            articles = _bills_articles(t.low, named.end())
    if articles:
        out["articulos"] = articles
    return out


def _bills_articles(low: str, start: int) -> list[int]:
    """The articles listed from start, [] when they are another norm's."""
    listed, end = _articles_listed(low, start)
    return [] if _OTHER_NORM_RE.match(low, end) else listed


# A proposal's place in the reading: "Tercera proposición, de la concejala…", "La última proposición…".
_PROPOSAL_ORDINAL: Final = (
    r"(?:primer|segund|tercer|cuart|quint|sext|sep?tim|octav|noven|decim|ultim)a|siguiente|otra"
)
_AUTHORS_RE: Final = re.compile(
    r"\b(?:presentad[oa]s?|radicad[oa]s?|suscrit[oa]s?|firmad[oa]s?|elaborad[oa]s?|propuest[oa]s?"
    r"|presentan|presenta|radican|radica)\s+(?:por\s+)?"
    r"|\b(?:de\s+)?autoria\s+(?:de(?:l)?\s+)?"
    # "Proposición de la concejala X", and after its ordinal with a comma: "Tercera proposición,
    # de la concejala X, para citar…" (blind control debate, utterance 45: no authors)
    rf"|\b(?:(?:{_PROPOSAL_ORDINAL})\s+proposicion\s*,\s*|proposicion(?:es)?\s+)"
    r"(?=(?:de|del|de la|de los)\s+(?:honorables?\s+)?(?:concejal|bancada))(?:de|del|de la|de los)\s+"
)
_BANCADA_RE: Final = re.compile(
    r"\s*(?:las?\s+)?(?P<b>bancadas?)\s+(?:del|de la|de los|de)?\s*(?:partido\s+)?"
)
# The reader's lead-in to a proposal's words, after its authors: ", que dice:", ", que dice así:",
# ", cuyo texto es:". Matched at the authors' end (``match(low, end)``: no "^", which would only
# match at the string's start). "que solicita…", "que propone…" stay: they say what it asks; so
# do words after a colon ("…por Ana Ruiz: que dice la comunidad…"): the colon led them in.
_PROPOSAL_LEAD_RE: Final = re.compile(
    r"(?:[\s,;.\-–]*(?:(?:y\s+)?(?:que|la cual|el cual)\s+(?:dice|reza)"
    r"(?:\s+(?:asi|lo\s+siguiente|textualmente))?|cuyo texto es|con el siguiente texto)\b)?"
    r"[\s,;:.\-–]*"
)


def _party_end(t: _Text, pos: int) -> int | None:
    """End of a party name said at pos ("Pacto Histórico", "de la U", "Liberal")."""
    known = _PARTY_NAME_RE.match(t.low, pos)
    if known is not None:
        return known.end()
    named = _take_name(t, pos)
    return named[1] if named else None


def _authors(t: _Text) -> tuple[list[str], int, int]:
    """Authors of a proposition, where the words naming them start and where their list ends."""
    for m in _AUTHORS_RE.finditer(t.low):
        bancada = _BANCADA_RE.match(t.low, m.end())
        if bancada is not None and (end := _party_end(t, bancada.end())) is not None:
            return [_slice(t, bancada.start("b"), end)], m.start(), end
        names, end = _take_people(t, m.end())
        if names:
            return names, m.start(), end
    return [], 0, 0


# A number said in words right after "proposición" is its number only where a number ends: before
# "presentada", "de <year>" or a clause end ("la proposición ciento dieciocho, con…"); "esta
# proposición tres veces fue aplazada" names none.
_PROPOSAL_NUMBER_RE: Final = re.compile(
    rf"\bproposicion\s+(?:(?:numero|no\.?|n[°o]\.?|#)\s*(?P<n>{_NUM_PHRASE})|(?P<d>[0-9]{{1,5}})\b"
    rf"|(?!(?:un|una|uno)\b)(?P<w>{_NUM_PHRASE})(?=\s*(?:[,.;:!?]|$)"
    r"|\s+(?:presentad|radicad|suscrit|firmad)[oa]s?\b|\s+del?\s+(?:ano\s+)?(?:[0-9]{4}\b|dos\s+mil\b)))"
)


# The sentences of a vote said right after a proposal is read: its call ("Se abre la votación.",
# "¿La aprueba la plenaria?", short), its count ("Votaron sí dieciséis…"), its result said on
# its own ("Aprobada por unanimidad."). "En consideración de la plenaria este tema tan grave,
# pedimos celeridad" and "aprobada la semana pasada una similar" are the proposal's words.
_VOTE_CALL_RE: Final = re.compile(
    r"\s*(?:¿\s*)?(?:se\s+(?:abre|somete|pone)\s+(?:a\s+)?(?:la\s+)?(?:votacion|consideracion)"
    r"|(?:someto|sometemos|pongo|ponemos)\s+a\s+(?:consideracion|votacion)|en\s+consideracion"
    r"|(?:la\s+)?aprueba(?:n)?\b|votaron)\b"
)
_VOTE_CALL_MAX_WORDS: Final = 8
_RESULT_SAID_RE: Final = re.compile(
    r"\s*(?:(?:la\s+proposicion|esta\s+proposicion)\s+)?(?:(?:ha\s+sido|fue|queda|ha\s+quedado"
    r"|resulta)\s+)?(?:aprobad|negad|rechazad|improbad)[oa]s?(?:\s+la\s+proposicion)?"
    r"(?:\s+por\s+(?:unanimidad|mayoria(?:\s+absoluta)?))?(?:\s*,?\s*(?:senor|senora)\s+president[ea])?"
    r"\s*[.!;]?\s*"
)


def _vote_after_proposal(t: _Text, start: int) -> int | None:
    """Where the vote said after a proposal's text begins, or None: the run of vote sentences
    (call, count, result) that ends the utterance, when it holds a count or a result. Anything
    else said after the text keeps it going, so no word of the proposal is cut."""
    cut: int | None = None
    decided = False
    for m in _SENTENCE_RE.finditer(t.low, start):
        said = m.group(0)
        if not said.strip():
            continue
        counted = any(_tally(said).values())
        result = _RESULT_SAID_RE.fullmatch(said) is not None
        call = _VOTE_CALL_RE.match(said) is not None and len(said.split()) <= _VOTE_CALL_MAX_WORDS
        if counted or result or call:
            cut = m.start() + len(said) - len(said.lstrip()) if cut is None else cut
            decided = decided or counted or result
        else:
            cut, decided = None, False
    return cut if decided else None


# A procedural request said after a proposal is read, a sentence of its own: "El concejal Fabio
# Alonso Cuero Angulo solicita votación nominal.", "Presidente, pido votación nominal para esta
# proposición.", "Se solicita que la votación sea nominal." (blind control debate, utterance 42:
# it was printed as the end of the proposal's text). Who asks is named with no other verb before
# it ("el concejal X no solicita…", "el concejal X dijo que solicita…" are no request).
_REQUEST_AFTER_PROPOSAL_RE: Final = re.compile(
    r"\s*(?:(?:(?:senor|senora)\s+)?president[ea]\s*,?\s*)?"
    r"(?:(?:el|la)\s+(?:honorable\s+)?concejal[a]?\s+"
    r"(?:(?!(?:no|que|dijo|dice|ha|se|solicit\w*|pid\w*|ped\w*)\b)[^\W\d_]+\s+){1,6}|yo\s+)?"
    r"(?:solicit(?:a|o|amos|an)|pid(?:e|o|en)|pedimos|se\s+(?:solicita|pide|ordena))\s+"
    r"(?:que\s+(?:la\s+)?votacion\s+sea|(?:la\s+|una\s+)?votacion)\s+(?:nominal|secreta|por\s+partes)\b"
    r"(?:\s+[^\W\d_]+){0,6}\s*[.!;]?\s*"
)


# Words that only take up the proposals' point, or answer the chair, before a proposal is read
# ("Siguiente punto." — masked in the text the rules read —, "Sexto punto, proposiciones.", "Sí,
# señor presidente."): no fact a summary must keep.
_PROPOSALS_TAKEN_UP_RE: Final = re.compile(
    r"(?:[\W_]|\b(?:si|claro|con\s+gusto|senor|senora|secretario|secretaria|presidente|presidenta"
    r"|general|gracias|muchas|bien|bueno|listo|entonces|pasamos|continuamos|al|a|el|la|las|de|del|y"
    rf"|punto|numero|lectura|proposiciones|{_alt(_ORDINALS)}|primer|tercer)\b)*"
)


def _request_after_proposal(t: _Text, start: int, end: int) -> int | None:
    """Where the procedural requests said after a proposal's text begin (between start and end),
    or None: the run of them that ends the stretch, never its first sentence (the proposal's
    own words). A sentence of the proposal after a request keeps it all in the proposal, so no
    word of it is cut."""
    cut: int | None = None
    first = True
    for m in _SENTENCE_RE.finditer(t.low, start, end):
        said = m.group(0)
        if not said.strip():
            continue
        if not first and _REQUEST_AFTER_PROPOSAL_RE.fullmatch(said) is not None:
            cut = m.start() + len(said) - len(said.lstrip()) if cut is None else cut
        else:
            cut = None
        first = False
    return cut


def _proposicion_data(t: _Text) -> dict[str, Any]:
    authors, named, end = _authors(t)
    text: str | None = t.raw
    said_around: dict[str, str] = {}
    if authors:
        lead = _PROPOSAL_LEAD_RE.match(t.low, end)
        # The proposal ends where its vote begins ("… trayectoria. Se abre la votación: votaron
        # sí dieciséis… Aprobada."): the vote is written as the vote's summary, not as its text.
        begin = lead.end() if lead else end
        vote = _vote_after_proposal(t, begin)
        stop = len(t.raw) if vote is None else vote
        # …and before a procedural request said after it ("El concejal X solicita votación
        # nominal."), kept as said, apart from the proposal's words
        if (request := _request_after_proposal(t, begin, stop)) is not None:
            said_around["solicitud"] = _slice(t, request, stop)
            stop = request
        rest = _slice(t, begin, stop)
        # Only the announcement ("Proposición presentada por la concejala Ana Ruiz."): no texto,
        # or the acta would write it twice ("… por Ana Ruiz: Proposición presentada por …").
        text = rest if len(rest.split()) >= 2 else None
        # The sentences said before the one that presents it ("Sexto punto, proposiciones. Hay
        # tres proposiciones sobre la mesa. La primera, presentada por…"), kept as said: the
        # summary's "Proposición presentada por…" stands for that sentence's start only. The
        # point announced alone, or courtesy ("Siguiente punto.", "Sí, señor presidente."), is
        # left out, as every summary of an item does (the zone's heading says it).
        intro_end = _sentence_at(_sentence_starts(t), named)
        if text is not None and not _PROPOSALS_TAKEN_UP_RE.fullmatch(t.low, 0, intro_end):
            said_around["introduccion"] = _slice(t, 0, intro_end)
    data: dict[str, Any] = {"autores": authors}
    number = _PROPOSAL_NUMBER_RE.search(t.low)
    if number and (said := _number_said(number["d"] or number["n"] or number["w"])) is not None:
        data["numero"] = said
    if text is not None:
        data["texto"] = text
        data |= said_around
    if not authors:
        data |= _spoken(t)  # the floor given while the proposal is considered, as in a debate
    elif _SPEAKER_TRIGGER_RE.search(t.low):
        data.update({k: v for k, v in _speaker(t).items() if k not in data})
    return data


_SENDER_RE: Final = re.compile(
    r"\b(?:enviad[oa]|remitid[oa]|suscrit[oa]|firmad[oa]|allegad[oa]|radicad[oa]|presentad[oa]"
    r"|proyectad[oa])\s+por\s+|\bde parte de(?:l)?\s+"
    r"|\bradicad[oa]\s+(?:(?:numero|no\.?|n[°o]\.?|#)\s*)?[^\W_]*[0-9][\w./\-]*\s+(?:de|del|de la)\s+"
    r"(?![0-9]|fecha\b)"
    r"|\b(?:comunicacion|oficio|carta|correspondencia|misiva|nota|circular)(?:es)?\s+"
    r"(?:(?:es|son|viene|proviene)\s+)?(?:(?:enviad[oa]|remitid[oa])\s+)?(?:proveniente |procedente )?"
    r"(?:de|del|de la|de los)\s+"
    r"(?!fecha\b)"
)
_SENDER_STOP_RE: Final = re.compile(
    r"[,;:.(?!]|\s(?:en la (?:que|cual)|en el que|mediante|con (?:el )?asunto|con radicado"
    r"|radicad[oa]|sobre|referente|relacionad[oa]|acerca|por medio de|donde|quien|para"
    r"|solicitando|informando|que|y radicad|de fecha|con fecha|el dia|el pasado|dirigid[oa])\b"
)
# The sender's office said after the name, in apposition: "suscrita por el doctor Andrés Lozano,
# director del Departamento Administrativo de Planeación, mediante la cual…": who sends it.
_SENDER_OFFICE_RE: Final = re.compile(
    r",\s*(?:(?:el|la)\s+)?(?:sub)?(?:director|directora|secretari[oa]|gerente|jefe|jefa|alcalde|alcaldesa"
    r"|president[ea]|personer[oa]|contralor|contralora|coordinador|coordinadora|procurador|procuradora"
    r"|defensor|defensora|registrador|registradora|comandante|rector|rectora)\b"
)
_SUBJECT_RE: Final = re.compile(
    r"\b(?:asunto|referencia)\s*:?\s*|\b(?:en la (?:que|cual)|en el (?:que|cual)"
    r"|mediante (?:el|la|los|las) (?:cual|cuales)|por medio (?:del|de la|de los|de las) (?:cual|cuales)"
    r"|sobre|referente a|relacionad[oa] con|acerca de)\s+"
)
# "mediante el cual remite la relación de…": the sending is said by "remitida por"; the subject is
# what is sent.
_SENDING_VERB_RE: Final = re.compile(r"(?:remiten?|envian?|allegan?|adjuntan?|trasladan?)\s+(?=\w)")
_SUBJECT_STOP_RE: Final = re.compile(r"[.;?!](?:\s|$)|,?\s+(?:con\s+)?(?:numero de\s+)?radicad")
_FILING_RE: Final = re.compile(
    r"\b(?:radicad[oa]|radicacion|numero de radicado)\s*(?:(?:bajo\s+|con\s+)?(?:el\s+)?"
    r"(?:numero|no\.?|n[°o]\.?|#)\s*)?:?\s*(?P<r>[^\W_]*[0-9][\w./\-]*)"
)


def _comunicacion_data(t: _Text) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if sender := _SENDER_RE.search(t.low):
        stop = _SENDER_STOP_RE.search(t.low, sender.end())
        if stop and (office := _SENDER_OFFICE_RE.match(t.low, stop.start())):
            stop = _SENDER_STOP_RE.search(t.low, office.end())
        end = min(stop.start() if stop else len(t.raw), sender.end() + 120)
        name = _slice(t, sender.end(), end)
        name = re.sub(r"^(?i:el|la|los|las)\s+", "", name)
        if name:
            data["remitente"] = name
    subject_at = _SUBJECT_RE.search(t.low, sender.end() if sender else 0) or _SUBJECT_RE.search(t.low)
    said_from = said_to = 0
    if subject_at:
        stop = _SUBJECT_STOP_RE.search(t.low, subject_at.end())
        end = min(stop.start() if stop else len(t.raw), subject_at.end() + 240)
        begin = subject_at.end()
        if (verb := _SENDING_VERB_RE.match(t.low, begin)) is not None and verb.end() < end:
            begin = verb.end()
        if subject := _slice(t, begin, end):
            data["asunto"] = subject
            said_from, said_to = subject_at.start(), end
    # the letter's date: one said outside its subject ("radicado…, del veintinueve de diciembre de
    # dos mil veintitrés, mediante el cual…"), not a date the subject speaks of
    if fecha := _find_date(t.low[:said_from]) or _find_date(t.low[said_to:]):
        data["fecha"] = fecha
    if filing := _FILING_RE.search(t.low):
        data["radicado"] = t.raw[filing.start("r") : filing.end("r")].rstrip(".-/")
    elif said := _filing_in_words(t.low):
        data["radicado"] = said
    return data


_FILING_WORDS_RE: Final = re.compile(
    r"\b(?:radicad[oa]|radicacion|numero de radicado)\s*(?:(?:bajo\s+|con\s+)?(?:el\s+)?"
    r"(?:numero|no\.?|n[°o]\.?|#)\s*)?:?\s*"
)


def _filing_in_words(low: str) -> str | None:
    """A filing number read out ("radicado número dos mil veinticinco cuarenta y uno cero cero
    ochenta y siete"): the groups as said, joined by hyphens, a "cero" said alone being a
    leading zero of the group after it: "2025-41-0087". One read digit by digit ("dos cero dos
    cinco uno uno siete") is its digits: "2025117"."""
    for m in _FILING_WORDS_RE.finditer(low):
        toks = _tokens(low, m.end())
        if toks[:1] in (["un"], ["una"], ["uno"]):
            continue  # "radicado un oficio" names no number
        groups, _ = _groups_at(toks, 0, len(toks))
        if groups and all(len(g.lstrip("0")) <= 1 for g in groups) and len("".join(groups)) >= 3:
            return "".join(groups)  # read digit by digit ("dos cero dos cinco uno…"): one number
        if groups:
            return "-".join(groups)
    return None


# The next session summoned, which makes an utterance the closing. An act's title says a summons
# too ("Resolución número cero cuarenta y dos, por medio de la cual se convoca a cabildo
# abierto…", "Decreto… por el cual se cita a sesiones extraordinarias"): read at its agenda point,
# it summons nobody now, and it went to the closing.
_CONVOCATION_RE: Final = re.compile(
    r"(?<!\bcual )(?<!\bcuales )"
    r"\b(?:se (?:les |los |las )?convoca|convocamos|se (?:les |los |las )?cita (?:para|el|manana)"
    r"|citamos para|los cito|quedan? (?:citad|convocad)[oa]s?)\b"
)
# End of a sentence, on the original text: the dot of "a.m." ends one only before a capital.
_SENTENCE_END_RE: Final = re.compile(
    r"(?:(?<=\b[aApP]\.[mM])|(?<=\b[aApP]\. [mM]))(?P<abbr>\.)(?=\s+[A-ZÁÉÍÓÚÑ¿¡]|\s*$)"
    r"|(?<!\b[aApP]\.[mM])(?<!\b[aApP]\. [mM])[.;!?](?:\s|$)"
)


# The summons in a closing, however it is said: "se convoca para…", "se cita a la plenaria para
# el miércoles…", "queda convocada la comisión para…", "convocamos a los concejales para…".
# Wider than _CONVOCATION_RE, which routes an utterance to the closing: in a proposal "se cita
# al secretario de Salud" is a debate called, not the next session.
_SUMMONS_RE: Final = re.compile(
    r"\b(?:se (?:les |los |las )?(?:convoca|cita)|convocamos|citamos|los cito|las cito"
    r"|quedan? (?:citad|convocad)[oa]s?)\b"
)

_SUMMONS_DENIED_RE: Final = re.compile(r"\bno\s+$")


# Why the session is lifted, when it is not the agenda done: "se levanta la sesión por falta de
# quórum decisorio", "ante la falta de quórum", "por no haberse conformado el quórum". The acta
# must say a session ended without deciding, and why.
_LIFTED_FOR_RE: Final = re.compile(
    r"\b(?:por|ante|ante la|dada la|debido a la)\s+(?:falta|ausencia|inexistencia)\s+de\s+quorum"
    r"|\bpor\s+no\s+haber(?:se)?\s+(?:(?:conformado|completado|logrado)\s+)?(?:el\s+)?quorum"
)
_QUORUM_KIND_RE: Final = re.compile(
    r"\s+(?:decisorio|deliberatorio|deliberativo|para\s+(?:deliberar|decidir))\b"
)


# The session lifted, in the sentence its reason must be said in: "la sesión de ayer se cayó por
# falta de quórum" or "ante la falta de quórum de esta mañana, pido puntualidad" is no reason.
_LIFTING_RE: Final = re.compile(
    r"\b(?:se\s+levanta|levantamos|levanto|se\s+da\s+por\s+terminada|damos\s+por\s+terminada)\s+"
    r"(?:la\s+)?(?:presente\s+)?(?:sesion|plenaria)\b"
)


def _lifted_for(t: _Text) -> re.Match[str] | None:
    """Why the session is lifted (_LIFTED_FOR_RE), said in the sentence that lifts it."""
    for lifting in _LIFTING_RE.finditer(t.low):
        starts = [m.end() for m in _SENTENCE_END_RE.finditer(t.raw, 0, lifting.start())]
        stop = _SENTENCE_END_RE.search(t.raw, lifting.end())
        if reason := _LIFTED_FOR_RE.search(
            t.low, starts[-1] if starts else 0, stop.start() if stop else len(t.low)
        ):
            return reason
    return None


def _cierre_data(t: _Text) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if lifted := _lifted_for(t):
        kind = _QUORUM_KIND_RE.match(t.low, lifted.end())
        data["motivo"] = _slice(t, lifted.start(), kind.end() if kind else lifted.end())
    before, after = t.low, ""
    if summons := _SUMMONS_RE.search(t.low):
        end = _summons_goes_on(t, summons.end(), _sentence_end(t, summons.end()))
        denied = _SUMMONS_DENIED_RE.search(t.low, max(0, summons.start() - 12), summons.start())
        # "No se convoca a nueva sesión: …" (the period closed): said as denied, never a summons
        data["convocatoria"] = _slice(t, denied.start() if denied else summons.start(), end)
        before, after = t.low[: summons.start()], t.low[end:]
    if hora := _find_time(before) or _time_after_the_summons(after):
        data["hora"] = hora
    return data


def _sentence_end(t: _Text, pos: int) -> int:
    """Where the sentence holding pos ends (:data:`_SENTENCE_END_RE`; the dot of "a.m." kept)."""
    stop = _SENTENCE_END_RE.search(t.raw, pos)
    return stop.start() + (1 if stop["abbr"] else 0) if stop else len(t.raw)


# When a session is: a day of the week, "mañana" (a time or a date is found apart).
_DAY_SAID_RE: Final = re.compile(r"\b(?:lunes|martes|miercoles|jueves|viernes|sabado|domingo|manana)\b")


def _says_when(low: str) -> bool:
    return bool(_DAY_SAID_RE.search(low) or _find_time(low) or _find_date(low))


def _summons_goes_on(t: _Text, start: int, end: int) -> int:
    """Where a summons said from start to the end of its sentence (end) goes on to: to the end
    of the next sentence when the summons says no day or hour and that sentence says one, and
    neither lifts the session nor says the time as now. Whisper ends a sentence where the speaker
    pauses: recorded live, "…se convoca a sesión plenaria. Ordinaria para mañana miércoles
    quince de octubre a las nueve de la mañana." gave the acta a summons with no day."""
    if end >= len(t.raw) or _says_when(t.low[start:end]):
        return end
    more = _sentence_end(t, end + 1)
    sentence = t.low[end:more]
    if _says_when(sentence) and not (_LIFTING_RE.search(sentence) or _TIME_NOW_RE.search(sentence)):
        return more
    return end


# The time said as the moment the words are said: "siendo las doce y diez", "son las doce".
_TIME_NOW_RE: Final = re.compile(r"\b(?:siendo|son)\s+las\b")


def _time_after_the_summons(after: str) -> str | None:
    """The closing's time said after the summons's sentence: only in words that lift the session
    or say the time as now ("Se convoca para mañana. Siendo las doce, se levanta la sesión.").
    Any other time there is the summons's own, cut from it by a period: recorded live, "…se
    convoca a sesión plenaria. Ordinaria para mañana miércoles quince de octubre a las nueve de
    la mañana." (the closing's time misheard) closed the acta "Siendo las 9:00 a. m."."""
    if _LIFTING_RE.search(after) or _TIME_NOW_RE.search(after):
        return _find_time(after)
    return None


_PRESIDENT_RE: Final = re.compile(
    r"\bpresident[ea](?:\s+(?:del|de la)\s+(?:honorable\s+)?(?:concejo|corporacion|mesa directiva)"
    r"(?:\s+(?:municipal|distrital))?(?:\s+de\s+[^\W\d_]+)?)?\s*,?\s*"
)
_ROLE_AFTER_NAME_RE: Final = re.compile(
    rf"{_WORD_START}(?P<n>{_CAP_WORD}(?:\s+(?:(?:de|del|de la|de los)\s+)?{_CAP_WORD}){{0,4}})\s*,\s*"
    r"(?:(?i:el|la)\s+)?(?P<r>(?i:president[ea]|secretari[oa]))"
)


# A signing statement: a signing word that starts its sentence (after "En/Para constancia"), the
# acta as its object or not, and the signers right after it ("Firman el presidente…", "En
# constancia firman: la presidenta…", "Firma: Juan Pérez, presidente; …", "Se firma la presente
# acta por…"); or the word alone, closing the signers said before it ("Juan Pérez, presidente;
# Pedro Gómez, secretario general. Firmado."). "Gracias señor presidente, … Firmamos un contrato
# de mantenimiento…" signs something else: it made the Secretary of Mobility's answer the acta's
# signatures, with the president named "saludo" (blind audit of a control debate, #14).
_SIGNING_RE: Final = re.compile(
    r"(?:^|(?<=[.;:!?])\s*)(?:(?:en|para)\s+constancia\s*,?\s*(?:de\s+lo\s+anterior\s*,?\s*)?)?"
    r"(?:firman|firmamos|suscriben|se\s+firma|firma|firmad[oa])\b\s*:?\s*"
    r"(?:(?:(?:la\s+)?presente|esta|el|la)\s+acta\s+)?(?:por\s+)?"
)
# The council's own president or secretary, as a signer: "el presidente (del Concejo)", "la
# secretaria general"; not another body's ("el secretario de Hacienda").
_SIGNER_RE: Final = re.compile(
    r"(?:(?:el|la)\s+)?(?:(?:senor|senora)\s+)?(?:president[ea]|secretari[oa])\b"
    r"(?!\s+(?:de|del)\b(?!\s+(?:la\s+)?(?:honorable\s+)?(?:concejo|corporacion|mesa\s+directiva)\b))"
)
_SIGNED_ALONE_RE: Final = re.compile(r"\s*(?:[.;!]\s*)?$")


def _signing_statement(t: _Text) -> int | None:
    """Where the signers are said (see _SIGNING_RE): from the signing word, or from the start
    when a closing "Firmado." follows them; None when the utterance signs nothing."""
    for count, m in enumerate(_SIGNING_RE.finditer(t.low)):
        if count >= _MAX_TRIGGERS:
            break
        if _SIGNER_RE.match(t.low, m.end()) or _ROLE_AFTER_NAME_RE.match(t.raw, m.end()):
            return m.start()
        if _SIGNED_ALONE_RE.match(t.low, m.end()) and _ROLE_AFTER_NAME_RE.search(t.raw, 0, m.start()):
            return 0
    return None


def _firmas_data(t: _Text) -> dict[str, Any]:
    """The signers named in the signing statement (the president, the secretary). Only a name
    is taken: two words or more, capitalised unless all the text was heard in lowercase ("Firma
    el presidente encargado…" names nobody)."""
    start = _signing_statement(t) or 0
    said = _Text(t.raw[start:], t.low[start:])
    heard_lowercase = t.raw == t.raw.lower()

    def a_name(name: str) -> bool:
        return len(name.split()) >= 2 and (heard_lowercase or name[:1].isupper())

    data: dict[str, Any] = {}
    if presidente := _person_after(_PRESIDENT_RE, said, a_name):
        data["presidente"] = presidente
    data |= {k: v for k, v in _secretary(said).items() if k != "secretario" or a_name(v)}
    if "secretario" not in data:
        data.pop("secretario_cargo", None)
    for m in _ROLE_AFTER_NAME_RE.finditer(said.raw):
        key = "presidente" if _fold(m["r"]).startswith("pres") else "secretario"
        data.setdefault(key, m["n"])
    return data


# --------------------------------------------------------------------------------------------
# Elections and oaths: decisions declared in the session's development
# --------------------------------------------------------------------------------------------

# "ha sido elegida presidenta …", "queda elegido primer vicepresidente …", "se declara electo …".
_ELECTED_RE: Final = re.compile(
    r"\b(?P<v>ha\s+sido|fue|queda|quedo|ha\s+quedado|resulta|resulto|se\s+declara|declaro)\s+"
    r"(?:(?:legalmente|debidamente|democraticamente)\s+)?(?P<p>elegid[oa]|elect[oa])\b\s*(?:como\s+)?"
)
# Where the person elected is named after the office: an article and a member's role or a title.
_ELECTED_PERSON_RE: Final = re.compile(
    rf"\b(?:el|la|al|a\s+la)\s+(?:(?:senor|senora|honorable)\s+)?(?:concejala|concejal|{_TITLES})\b"
)
# A person elected named first: "la concejala Ana Ruiz ha sido elegida…", with the office after.
_PERSON_BEFORE_RE: Final = re.compile(rf"(?:{_ELECTED_PERSON_RE.pattern})[^.;:!?]*$")
_MAX_ELECTION_CHARS: Final = 160
# A clause that tells of the election or the oath instead of declaring it: "cuando fue elegido…",
# "desde que se posesionó…".
_TOLD_RE: Final = re.compile(
    r"\b(?:cuando|desde\s+que|mientras|si|una\s+vez|antes\s+de\s+que|despues\s+de\s+que)\s+$"
)
_TOLD_CHARS: Final = 24
# What makes votes said after names a count: "el resultado es: …", "escrutinio", blank or null
# votes, a total ("el concejal luis mora obtuvo cuarenta mil votos" is not one).
_COUNT_CONTEXT_RE: Final = re.compile(r"\b(?:escrutinio|resultado|en\s+blanco|nul[oa]s?|total)\b")
_RESOLUTION_RE: Final = re.compile(r"\bresolucion\s+(?:(?:numero|no\.?|n[°o]\.?|#)\s*)?")


def _figure(group: str) -> str:
    """The figure a secretary reads in brackets after a number in words ("nueve (9) votos"),
    optional, caught as ``group`` (checked against the words: :func:`_said_count`)."""
    return rf"(?:\s*\(\s*(?P<{group}>[0-9]{{1,5}})\s*\))?"


_VOTES_AFTER_RE: Final = re.compile(rf"\s*,?\s*(?:con\s+)?(?P<n>{_NUM_PHRASE}){_figure('f')}\s+votos?\b")
_CANDIDATE_VOTES_RE: Final = re.compile(rf"\b(?P<n>{_NUM_PHRASE}){_figure('f')}\s+votos?\b")
_BLANK_AFTER_RE: Final = re.compile(rf"\ben\s+blanco\s*[,:]?\s*(?P<n>{_NUM_PHRASE})\b{_figure('f')}")
_BLANK_BEFORE_RE: Final = re.compile(rf"\b(?P<n>{_NUM_PHRASE}){_figure('f')}\s+(?:votos?\s+)?en\s+blanco\b")
_NULL_AFTER_RE: Final = re.compile(
    rf"\b(?:votos?\s+)?nul[oa]s?\s*[,:]?\s*(?P<n>{_NUM_PHRASE})\b{_figure('f')}"
)
_NULL_BEFORE_RE: Final = re.compile(rf"\b(?P<n>{_NUM_PHRASE}){_figure('f')}\s+(?:votos?\s+)?nul[oa]s?\b")
_TOTAL_RE: Final = re.compile(
    rf"\btotal\s*(?:de\s+)?[,:]?\s*(?P<n>{_NUM_PHRASE}){_figure('f')}\s+(?:votos|papeletas|sufragios"
    rf"|tarjetones)\b|\btotal\s*[,:]\s*(?P<m>{_NUM_PHRASE})\b{_figure('g')}"
)
# Words a candidate's name is not made of, when it is read back from the votes said after it.
_COUNT_WORD_TEXT: Final = """
    blanco blancos nulo nulos nula nulas total resultado escrutinio presidencia vicepresidencia
    primer primera segunda segundo tercera tercer votacion papeleta papeletas candidato candidata
    candidatos postulado postulada
    """
_COUNT_WORDS: Final = frozenset(_COUNT_WORD_TEXT.split())
_MAX_COUNTS: Final = 40
_NAME_BEFORE_CHARS: Final = 80
_COUNT_GAP_RE: Final = re.compile(r"\s*[,:]?\s*(?:con\s+)?$")
# The oath declared: "quedan debidamente posesionados…", "se posesionó el concejal…", "toma
# posesión ante la presidencia", and to the one sworn in: "Queda usted posesionado", "Queda
# usted, doctora Ana Ruiz, legalmente posesionada". "solicito… para posesionarme", "a tomar
# posesión", "posesión de los concejales electos" (the agenda's point) are not.
_OATH_RE: Final = re.compile(
    r"\b(?:queda|quedan|quedo|quedaron|ha\s+quedado|han\s+quedado|declaro|declaramos)\s+"
    r"(?:(?:usted|ustedes|ud|uds)\b\.?\s*(?:,[^,.;:!?¿¡]{1,60},\s*)?)?"
    r"(?:(?:debidamente|legalmente|formalmente|oficialmente)\s+)?posesionad[oa]s?\b"
    r"|\bse\s+(?:posesiono|posesionaron|posesiona|posesionan|ha\s+posesionado|han\s+posesionado)\b"
    r"|\b(?:toma|toman|tomo|tomaron|ha\s+tomado|han\s+tomado)\s+posesion\b"
)


def _number_of(said: str | None) -> int | None:
    value = _parse_number(said) if said else None
    return value if value is not None and value <= 10_000 else None


class _Disagrees(Exception):
    """A number said in words and the figure read after it differ ("doce (21) votos")."""


def _said_count(m: re.Match[str], number: str = "n", figure: str = "f") -> int | None:
    """The count said at ``number``; raises _Disagrees when the figure read after it in brackets
    says another: which one was said is not known, and a count must not be made up."""
    value = _number_of(m[number])
    if value is not None and m[figure] is not None and int(m[figure]) != value:
        raise _Disagrees
    return value


def _name_before(t: _Text, end: int) -> str | None:
    """The candidate's name said right before end ("Ana María Velasco, dieciocho votos"; "…
    vicepresidencia diana carolina mosquera diecinueve votos"): the words of a name back to
    punctuation, a function word or a word of the count; two words at least, capitalised unless
    the text is all in lowercase (speech to text), then written as a name."""
    start = max(0, end - _NAME_BEFORE_CHARS)
    gap = _COUNT_GAP_RE.search(t.low, start, end)
    if gap is None:
        return None
    words = list(_WORD_RE.finditer(t.raw, start, gap.start()))
    taken: list[re.Match[str]] = []
    for word in reversed(words):
        key = t.low[word.start() : word.end()]
        after = taken[-1].start() if taken else gap.start()
        if t.raw[word.end() : after].strip() or (key in _NAME_STOPWORDS and key not in _NAME_PARTICLES):
            break
        if key in _COUNT_WORDS or len(taken) >= _MAX_NAME_WORDS:
            break
        taken.append(word)
    while taken and t.low[taken[-1].start() : taken[-1].end()] in _NAME_PARTICLES:
        taken.pop()  # "… de la Torre": a name does not start with its particles
    names = [w.group(0) for w in reversed(taken)]
    lowercase = t.raw == t.raw.lower()
    if len(names) < 2 or not (lowercase or all(n[0].isupper() or _fold(n) in _NAME_PARTICLES for n in names)):
        return None
    name = " ".join(names)
    return _capitalised(name) if lowercase else name


def _count_said(t: _Text, after: re.Pattern[str], before: re.Pattern[str]) -> int | None:
    """A count said as "en blanco, uno" or as "un voto en blanco" (the first way first: in "…
    diecinueve votos en blanco uno" the nineteen are the candidate's)."""
    m = after.search(t.low) or before.search(t.low)
    return _said_count(m) if m else None


def _scrutiny(t: _Text) -> dict[str, Any]:
    """The count of an election as said: each candidate's votes, the blank and null votes and the
    total ("Ana María Velasco, diecisiete votos; Luisa Fernanda Caicedo, dos votos; en blanco,
    uno. Total, veinte votos."); {} when no candidate's votes are said, or nothing says it is a
    count (a result, the scrutiny, blank or null votes, a total). A figure read in brackets after
    the words ("nueve (9) votos") is read with them; one that says another number ("doce (21)
    votos") leaves no count at all."""
    if _COUNT_CONTEXT_RE.search(t.low) is None:
        return {}
    try:
        return _count_of_candidates(t)
    except _Disagrees:
        return {}


def _count_of_candidates(t: _Text) -> dict[str, Any]:
    """The count of :func:`_scrutiny`, its figures checked (raises _Disagrees)."""
    candidates: list[dict[str, Any]] = []
    for count, m in enumerate(_CANDIDATE_VOTES_RE.finditer(t.low)):
        if count >= _MAX_COUNTS:
            break
        name, votes = _name_before(t, m.start()), _said_count(m)
        if name is not None and votes is not None and all(c["nombre"] != name for c in candidates):
            candidates.append({"nombre": name, "votos": votes})
    if not candidates:
        return {}
    found: dict[str, Any] = {"candidatos": candidates}
    if (blank := _count_said(t, _BLANK_AFTER_RE, _BLANK_BEFORE_RE)) is not None:
        found["en_blanco"] = blank
    if (null := _count_said(t, _NULL_AFTER_RE, _NULL_BEFORE_RE)) is not None:
        found["nulos"] = null
    if total := _TOTAL_RE.search(t.low):
        value = _said_count(total) if total["n"] else _said_count(total, "m", "g")
        if value is not None:
            found["total"] = value
    return found


def _election(t: _Text) -> dict[str, Any]:
    """The result of an election declared ("En consecuencia, ha sido elegida presidenta del
    Concejo … la honorable concejala Ana María Velasco", "Queda elegido primer vicepresidente el
    concejal Julián Restrepo Arboleda", "la concejala Ana Ruiz ha sido elegida presidenta"): who
    (``elegido``), the office as said (``cargo``, when said), the participle as said
    (``participio``: "elegida"), the votes when said with it ("… con diecisiete votos") and the
    resolution issued; {} if none is. One said of the past ("…el año pasado"), asked, denied or
    reported (:func:`_not_declared`) is none."""
    for count, m in enumerate(_ELECTED_RE.finditer(t.low)):
        if count >= _MAX_TRIGGERS:
            break
        limit = min(len(t.raw), m.end() + _MAX_ELECTION_CHARS)
        if stop := _SENTENCE_END_RE.search(t.raw, m.end(), limit):
            limit = stop.start()
        window = max(0, m.start() - _MAX_ELECTION_CHARS)  # the sentence's start, looked for nearby
        sentence = max([window, *(e.end() for e in _ANNOUNCEMENT_END_RE.finditer(t.raw, window, m.start()))])
        if _PAST_TIME_RE.search(t.low, sentence, limit) or _not_declared(t, m.start(), sentence):
            # "cuando fue elegido presidente el año pasado…": a story; "¿ha sido elegida…?", "No
            # ha sido elegido…", "…dice que ha sido elegido…": asked, denied, reported
            continue
        person = _ELECTED_PERSON_RE.search(t.low, m.end(), limit)
        got: tuple[str, int] | None = None
        if person is not None:
            office = _slice(t, m.end(), person.start())
            got = _take_person(t, person.start())
            said_to = got[1] if got else m.end()
        else:  # named before: "la concejala Ana Ruiz ha sido elegida presidenta"
            before = _PERSON_BEFORE_RE.search(t.low, sentence, m.start())
            got = _take_person(t, before.start()) if before else None
            if got is not None and (t.low[got[1] : m.start()].strip(" ,") or m["v"] == "fue"):
                got = None  # "el concejal Luis Mora fue elegido por voto popular…": his story
            said_to = min(_clause_end(t, m.end()), limit)
            office = _slice(t, m.end(), said_to)
        if got is None or not (got[0][:1].isupper() or t.raw == t.raw.lower()):
            continue
        name = _capitalised(got[0]) if t.raw == t.raw.lower() else got[0]
        found: dict[str, Any] = {"elegido": name, "participio": _fold(m["p"])}
        if office:  # "Queda elegida la concejala Ana Ruiz.": the office is the item's, unsaid
            found["cargo"] = office
        votes = _VOTES_AFTER_RE.match(t.low, said_to)
        with contextlib.suppress(_Disagrees):  # "con diez (11) votos": which was said is not known
            if votes and (value := _said_count(votes)) is not None:
                found["votos"] = value
        return found | _resolution(t, m.end())
    return {}


def _resolution(t: _Text, start: int) -> dict[str, str]:
    """The resolution issued for the election, as said after it ("Se expide la resolución
    número cero cero uno del dos de enero de dos mil veinticuatro"): ``resolucion`` as written
    ("001") and its ``resolucion_fecha``."""
    m = _RESOLUTION_RE.search(t.low, start)
    if m is None:
        return {}
    groups, _ = _groups_at(_tokens(t.low, m.end(), 12), 0, 2)
    if not groups:
        return {}
    found = {"resolucion": "-".join(groups)}
    stop = _SENTENCE_END_RE.search(t.raw, m.end())
    if fecha := _find_date(t.low[m.end() : stop.start() if stop else len(t.low)]):
        found["resolucion_fecha"] = fecha
    return found


def _oath(t: _Text) -> str | None:
    """The sentences that declare the oath taken, as said ("Quedan debidamente posesionados los
    diecinueve concejales presentes.", "Queda usted posesionado."), or None; one asked ("¿Queda
    posesionado?"), denied ("No queda usted posesionado hasta…"), supposed, reported ("…dice
    que se posesiona mañana") or told of ("cuando se posesionó el alcalde…") declares nothing
    (:func:`_not_declared`)."""
    said: list[str] = []
    starts: list[int] | None = None
    last_end = -1
    for count, m in enumerate(_OATH_RE.finditer(t.low)):
        if count >= _MAX_TRIGGERS:
            break
        if m.start() < last_end:
            continue  # in the sentence taken before
        if starts is None:
            starts = _sentence_starts(t)
        start = starts[bisect.bisect_right(starts, m.start()) - 1]
        if _not_declared(t, m.start(), start):
            continue
        stop = _SENTENCE_END_RE.search(t.raw, m.end())
        end = stop.end() if stop else len(t.raw)
        last_end = end
        sentence = t.raw[start:end].strip()
        if not sentence.endswith("?") and "¿" not in sentence:
            said.append(sentence)
    return " ".join(said) or None


def _recess(t: _Text) -> dict[str, str]:
    """The times of a recess said in the utterance: when the session was suspended (``inicio``:
    "Siendo las diez y cuarenta de la mañana se suspende la sesión.") and when it was resumed
    (``fin``: "Siendo las diez y cincuenta y ocho se reanuda la sesión."), each the time said in
    its sentence before anything planned ("…un receso hasta las once": no time); {} if none.
    Only a recess decreed now, in the present ("se decreta un receso", "se suspende la sesión",
    "reanudamos la sesión"), not denied, asked nor of another time: "le solicito un receso",
    "la semana pasada se suspendió la sesión a las…", "No se suspende…", "¿Se reanuda la sesión
    a las once?" say no time of this session's recess. A date said where it is resumed is the
    day it is resumed (``fecha``: "…de hoy miércoles quince de octubre…, se reanuda la sesión
    suspendida el día de ayer", a session suspended to continue the next day)."""
    found: dict[str, str] = {}
    starts: list[int] | None = None
    for count, m in enumerate(_RECESS_DECREE_RE.finditer(t.low)):
        if count >= _MAX_TRIGGERS or {"inicio", "fin"} <= found.keys():
            break
        key = "fin" if m["fin"] else "inicio"
        if key in found or _PAST_THIRD_RE.match(t.raw, m.end("verb" if m["verb"] else "verb2") - 2):
            continue  # "decretó un receso": told, not decreed
        if starts is None:
            starts = _sentence_starts(t)
        at = bisect.bisect_right(starts, m.start())
        sentence = t.low[starts[at - 1] : starts[at] if at < len(starts) else len(t.low)]
        told = _PAST_TIME_RE.search(_SUSPENDED_BEFORE_RE.sub("", sentence) if key == "fin" else sentence)
        if _denied(t, m.start()) or _asked(t, m.start()) or told:
            continue
        planned = _PLANNED_RE.search(sentence)
        if hora := _session_time(sentence[: planned.start() if planned else len(sentence)]):
            found[key] = hora
        # the day said before the decree ("…de hoy miércoles quince de octubre…, se reanuda la
        # sesión"), not a date of what is taken up after it ("…para estudiar el proyecto que entra
        # en vigencia el primero de enero…")
        if key == "fin" and (fecha := _find_date(sentence[: m.end() - starts[at - 1]])):
            found["fecha"] = fecha  # resumed on the day said: the acta compares it with the opening's
    return found


def _decisions(t: _Text) -> dict[str, Any]:
    """What an intervention declares besides its words (the acta records it on a line of its
    own): an election's count (``escrutinio``) and result (``eleccion``), the oath taken
    (``posesion``). Read only when the utterance names one of them."""
    found: dict[str, Any] = {}
    if "voto" in t.low and (scrutiny := _scrutiny(t)):
        found["escrutinio"] = scrutiny
    if ("elegid" in t.low or "elect" in t.low) and (election := _election(t)):
        found["eleccion"] = election
    if "posesi" in t.low and (oath := _oath(t)):
        found["posesion"] = oath
    return found


_EXTRACTORS: Final[dict[str, Callable[[_Text], dict[str, Any]]]] = {
    TPL_APERTURA: _apertura_data,
    TPL_ORDEN_DIA: _orden_dia_data,
    TPL_LLAMADO_LISTA: _llamado_data,
    TPL_APROBACION_ORDEN_DIA: _spoken,
    TPL_APROBACION_ACTAS: _actas_data,
    TPL_DEBATE: _intervention_data,
    TPL_PROYECTO_ACUERDO: _proyecto_data,
    TPL_PROPOSICION: _proposicion_data,
    TPL_COMUNICACION: _comunicacion_data,
    TPL_VARIOS: _intervention_data,
    TPL_CIERRE: _cierre_data,
    TPL_FIRMAS: _firmas_data,
}

# --------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------

_NEXT_POINT_RE: Final = re.compile(
    r"\b(?:(?:continuamos|seguimos|pasamos|vamos|avanzamos|procedemos|continuemos|sigamos)\s+"
    r"(?:con|al|a)\s+(?:el\s+)?)?(?:siguiente|proximo)\s+punto(?:\s+del\s+orden\s+del\s+dia)?\b"
    r"|\bpunto siguiente\b"
)
# An agenda point announced by its number at the start: "Tercer punto, elección del segundo
# vicepresidente…", "Punto cuarto. Respuesta al cuestionario…", "punto numero seis lectura de
# comunicaciones". Like "siguiente punto", the item before is over; "Primer punto que quiero
# tocar…" is a speaker's own point.
_POINT_ANNOUNCED_RE: Final = re.compile(
    rf"^\W*(?:punto\s+(?:numero\s+)?(?:{_alt(_ORDINALS)}|{_NUM59_ALT}|[0-9]{{1,2}})"
    rf"|(?:{_alt(_ORDINALS)}|primer|tercer)\s+punto)\b(?!\s+(?:que|de\s+vista)\b)"
)
# A point taken up by its name, at a sentence's start: "Pasamos al punto de las respuestas de la
# administración. Tiene la palabra el ingeniero…", "Bueno, pasamos ahora al punto quinto". Like
# "siguiente punto", the item before is over; the grant after it stayed in the item (blind cabildo
# abierto, utterance 36). "Seguimos con el punto…" may resume the same item after a recess.
_POINT_TAKEN_UP_RE: Final = re.compile(
    r"(?:^|[.!?;:])\s*+[¿¡\"«(]?(?:(?:bien|bueno|entonces|listo|ahora)[\s,]++){0,2}"
    r"(?:pasamos|pasemos|avanzamos)\s+"
    r"(?:ahora\s+)?(?:al|a\s+el)\s+punto\b(?!\s+de\s+vista\b)"
)
# A document read that carries its own signers (a letter, a proposal, a resolution or decree:
# "…Comuníquese y cúmplase. Firman la presidenta… y el secretario general…"): not the acta's.
_NOT_FIRMAS_RE: Final = re.compile(
    r"\b(?:comunicacion|oficio|carta|correspondencia|proposicion|resolucion|decreto)"
)
_CIERRE_RE: Final = re.compile(
    r"\b(?:se levanta|levant(?:o|amos|ar)|se da por (?:terminada|finalizada|concluida|cerrada"
    r"|levantada|clausurada)|(?:damos|doy) por (?:terminada|finalizada|concluida|cerrada|levantada)"
    r"|se cierra|cerr(?:amos|ar)|se clausura|clausur(?:o|amos|ar)|se termina|termin(?:a|amos)"
    r"|finaliz(?:a|amos)|queda (?:levantada|clausurada|cerrada|terminada|finalizada))\b"
    r"(?:\s+[^\W\d_]+){0,3}?\s+sesion\b"
    r"|\bsesion\b(?:\s+[^\W\d_]+){0,2}?\s+(?:levantada|clausurada|terminada|finalizada)\b"
)
# The agenda said to be over, which is the closing: "Agotado el orden del día, …", "se han agotado
# los puntos del orden del día", "el orden del día se ha agotado", "agotamos el orden del día".
_AGENDA_OVER: Final = r"(?:(?:todos\s+)?los\s+puntos\s+del\s+|el\s+)orden\s+del\s+dia\b"
_AGENDA_EXHAUSTED_RE: Final = re.compile(
    r"\b(?:se\s+)?(?:(?:ha|han|habia|habian|haya|hayan|hubiera|hubieran|hemos|quedan?|quedo)\s+)?"
    rf"(?:(?:sido|quedado)\s+)?(?:agotad[oa]s?|agot(?:o|aron|amos))\s+{_AGENDA_OVER}"
    r"|\borden\s+del\s+dia\s+(?P<verb>(?:se\s+)?(?:(?:ha|esta|quedo|ha\s+quedado)\s+)?agot(?:ado|o))\b"
)
_ORDEN_DIA_READ_RE: Final = re.compile(
    r"\blectura (?:y aprobacion )?(?:del|al) (?:proyecto de )?orden del dia\b"
    r"|\b(?:leer|leo|lea|leemos|lee|leyendo|leera)\s+(?:el\s+)?(?:proyecto de\s+)?orden del dia\b"
    r"|\borden del dia\s+(?:es|seria|sera|queda|quedaria|propuesto|para (?:el dia de )?hoy"
    r"|para (?:la|esta) (?:presente )?sesion|de (?:hoy|la fecha|la presente sesion))\b"
    r"|^\W*orden del dia\b"
)
_APROBACION_OD_RE: Final = re.compile(
    r"\b(?:somet\w*|pong\w*|poner|puesto)\s+(?:a\s+)?(?:consideracion|votacion|aprobacion)\b"
    r"[^.?!]{0,60}?\borden del dia\b"
    r"|\borden del dia\b[^.?!]{0,40}?\b(?:somet\w*|aprueba\w*|aprobad\w*)"
    r"|\b(?:aprueba\w*|aprobar|aprobo|aprobacion|modific\w+|ajust\w+|alter\w+|adicion\w+|variar"
    r"|variacion|cambi\w+)\b[^.?!]{0,40}?\borden del dia\b"
    # "Está en consideración el orden del día.", "queda a consideración de la plenaria el orden
    # del día leído", "se abre la discusión del orden del día"
    r"|(?:\b(?:en|a)\s+(?:la\s+)?consideracion|\bdiscusion)\b[^.?!]{0,40}?\borden del dia\b"
)
_ACTAS_RE: Final = re.compile(
    r"\b(?:aprobacion|aprobar|aprueba\w*|consideracion|lectura|somet\w*)\s+"
    r"(?:(?:y|de|del|a|al|la|las|el|los|aprobacion|lectura|consideracion)\s+){0,4}actas?\b"
    r"|\bactas?\s+(?:anterior(?:es)?|de la sesion|de las sesiones|pendientes"
    r"|(?:numeros?|nos?\.?|n[°o]\.?|#)\s*[0-9a-z]|[0-9])"
)
_APERTURA_RE: Final = re.compile(
    r"\b(?:abr(?:e|imos|o|ir)|abiert[oa]|inici(?:a|o|amos|ar|ada|ado)|instal(?:a|o|amos|ar|ada"
    r"|ado)|apertura)\b(?:\s+[^\W\d_]+){0,4}?\s+sesion\b"
    r"|\bsesion\b(?:\s+[^\W\d_]+){0,3}?\s+(?:abierta|instalada|iniciada)\b"
)
_LLAMADO_RE: Final = re.compile(
    r"\bllamad[oa] a lista|\bllam\w* (?:a )?lista\b|\blista de asistencia|\bverific\w* (?:el |del )?"
    r"quorum|\b(?:contest|respond)\w* (?:a |al )?(?:lista|llamado)|\bse excus\w*"
    r"|(?<!habiendo )(?<!existiendo )(?<!con )(?<!verificado el )\bquorum\b"
    rf"|\bcon excusa\b|\bno contest\w*|\b{_EXCUSE_VERB}\b"
    r"|\bexcusad[oa]s?\b(?!\s+(?:de|del|para)\s)"  # not "excusado de votar"
)
_VARIOS_RE: Final = re.compile(
    # Whisper hears "varios" after "proposiciones y" as "marios" or "barios" (the fourth live
    # audit); nothing else is said there.
    r"\bproposiciones,? y (?:asuntos )?[vbm]arios\b|\b(?:asuntos|puntos|temas) varios\b"
    r"|\bpunto de varios\b|\blo que propongan\b"
    # "varios" alone names the point only where it is announced: at the start ("[Siguiente
    # punto,] varios.", "Pasamos a varios.", "En varios, tiene la palabra…"), ending the sentence
    # or followed by the grant of the floor. Said mid-speech ("ocurre en varios", "en varios le
    # faltan docentes") it means "several", and would take the speeches after it to varios.
    rf"|^\W*(?:(?:punto\s+)?(?:{_alt(_ORDINALS)}|primer|tercer|[0-9]{{1,2}})(?:\s+punto)?\W+)?"
    r"(?:(?:pasamos|continuamos|seguimos|vamos|avanzamos|procedemos)\s+(?:a|al|con)\s+)?"
    r"(?:(?:en\s+)?(?:el\s+)?punto\s+(?:de\s+)?|en\s+)?varios\b"
    rf"(?=\s*(?:[.:;!?]|$)|\s*,?\s*(?:se\s+)?(?:le\s+)?(?:{_SPEAKER_TRIGGER_RE.pattern}))"
    # A member's own request made in the point, at the start, after addressing the chair or not:
    # "Presidenta, en varios, solicito un minuto de silencio…", "En varios quiero informar…".
    r"|^\W*+(?:(?:senor|senora)\s+)?(?:president[ea]\W++)?en\s+(?:el\s+punto\s+de\s+)?varios\s*,?\s*"
    r"(?=(?:yo\s+)?(?:solicito|pido|propongo|quiero|quisiera|deseo|me\s+permito|presento|informo)\b)"
)
_COMUNICACION_RE: Final = re.compile(
    r"\b(?:comunicacion|oficio|carta|misiva|correspondencia|circular|derecho de peticion)(?:es|s)?"
    r"\b\s+(?:(?:numero|no\.?|n[°o]\.?)\s+)?(?:[0-9]+\s+)?(?:enviad|remitid|suscrit|firmad|recibid"
    r"|allegad|radicad|dirigid|proveniente|procedente|de\b|del\b|que\b|en la que|mediante|con\b"
    r"|numero|de fecha|es de\b|es del\b)"
    r"|\b(?:lectura|leer|lee|leemos|leo)\b[^.]{0,30}?\b(?:comunicacion|oficio|carta|correspondencia"
    r"|misiva)"
    r"|\bradicad[oa]\s+(?:bajo\s+)?(?:el\s+)?(?:numero|no\.?|n[°o]|[0-9])"
    r"|^\W*(?:comunicaciones|correspondencia)\b"
    # presented: "hay dos comunicaciones", "se recibió un oficio", "llegó una carta"
    r"|\b(?:hay|tenemos|se\s+recibi\w*|lleg(?:o|aron)|ha(?:n)?\s+llegado)\s+(?:[^\W\d_]+\s+)?"
    r"(?:comunicacion|oficio|carta|misiva|correspondencia)"
)
_NOT_COMUNICACION_RE: Final = re.compile(
    r"(?:medios|secretaria|oficina|asesora?|jefe|jefa|plan|estrategia|canales|politica|area"
    r"|direccion|ciencias|tecnologias|equipo) de (?:las? )?$"
)
_PROYECTO_RE: Final = re.compile(
    r"\bproyectos? de acuerdo\b|\b(?:primer|segundo|1er|2do|1[°º]|2[°º]) debate\b|\bponencia\b"
    r"|\bponentes?\b|\barticulado\b"
)
_PROPOSICION_RE: Final = re.compile(r"\bproposici(?:on|ones)\b")
_APERTURA_WEAK_RE: Final = re.compile(
    r"\b(?:preside|presidira|presidida por|presidido por|bajo la presidencia)\b|\bsiendo las?\b"
    r"|\bactua(?:ra)?\s+como\s+secretari[oa]\b"
)
# Sections said only once the session is under way (see _is_apertura_weak).
_UNDER_WAY: Final = frozenset(TEMPLATE_IDS) - {TPL_APERTURA, TPL_LLAMADO_LISTA, TPL_DEBATE}
_CONSTANCIA_RE: Final = re.compile(r"\bconstancia\b|\bque conste\b")
_SPEECH_RE: Final = re.compile(
    r"\bcon la venia\b|\bgracias\b[^.]{0,20}\bpresident|\bsenor(?:a)? president[ea]\b"
    r"|\bbuen(?:os|as) (?:dias|tardes|noches)\b|\bmocion de (?:orden|procedimiento)"
    r"|\breplica\b|\bpor alusion|\bhonorables? concejal\w*|\bcompaneros? concejal\w*"
)

# An agenda item of political control announced: "[Siguiente punto.] Debate de control político
# a la Secretaría de Movilidad…", "Cuarto punto: citación al gerente de Emcali". Only at the
# start (after "siguiente punto", masked, or the item's number), where it names the item taken
# up, not a debate merely spoken of.
_DEBATE_ITEM_RE: Final = re.compile(
    rf"^\W*(?:(?:punto\s+)?(?:{_alt(_ORDINALS)}|primer|tercer|[0-9]{{1,2}})(?:\s+punto)?\W+)?"
    r"(?:(?:que\s+)?es\s+)?(?:(?:el|la|un|una)\s+)?"
    r"(?:debate\s+de\s+control(?:\s+politico)?|control\s+politico|debate\s+(?:citado|programado)"
    r"|citacion\s+(?:a|al|de|del)\b|(?:respuestas?\s+(?:al|a\s+la|a\s+las)\s+)?cuestionario\b"
    r"|(?:(?:votacion|discusion|debate|tramite)\s+(?:de\s+)?(?:la\s+)?)?mocion\s+de\s+censura\b)"
)
# A proposición named as what a debate is based on ("respuesta al cuestionario de la proposición
# 47", "citado mediante la proposición 85"), or whose figures or reasons a speaker answers ("las
# cifras de la proposición están incompletas", the official censured in his defence): cited, not a
# proposition presented.
_PROPOSAL_CITED_RE: Final = re.compile(
    r"\b(?:cuestionario|citacion|preguntas?|respuestas?|debate|base en|virtud de|desarrollo de|segun"
    r"|acuerdo con|conforme a|mediante|cifras|datos|razones|argumentos|motivos|firmantes)"
    r"\s+(?:(?:de|del|a|al)\s+)?(?:(?:la|las)\s+)?$"
)
# A proposición a speaker says they will present ("voy a presentar la proposición para crear una
# comisión accidental", "presentaré una proposición", "radicaremos mañana la proposición"): an
# intention said in a speech, not a proposal presented; it opened the proposals' section, and
# the debate after it stayed there (blind cabildo abierto, utterances 32–37). Read at once ("voy a
# presentar la siguiente proposición: que se cite…") it is one.
_PROPOSAL_INTENDED_RE: Final = re.compile(
    r"\b(?:(?:voy|vamos|va|van)\s+a\s+(?:presentar|radicar|proponer|hacer|pasar|traer)"
    r"|presentare(?:mos)?|radicare(?:mos)?|propondre(?:mos)?|hare(?:mos)?|pasare(?:mos)?"
    r"|traere(?:mos)?)\s+(?:(?:la|las|una|unas|esta|mi|mis|nuestra|nuestras|otra|nueva|siguiente"
    r"|manana|hoy|luego|tambien|entonces|ahora)\s+){0,3}$"
)
# A proposición the speaker says they have filed ("por eso radicamos una proposición para exigir un
# plan de choque", "hemos presentado una proposición", "acabo de radicar la proposición"): spoken
# of in a speech, not presented now (blind control debate, utterance 36: the citante's conclusions
# went to the proposals as an anonymous one), or told of ("cuando presentamos esta proposición, lo
# hicimos pensando…", the proponent's speech in a sesión solemne). First person only: "la
# concejala radicó una proposición" may be the secretary presenting it; "presento una proposición
# para…" presents it.
_PROPOSAL_FILED_RE: Final = re.compile(
    r"\b(?:radique|radicamos|(?:he|hemos|habia|habiamos)\s+(?:radicado|presentado)|ya\s+presentamos"
    r"|cuando\s+(?:presente|presentamos)"
    r"|(?:acabo|acabamos)\s+de\s+(?:radicar|presentar)|(?:deje|dejamos)\s+radicad[oa])\s+"
    r"(?:(?:la|las|una|unas|esta|mi|mis|nuestra|nuestras|otra|nueva|ninguna|ya|ayer|hoy|tambien)\s+){0,3}$"
)
# A proposición whose author is named by it ("Tiene la palabra el concejal X, autor de la
# proposición que dio origen a este homenaje", in a sesión solemne): spoken of, unless read then
# ("La autora de la proposición es la concejala Ana Ruiz: que se cite…").
_PROPOSAL_AUTHOR_RE: Final = re.compile(
    r"\b(?:autor|autora|autores|autoras)\s+de\s+(?:la|las|esta|estas)\s+$"
)
# The speaker's own vote named before, in the sentence: "dejo constancia de mi voto negativo en la
# segunda proposición" speaks of the proposición voted on.
_OWN_VOTE_BEFORE_RE: Final = re.compile(r"\b(?:mi|nuestro|nuestra)\s+voto\b[^.;?!]*$")
_OWN_VOTE_CHARS: Final = 100
# The proposal's text announced after it is named, in the same clause: "…proposición que dice
# así…", "…cuyo texto es…" (or the clause ends in a colon: "…la siguiente proposición: que…").
_PROPOSAL_SAYS_RE: Final = re.compile(r"\b(?:(?:que|la cual)\s+dice|dice\s+asi|cuyo\s+texto)\b")
# A change to the agenda asked for while it is being approved: "Solicito que en el punto de
# asuntos varios se incluya…", "Propongo aplazar el punto del proyecto de acuerdo". The items it
# names (varios, proyecto, proposición…) are the agenda's, not a section taken up.
_AGENDA_CHANGE_VERB: Final = (
    r"(?:inclu|adicion|agreg|retir|aplaz|aplac|pospon|modific|cambi|alter|traslad|exclu|suprim"
    r"|elimin|adelant|antepon|sustitu|reemplaz|mov|muev|reorden|invert|intercambi|anticip|posterg)\w*"
)
# A point put in another place of the agenda: "que el punto de comunicaciones se lea antes de la
# elección", "que el punto de varios vaya de primero", "el punto del proyecto al final".
_AGENDA_PLACE: Final = (
    r"(?:antes|despues|luego)\s+(?:de|del)|de\s+(?:primero|ultimo|primeras|ultimas)"
    r"|al\s+(?:final|principio|inicio|comienzo)|en\s+(?:primer|ultimo)\s+lugar"
)
# "en este punto" is "at this point", "punto de vista" a view: neither is an agenda item.
_AGENDA_ITEM: Final = (
    r"(?:(?<!\ben )(?<!\ben este )(?<!\ben ese )punto(?!\s+de\s+vista)|orden del dia|agenda)"
)
_AGENDA_CHANGE_RE: Final = re.compile(
    rf"\b{_AGENDA_CHANGE_VERB}\b[^.?!]{{0,60}}?\b{_AGENDA_ITEM}\b"
    rf"|\b{_AGENDA_ITEM}\b[^.?!]{{0,80}}?\b(?:(?:se\s+)?{_AGENDA_CHANGE_VERB}|{_AGENDA_PLACE})\b"
)
# The change must be asked for: a request ("solicito que", "propongo aplazar", "la concejala
# pide que") or, addressing the chair, a bare "que" ("Presidente, que el punto… se traslade").
_REQUEST_RE: Final = re.compile(
    r"\b(?:solicit(?:o|a|an|amos|ar|aria)|propon(?:go|e|en|emos|er|dria)|pid(?:o|e|en)"
    r"|ped(?:imos|ir|iria)|sugier(?:o|e|en)|suger(?:imos|ir|iria))\b"
    r"|^\W*(?:(?:(?:senor|senora)\s+)?(?:president[ea]|secretari[oa])\b\W*)?(?=que\b)"
)
# The speaker's own request (first person, or the chair addressed with a bare "que").
_OWN_REQUEST_RE: Final = re.compile(
    r"\b(?:solicit(?:o|amos|ar|aria)|solicitarles?|propon(?:go|emos|er|dria)|pid(?:o)|ped(?:imos|ir|iria)"
    r"|pedirles?"
    r"|sugier(?:o)|suger(?:imos|ir|iria))\b"
    r"|^\W*(?:(?:senor|senora)\s+)?president[ea]\b\W*(?=que\b)"
)
_CLAUSE_STOP_RE: Final = re.compile(r"[.;:?!]")
_MAX_REQUEST_CHARS: Final = 240  # a request's clause looked at (bounds the work on long text)
_AGENDA_BEING_APPROVED: Final = frozenset({TPL_ORDEN_DIA, TPL_APROBACION_ORDEN_DIA})

# Items put to the plenary's consideration: what is said while one is considered (a grant of
# the floor, an objection, a ponencia) belongs to it. Interventions stay in these sections and
# in "asuntos varios" (see _intervention_section).
_ITEM_SECTIONS: Final = frozenset(
    {TPL_APROBACION_ORDEN_DIA, TPL_APROBACION_ACTAS, TPL_PROYECTO_ACUERDO, TPL_PROPOSICION}
)
_STAYING: Final = _ITEM_SECTIONS | {TPL_VARIOS}
# Sections a point announced that names an item the rules do not know ends (see _choose). The roll
# call too: "segundo punto himnos. los invitamos a ponernos de pie…", said after the quorum was
# verified, went to the roll call (blind sesión solemne, utterance 6); and the agenda read, when
# its first point is taken up with no vote on it ("Primer punto, himnos…", a solemn session's).
# An agenda read on over several utterances names two points or more in each (_is_agenda_listing).
_POINT_ENDS: Final = _STAYING | {TPL_COMUNICACION, TPL_LLAMADO_LISTA, TPL_ORDEN_DIA}
# Speech, not an item read: first person, or the chair addressed ("Presidente, …").
_SPOKEN_RE: Final = re.compile(
    r"\b(?:yo|mi|mis|me|nosotros|nosotras|nuestr[oa]s?|solicito|pido|propongo|quiero|quisiera"
    r"|considero|creo|pienso|pregunto|manifiesto|insisto|apoyo|acompano|voto|presento|informo"
    r"|agradezco|saludo|estoy|tengo|hago|dejo|reitero|solicitamos|pedimos|queremos|proponemos"
    r"|consideramos|estamos|tenemos|he|hemos|radique|radicamos|acabo|acabamos"
    r"|gracias|invito|invitamos|felicito|felicitamos)\b"
    r"|^\W*(?:senor[a]?\s+)?president[ea]\b"
)
# Members designated to a commission, in one sentence: "Quedan designados para la comisión
# accidental los concejales…", "La comisión accidental queda integrada por…", "Designo a los
# concejales… para la comisión". Said by the chair, with no first person, right after the
# proposal creating the commission is approved: it is that proposal's, not an item read ("Informe
# de la comisión accidental…": no designation said).
_DESIGNATION_RE: Final = re.compile(
    r"\b(?:(?:queda|quedan|quedo|quedaron)\s+(?:designad|nombrad|conformad|integrad)[oa]s?"
    r"|se\s+(?:designa|nombra|conforma|integra)n?|designo|designamos|nombro|nombramos)\b"
    r"(?=[^.;?!]{0,120}?\bcomision\b)"
    r"|\bcomision\b[^.;?!]{0,80}?\b(?:queda|quedan|quedo|quedaron)\s+(?:designad|nombrad|conformad"
    r"|integrad)[oa]s?\b"
)
# "Señor secretario, sírvase leer el siguiente punto.", with "siguiente punto" masked.
_NEXT_POINT_FILLER_RE: Final = re.compile(
    r"(?:[\W_]|\b(?:senor|senora|secretario|secretaria|presidente|presidenta|general|sirvase"
    r"|por|favor|leer|lea|leemos|dar|de|lectura|anunciar|anuncie|continuar|continuamos|pasamos"
    r"|pasar|con|el|al|a|la|del|y|entonces|bien|bueno|muy|gracias|muchas|listo|ok|okay"
    r"|hoy)\b)*"
)
# A recess and the resumption (``fin``): "se decreta un receso de quince minutos", "se reanuda
# la sesión".
_RECESS_RE: Final = re.compile(
    r"\brecesos?\b|\b(?:suspende|suspendemos|suspendio|(?P<fin>reanuda|reanudamos|reanudo|reinicia"
    r"|reiniciamos|retoma|retomamos))\b(?:\s+[^\W\d_]+){0,2}?\s+(?:sesion|plenaria)\b"
)
# A recess decreed now, in the present: "se decreta un receso", "decreto un receso de diez
# minutos", "se suspende la sesión", "reanudamos la sesión".
_RECESS_DECREE_RE: Final = re.compile(
    r"\b(?P<verb>se\s+(?:decreta|declara|concede|da)|decreto|decretamos|declaro|declaramos|concedo"
    r"|damos)\s+(?:un\s+)?(?:breve\s+)?receso\b"
    r"|\b(?P<verb2>se\s+suspende|suspendo|suspendemos|(?P<fin>se\s+(?:reanuda|reinicia|retoma)|reanudamos"
    r"|reiniciamos|retomamos))\b(?:\s+[^\W\d_]+){0,2}?\s+(?:sesion|plenaria)\b"
)
# A time said after these in a recess's sentence is planned, not when it happened: "se decreta un
# receso hasta las once", "se suspende la sesión y se reanudará a las once", "se suspende la sesión
# y se convoca para continuarla mañana a las nueve" (its nine was when it was suspended).
_PLANNED_RE: Final = re.compile(
    r"\b(?:(?:hasta|para)\s+(?:las?|el|manana|dentro)\b|reanudara|reanudaremos|retomaremos|volveremos"
    r"|continuaremos|regresaremos|se\s+(?:les\s+|los\s+|las\s+)?convoca\b|convocamos\b)"
)
# The session resumed said to be the one suspended before ("se reanuda la sesión suspendida el día
# de ayer"): when it was suspended, not a resumption told of another day.
_SUSPENDED_BEFORE_RE: Final = re.compile(r"\bsuspendida\s+(?:el\s+dia\s+de\s+)?(?:ayer|anteayer)\b")
_NOT_IN_PLACE: Final = frozenset({TPL_APERTURA, TPL_CIERRE, TPL_FIRMAS})
# Items taken up once the roll call and the agenda are over: the quorum verified while one is
# under way is verified again (see _quorum_again).
_MID_SESSION: Final = frozenset(
    {TPL_APROBACION_ACTAS, TPL_PROYECTO_ACUERDO, TPL_PROPOSICION, TPL_COMUNICACION, TPL_VARIOS}
)
_AGAIN_RE: Final = re.compile(r"\b(?:nuevamente|de nuevo|otra vez)\b")
# Sections of interventions, where an election or an oath is declared (see _decisions).
_DECIDING_TEMPLATES: Final = frozenset({TPL_DEBATE, TPL_VARIOS})
# Words of a line after the closing that stays in it ("Así quedó convocada la plenaria, presidente.
# Buenas tardes a todos."); a longer one, said after it, is a speech of its own.
_MAX_AFTER_CLOSING_WORDS: Final = 20

_Rule = Callable[[_Text], "int | None"]


def _first(regex: re.Pattern[str]) -> _Rule:
    def rule(t: _Text) -> int | None:
        m = regex.search(t.low)
        return m.start() if m else None

    return rule


def _own_requests(t: _Text) -> tuple[list[int], list[int]]:
    """Starts and ends of the clauses of the speaker's own requests ("propongo que…", "solicito
    que se lea…", "Presidente, que…"), merged and in order, each up to its clause's end."""
    starts: list[int] = []
    ends: list[int] = []
    for m in _OWN_REQUEST_RE.finditer(t.low):
        if ends and m.start() < ends[-1]:
            continue  # inside the clause of the request before
        limit = min(len(t.low), m.end() + _MAX_REQUEST_CHARS)
        stop = _CLAUSE_STOP_RE.search(t.low, m.end(), limit)
        starts.append(m.start())
        ends.append(stop.start() if stop else limit)
    return starts, ends


def _proposicion_at(t: _Text, start: int = 0) -> int | None:
    """Where a proposición presented or considered is first named (from ``start``), or None. One
    cited as the basis of a debate ("el cuestionario de la proposición 47"), the one ending a
    bill's ponencia ("la proposición con que termina el informe de ponencia") or one a speaker
    will present or has filed ("voy a presentar la proposición…", "radicamos una proposición…")
    or voted on ("constancia de mi voto negativo en la segunda proposición") is not one."""
    own_vote_on_record: bool | None = None  # read once, when a proposición follows an own vote
    for m in _PROPOSICION_RE.finditer(t.low, start):
        cited = _PROPOSAL_CITED_RE.search(t.low, max(0, m.start() - 40), m.start())
        ponencia = _PONENCIA_PROPOSAL_RE.match(t.low, m.start()) or (
            _REPORT_PROPOSAL_RE.match(t.low, m.start()) and _PROYECTO_RE.search(t.low, m.end())
        )
        if cited is not None or ponencia is not None or _proposal_spoken_of(t, m) or _proposal_decided(t, m):
            continue
        if _CENSURE_PROPOSED_RE.search(t.low, m.end(), _next_proposicion(t, m)):
            continue  # the proposición bringing a moción de censura: read in the moción's item
        if _OWN_VOTE_BEFORE_RE.search(t.low, max(0, m.start() - _OWN_VOTE_CHARS), m.start()):
            # "…constancia de mi voto negativo en la segunda proposición" (said in varios: blind
            # control debate, utterance 49): the one voted on, spoken of where it is said; a
            # count said with it is a vote (see _records_own_vote)
            if own_vote_on_record is None:
                own_vote_on_record = _records_own_vote(t)
            if own_vote_on_record:
                continue
        return m.start()
    return None


def _proposal_decided(t: _Text, m: re.Match[str]) -> bool:
    """Whether the sentence naming the proposición at ``m`` reports its earlier vote (see
    _EARLIER_STEP_RE): "que la proposición número ochenta y cuatro… fue aprobada por la plenaria
    en sesión del dieciocho de septiembre", a considerando of the resolution read in a sesión
    solemne, tells how the honour came about; it is no proposal presented now."""
    step = _EARLIER_STEP_RE.search(t.low, m.end())
    return step is not None and _SENTENCE_END_RE.search(t.low, m.end(), step.start()) is None


def _next_proposicion(t: _Text, m: re.Match[str]) -> int:
    """Where the next proposición after ``m`` is named, or the text's end."""
    after = _PROPOSICION_RE.search(t.low, m.end())
    return after.start() if after is not None else len(t.low)


def _proposal_spoken_of(t: _Text, m: re.Match[str]) -> bool:
    """Whether the proposición named at ``m`` is one the speaker says they will present or have
    filed, or one whose author is named, and is not read then (see _PROPOSAL_INTENDED_RE,
    _PROPOSAL_FILED_RE, _PROPOSAL_AUTHOR_RE)."""
    before = max(0, m.start() - 60)
    if (
        _PROPOSAL_INTENDED_RE.search(t.low, before, m.start()) is None
        and _PROPOSAL_FILED_RE.search(t.low, before, m.start()) is None
        and _PROPOSAL_AUTHOR_RE.search(t.low, before, m.start()) is None
    ):
        return False
    limit = min(len(t.low), m.end() + _MAX_REQUEST_CHARS)
    stop = _CLAUSE_STOP_RE.search(t.low, m.end(), limit)
    if stop is not None and stop.group(0) == ":":
        return False  # read: "…la siguiente proposición: que se cite…"
    return _PROPOSAL_SAYS_RE.search(t.low, m.end(), stop.start() if stop else limit) is None


def _varios_at(t: _Text) -> int | None:
    """Where the point "varios" is named, or None. The point "proposiciones y varios" announced
    and a proposición then named ("Octavo punto, proposiciones y varios. Señora secretaria, ¿hay
    proposiciones sobre la mesa?") takes the proposals up first: that is the proposals' section."""
    m = _VARIOS_RE.search(t.low)
    if m is None:
        return None
    if m.group(0).startswith("proposiciones") and _proposicion_at(t, m.end()) is not None:
        return None
    return m.start()


def _comunicacion_at(t: _Text) -> int | None:
    """Where a communication read or presented is first named ("Se da lectura a la comunicación
    de…", "Oficio No. 12 remitido por…", "Me permito leer la carta…"), or None. One named in the
    speaker's own request ("propongo que el punto de comunicaciones se lea antes, porque hay una
    carta de la Procuraduría…", "solicito que se lea el oficio…") is spoken of, not read."""
    requests: tuple[list[int], list[int]] | None = None
    for m in _COMUNICACION_RE.finditer(t.low):
        if _NOT_COMUNICACION_RE.search(t.low, max(0, m.start() - 30), m.start()):
            continue
        if requests is None:
            requests = _own_requests(t)
        starts, ends = requests
        clause = bisect.bisect_right(starts, m.start()) - 1
        if clause < 0 or ends[clause] <= m.start():
            return m.start()
    return None


# The quorum said as the reason of something else: "como no hay quórum decisorio, se aplaza la
# aprobación del orden del día", "hasta que haya quórum", "por falta de quórum". What is
# postponed is the section; the roll call is where the quorum is declared.
_QUORUM_AS_REASON_RE: Final = re.compile(
    r"\b(?:como|ya que|dado que|puesto que|porque|hasta que|mientras|cuando|en cuanto)\s+"
    r"(?:(?:aun|todavia)\s+)?(?:no\s+)?(?:hay|haya|tenemos|tengamos|existe|exista|contamos con"
    r"|contemos con|se (?:conforma|conforme|completa|complete))\s+(?:el\s+)?$"
    r"|\b(?:por|ante)\s+(?:la\s+)?(?:falta|ausencia)\s+de\s+$"
)


# The roll call said to come after something else: "Antes de llamar a lista los invito a ponernos
# de pie para entonar el himno nacional…" is the anthems, not the roll call.
_BEFORE_ROLL_CALL_RE: Final = re.compile(r"\bantes\s+de\s+$")


def _llamado_at(t: _Text) -> int | None:
    """Where the roll call is spoken of; a quorum said only as a reason is not (see
    _QUORUM_AS_REASON_RE), unless the members present are counted with it: "como no hay quórum
    decisorio la plenaria solo puede deliberar; están presentes ocho honorables concejales" is
    the roll call's result; nor a roll call said to come after what is said
    (_BEFORE_ROLL_CALL_RE)."""
    headcount: bool | None = None  # searched once, when first needed (not once per quorum)
    for m in _LLAMADO_RE.finditer(t.low):
        if _BEFORE_ROLL_CALL_RE.search(t.low, max(0, m.start() - 12), m.start()):
            continue
        if m.group() != "quorum" or not _QUORUM_AS_REASON_RE.search(t.low, max(0, m.start() - 40), m.start()):
            return m.start()
        if headcount is None:
            headcount = _HEADCOUNT_RE.search(t.low) is not None
        if headcount:
            return m.start()
    return None


# A bill named in an account of what happened to it, in the sentence that names it: "se
# aprobaron nueve proyectos de acuerdo, entre ellos el proyecto de acuerdo 047…" (a report of
# the period), "el proyecto de acuerdo 039… quedó pendiente… y no alcanzó a ser votado" (a
# constancia): spoken of, not the bill under consideration. One bill's own history read when it
# is taken up ("…aprobado en primer debate el…") is said in the singular and is not this.
_BILL_ACCOUNT_RE: Final = re.compile(
    r"\b(?:se (?:aprobaron|negaron|archivaron|tramitaron|radicaron|sancionaron)"
    r"|fueron (?:aprobados|negados|archivados|tramitados|radicados|sancionados)"
    r"|aprobamos|tramitamos|quedaron pendientes|quedo pendiente|no alcanzo a ser)\b"
)


def _proyecto_at(t: _Text) -> int | None:
    """Where a bill is named as one under consideration, or None: a bill named in a sentence that
    gives an account of what happened to bills (see _BILL_ACCOUNT_RE) or in the clause of the
    speaker's own request ("para pedirle a la mesa directiva que programe el primer debate del
    proyecto de acuerdo de gestión del riesgo", said in varios) is spoken of, unless a point
    announced takes it up ("Quinto punto. …", "Siguiente punto, …": masked, the text starts
    blank)."""
    announced = _POINT_ANNOUNCED_RE.match(t.low) is not None or t.low[:1].isspace()
    requests: tuple[list[int], list[int]] | None = None
    for m in _PROYECTO_RE.finditer(t.low):
        start = _sentence_start(t, m.start())
        end = _ANNOUNCEMENT_END_RE.search(t.raw, m.end())
        if announced:
            return m.start()
        if _BILL_ACCOUNT_RE.search(t.low, start, end.start() if end else len(t.low)) is not None:
            continue
        if requests is None:
            requests = _own_requests(t)
        clause = bisect.bisect_right(requests[0], m.start()) - 1
        if clause < 0 or requests[1][clause] <= m.start():
            return m.start()
        if _BILL_TAKEN_UP_RE.search(t.low, requests[0][clause], m.start()):
            return m.start()  # "le solicito al secretario dar lectura al proyecto…": taken up now
    return None


# What a request asks done with the bill now, which takes it up ("le solicito al secretario dar
# lectura al proyecto de acuerdo…", "propongo que se vote en bloque el proyecto…"), not a request
# about it for later ("…que programe el primer debate del proyecto…").
_BILL_TAKEN_UP_RE: Final = re.compile(
    r"\b(?:lectura|lea|leer|leamos|lee|vote|voten|votar|votemos|votacion|someta|someter|sometamos"
    r"|consideracion|considere|considerar|discuta|discutir|apruebe|aprobar)\b"
)


def _convocation_at(t: _Text) -> int | None:
    """Where the next session is summoned (_CONVOCATION_RE), which makes the utterance the
    closing. Summoned in the sentence that suspends the session now ("se suspende la sesión y se
    convoca para continuarla mañana miércoles a las nueve"), it is this session, continued
    another day in the same acta: not lifted, and said where it was suspended, like a recess (it
    was the closing, "se levanta la sesión", a day before the session ended)."""
    m = _CONVOCATION_RE.search(t.low)
    if m is None:
        return None
    start, stop = _sentence_start(t, m.start()), _SENTENCE_END_RE.search(t.raw, m.end())
    for decree in _RECESS_DECREE_RE.finditer(t.low, start, stop.start() if stop else len(t.low)):
        if decree["verb2"] and not decree["fin"] and not _denied(t, decree.start()):
            return None
    return m.start()


# Section rules: the one whose marker comes first in the utterance wins (ties: list order).
_SECTION_RULES: Final[tuple[tuple[str, _Rule], ...]] = (
    (TPL_ORDEN_DIA, _first(_ORDEN_DIA_READ_RE)),
    (TPL_APROBACION_ORDEN_DIA, _first(_APROBACION_OD_RE)),
    (TPL_APROBACION_ACTAS, _first(_ACTAS_RE)),
    (TPL_APERTURA, _first(_APERTURA_RE)),
    (TPL_LLAMADO_LISTA, _llamado_at),
    (TPL_VARIOS, _varios_at),
    (TPL_COMUNICACION, _comunicacion_at),
    (TPL_CIERRE, _convocation_at),
    (TPL_PROYECTO_ACUERDO, _proyecto_at),
    (TPL_PROPOSICION, _proposicion_at),
    (TPL_DEBATE, _first(_DEBATE_ITEM_RE)),
)


def _reads_a_communication(t: _Text) -> bool:
    """Whether a communication is read or presented before any vote is said ("Hay dos
    comunicaciones. La primera es de la Procuraduría…: …debe hacerse mediante votación nominal
    y pública…"): the vote's words after it are the letter's, not a vote held now. A count said
    ("votaron sí quince, no dos") is one held now."""
    vote = _VOTE_RE.search(t.low)
    at = _comunicacion_at(t) if vote is not None else None
    return at is not None and vote is not None and at < vote.start() and not any(_tally(t.low).values())


def _is_agenda_listing(t: _Text, previous: str | None) -> bool:
    said_agenda = _ORDEN_DIA_RE.search(t.low) is not None or previous == TPL_ORDEN_DIA
    return said_agenda and len(_agenda_marks(t.low)) >= 2


def _agenda_exhausted(t: _Text) -> bool:
    """Whether the agenda is said to be over now (#50 of the blind control debate: "Señor
    presidente, se han agotado los puntos del orden del día.", which went to the agenda): the
    closing. Denied, asked, supposed or reported ("aún no se ha agotado…", "¿se agotó…?",
    "cuando se hayan agotado…", "dijo que se agotó…") it is not."""
    m = _AGENDA_EXHAUSTED_RE.search(t.low)
    if m is None:
        return False
    said = m.start("verb") if m["verb"] else m.start()
    return not _not_declared(t, said, _sentence_at(_sentence_starts(t), said))


def _is_firmas(t: _Text) -> bool:
    """Whether the utterance says who signs the acta (see _signing_statement)."""
    return not _NOT_FIRMAS_RE.search(t.low) and _signing_statement(t) is not None


# Something declared closed or ended ("Siendo las seis y cuarenta…, declaro clausurado el segundo
# período de sesiones ordinarias"): its time is when it ended, never the session's opening.
_CLOSED_RE: Final = re.compile(r"\b(?:clausurad[oa]s?|clausur(?:o|amos)|se clausura)\b")


def _is_apertura_weak(t: _Text, previous: str | None) -> bool:
    """A time ("siendo las nueve y diez…") or who presides, said before the session is under
    way: the opening. After a section said only once it is (the agenda, an item, a vote…), or
    in a constancia ("se deja constancia de que… siendo las nueve y cuarenta"), it does not
    open the session again: an opening then says so ("se abre la sesión", _APERTURA_RE). The
    debate and the roll call may come before the opening (a greeting, the quorum), so after
    them the weak rule still holds. A time said with something declared closed is when it
    ended (_CLOSED_RE)."""
    m = _APERTURA_WEAK_RE.search(t.low)
    if m is None or previous in _UNDER_WAY or _CONSTANCIA_RE.search(t.low) or _CLOSED_RE.search(t.low):
        return False
    return not m.group(0).startswith("siendo") or _find_time(t.low[m.start() :]) is not None


def _is_roll_call(t: _Text, previous: str | None) -> bool:
    """Members called by name answering "presente", "no se encuentra", "excusada": a roll call,
    not a vote ("Luis Mora, no se encuentra" is no "no"). Two answers at least, or one right
    after the roll call was asked for; and more of them than votes ("Ana Ruiz, sí. Luis Mora,
    ausente. Eva Paz, sí." is a vote)."""
    answers = _roll_call_items(t)
    if len(answers) < (1 if previous == TPL_LLAMADO_LISTA else 2):
        return False
    called = {_entry_name(a.entry) for a in answers}
    votes = [v for v in _vote_items(t) if v["nombre"] not in called]
    return len(answers) > len(votes)


def _roll_call_read_as_lists(t: _Text, previous: str | None, roll_call: Callable[[], dict[str, Any]]) -> bool:
    """The roll call said as lists, with no answer per name: the members present once it was
    asked for ("Con mucho gusto, presidente. Se encuentran conectados los honorables concejales
    A, B, C…"), or the absent named for the record of the session, at its edges ("Se deja
    constancia de que no asistieron a la sesión los honorables concejales A, B…", after the
    closing of a session without quorum); members absent from a commission's meeting, or not
    answering a nominal vote, are spoken of in the section they are said in. The first 15 s of
    such a reading, cut there and naming no quorum yet, went to the debate, and the roll call's
    table lost those members."""
    if previous == TPL_LLAMADO_LISTA and len(roll_call().get("presentes") or ()) >= 2:
        return True
    return previous in _SESSION_EDGES and len(_people_after(_ABSENCE_NOTED_RE, t)) >= 2


_SESSION_EDGES: Final = frozenset({None, TPL_APERTURA, TPL_LLAMADO_LISTA, TPL_CIERRE})


# The absent named for the record: "no asistieron a la sesión los honorables concejales…", "no
# se hicieron presentes…" (the acta's table already has them from the roll call: this only says
# where the words go).
_ABSENCE_NOTED_RE: Final = re.compile(
    r"\bno\s+(?:asistieron|se\s+hicieron\s+presentes|contestaron(?:\s+a\s+lista)?)"
    r"(?:\s+a\s+la\s+(?:sesion|plenaria)(?:\s+de\s+hoy)?)?\s*[:,]?"
)


def _intervention_section(previous: str | None, next_point: bool = False) -> str:
    """Where an intervention that names no section goes: one said while an item is under
    consideration (an acta, the agenda, a bill, a proposal) or in "asuntos varios" stays in
    that section, next to what it is about, until another section is named or a point
    announced ("siguiente punto", "Tercer punto, …") leaves it; otherwise it is part of the
    debate."""
    return previous if previous in _STAYING and not next_point else TPL_DEBATE


def _in_place(previous: str | None) -> str:
    """Section of a procedural note said mid-session (a member arriving, a recess): the one it
    interrupts; after the opening or the closing, whose summaries would drop it, the debate."""
    return previous if previous is not None and previous not in _NOT_IN_PLACE else TPL_DEBATE


def _quorum_again(
    t: _Text, previous: str | None, next_point: bool, roll_call: Callable[[], dict[str, Any]]
) -> bool:
    """Whether the quorum spoken of is verified again once the session is under way ("Siendo
    las diez y cincuenta y ocho se reanuda la sesión. Señor secretario, sírvase verificar
    nuevamente el quórum.", then "se encuentran en el recinto dieciocho honorables concejales,
    hay quórum decisorio"): said while an item is considered, or said to be again (a recess
    ended, "nuevamente") after the opening, with no member called by name nor a point
    announced. It belongs where it happened, in the section it interrupts (_in_place): in the
    roll call's zone, near the top of the acta, the session read as resumed before its agenda
    was approved. ``roll_call`` gives the roll call's data, read once for the utterance (the
    extractor takes it too)."""
    if next_point or previous in {None, TPL_APERTURA, TPL_LLAMADO_LISTA}:
        return False
    again = previous in _MID_SESSION or _RECESS_RE.search(t.low) or _AGAIN_RE.search(t.low)
    if not again:
        return False
    called = roll_call()
    return not any(key in called for key in _ROLL_CALL_KEYS)


# "mi voto negativo", "nuestro voto en contra": the speaker's own vote, spoken of.
_OWN_VOTE_RE: Final = re.compile(r"\b(?:mi|nuestro|nuestra)\s+voto\b")


def _records_own_vote(t: _Text) -> bool:
    """Whether the utterance puts the speaker's own vote on record ("solicito que quede en el acta
    una constancia escrita de mi voto negativo…", "que conste mi voto en contra"): a constancia,
    said where the item is, not a vote held nor an acta approved (it went to APROBACIÓN DE ACTAS
    ANTERIORES for "el acta", with a vote that was none). A count or members' votes said with it
    are a vote."""
    if _CONSTANCIA_RE.search(t.low) is None or _OWN_VOTE_RE.search(t.low) is None:
        return False
    return not any(_tally(t.low).values()) and not _vote_items(t)


# Bills counted in an account of a period: "tres proyectos fueron archivados… y dos fueron
# negados en la plenaria", "se aprobaron nueve proyectos de acuerdo".
_BILLS_COUNTED_RE: Final = re.compile(
    rf"(?<!\blos )(?<!\blas )\b(?:{_alt(_NUMBER_WORDS)}|[0-9]+)\s+proyectos\b"
)


def _reports_bills(t: _Text) -> bool:
    """Whether every vote's word said is in a sentence that counts bills and says what happened
    to them (see _BILLS_COUNTED_RE, _BILL_ACCOUNT_RE): a report of the period ("tres proyectos
    fueron archivados… y dos fueron negados en la plenaria"), not a vote held now. A count of
    votes said is one held now."""
    if any(_tally(t.low).values()):
        return False
    found = False
    for m in _VOTE_RE.finditer(t.low):
        start = _sentence_start(t, m.start())
        end_m = _ANNOUNCEMENT_END_RE.search(t.raw, m.end())
        end = end_m.start() if end_m else len(t.low)
        if (
            _BILLS_COUNTED_RE.search(t.low, start, end) is None
            or _BILL_ACCOUNT_RE.search(t.low, start, end) is None
        ):
            return False
        found = True
    return found


def _is_vote(t: _Text) -> bool:
    """Whether the utterance holds a vote (its words, or members' votes listed), other than a
    step already taken (_EARLIER_STEP_RE), a speaker's own vote put on record
    (:func:`_records_own_vote`) or bills' fate reported (:func:`_reports_bills`)."""
    voted = _vote_said(_EARLIER_STEP_RE.sub(" ", t.low)) or len(_vote_items(t)) >= 2
    return voted and not _records_own_vote(t) and not _reports_bills(t)


def _reads_the_bill(t: _Text) -> bool:
    """Whether the utterance reads the bill's text (an article, the title, the preamble: "Artículo
    séptimo. Facúltese al alcalde…", "Título del proyecto: …") or a proposal amending it ("Artículo
    cuarto. Tiene proposición modificatoria presentada por…"): said while the bill is considered,
    it is the bill's, with the votes on it, not a proposición of its own nor an item unknown."""
    return _BILL_PART_RE.match(t.low) is not None or _AMENDMENT_RE.search(t.low) is not None


# The bill under consideration referred to ("el proyecto se archiva", "Declaradas infundadas las
# objeciones, el proyecto pasa a sanción…"): the chair declaring what follows for it, in its item.
_BILL_REFERRED_RE: Final = re.compile(r"\b(?:el|este|dicho|del|al)\s+proyecto\b|\bobjeciones\b")


def _reads_a_bills_letter(t: _Text) -> bool:
    """Whether the utterance reads a letter that names a bill after it ("Santiago de Cali, cuatro
    de noviembre…, radicado número…. Asunto: objeciones al proyecto de acuerdo 089…"): said
    while the bill is considered, it is a paper of the bill's file (the mayor's objections, a
    concept on it), read in its item, not the communications' point."""
    at = _comunicacion_at(t)
    return at is not None and _PROYECTO_RE.search(t.low, at) is not None


def _next_point_only(t: _Text) -> bool:
    """Whether the utterance says no more than "siguiente punto" (to the secretary, politely):
    the item taken up is named in the next one."""
    return _NEXT_POINT_FILLER_RE.fullmatch(t.low) is not None


def _ends_with_next_point(t: _Text) -> bool:
    """Whether the utterance ends asking for the next point, with words of the point before it
    ("Así quedará, concejala. Señora secretaria, siguiente punto."): they close the item under
    consideration and stay in it; words after it ("Siguiente punto. Elección del contralor.")
    are an item the rules do not know, and so are those of a point announced at any sentence's
    start ("Gracias. Sexto punto, elección del contralor… y pasemos al siguiente punto")."""
    low = _fold(t.raw)
    starts = [0, *(m.end() for m in re.finditer(r"[.;!?]\s*", low))]
    if any(_POINT_ANNOUNCED_RE.match(low[start:]) is not None for start in starts):
        return False
    ends = [m.end() for m in _NEXT_POINT_RE.finditer(low)]
    return bool(ends) and _NEXT_POINT_FILLER_RE.fullmatch(low, ends[-1]) is not None


def _asks_agenda_change(t: _Text) -> bool:
    """Whether a request in the utterance changes the agenda or one of its points in its own
    clause. A point spoken of ("este punto es clave y hay que cambiar la forma…", "la agenda
    del alcalde… se retiraron") is not a change asked for, nor is a proposición read
    ("Proposición…: que se incluya en el orden del día de mañana…"), whose authors it keeps."""
    searched = 0
    for m in _REQUEST_RE.finditer(t.low):
        limit = min(len(t.low), m.end() + _MAX_REQUEST_CHARS)
        stop = _CLAUSE_STOP_RE.search(t.low, m.end(), limit)
        start, end = max(m.start(), searched), (stop.start() if stop else limit)
        if start < end and _AGENDA_CHANGE_RE.search(t.low, start, end):
            return True
        searched = max(searched, end)
    return False


def _choose(
    t: _Text,
    previous: str | None,
    next_point: bool,
    attendance: bool,
    decided: dict[str, Any] | None,
    roll_call: Callable[[], dict[str, Any]],
) -> tuple[str, float]:
    """Template and confidence for the utterance, by rule priority; ``attendance``: a member is
    said to arrive or leave, ``decided``: the plenary's decision on an impediment
    (:func:`_impediment_decided`), ``roll_call``: the roll call's data (:func:`_llamado_data`,
    read at most once): each read once by the caller, which keeps what it found."""
    if _is_agenda_listing(t, previous):
        return TPL_ORDEN_DIA, _CONF_STRONG
    if _is_firmas(t):
        return TPL_FIRMAS, _CONF_STRONG
    if _CIERRE_RE.search(t.low) or _agenda_exhausted(t):
        return TPL_CIERRE, _CONF_STRONG
    if _is_roll_call(t, previous):
        return TPL_LLAMADO_LISTA, _CONF_STRONG
    if not next_point and _roll_call_read_as_lists(t, previous, roll_call):
        return TPL_LLAMADO_LISTA, _CONF_STRONG
    if previous == TPL_PROYECTO_ACUERDO and not next_point and _reads_a_bills_letter(t):
        return TPL_PROYECTO_ACUERDO, _CONF_SECTION
    if _reads_a_communication(t):
        return TPL_COMUNICACION, _CONF_SECTION
    if _is_vote(t) or decided:
        return _vote_template(t, previous)
    if previous in _AGENDA_BEING_APPROVED and not next_point and _asks_agenda_change(t):
        return TPL_APROBACION_ORDEN_DIA, _CONF_SECTION
    if previous == TPL_PROYECTO_ACUERDO and not next_point and _reads_the_bill(t):
        return TPL_PROYECTO_ACUERDO, _CONF_SECTION
    hits = [(pos, i, tpl) for i, (tpl, rule) in enumerate(_SECTION_RULES) if (pos := rule(t)) is not None]
    if hits and min(hits)[2] == TPL_LLAMADO_LISTA and _quorum_again(t, previous, next_point, roll_call):
        return _in_place(previous), _CONF_WEAK
    if hits:
        return min(hits)[2], _CONF_SECTION
    if _RECESS_RE.search(t.low) or attendance:
        # "Siendo las diez y cuarto, se hizo presente la concejala…", "siendo las once se
        # decreta un receso": a time said mid-session, not the opening.
        return _in_place(previous), _CONF_WEAK
    if _is_apertura_weak(t, previous):
        return TPL_APERTURA, _CONF_WEAK
    if previous == TPL_APERTURA and _only_guests(t):
        # "Saludamos de manera especial a nuestros invitados: la doctora…, secretaria de Cultura,
        # delegada del señor alcalde; monseñor…": the opening's guests, said right after it (they
        # went to the debate, and the opening listed none); not a speech that names them, whose
        # words the opening's summary would not write
        return TPL_APERTURA, _CONF_WEAK
    if _has_speaker(t):
        return _intervention_section(previous, next_point), _CONF_SPEAKER
    if _APPROVAL_QUESTION_RE.search(t.low):
        return _vote_template(t, previous)[0], _CONF_WEAK
    if _ORDEN_DIA_RE.search(t.low) and previous not in _MID_SESSION:
        # the agenda spoken of before its items are taken up; once one is ("aún no se han
        # agotado los puntos del orden del día", said in varios) it is said where it was
        return TPL_ORDEN_DIA, _CONF_SPEECH
    if next_point:
        if previous in _POINT_ENDS and not _next_point_only(t) and not _ends_with_next_point(t):
            # "Siguiente punto. Elección del contralor.": an item the rules do not know; the
            # one before is over, and what is said next must not stay in it. So is the reading
            # of communications ("Octavo punto, lectura de la resolución de clausura.").
            return TPL_DEBATE, _CONF_NEXT_POINT
        if previous is not None:
            return previous, _CONF_NEXT_POINT
        return TPL_DEBATE, _CONF_NEXT_POINT_NO_CONTEXT
    if previous == TPL_CIERRE and len(t.low.split()) <= _MAX_AFTER_CLOSING_WORDS:
        # "Así quedó convocada la plenaria, presidente. Buenas tardes a todos.": a short line
        # after the closing that names no section is part of it (written as said, the closing
        # summary needing its time), not a speech at the end of the debate.
        return TPL_CIERRE, _CONF_SPEECH
    if _SPEECH_RE.search(t.low):
        return _intervention_section(previous), _CONF_SPEECH
    if (
        previous in _ITEM_SECTIONS
        and not _SPOKEN_RE.search(t.low)
        and not _DESIGNATION_RE.search(t.low)
        and not (previous == TPL_PROYECTO_ACUERDO and _BILL_REFERRED_RE.search(t.low))
    ):
        # Nothing in it says someone is speaking ("Elección del contralor distrital.") nor
        # designates the members of a commission the item created nor refers to the bill
        # considered: likely an item the rules do not know being read, which must not stay in
        # the item before.
        return TPL_DEBATE, _CONF_FALLBACK
    return _intervention_section(previous), _CONF_FALLBACK


# Fields that list people, each a name or {"nombre", …}: a name heard in lowercase is written
# as a name, like the speaker's (the roll call's names and the arrivals and departures matched
# against them alike). A guest given as a string is the office and name unparsed ("la
# secretaria de movilidad doctora ana ruiz"): only a guest's "nombre" is a name.
_PEOPLE_FIELDS: Final = (
    "autores",
    "ponentes",
    "presentes",
    "ausentes",
    "excusados",
    "invitados",
    "llegadas",
    "salidas",
)


def _capitalise_people(data: dict[str, Any]) -> None:
    """Capitalise the names in lowercase of the person fields ("proposición presentada por el
    concejal camilo andrés betancourt" → autores ["Camilo Andrés Betancourt"]); a name said
    with capitals, and the rest of each entry (the office, the reason), stay as said."""
    for key in _PEOPLE_FIELDS:
        people = data.get(key)
        if not isinstance(people, list):
            continue
        for i, person in enumerate(people):
            name = person.get("nombre") if isinstance(person, dict) else person
            if not isinstance(name, str) or name != name.lower():
                continue
            if isinstance(person, dict):
                person["nombre"] = _capitalised(name)
            elif key != "invitados":
                people[i] = _capitalised(name)


def _result(text: str, template: str, data: dict[str, Any], confidence: float) -> Classification:
    return Classification(
        text=text,
        intent=INTENT_BY_TEMPLATE[template],
        label=TEMPLATE_LABELS[template],
        template_id=template,
        structured_data=data,
        confidence=confidence,
    )


# A reading cut at the segmenter's maximum length goes on in its section: the agenda read aloud
# names the sections it lists ("Cuatro, debate de control político…, proposición número cero
# cuarenta y cinco", "Dos, lectura, discusión y aprobación del orden del día", "Seis,
# proposiciones"), and a roll call's names misheard ("Presidente, Andrés Felipe Escobar.
# Presidente." for "presente") read as a member asking for the floor. Heard live, a 58 s agenda
# went to the proposiciones from its third piece on, and a roll call's names to the debate, in a
# cascade: each piece continued the one before. Without a pause, the same reader can only go on
# to what follows the reading in the session's order (a roll call to the quorum, the opening or
# the agenda; the agenda to its consideration, put to the plenary), end the session, or announce
# the next point.
_READING_GOES_ON_TO: Final[dict[str, frozenset[str]]] = {
    TPL_LLAMADO_LISTA: frozenset({TPL_APERTURA, TPL_ORDEN_DIA, TPL_APROBACION_ORDEN_DIA, TPL_CIERRE}),
    TPL_ORDEN_DIA: frozenset({TPL_APROBACION_ORDEN_DIA, TPL_CIERRE}),
}
_PUT_TO_THE_PLENARY_RE: Final = re.compile(
    r"\b(?:en|a)\s+consideracion\b|\b(?:somet\w*|pong\w*|poner|puesto)\s+(?:a\s+)?(?:consideracion"
    r"|votacion|aprobacion)\b|\bse\s+abre\s+la\s+(?:discusion|votacion)\b|\baprueba\w*\b|\baprobad[oa]\b"
)


def _reading_goes_on(t: _Text, previous: str, template: str, next_point: bool) -> bool:
    """Whether words that continue a reading with no pause (a roll call, the agenda) stay in its
    section though a rule named another (:data:`_READING_GOES_ON_TO`)."""
    if previous not in _READING_GOES_ON_TO or template == previous or next_point:
        return False
    if template not in _READING_GOES_ON_TO[previous]:
        return True
    # "Dos, lectura, discusión y aprobación del orden del día" is an item read, not the
    # agenda put to the plenary
    return template == TPL_APROBACION_ORDEN_DIA and _PUT_TO_THE_PLENARY_RE.search(t.low) is None


_ITEM_SPEECH: Final = frozenset(
    {TPL_DEBATE, TPL_VARIOS, TPL_PROYECTO_ACUERDO, TPL_PROPOSICION, TPL_COMUNICACION}
)
"""Sections of an item considered, or of interventions: what is said in them goes on past a cut."""
_ITEM_GOES_ON_TO: Final = frozenset({TPL_CIERRE, TPL_LLAMADO_LISTA, TPL_PROYECTO_ACUERDO})
"""What words after a cut in an item's speech still go on to when they name it: the closing, the
roll call, and a bill, whose debate is often read as the debate's before the cut (the mayor's
objections, an official answering on them: test_readings_cut_at_the_maximum_length_keep_every_table
puts the nominal vote's table in the debate if its pieces stay there)."""


def _item_goes_on(previous: str, template: str, confidence: float, next_point: bool) -> bool:
    """Whether words that continue speech said in an item (:data:`_ITEM_SPEECH`) past a cut at
    the maximum length stay in it though they name another section by a word of its own
    (``_CONF_SECTION``: a proposición, a communication; not a bill, :data:`_ITEM_GOES_ON_TO`).
    Recorded live: the chair's "…la moción de censura no ha sido aprobada. | Se archiva la
    proposición." sent the words after the cut to the proposals, and, as the section before it,
    "Agradecemos la presencia del secretario… Siguiente punto." with them. A point announced,
    the closing or the roll call (:data:`_ITEM_GOES_ON_TO`), or any stronger rule (a vote, an
    agenda read) still moves them."""
    return (
        previous in _ITEM_SPEECH
        and template != previous
        and template not in _ITEM_GOES_ON_TO
        and confidence == _CONF_SECTION
        and not next_point
    )


def _vote_goes_on(
    t: _Text, previous: str, template: str, next_point: bool, decided: dict[str, Any] | None
) -> bool:
    """Whether a vote declared in words that continue an item's speech past a cut at the maximum
    length (:data:`_ITEM_SPEECH`) is the item's though they name another section as its subject:
    recorded live, "…la moción de censura contra el secretario de Seguridad y Justicia | no ha
    sido aprobada. Se archiva la proposición." sent the result to the proposals, where it was
    written a second time, and the chair's next words with it. The item was named before the
    cut; a point announced, the closing or the roll call still move the words."""
    return (
        previous in _ITEM_SPEECH
        and template != previous
        and template not in _ITEM_GOES_ON_TO
        and not next_point
        and bool(_is_vote(t) or decided)
        and _vote_subject(t.low) is not None
        and template == _vote_template(t, previous)[0]
    )


def _classify(
    text: str,
    entities: Mapping[str, str] | None,
    previous_template_id: str | None,
    continues: bool = False,
    continued: str | None = None,
) -> Classification:
    raw = _normalise(text)
    if entities:
        raw = _normalise(apply_entities(raw, entities))
    if not raw:
        return _result("", TPL_DEBATE, {}, 0.0)
    low = _fold(raw)
    masked = _NEXT_POINT_RE.sub(lambda m: " " * len(m.group(0)), low)
    t = _Text(raw, masked, continues)
    previous = previous_template_id if previous_template_id in TEMPLATE_LABELS else None
    next_point = (
        masked != low
        or _POINT_ANNOUNCED_RE.match(low) is not None
        or _POINT_TAKEN_UP_RE.search(low) is not None
    )
    arrivals, departures = _arrivals(t), _departures(t)
    decided = _impediment_decided(t)
    read_roll_call = functools.cache(lambda: _llamado_data(t))
    template, confidence = _choose(
        t, previous, next_point, bool(arrivals or departures), decided, read_roll_call
    )
    vote_goes_on = False  # a vote declared past a cut in an item: the item's (_vote_goes_on)
    if continues and previous == TPL_ORDEN_DIA and template == TPL_DEBATE and _agenda_marks(t.low):
        # the agenda read on past the cut ("Séptimo punto, elección del personero."): a point
        # announced ends the agenda only once it is read, not in the middle of its reading
        template, confidence = TPL_ORDEN_DIA, _CONF_SPEECH
    if continues and previous is not None and template != previous and confidence <= _CONF_SPEECH:
        # The segmenter cut a long stretch of speech at its maximum length (a roll call's names,
        # the opening's guests read on): the words after the cut are the same speech, in the
        # section it was said in, unless a rule recognises a section of their own.
        template, confidence = previous, _CONF_SPEECH
    elif (
        continues
        and previous is not None
        and (
            _reading_goes_on(t, previous, template, next_point)
            or _item_goes_on(previous, template, confidence, next_point)
            or (vote_goes_on := _vote_goes_on(t, previous, template, next_point, decided))
        )
    ):
        # a reading goes on (a roll call, the agenda), or an item's speech past a word of
        # another section
        template, confidence = previous, _CONF_WEAK
    elif (
        continued
        and previous is not None
        and template != previous
        and not next_point
        and _classify(f"{continued} {text}", entities, previous, True).template_id == previous
    ):
        # The words after the cut name another section ("…sírvase llamar a lista", "…para
        # repetir la votación del artículo segundo"), but the speech they end, read whole, is
        # still the one it was: a point announced ("Siguiente punto, …") moves on, a mention
        # does not.
        template, confidence = previous, _CONF_WEAK
    if template == TPL_PROYECTO_ACUERDO:
        data = _proyecto_data(t, under_consideration=previous == TPL_PROYECTO_ACUERDO and not next_point)
    elif template == TPL_LLAMADO_LISTA:
        data = dict(read_roll_call())
    else:
        data = _EXTRACTORS[template](t)
    if template in (TPL_APERTURA, TPL_LLAMADO_LISTA):
        # the president addressed, the secretary introducing herself: the acta's signers (the
        # opening's own words, "presidida por…", first)
        data = _officers_named(t) | data
    if template in _DECIDING_TEMPLATES:
        data |= _decisions(t)
    # A vote that stays in the debate or varios naming nothing (an impediment's, a motion's) is
    # summed up there too; an election's (it names one) is for candidates: no sí/no totals.
    staying = (
        template in _VOTE_STAYS
        and (_is_vote(t) or decided)
        and (vote_goes_on or _vote_subject(t.low) in (None, _CENSURE))
    )
    voting = template in _VOTING_TEMPLATES or staying
    if voting and not _records_own_vote(t) and (vote := _vote(t)) is not None:
        data["votacion"] = vote
    if recess := _recess(t):
        data["receso"] = recess  # the times, as facts: the acta sums the recess up with them
    if impediment := _impediment(t, decided):
        data["impedimento"] = impediment
        vote = data.get("votacion")
        counted = vote is not None and (
            vote.get("votos") or any(vote.get(k) for k in ("si", "no", "abstencion"))
        )
        if impediment["estado"] == "manifestado":
            # "…para participar en la discusión y votación de este proyecto": no vote is held; a
            # member's impediment said in a vote's list ("Ana Ruiz: me declaro impedida; Luis
            # Mora: no…") leaves the vote, its list and its count as said
            if not counted:
                data.pop("votacion", None)
        elif voting:
            # the plenary's decision is the vote's result, in the words said ("aceptado")
            vote = data.get("votacion") or {"resultado": None, "nominal": False}
            data["votacion"] = {**vote, "resultado": impediment["estado"], "objeto": "impedimento"}
    if (vote := data.get("votacion")) is not None and (reconsidered := _reconsideration_decided(t)):
        # what the result decides is the reconsideración, not an article named with it ("Negada
        # la reconsideración… se suprime el artículo quinto"), nor the bill's debate
        kept = {key: value for key, value in vote.items() if key not in _BILL_VOTE_FACTS}
        data["votacion"] = {**kept, "resultado": reconsidered, "objeto": "reconsideración"}
    elif vote is not None and vote.get("resultado") and (report := _report_decided(t)):
        data["votacion"] = {**vote, "objeto": report}
    if _said_not_present(t):
        # "No se encuentra el señor Yacumal.": the chair's words after the call, never the
        # words of the citizen called
        data["no_presente"] = True
    if _is_chair_conduct(t):
        # the chair's words, like a vote: never written in the mouth of a speaker given the
        # floor just before ("Tiene la palabra la concejala X." then "¿Lo aprueba la plenaria?")
        data["tramite"] = True
    roll_call = template == TPL_LLAMADO_LISTA and any(k in data for k in _ROLL_CALL_KEYS)
    if not roll_call and arrivals:
        # said in any section (often a constancia during the debate); the acta's roll call
        # shows it, the block stays where it was said. The roll call's own "se hicieron
        # presentes los concejales…" lists who is present, not who arrived late.
        data["llegadas"] = arrivals
    if not roll_call and (departures := _session_departures(t, departures)):
        data["salidas"] = departures  # likewise: the roll call shows who left, and when
    _capitalise_people(data)
    return _result(raw, template, data, confidence)


def classify(
    text: str,
    entities: Mapping[str, str] | None = None,
    previous_template_id: str | None = None,
    *,
    continues: bool = False,
    continued: str | None = None,
) -> Classification:
    """Classify one utterance of a council session into a section of the acta.

    `entities` is the tenant's dictionary of canonical spellings, applied before anything else;
    `previous_template_id` is the section of the previous block, used for votes (which belong
    to what is being voted), for "siguiente punto", for changes to the agenda asked for while it
    is approved, and for interventions in "asuntos varios" (which stay there); ``continues``: the
    utterance goes on with the previous block's speech with no pause (the segmenter cut it at its
    maximum length), so it stays in that section unless a rule finds one of its own. Never raises:
    anything that no rule recognises is an intervention (DEBATE, or VARIOS after VARIOS) with
    low confidence.
    """
    try:
        return _classify(text, entities, previous_template_id, continues, continued if continues else None)
    except Exception:  # last-resort guard: one odd utterance must not stop a live session
        clean = _normalise(text) if isinstance(text, str) else ""
        return _result(clean, TPL_DEBATE, {"texto": clean} if clean else {}, 0.0)
