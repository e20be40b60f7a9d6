"""Make the Spanish speech fixtures of the tests with espeak-ng (run from the repository root).

    python tools/make_speech_fixtures.py

Writes ``tests/fixtures/audio/``: one 16 kHz mono PCM16 WAV per utterance of a scripted council
session, ``sesion.wav`` (all of them with silences between, as a recording console would send),
and ``sesion.json`` describing each utterance (text, expected zone, key words, start/end in
``sesion.wav``); and ``votacion_nominal.wav`` with ``votacion_nominal.json``, a roll-call vote
whose one-word answers ("Sí", "No") each stand alone between pauses. espeak-ng speaks at
22,050 Hz; PyAV resamples to 16 kHz.

    python tools/make_speech_fixtures.py votacion   # the roll-call vote alone
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import av
import numpy as np

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "audio"
RATE = 16_000
GAP_SECONDS = 1.2
LEAD_SECONDS = 0.6

SCRIPT = [
    ("apertura", "HEADER_ZONE", ["sesión"],
     "Siendo las nueve de la mañana, se abre la sesión ordinaria del concejo."),
    ("llamado", "ZONE_ROLLCALL", ["lista"], "Señor secretario, sírvase llamar a lista."),
    ("quorum", "ZONE_ROLLCALL", ["quórum"], "Contestaron a lista quince concejales. Hay quórum decisorio."),
    ("orden_dia", "ZONE_AGENDA", ["orden del día"],
     "Lectura del orden del día. Primero, llamado a lista. Segundo, proposiciones."),
    ("intervencion", "ZONE_DEBATE", ["palabra"], "Tiene la palabra el concejal Pedro Gómez."),
    ("proposicion", "ZONE_PROPOSICIONES", ["proposición"],
     "Proposición presentada por la concejala Ana Ruiz."),
    ("votacion", "ZONE_PROPOSICIONES", ["votaron"], "Votaron sí quince, no dos. Aprobada la proposición."),
    ("cierre", "ZONE_CIERRE", ["levanta"], "Se levanta la sesión y se convoca para mañana."),
]  # fmt: skip


def speak(text: str, speed: int = 135) -> np.ndarray:
    """espeak-ng's Spanish voice at ``speed`` words a minute, resampled to 16 kHz mono int16."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "u.wav"
        subprocess.run(["espeak-ng", "-v", "es", "-s", str(speed), "-w", str(path), text], check=True)
        with av.open(str(path)) as container:
            resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
            chunks = [
                out.to_ndarray().reshape(-1)
                for frame in container.decode(audio=0)
                for out in resampler.resample(frame)
            ]
            chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
    return np.concatenate(chunks).astype(np.int16)


def write_wav(path: Path, pcm: np.ndarray) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.astype("<i2").tobytes())


def with_gaps(clips: list[np.ndarray]) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """The clips one after another, LEAD_SECONDS of silence before the first and GAP_SECONDS
    after each (as a recording console would send them): the recording, and each clip's start and
    end in it (seconds)."""
    session = [np.zeros(int(LEAD_SECONDS * RATE), dtype=np.int16)]
    position = len(session[0])
    spans = []
    for pcm in clips:
        spans.append((round(position / RATE, 3), round((position + len(pcm)) / RATE, 3)))
        gap = np.zeros(int(GAP_SECONDS * RATE), dtype=np.int16)
        session += [pcm, gap]
        position += len(pcm) + len(gap)
    return np.concatenate(session), spans


def write_json(path: Path, value: object) -> None:
    path.write_text(json.dumps(value, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    clips = []
    for index, (name, _, _, text) in enumerate(SCRIPT, start=1):
        clips.append(speak(text))
        write_wav(OUT / f"{index:02d}_{name}.wav", clips[-1])
    recording, spans = with_gaps(clips)
    write_wav(OUT / "sesion.wav", recording)
    described = [
        {
            "file": f"{index:02d}_{name}.wav",
            "text": text,
            "zone": zone,
            "keywords": keywords,
            "start": start,
            "end": end,
        }
        for index, ((name, zone, keywords, text), (start, end)) in enumerate(
            zip(SCRIPT, spans, strict=True), start=1
        )
    ]
    write_json(OUT / "sesion.json", described)


ROLL_CALL = ["Concejal Pedro Gómez.", "Sí", "Concejala María López.", "No", "Concejal Luis Pérez.", "Sí"]
"""A roll-call vote: each name, then its councillor's answer after a pause, said quickly (espeak's
own rate: a "sí" of about a quarter of a second, as people answer)."""
ANSWER_SPEED = 175


def roll_call_vote() -> None:
    """``votacion_nominal.wav``: ROLL_CALL said with GAP_SECONDS between (a short answer stands
    alone, as votes do), and ``votacion_nominal.json``: each piece's text and start/end."""
    clips = [speak(text, ANSWER_SPEED if text in ("Sí", "No") else 135) for text in ROLL_CALL]
    recording, spans = with_gaps(clips)
    write_wav(OUT / "votacion_nominal.wav", recording)
    write_json(
        OUT / "votacion_nominal.json",
        [
            {"text": text, "start": start, "end": end}
            for text, (start, end) in zip(ROLL_CALL, spans, strict=True)
        ],
    )


if __name__ == "__main__":
    if sys.argv[1:] != ["votacion"]:
        main()
    roll_call_vote()
