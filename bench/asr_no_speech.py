"""Measurement: Whisper's no-speech signals on speech and on sounds that are not speech.

    ASTRA_TEST_MODEL_CACHE=/path/to/astra-model-cache .venv/bin/python bench/asr_no_speech.py

Runs the real segmenter (Silero) and recognizer (server/services/asr.py, the prompt of the
packaged tenant, its entity names included) on

* speech: the committed Spanish fixtures (tests/fixtures/audio: the eight espeak-ng utterances
  and the four recorded through the console), clean and degraded as in bench/asr_confidence.py
  (white noise at 20 to -5 dB SNR, gain lowered);
* sounds that are not speech but that Silero lets through: a mains hum (90-300 Hz, a sine or
  with harmonics) swelling and fading like speech (each fixture's envelope), a steady buzz, and
  five utterances spoken at once (babble).

For every segment Whisper returns (kept or dropped by today's echo filter) it prints
``no_speech_prob``, ``avg_logprob`` and the text, then, for a grid of candidate lines "drop a
segment whose no_speech_prob is above X and avg_logprob below Y", how many speech segments and
how many non-speech segments each would drop.

Measured 2026-12-02 (101 speech segments, 32 not speech): the echo filter of
server/services/asr.py drops 15 of the 32 and 1 speech segment; on the 17 it lets through,
Whisper echoes the prompt's sentences and the tenant's names ("Ospina Gómez.", "En
consideración el proyecto de acuerdo en segundo debate.") with no_speech_prob 0.13-0.28 and
avg_logprob -0.65 to -1.39, where degraded speech scores 0.00-0.12 and down to -1.28. No line
on the two scores separates them: the best that drops no speech (no_speech_prob > 0.45,
avg_logprob < -0.8) catches 4 of the 32, all already dropped. So the filter was left as it is;
what gets through is marked low confidence (its avg_logprob puts it under the acta's line) and
reviewed with its audio.
"""

from __future__ import annotations

import json
import math
import os
import sys
import wave
from pathlib import Path
from typing import NamedTuple

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.asr_confidence import CONDITIONS  # noqa: E402
from server.segmenter import Segmenter, SegmenterConfig  # noqa: E402
from server.services.asr import Transcriber, build_prompt  # noqa: E402
from server.vad import SileroVad  # noqa: E402

AUDIO = ROOT / "tests" / "fixtures" / "audio"
CACHE = Path(os.environ.get("ASTRA_TEST_MODEL_CACHE", str(ROOT / ".venv" / "astra-model-cache")))
TENANT = ROOT / "server" / "tenants_data" / "CONCEJO_CALI" / "tenant.json"
RATE = 16_000
NO_SPEECH = (0.3, 0.4, 0.45, 0.5, 0.6)
LOGPROB = (-0.8, -1.0, -1.2)


class Seg(NamedTuple):
    speech: bool
    source: str
    no_speech: float
    logprob: float
    text: str
    dropped_now: bool


def read(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)


def pcm(samples: np.ndarray) -> bytes:
    padded = np.concatenate([np.zeros(RATE // 2), samples, np.zeros(RATE)])
    return np.clip(np.round(padded), -32768, 32767).astype("<i2").tobytes()


def not_speech(fixtures: list[np.ndarray]) -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(99)
    sounds: list[tuple[str, np.ndarray]] = []
    for i, clean in enumerate(fixtures[:4]):
        envelope = np.convolve(np.abs(clean), np.ones(320) / 320, mode="same")
        t = np.arange(len(clean)) / RATE
        for f0 in (90, 110, 150, 200, 300):
            sounds.append((f"hum {f0} Hz #{i}", np.sin(2 * np.pi * f0 * t) * envelope * 3))
            harmonics = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6))
            sounds.append((f"hum {f0} Hz + harmonics #{i}", harmonics * envelope * 2))
    t = np.arange(3 * RATE) / RATE
    for f0 in (50, 90, 150):
        sounds.append((f"buzz {f0} Hz", sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 8)) * 3000))
    n = min(len(f) for f in fixtures[:5])
    sounds.append(("babble of five", sum(f[:n] for f in fixtures[:5]) * 0.5))
    sounds.append(("noise bursts", rng.normal(0, 5000, 2 * RATE) * (np.arange(2 * RATE) % 3200 < 1600)))
    return sounds


def main() -> None:
    entities = json.loads(TENANT.read_text(encoding="utf-8")).get("entities_dictionary") or {}
    prompt = build_prompt(entities)
    transcriber = Transcriber(CACHE, cpu_threads=os.cpu_count() or 1)
    vad = SileroVad()
    rng = np.random.default_rng(1234)
    segs: list[Seg] = []

    def run(speech: bool, source: str, samples: np.ndarray) -> None:
        segmenter = Segmenter(vad, SegmenterConfig(speech_pad_ms=300))
        for utt in segmenter.feed(pcm(samples)) + segmenter.flush():
            t = transcriber.transcribe_sync(utt.pcm, prompt)
            for part, dropped in [(p, False) for p in t.segments] + [(p, True) for p in t.dropped]:
                seg = Seg(speech, source, part["no_speech_prob"], part["avg_logprob"], part["text"], dropped)
                segs.append(seg)
                kind = "speech" if speech else "NOT  "
                flag = " (dropped now)" if dropped else ""
                print(f"{kind} ns {seg.no_speech:.3f} lp {seg.logprob:+.3f}  {source:<38} {seg.text!r}{flag}")

    files = sorted(AUDIO.glob("0*.wav")) + sorted(AUDIO.glob("live_*.wav"))
    fixtures = [read(f) for f in files]
    for path, clean in zip(files, fixtures, strict=True):
        loud = clean[np.abs(clean) > 0.01 * np.abs(clean).max()]
        power = float(np.mean(loud**2))
        for name, snr, gain in CONDITIONS:
            audio = clean * gain
            if snr is not None:
                audio = audio + rng.normal(0, math.sqrt(power / 10 ** (snr / 10)), size=len(audio))
            run(True, f"{path.name} {name}", audio)
    for name, sound in not_speech(fixtures):
        run(False, name, sound)
    transcriber.close()

    speech = [s for s in segs if s.speech]
    other = [s for s in segs if not s.speech]
    print(f"\n{len(speech)} speech segments, {len(other)} non-speech segments")
    print(
        f"today's echo filter drops {sum(s.dropped_now for s in speech)} speech, "
        f"{sum(s.dropped_now for s in other)} non-speech"
    )
    for x in NO_SPEECH:
        for y in LOGPROB:
            hits_speech = [s for s in speech if s.no_speech > x and s.logprob < y]
            hits_other = [s for s in other if s.no_speech > x and s.logprob < y]
            print(
                f"no_speech > {x:.2f} and avg_logprob < {y:+.1f}: drops {len(hits_speech)} speech "
                f"({', '.join(repr(s.text) for s in hits_speech[:4])}), "
                f"{len(hits_other)}/{len(other)} non-speech"
            )


if __name__ == "__main__":
    main()
