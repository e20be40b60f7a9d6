"""Study: where does a forced cut (speech longer than ``max_utterance_s``) fall, inside a word or between?

    ASTRA_TEST_MODEL_CACHE=/path/to/astra-model-cache .venv/bin/python bench/cut_study.py \
        [--max-s 15 14 13 12 11 10] [--rules SUBSTRING ...] [-v]

The first run transcribes the audio with Whisper (one thread, about 2 min; cached in ``--cache``);
then about 12 s per ``--max-s`` value.

The audio (13 min): long continuous Spanish speech made with espeak-ng (``-v es-419 -s 150``, see
``TEXTS``: two roll calls and a nominal vote of full names, an agenda, a debate, a report, a
proposition, with commas and periods; resampled from 22,050 Hz to 16 kHz by FFT), the committed
``tests/fixtures/audio/live_*.wav`` (each, and all joined without their leading/trailing
silence), ``sesion.wav``, and ``0*.wav`` joined without their leading/trailing silence (as
``test_continuous_speech_is_cut_into_bounded_contiguous_pieces``).

Each audio is scored once by the real Silero VAD (server/vad.py, the model faster-whisper ships,
cell by cell with its state carried, as the server does), then run through the real ``Segmenter``
once per cut rule and lookback (a subclass replaces only ``_cut_point``), so every rule sees the
same probabilities; "ahora" is whatever server/segmenter.py does. For every forced cut:

* *en pausa*: the cut lies in a run of >= 150 ms of 10 ms frames under a tenth of the median level
  of the piece it ends. espeak's pauses are near digital silence: 190-250 ms at a comma, 380-490 ms
  at a period, and no run that long elsewhere (a stop consonant's closure: 10-60 ms, ~140 ms in a
  cluster); each espeak text has exactly as many such pauses as punctuation marks (checked);
* *en palabra*: not in such a pause, and more than 30 ms from both ends of a word of faster-whisper
  (Whisper base int8, the server's model; word timestamps on the whole audio, language "es",
  temperature 0, beam 5). Whisper's word ends run into the pauses, hence the first condition;
* *en nombre*: for the espeak texts, the k-th pause follows the k-th phrase of the text, so a cut
  between two pauses falls in a known phrase, at the share of its duration: inside a name when
  that position lies within one of the multi-word names of the phrase (``NAMES``,
  ``OTHER_NAMES``). Elsewhere: the Whisper words on both sides of the cut (or the word it splits
  and a neighbour) are capitalised with no punctuation between them;
* *pausa a 2 s / 4 s*: such a pause (>= 60 ms of it) exists in the 2 s / 4 s before the limit,
  i.e. a rule with that lookback could have cut in a pause.

``-v`` prints one line per cut (the phrase with ``|`` at the cut, Whisper's words around it).

Measured 2026-12-02 (the Silero model of faster-whisper 1.2.1, espeak-ng 1.51), max_utterance_s = 15:

    rule                                        cuts  in a word  in a name  in a pause  mean piece
    quietest window, 2 s (the rule before)        42         15          5          26      14.1 s
    quietest window, 4 s                          46         10          2          36      13.0 s
    longest run < neg_threshold, 2 s              43         12          4          30      14.0 s
    longest run < neg_threshold, 4 s (chosen)     44          3          0          40      13.0 s

and over the limits 15, 14, ..., 10 s pooled: 108 of 326 cuts inside a word and 33 inside a name
before, 28 of 359 and 4 with the chosen rule. 11 of the 42 cuts had no pause within 2 s of the
limit, 3 of 44 within 4 s: the wider lookback and the run rule are both needed (each alone: 64
and 96 cuts inside a word of ~330, pooled). Where no pause is in reach (a 7 s phrase of the
agenda, the joined live_*.wav) any rule cuts inside a word: live_*_unidos has 2 of 3 now, 1 before.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server import segmenter as segmod  # noqa: E402
from server.segmenter import SAMPLE_RATE, WINDOW, Segmenter, SegmenterConfig, Utterance  # noqa: E402
from server.vad import SileroVad  # noqa: E402

AUDIO = ROOT / "tests" / "fixtures" / "audio"
MODEL_CACHE = Path(os.environ.get("ASTRA_TEST_MODEL_CACHE", str(ROOT / ".venv" / "astra-model-cache")))

NAMES = [
    "Ana María Ruiz Gómez",
    "Carlos Alberto Mejía Tenorio",
    "Luz Dary Cárdenas Ocampo",
    "Juan Pablo Restrepo Salazar",
    "María Fernanda Lozano Quintero",
    "Jorge Enrique Valencia Rojas",
    "Diana Marcela Castaño Prado",
    "Luis Eduardo Martínez Bolaños",
    "Paola Andrea Giraldo Muñoz",
    "Héctor Fabio Arango Velasco",
    "Sandra Milena Ospina Caicedo",
    "Andrés Felipe Zuluaga Herrera",
    "Claudia Patricia Londoño Vélez",
    "Mauricio Alberto Tenorio Cabal",
    "Gloria Inés Benítez Orozco",
    "Óscar Iván Sarmiento Duque",
    "Adriana Lucía Bermúdez Franco",
    "Fernando José Quiñones Lasso",
    "Natalia Andrea Rengifo Cuéllar",
    "Diego Armando Potes Valderrama",
    "Beatriz Elena Holguín Sanclemente",
]
OTHER_NAMES = [
    "Hernando José Caicedo Arboleda",
    "Luz Marina Ocoró Riascos",
    "Jhon Jairo Angulo Perea",
    "Rodrigo Antonio Velasco Satizábal",
    "Liliana Patricia Mosquera Ibarguen",
    "Martha Cecilia Lucumí Carabalí",
    "Álvaro Enrique Paz Benavides",
    "Gloria Inés Benítez Orozco",
    "Fernando José Quiñones Lasso",
    "Alejandro Eder Garcés",
    "Ana Lucía Martínez Vivas",
    "Jaime Andrés Murillo Henao",
    "Yolanda Esther Cuero Mina",
    "Carlos Arturo Valencia Ramos",
    "Santiago de Cali",
    "Vías del Pacífico",
]
"""The other multi-word proper names of the texts below."""
ANSWERS = ["presente", "presente", "presente", "excusado", "presente", "presente", "ausente"]
VOTES = ["sí", "sí", "no", "sí", "sí", "se abstiene", "sí"]

TEXTS: dict[str, str] = {
    "espeak_lista": "Señor secretario, sírvase llamar a lista y verificar el quórum. "
    + " ".join(f"{name}, {ANSWERS[i % len(ANSWERS)]}." for i, name in enumerate(NAMES))
    + " Señor presidente, han contestado a lista dieciocho concejales, hay quórum decisorio.",
    "espeak_votacion": "Votación nominal de la proposición número ciento veinte. "
    + " ".join(f"{name}, {VOTES[i % len(VOTES)]}." for i, name in enumerate(reversed(NAMES)))
    + " Señor presidente, la proposición ha sido aprobada con quince votos por el sí.",
    "espeak_orden": (
        "Lectura del orden del día. Primero, llamado a lista y verificación del quórum. Segundo, "
        "lectura, discusión y aprobación del orden del día. Tercero, lectura y aprobación del acta "
        "de la sesión anterior. Cuarto, citación al secretario de movilidad, doctor Hernando José "
        "Caicedo Arboleda, sobre el estado de las obras del corredor de la calle quinta. Quinto, "
        "intervención de la comunidad, inscritos la señora Luz Marina Ocoró Riascos y el señor "
        "Jhon Jairo Angulo Perea. Sexto, proyecto de acuerdo número cero cuarenta y dos, por medio "
        "del cual se adopta la política pública de vendedores informales del distrito de Santiago "
        "de Cali, ponentes los concejales Gloria Inés Benítez Orozco y Fernando José Quiñones "
        "Lasso. Séptimo, proposiciones, comunicaciones y varios."
    ),
    "espeak_debate": (
        "Tiene la palabra el concejal Mauricio Alberto Tenorio Cabal, hasta por diez minutos. "
        "Gracias, señor presidente, un saludo a la mesa directiva, a los compañeros de la "
        "corporación, a los funcionarios de la administración y a la comunidad que nos acompaña "
        "en las barras. Quiero referirme al informe que presentó el secretario de movilidad, "
        "doctor Hernando José Caicedo Arboleda, porque las cifras no coinciden con lo que vemos "
        "en los barrios. En la comuna quince, en la comuna dieciséis y en la comuna veintiuno, las "
        "obras llevan más de dos años detenidas, los comerciantes han perdido sus ventas, y los "
        "vecinos no tienen por dónde caminar. La administración dice que el avance es del sesenta "
        "por ciento, pero el contratista, la unión temporal Vías del Pacífico, reconoce apenas un "
        "cuarenta. Por eso le pido a la presidencia que se oficie a la contraloría distrital y a "
        "la personería, y que la concejala Claudia Patricia Londoño Vélez, como presidenta de la "
        "comisión del plan, convoque una mesa técnica antes de terminar el mes. Señor presidente, "
        "le concedo una interpelación a la concejala Ana María Ruiz Gómez. Con la venia de la "
        "presidencia, gracias, concejal Tenorio. Solo para agregar que la comunidad de Siloé, "
        "representada por el señor Jhon Jairo Angulo Perea, radicó un derecho de petición hace "
        "tres meses y todavía no ha recibido respuesta de fondo. Muchas gracias."
    ),
    "espeak_comision": "Comisión primera de plan y tierras. Secretaria, sírvase verificar la "
    + "asistencia. "
    + " ".join(
        f"Honorable concejal {name}{', presente' if i % 3 else ', se encuentra en el recinto'}."
        for i, name in enumerate(NAMES[5:] + NAMES[:5])
    )
    + " Hay quórum para deliberar y decidir, señora presidenta.",
    "espeak_informe": (
        "Informe de ponencia para primer debate del proyecto de acuerdo número cero cuarenta y dos. "
        "Los ponentes, concejales Gloria Inés Benítez Orozco y Fernando José Quiñones Lasso, "
        "designados por la presidencia de la comisión mediante oficio del doce de marzo, rinden "
        "ponencia positiva con modificaciones. El proyecto fue radicado por el alcalde distrital, "
        "doctor Alejandro Eder Garcés, y cuenta con el concepto favorable de la secretaría de "
        "hacienda, firmado por la doctora Ana Lucía Martínez Vivas, y de la secretaría de seguridad "
        "y justicia, firmado por el doctor Jaime Andrés Murillo Henao. Durante el estudio se "
        "realizaron tres audiencias públicas en las comunas tres, nueve y trece, en las que "
        "participaron más de cuatrocientos vendedores informales, representados por la señora "
        "Yolanda Esther Cuero Mina y el señor Carlos Arturo Valencia Ramos. Las principales "
        "observaciones fueron la carnetización, los horarios de ocupación del espacio público y "
        "el acceso a créditos de fomento. Por lo anterior, los ponentes solicitan a la honorable "
        "comisión dar primer debate al proyecto con el pliego de modificaciones adjunto."
    ),
    "espeak_proposicion": (
        "Proposición número ciento veinte, presentada por los concejales Andrés Felipe Zuluaga "
        "Herrera, Sandra Milena Ospina Caicedo y Óscar Iván Sarmiento Duque. Cítese al director "
        "del departamento administrativo de planeación, doctor Rodrigo Antonio Velasco Satizábal, "
        "y a la gerente de Emcali, doctora Liliana Patricia Mosquera Ibarguen, para que respondan "
        "el cuestionario adjunto sobre la prestación del servicio de acueducto en la zona de "
        "ladera. Invítese a la personera distrital, doctora Martha Cecilia Lucumí Carabalí, y al "
        "contralor, doctor Álvaro Enrique Paz Benavides. En consideración la proposición leída. "
        "Se abre la discusión, anuncio que va a cerrarse, queda cerrada. ¿La aprueban los "
        "honorables concejales? Ha sido aprobada, señor presidente."
    ),
}
FIXTURE = AUDIO / "lista_nombres.wav"
FIXTURE_TEXT = (
    "Ana María Ruiz Gómez, presente. Carlos Alberto Mejía Tenorio, excusado. "
    "Fernando José Quiñones Lasso, presente."
)
"""tests/test_segmenter.py's roll call (``--write-fixture``): with ``max_utterance_s=8`` the old
rule cut it between "Fernando José" and "Quiñones Lasso"."""


# -- audio ---------------------------------------------------------------------------------------


def resample(samples: npt.NDArray[np.int16], rate: int) -> npt.NDArray[np.int16]:
    """Band-limited resampling of a whole signal to 16 kHz by FFT (truncate the spectrum)."""
    x = samples.astype(np.float64)
    n = x.size
    m = round(n * SAMPLE_RATE / rate)
    spectrum = np.fft.rfft(x)[: m // 2 + 1]
    y = np.fft.irfft(spectrum, n=m) * (m / n)
    return np.clip(np.round(y), -32768, 32767).astype(np.int16)


def speak(text: str, voice: str = "es-419", speed: int = 150) -> npt.NDArray[np.int16]:
    """espeak-ng speech as 16 kHz mono int16."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "speech.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(path), text], check=True)
        with wave.open(str(path), "rb") as w:
            assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
            rate = w.getframerate()
            samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return resample(samples, rate)


def read_wav(path: Path) -> npt.NDArray[np.int16]:
    with wave.open(str(path), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, SAMPLE_RATE)
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")


def write_wav(path: Path, samples: npt.NDArray[np.int16]) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(samples.astype("<i2").tobytes())


def trim(samples: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
    """Without the leading and trailing silence (as the segmenter test does)."""
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > 200)
    return samples[loud[0] : loud[-1] + 1]


def sources() -> dict[str, npt.NDArray[np.int16]]:
    out = {name: speak(text) for name, text in TEXTS.items()}
    lives = sorted(AUDIO.glob("live_*.wav"))
    for path in lives:
        out[path.stem] = read_wav(path)
    out["live_*_unidos"] = np.concatenate([trim(read_wav(p)) for p in lives])
    out["sesion.wav"] = read_wav(AUDIO / "sesion.wav")
    files = sorted(AUDIO.glob("0*.wav"))
    out["0*_unidos"] = np.concatenate([trim(read_wav(p)) for p in files + files[:4]])
    return out


# -- the VAD, once per audio ---------------------------------------------------------------------


def probabilities(samples: npt.NDArray[np.int16], vad: SileroVad) -> npt.NDArray[np.float64]:
    """Silero's probability for every window, scored cell by cell as the segmenter does."""
    audio = segmod.windows_of(samples.tobytes())
    state = None
    out = []
    for i in range(0, audio.size, segmod.CELL):
        probs, state = vad(audio[i : i + segmod.CELL], state)
        out.append(probs)
    return np.concatenate(out).astype(np.float64)


class Replay:
    """A VAD function giving back precomputed probabilities (its state: windows scored so far)."""

    def __init__(self, probs: npt.NDArray[np.float64]) -> None:
        self.probs = probs

    def __call__(self, audio: npt.NDArray[np.float32], state: int | None) -> tuple[npt.NDArray[Any], int]:
        start = state or 0
        n = audio.size // WINDOW
        return self.probs[start : start + n], start + n


# -- cut rules -----------------------------------------------------------------------------------

Windows = list[tuple[int, float]]
Rule = Callable[[Windows, int, int, int, SegmenterConfig], int]
"""rule(windows in the lookback (start, probability), earliest, limit, seg_start, config) -> cut."""


def eligible(recent: Windows, earliest: int, limit: int, seg_start: int) -> Windows:
    return [(ws, p) for ws, p in recent if ws >= earliest and seg_start < ws + WINDOW // 2 <= limit]


def quietest(recent: Windows, earliest: int, limit: int, seg_start: int, cfg: SegmenterConfig) -> int:
    """The rule before this study: the middle of the single lowest window (ties: the latest)."""
    cut, best = limit, math.inf
    for ws, p in eligible(recent, earliest, limit, seg_start):
        if p <= best:
            cut, best = ws + WINDOW // 2, p
    return cut


def moving_average(k: int) -> Rule:
    """The middle of the k consecutive windows of lowest mean probability (ties: the latest)."""

    def rule(recent: Windows, earliest: int, limit: int, seg_start: int, cfg: SegmenterConfig) -> int:
        w = eligible(recent, earliest, limit, seg_start)
        if len(w) < k:
            return quietest(recent, earliest, limit, seg_start, cfg)
        cut, best = limit, math.inf
        for i in range(len(w) - k + 1):
            mean = sum(p for _, p in w[i : i + k]) / k
            if mean <= best:
                cut, best = (w[i][0] + w[i + k - 1][0] + WINDOW) // 2, mean
        return min(cut, limit)

    rule.__name__ = f"moving_average_{k}"
    return rule


def longest_run(level: str = "neg") -> Rule:
    """The middle of the longest run of windows below neg_threshold (or threshold); ties: the
    latest; no such window: the quietest window."""

    def rule(recent: Windows, earliest: int, limit: int, seg_start: int, cfg: SegmenterConfig) -> int:
        below = cfg.neg_threshold if level == "neg" else cfg.threshold
        w = eligible(recent, earliest, limit, seg_start)
        best_len, cut = 0, None
        run_start: int | None = None
        for i, (_, p) in enumerate([*w, (0, math.inf)]):
            if p < below:
                if run_start is None:
                    run_start = i
                continue
            if run_start is not None:
                length = i - run_start
                if length >= best_len:
                    best_len = length
                    cut = (w[run_start][0] + w[i - 1][0] + WINDOW) // 2
                run_start = None
        if cut is None:
            return quietest(recent, earliest, limit, seg_start, cfg)
        return min(cut, limit)

    rule.__name__ = f"longest_run_{level}"
    return rule


def runs_below(w: Windows, below: float) -> list[tuple[int, int]]:
    """[i, j) index runs of consecutive windows of ``w`` with probability < below."""
    out, start = [], None
    for i, (_, p) in enumerate([*w, (0, math.inf)]):
        if p < below and start is None:
            start = i
        elif p >= below and start is not None:
            out.append((start, i))
            start = None
    return out


def latest_long_run(n: int) -> Rule:
    """The middle of the latest run of at least n windows below neg_threshold; else the longest
    run; else the quietest window."""

    def rule(recent: Windows, earliest: int, limit: int, seg_start: int, cfg: SegmenterConfig) -> int:
        w = eligible(recent, earliest, limit, seg_start)
        long = [(i, j) for i, j in runs_below(w, cfg.neg_threshold) if j - i >= n]
        if not long:
            return longest_run("neg")(recent, earliest, limit, seg_start, cfg)
        i, j = long[-1]
        return min((w[i][0] + w[j - 1][0] + WINDOW) // 2, limit)

    rule.__name__ = f"latest_long_run_{n}"
    return rule


def deepest_run(recent: Windows, earliest: int, limit: int, seg_start: int, cfg: SegmenterConfig) -> int:
    """The middle of the run below neg_threshold with the largest sum of (neg_threshold - p)."""
    w = eligible(recent, earliest, limit, seg_start)
    best, cut = 0.0, None
    for i, j in runs_below(w, cfg.neg_threshold):
        area = sum(cfg.neg_threshold - p for _, p in w[i:j])
        if area >= best:
            best, cut = area, (w[i][0] + w[j - 1][0] + WINDOW) // 2
    if cut is None:
        return quietest(recent, earliest, limit, seg_start, cfg)
    return min(cut, limit)


def current(recent: Windows, earliest: int, limit: int, seg_start: int, cfg: SegmenterConfig) -> int:
    """Whatever server/segmenter.py does now (the rule the module ships)."""
    seg = Segmenter(None, cfg)
    seg._recent.extend(recent)
    seg._seg_start = seg_start
    return seg._cut_point(earliest, limit)


class StudySegmenter(Segmenter):
    """The real segmenter, its cut chosen by ``rule`` with a lookback of ``lookback_s``."""

    def __init__(self, vad: Any, config: SegmenterConfig, rule: Rule, lookback_s: float) -> None:
        super().__init__(vad, config)
        self._rule = rule
        assert self._max_len is not None
        self._lookback = min(round(lookback_s * SAMPLE_RATE), self._max_len // 2)
        windows = (self._lookback + self._min_silence) // WINDOW + segmod.BLOCK_WINDOWS + 2
        self._recent = type(self._recent)(maxlen=windows)

    def _cut_point(self, earliest: int, limit: int) -> int:
        return self._rule(list(self._recent), earliest, limit, self._seg_start, self._config)


# -- ground truth ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    text: str


def whisper_words(samples: npt.NDArray[np.int16], cache: Path) -> list[Word]:
    key = hashlib.sha256(samples.tobytes()).hexdigest()[:16]
    path = cache / f"words-{key}.json"
    if not path.exists():
        from faster_whisper import WhisperModel

        from server.services.asr import ensure_model

        model = WhisperModel(
            str(ensure_model(MODEL_CACHE)),
            device="cpu",
            compute_type="int8",
            cpu_threads=1,
            local_files_only=True,
        )
        segments, _ = model.transcribe(
            samples.astype(np.float32) / 32768.0,
            language="es",
            temperature=0.0,
            beam_size=5,
            word_timestamps=True,
            condition_on_previous_text=False,
            vad_filter=False,
        )
        words = [[w.start, w.end, w.word.strip()] for s in segments for w in (s.words or [])]
        path.write_text(json.dumps(words, ensure_ascii=False), encoding="utf-8")
    return [Word(*w) for w in json.loads(path.read_text(encoding="utf-8"))]


MARGIN = 0.03
"""A cut this close (s) to a Whisper word's edge counts as between words (the timestamps are coarse)."""
PAUSE_MS = 150
"""A run of near-silence this long is a pause (espeak: commas ~190-250 ms, periods ~380-490 ms at
-s 150), shorter ones are a stop consonant's closure (10-60 ms, up to ~140 ms in a cluster)."""
FRAME = SAMPLE_RATE // 100
"""10 ms frames for the signal's level."""


def levels(samples: npt.NDArray[np.int16]) -> npt.NDArray[np.float64]:
    """Mean absolute amplitude of every 10 ms frame."""
    x = np.abs(samples.astype(np.float64))
    return x[: x.size // FRAME * FRAME].reshape(-1, FRAME).mean(axis=1)


def quiet_runs(quiet: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """[start, end) frame runs where ``quiet`` holds."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], quiet.astype(np.int8), [0]])))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


@dataclass(frozen=True)
class Script:
    """An espeak text split at its punctuation, with each phrase's span in the audio: espeak pauses
    (>= PAUSE_MS of near-silence) at every comma and period and nowhere else (checked: as many such
    gaps as marks), so the k-th pause follows the k-th phrase."""

    phrases: list[str]
    spans: list[tuple[int, int]]
    """Samples [start, end) of each phrase's speech."""
    names: list[list[tuple[int, int]]]
    """Character spans of the multi-word proper names in each phrase."""


def script_of(text: str, samples: npt.NDArray[np.int16]) -> Script | None:
    lv = levels(samples)
    gaps = [(a, b) for a, b in quiet_runs(lv < 0.1 * np.median(lv)) if (b - a) * 10 >= PAUSE_MS]
    gaps = [(a, b) for a, b in gaps if a > 0]  # espeak's leading silence
    phrases = [p.strip(" ¿¡") for p in re.split(r"[,.;:?!]", text)][:-1]
    if len(phrases) != len(gaps):
        print(f"  ({len(gaps)} pauses for {len(phrases)} phrases: judged by Whisper alone)")
        return None
    starts = [0] + [b * FRAME for _, b in gaps[:-1]]
    spans = [(s, a * FRAME) for s, (a, _) in zip(starts, gaps, strict=True)]
    names = [
        [(m.start(), m.end()) for name in NAMES + OTHER_NAMES for m in re.finditer(re.escape(name), phrase)]
        for phrase in phrases
    ]
    return Script(phrases, spans, names)


def capitalised(word: Word) -> bool:
    letters = word.text.lstrip("¿¡\"'(")
    return bool(letters) and letters[0].isupper()


def ends_clause(word: Word) -> bool:
    return word.text.rstrip()[-1:] in ",.;:?!"


@dataclass(frozen=True)
class Verdict:
    inside_word: bool
    inside_name: bool
    context: str
    level: float
    gap_ms: int


def judge(
    samples: npt.NDArray[np.int16], piece: Utterance, words: list[Word], script: Script | None
) -> Verdict:
    """Where the cut ending ``piece`` falls (see the module docstring)."""
    cut = piece.end
    t = cut / SAMPLE_RATE
    # the signal: level around the cut, and the near-silent run holding it
    lv = levels(samples)
    a = piece.start // FRAME
    median = float(np.median(lv[a : max(a + 1, piece.end // FRAME)])) or 1.0
    around = np.abs(samples[max(0, cut - 240) : cut + 240].astype(np.float64))
    level = float(around.mean()) / median if around.size else 0.0
    c = min(cut // FRAME, lv.size - 1)
    gap_ms = next(((b - a) * 10 for a, b in quiet_runs(lv < 0.1 * median) if a <= c < b), 0)
    in_pause = gap_ms >= PAUSE_MS
    # Whisper's words
    before = [i for i, w in enumerate(words) if w.start < t - MARGIN]
    inside = [i for i, w in enumerate(words) if w.start + MARGIN < t < w.end - MARGIN]
    i = inside[0] if inside else (before[-1] if before else 0)
    marks = []
    for j in range(max(0, i - 3), min(len(words), i + 4)):
        w = words[j]
        if inside and j == i:
            k = round(len(w.text) * (t - w.start) / max(w.end - w.start, 1e-3))
            marks.append(w.text[:k] + "|" + w.text[k:])
        else:
            marks.append(w.text + (" |" if not inside and j == i else ""))
    context = "whisper: " + " ".join(marks)
    inside_word = bool(inside) and not in_pause
    if script is None:  # capitalised words on both sides of the cut, no punctuation between
        if inside:
            w = words[i]
            left = i > 0 and capitalised(words[i - 1]) and not ends_clause(words[i - 1])
            right = i + 1 < len(words) and capitalised(words[i + 1]) and not ends_clause(w)
            inside_name = capitalised(w) and (left or right)
        elif before and before[-1] + 1 < len(words):
            w, nxt = words[before[-1]], words[before[-1] + 1]
            inside_name = capitalised(w) and capitalised(nxt) and not ends_clause(w)
        else:
            inside_name = False
        return Verdict(inside_word, inside_name and not in_pause, context, level, gap_ms)
    # the text: which phrase, and where in it (by the share of its duration)
    inside_name = False
    for phrase, (start, end), names in zip(script.phrases, script.spans, script.names, strict=True):
        if start < cut < end and not in_pause:
            pos = round(len(phrase) * (cut - start) / (end - start))
            inside_name = any(a < pos < b for a, b in names)
            context = f"texto: {phrase[:pos]}|{phrase[pos:]}   " + context
            break
    else:
        context = "texto: (pausa)   " + context
    return Verdict(inside_word, inside_name, context, level, gap_ms)


# -- the study -----------------------------------------------------------------------------------

RULES: dict[str, tuple[Rule, float]] = {
    "antes: ventana más baja, 2 s": (quietest, 2.0),
    "antes: ventana más baja, 3 s": (quietest, 3.0),
    "media móvil 3 (96 ms), 2 s": (moving_average(3), 2.0),
    "media móvil 4 (128 ms), 2 s": (moving_average(4), 2.0),
    "media móvil 5 (160 ms), 2 s": (moving_average(5), 2.0),
    "racha < neg_threshold, 2 s": (longest_run("neg"), 2.0),
    "racha < threshold, 2 s": (longest_run("thr"), 2.0),
    "media móvil 4, 3 s": (moving_average(4), 3.0),
    "racha < neg_threshold, 2,5 s": (longest_run("neg"), 2.5),
    "racha < neg_threshold, 3 s": (longest_run("neg"), 3.0),
    "racha < neg_threshold, 4 s": (longest_run("neg"), 4.0),
    "racha más honda, 3 s": (deepest_run, 3.0),
    "última racha >= 5, 3 s": (latest_long_run(5), 3.0),
    "última racha >= 5, 4 s": (latest_long_run(5), 4.0),
    "media móvil 4, 4 s": (moving_average(4), 4.0),
    "antes: ventana más baja, 4 s": (quietest, 4.0),
    "ahora: server/segmenter.py": (current, segmod.CUT_LOOKBACK_S),
}


@dataclass
class Row:
    audio: str
    max_s: float
    rule: str
    cuts: int = 0
    in_word: int = 0
    in_name: int = 0
    in_pause: int = 0
    pause_2s: int = 0
    """Cuts with a pause (>= PAUSE_MS of near-silence) in the 2 s before the limit."""
    pause_4s: int = 0
    """... in the 4 s before the limit."""
    gaps: tuple[int, ...] = ()
    lengths: tuple[float, ...] = ()
    """Seconds of each forced piece."""


def pause_near(samples: npt.NDArray[np.int16], limit: int, seconds: float) -> bool:
    lv = levels(samples)
    lo, hi = (limit - round(seconds * SAMPLE_RATE)) // FRAME, limit // FRAME
    for a, b in quiet_runs(lv < 0.1 * np.median(lv)):
        if (b - a) * 10 >= PAUSE_MS and min(b, hi) - max(a, lo) >= 6:
            return True
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-s", type=float, nargs="+", default=[15.0], help="max_utterance_s values")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "astra-cut-study")
    parser.add_argument("--rules", nargs="*", help="substrings of the rule names to run (default: all)")
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per forced cut")
    parser.add_argument("--save", type=Path, help="write the audio sources as WAV files to this directory")
    parser.add_argument("--write-fixture", action="store_true", help=f"write {FIXTURE.name} and stop")
    args = parser.parse_args()
    if args.write_fixture:
        write_wav(FIXTURE, speak(FIXTURE_TEXT))
        print(f"wrote {FIXTURE}")
        return
    args.cache.mkdir(parents=True, exist_ok=True)
    rules = {k: v for k, v in RULES.items() if not args.rules or any(r in k for r in args.rules)}

    vad = SileroVad()
    audio = sources()
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
        for name, samples in audio.items():
            write_wav(args.save / f"{name.replace('*', 'x')}.wav", samples)
    total_s = sum(s.size for s in audio.values()) / SAMPLE_RATE
    print(f"{len(audio)} audios, {total_s / 60:.1f} min in all")
    rows: list[Row] = []
    for name, samples in audio.items():
        probs = probabilities(samples, vad)
        words = whisper_words(samples, args.cache)
        script = script_of(TEXTS[name], samples) if name in TEXTS else None
        for max_s in args.max_s:
            config = SegmenterConfig(max_utterance_s=max_s)
            max_len = round(max_s * SAMPLE_RATE)
            for rule_name, (rule, lookback) in rules.items():
                seg = StudySegmenter(Replay(probs), config, rule, lookback)
                pcm = samples.tobytes()
                utts = []
                for i in range(0, len(pcm), 3200):
                    utts += seg.feed(pcm[i : i + 3200])
                utts += seg.flush()
                for u in utts:
                    assert u.end - u.start <= max_len + config.speech_pad_ms * 16
                for a, b in itertools.pairwise(utts):
                    assert a.end <= b.start and (not a.forced or a.end == b.start)
                forced = [u for u in utts if u.forced]
                row = Row(name, max_s, rule_name, cuts=len(forced))
                for u in forced:
                    v = judge(samples, u, words, script)
                    row.in_word += v.inside_word
                    row.in_name += v.inside_name
                    row.in_pause += v.gap_ms >= PAUSE_MS
                    row.pause_2s += pause_near(samples, u.start + max_len, 2.0)
                    row.pause_4s += pause_near(samples, u.start + max_len, 4.0)
                    row.gaps += (v.gap_ms,)
                    row.lengths += ((u.end - u.start) / SAMPLE_RATE,)
                    if args.verbose:
                        flags = ("PALABRA " if v.inside_word else "") + ("NOMBRE " if v.inside_name else "")
                        print(
                            f"{rule_name:<30} {max_s:>4.0f}s {name:<26} {u.end / SAMPLE_RATE:7.2f}s "
                            f"nivel {v.level:4.2f} hueco {v.gap_ms:3d} ms {flags:<15} {v.context}"
                        )
                rows.append(row)
    header = (
        f"{'audio':<28} {'máx.':>5} {'regla':<30} {'cortes':>6} {'en palabra':>10} {'en nombre':>9} "
        f"{'en pausa':>8} {'pausa a 2 s':>11} {'pausa a 4 s':>11} {'pieza media':>11}"
    )

    def line(label: str, max_s: str, rule: str, chosen: list[Row]) -> str:
        lengths = [x for r in chosen for x in r.lengths]
        mean = f"{sum(lengths) / len(lengths):9.1f} s" if lengths else ""
        return (
            f"{label:<28} {max_s:>5} {rule:<30} {sum(r.cuts for r in chosen):>6} "
            f"{sum(r.in_word for r in chosen):>10} {sum(r.in_name for r in chosen):>9} "
            f"{sum(r.in_pause for r in chosen):>8} {sum(r.pause_2s for r in chosen):>11} "
            f"{sum(r.pause_4s for r in chosen):>11} {mean:>11}"
        )

    print()
    print(header)
    for row in rows:
        if row.cuts:
            print(line(row.audio, f"{row.max_s:.0f} s", row.rule, [row]))
    print()
    print(header)
    for max_s in args.max_s:
        for rule_name in rules:
            chosen = [r for r in rows if r.max_s == max_s and r.rule == rule_name]
            print(line("todo", f"{max_s:.0f} s", rule_name, chosen))
    if len(args.max_s) > 1:
        print()
        for rule_name in rules:
            chosen = [r for r in rows if r.rule == rule_name]
            print(line("todo, todos los límites", "", rule_name, chosen))
    print()
    print(f"en pausa: cuts in a near-silent run >= {PAUSE_MS} ms; pausa a 2 s / 4 s: cuts with such a pause")
    print("(>= 60 ms of it) in the 2 s / 4 s before the limit; pieza media: mean length of the forced pieces")


if __name__ == "__main__":
    main()
