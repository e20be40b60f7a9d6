"""Measurement: the recognizer's confidence on correct and garbled transcripts.

    ASTRA_TEST_MODEL_CACHE=/path/to/astra-model-cache .venv/bin/python bench/asr_confidence.py

Runs the real recognizer (server/services/asr.py, the council prompt) on the committed Spanish
fixtures (tests/fixtures/audio, espeak-ng speech) clean and degraded: white noise added at
20, 10, 5, 0 and -5 dB SNR (against the power of the speech samples, fixed seed), and the gain
lowered to 0.05 and 0.01. For each transcript: ``asr_confidence`` (exp of the mean
``avg_logprob``, as CORE stores it) and the word error rate against the script (lower case,
accents and punctuation ignored). Prints every transcript, then how many of each kind fall under
a few candidate lines: the evidence for ``LOW_ASR_CONFIDENCE`` in server/services/docx_builder.py.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
import unicodedata
import wave
from pathlib import Path
from typing import NamedTuple

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server.services.asr import Transcriber, build_prompt  # noqa: E402

AUDIO = ROOT / "tests" / "fixtures" / "audio"
CACHE = Path(os.environ.get("ASTRA_TEST_MODEL_CACHE", str(ROOT / ".venv" / "astra-model-cache")))
CONDITIONS: list[tuple[str, float | None, float]] = [
    ("limpio", None, 1.0),
    ("SNR 20 dB", 20, 1.0),
    ("SNR 10 dB", 10, 1.0),
    ("SNR 5 dB", 5, 1.0),
    ("SNR 0 dB", 0, 1.0),
    ("SNR -5 dB", -5, 1.0),
    ("ganancia 0,05", None, 0.05),
    ("ganancia 0,01", None, 0.01),
]
KINDS = [
    ("correct (WER 0)", lambda w: w == 0),
    ("minor (0 < WER <= 0.15)", lambda w: 0 < w <= 0.15),
    ("flawed (0.15 < WER < 0.5)", lambda w: 0.15 < w < 0.5),
    ("garbled (WER >= 0.5)", lambda w: w >= 0.5),
]
LINES = (0.6, 0.65, 0.7, 0.75)


class Row(NamedTuple):
    file: str
    condition: str
    confidence: float
    wer: float
    text: str


def words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFD", text.lower())
    folded = "".join(c for c in folded if unicodedata.category(c) != "Mn")
    return re.findall(r"[a-z0-9]+", folded)


def wer(reference: str, hypothesis: str) -> float:
    ref, hyp = words(reference), words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i in range(1, len(ref) + 1):
        diagonal, row[0] = row[0], i
        for j in range(1, len(hyp) + 1):
            above = row[j]
            row[j] = min(row[j] + 1, row[j - 1] + 1, diagonal + (ref[i - 1] != hyp[j - 1]))
            diagonal = above
    return row[len(hyp)] / max(1, len(ref))


def main() -> None:
    script = json.loads((AUDIO / "sesion.json").read_text(encoding="utf-8"))
    transcriber = Transcriber(CACHE, cpu_threads=os.cpu_count() or 1)
    prompt = build_prompt({})
    rng = np.random.default_rng(1234)
    rows: list[Row] = []
    for line in script:
        with wave.open(str(AUDIO / line["file"])) as w:
            clean = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)
        speech = clean[np.abs(clean) > 0.01 * np.abs(clean).max()]
        power = float(np.mean(speech**2))
        for name, snr, gain in CONDITIONS:
            audio = clean * gain
            if snr is not None:
                audio = audio + rng.normal(0, math.sqrt(power / 10 ** (snr / 10)), size=len(audio))
            pcm = np.clip(np.round(audio), -32768, 32767).astype("<i2").tobytes()
            transcript = transcriber.transcribe_sync(pcm, prompt)
            row = Row(
                line["file"], name, transcript.confidence, wer(line["text"], transcript.text), transcript.text
            )
            rows.append(row)
            print(f"{row.confidence:.4f}  WER {row.wer:.3f}  {row.file:<20} {name:<14} {row.text}")
    transcriber.close()
    print()
    for kind, test in KINDS:
        values = sorted(r.confidence for r in rows if test(r.wer))
        if values:
            print(f"{kind:<27} n={len(values):<3} confidence {values[0]:.2f}-{values[-1]:.2f}")
    for cut in LINES:
        counts = []
        for kind, test in KINDS:
            chosen = [r for r in rows if test(r.wer)]
            counts.append(f"{kind.split()[0]} {sum(r.confidence < cut for r in chosen)}/{len(chosen)}")
        print(f"under {cut:.2f}: " + ", ".join(counts))


if __name__ == "__main__":
    main()
