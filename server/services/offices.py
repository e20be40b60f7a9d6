"""The offices of the municipality one person holds, and the words said after them.

The classifier (CORE's rules) reads them in speech ("la personera delegada para…": another
official; "el personero Juan Pérez": the personero) and the builder in an office said as a whole
(a guest's or an election's ``cargo``: "Personero Municipal de Palmira para el periodo…"). The
two must not import each other, so the vocabulary they share lives here, written once: a word
added to one list is then read alike by both.
"""

from __future__ import annotations

from typing import Final

ONE_HOLDER_OFFICES: Final[dict[str, str]] = {
    "personero": "personero",
    "personera": "personero",
    "contralor": "contralor",
    "contralora": "contralor",
}
"""An office of the municipality one person heads, which the council elects, by the word said
(either gender): its role (the classifier's ``rol``)."""
ONE_HOLDER_ROLES: Final = tuple(dict.fromkeys(ONE_HOLDER_OFFICES.values()))
OFFICE_SCOPES: Final = ("municipal", "distrital")
"""Said right after the office's word, still the office: "personero distrital"."""
HEAD_QUALIFIERS: Final = (
    "delegado",
    "delegada",
    "auxiliar",
    "saliente",
    "salientes",
    "entrante",
    "entrantes",
    "encargado",
    "encargada",
    "interino",
    "interina",
    "provisional",
    "(e)",
)
"""Said after the office (and its scope): another official of it ("personera delegada",
"contralor auxiliar"), or one who holds it for a time ("personero saliente", "personero
municipal encargado", "personera (e)"), not the one the session knows as its head."""
OFFICE_GOES_ON: Final = ("de", "del", "para")
"""What may follow the office's word (and its scope) in an office said as a whole when the office
itself is meant ("Personero Municipal de Palmira para el periodo…"); a head qualifier, or any
other word, says another office. In speech a name may follow instead, so the classifier reads
the qualifiers alone."""
