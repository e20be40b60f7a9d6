"""Speech recognition: the packaged Whisper weights, offline, on the committed Spanish speech."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from server.services import asr
from server.services.asr import MODEL_SHA256, ModelError, Transcriber, build_prompt, ensure_model

from .conftest import MODEL_CACHE, ROOT

AUDIO = ROOT / "tests" / "fixtures" / "audio"


def pcm_of(name: str) -> bytes:
    with wave.open(str(AUDIO / name)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16_000, 1, 2)
        return w.readframes(w.getnframes())


def test_model_is_assembled_once_and_verified() -> None:
    """model.bin is part1+part2 with the expected SHA-256, beside the tokenizer files; a second
    call reuses it."""
    model_dir = ensure_model(MODEL_CACHE)
    assert {p.name for p in model_dir.iterdir()} >= {
        "model.bin",
        "config.json",
        "tokenizer.json",
        "vocabulary.txt",
    }
    assert (model_dir / ".verified").read_text().strip() == MODEL_SHA256
    mtime = (model_dir / "model.bin").stat().st_mtime_ns
    assert ensure_model(MODEL_CACHE) == model_dir
    assert (model_dir / "model.bin").stat().st_mtime_ns == mtime


def test_corrupt_weights_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Weights whose joined SHA-256 differs are never installed."""
    fake = tmp_path / "pkg"
    (fake / "data").mkdir(parents=True)
    (fake / "data" / "model.bin.part1").write_bytes(b"not")
    (fake / "data" / "model.bin.part2").write_bytes(b"whisper")
    monkeypatch.setattr(asr, "_package_data", lambda package: fake / "data")
    with pytest.raises(ModelError):
        ensure_model(tmp_path / "cache")
    assert not (tmp_path / "cache" / asr.MODEL_NAME / "model.bin").exists()


@pytest.fixture(scope="module")
def transcriber() -> Transcriber:
    return Transcriber(MODEL_CACHE, cpu_threads=2)


def test_spanish_council_speech_is_transcribed(transcriber: Transcriber) -> None:
    """Each scripted utterance's key words come out of the recognizer."""
    script = json.loads((AUDIO / "sesion.json").read_text(encoding="utf-8"))
    for item in script:
        transcript = transcriber.transcribe_sync(pcm_of(item["file"]), build_prompt({}))
        for word in item["keywords"]:
            assert word in transcript.text.lower(), (item["file"], transcript.text)
        assert transcript.segments and 0 < transcript.confidence <= 1


def test_silence_and_noise_give_no_words(transcriber: Transcriber) -> None:
    """Silence or hiss reaching the recognizer gives no text: the vocabulary prompt that Whisper
    tends to echo on them ("Se levanta la sesión.") is caught and dropped, not put in the acta."""
    import numpy as np

    hiss = (np.random.default_rng(7).normal(0, 600, 48_000)).astype("<i2").tobytes()
    for audio in (bytes(64_000), hiss):
        transcript = transcriber.transcribe_sync(audio, build_prompt({}))
        assert transcript.text == "", transcript


_NO_NETWORK = """
import socket
_connect = socket.socket.connect
def guarded(self, address):
    if self.family != socket.AF_UNIX:
        raise OSError("network disabled by the test: " + repr(address))
    return _connect(self, address)
socket.socket.connect = guarded
socket.create_connection = lambda *a, **k: (_ for _ in ()).throw(OSError("network disabled by the test"))
"""


def test_transcription_works_with_the_network_off(tmp_path: Path) -> None:
    """In a process where every network connection fails (and no hub-offline flag is set), the
    model loads from the packaged weights and transcribes."""
    (tmp_path / "sitecustomize.py").write_text(_NO_NETWORK)
    code = (
        "import wave, sys\n"
        "from pathlib import Path\n"
        "from server.services.asr import Transcriber\n"
        f"w = wave.open({str(AUDIO / '02_llamado.wav')!r})\n"
        f"t = Transcriber(Path({str(tmp_path / 'fresh-cache')!r}), cpu_threads=2)\n"
        "print(t.transcribe_sync(w.readframes(w.getnframes())).text)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(ROOT)])
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "lista" in done.stdout.lower()


def test_device_and_compute_type_reach_the_recognizer() -> None:
    """ASTRA_ASR_DEVICE / ASTRA_ASR_COMPUTE_TYPE (a CORE on a GPU machine) are what CTranslate2
    is asked for: on this machine, without a GPU, ``cuda`` fails at load, plainly."""
    from server.settings import Settings

    settings = Settings.from_env({"ASTRA_ASR_DEVICE": "cuda", "ASTRA_ASR_COMPUTE_TYPE": "float16"})
    assert (settings.asr_device, settings.asr_compute_type) == ("cuda", "float16")
    assert (Settings.from_env({}).asr_device, Settings.from_env({}).asr_compute_type) == ("cpu", "int8")
    on_gpu = Transcriber(MODEL_CACHE, device=settings.asr_device, compute_type=settings.asr_compute_type)
    with pytest.raises(RuntimeError, match="CUDA"):
        on_gpu.transcribe_sync(b"\0\0" * 16_000)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # heard live: "Caicedo Sinisterra" looped fifty times, a name five times
        (
            "Nevolota Will, son Andrés, Losano, Pérea, Presente, Vérea, " + "Cicera, " * 49 + "Cicera,",
            "Nevolota Will, son Andrés, Losano, Pérea, Presente, Vérea, Cicera,",
        ),
        ("Ospina Gómez. " * 5, "Ospina Gómez."),
        # a sentence looped until Whisper's length limit cut it mid-repetition
        (
            "Doctor Zapata Molina. "
            + "Acompañado de la subsecretaria, ingeniera Liliana Patiño. " * 6
            + "Acompañado de la",
            "Doctor Zapata Molina. Acompañado de la subsecretaria, ingeniera Liliana Patiño.",
        ),
    ],
)
def test_whisper_looping_on_words_is_kept_once(text: str, expected: str) -> None:
    """The same words repeated four times or more in a row are Whisper looping: kept once."""
    collapsed, removed = asr.collapse_loops(text)
    assert collapsed == expected
    assert removed == len(text.split()) - len(expected.split())


LOOPED_LIVE = (
    "Con la menya nela presidencia, la la la conceja la vea presidencia, "
    + "la la la la conceja la vea presidencia, " * 8
    + "la la la conceja la vea presidencia, " * 3
    + "la la conceja la vea presidencia, "
    + "la la la conceja la vea presidencia, " * 3
    + "la la la conceja la vea presiden"
)
"""Whisper's words for 13 s of "Con la venia de la presidencia, habla la concejala Beatriz Elena
Caicedo Sinisterra…" (control_politico.json 28), recorded live: a loop whose stutter varies."""


def test_a_loop_whose_stutter_varies_is_kept_once() -> None:
    """Recorded live: the loop's "la" said three or four times kept runs of the phrase apart,
    and the acta printed it eight times. A word said over and over is compared as one, and the
    loop's last repetition cut mid-word is dropped: the phrase is kept once."""
    collapsed, removed = asr.collapse_loops(LOOPED_LIVE)
    assert collapsed == "Con la menya nela presidencia, la la la conceja la vea"
    assert removed == len(LOOPED_LIVE.split()) - len(collapsed.split())


@pytest.mark.parametrize(
    "text",
    [
        "Juan Pérez, presente. Ana Ruiz, presente. Luis Mora, presente. Eva Gil, presente.",
        "Votaron sí: Ana Ruiz, sí; Luis Mora, sí; Eva Gil, sí; Juan Pérez, sí.",
        "no, no, no, señor presidente.",
        # a word said twice in a row within words said again, and a stutter said three times
        "Sí, sí, señor presidente. Sí, sí, señor presidente. Sí, sí, señor presidente.",
        "la la la conceja, la la conceja, la la la conceja, presidente.",
        "",
    ],
)
def test_words_said_again_are_no_loop(text: str) -> None:
    """A roll call's, a vote's repeated words between names, or a word said three times stay."""
    assert asr.collapse_loops(text) == (text, 0)


def test_a_looped_transcript_is_marked_for_review() -> None:
    """The loop's block falls under the acta's low-confidence line (its Word comment, the
    console's "revisar con el audio"); its segments keep Whisper's words for the audit."""

    class Segment:
        def __init__(self, text: str, start: float, end: float) -> None:
            self.text, self.start, self.end = text, start, end
            self.avg_logprob, self.no_speech_prob = -0.2, 0.01  # confident, as loops are

    class Info:
        language = "es"

    class Model:
        def transcribe(self, audio: object, **kwargs: object) -> tuple[list[Segment], Info]:
            return [Segment(" Patricia Solarte,", 0.0, 2.0), Segment(" Cicera," * 30, 2.0, 14.0)], Info()

    transcriber = Transcriber(MODEL_CACHE)
    transcriber._model = Model()
    try:
        transcript = transcriber.transcribe_sync(b"\0\0" * 16_000 * 14)
    finally:
        transcriber.close()
    assert transcript.text == "Patricia Solarte, Cicera,"
    assert transcript.confidence <= asr.LOOP_CONFIDENCE < 0.70
    assert transcript.segments[1]["text"].count("Cicera") == 30


@pytest.mark.parametrize(
    ("name", "said", "unwanted"),
    [
        # "Habiendo quórum decisorio, se declara abierta la sesión. …"
        ("live_apertura.wav", "abierta la sesión", "mierda"),
        # "… En consecuencia hay quórum para deliberar y decidir."
        ("live_quorum.wav", "deliberar y decidir", "neoliberal"),
        # "En consideración el orden del día leído. Se abre la discusión. …"
        ("live_aprobacion_orden.wav", "en consideración", "concineación"),
    ],
)
def test_council_phrases_recorded_through_the_console_are_heard(
    transcriber: Transcriber, name: str, said: str, unwanted: str
) -> None:
    """Utterances as the server cut them from a session recorded through the console (espeak-ng
    speech, Chromium's fake microphone), with the Cali tenant's names in the prompt as live:
    the council's phrases come out as said."""
    tenant_file = ROOT / "server" / "tenants_data" / "CONCEJO_CALI" / "tenant.json"
    tenant = json.loads(tenant_file.read_text("utf-8"))
    text = transcriber.transcribe_sync(pcm_of(name), build_prompt(tenant["entities_dictionary"])).text.lower()
    assert said in text and unwanted not in text, text


def test_a_closing_is_heard_with_its_time_and_summons_not_as_the_prompt(transcriber: Transcriber) -> None:
    """A closing as the server cut it from a session recorded through the console ("Agotado el
    orden del día, siendo las doce y veinticinco de la tarde se levanta la sesión y se convoca
    para mañana miércoles quince de octubre…"). Whisper base heard "agotado" as "anotamos" in
    three sessions; with the closing's phrase put in the prompt to help it, it wrote this one as
    the prompt's words alone ("Agotado el orden del día, se levanta la sesión y se convoca a
    sesión plenaria ordinaria."), its time and its summons's day lost. The prompt must not say
    what a closing says of its own."""
    tenant_file = ROOT / "server" / "tenants_data" / "CONCEJO_CALI" / "tenant.json"
    prompt = build_prompt(json.loads(tenant_file.read_text("utf-8"))["entities_dictionary"])
    text = transcriber.transcribe_sync(pcm_of("live_cierre.wav"), prompt).text.lower()
    assert "de la tarde" in text and "miércoles" in text, text


def test_speech_recognized_with_low_scores_is_not_dropped_as_the_prompt_echoed(
    transcriber: Transcriber,
) -> None:
    """13 s of a ponencia read aloud, as the server cut it from a session recorded through the
    console: Whisper's scores (no_speech_prob 0.40, avg_logprob -0.62) are those of the prompt
    echoed on noise, and the utterance was discarded as silence, its words lost from the acta.
    Its words are not the prompt's: they are kept, under the low-confidence line for review."""
    tenant_file = ROOT / "server" / "tenants_data" / "CONCEJO_CALI" / "tenant.json"
    prompt = build_prompt(json.loads(tenant_file.read_text("utf-8"))["entities_dictionary"])
    transcript = transcriber.transcribe_sync(pcm_of("live_ponencia_baja_confianza.wav"), prompt)
    assert "descuento" in transcript.text and "impuesto" in transcript.text, transcript
    assert 0 < transcript.confidence < 0.70


@pytest.mark.parametrize(
    ("text", "echo"),
    [
        ("Se levanta la sesión.", True),
        ("Honorables concejales, presente. Orden del día.", True),
        ("Togar un descuento en el 30% sobre el impuesto premial de la Regencia.", False),
        ("", True),
    ],
)
def test_a_segment_is_the_prompt_echoed_when_made_of_its_words(text: str, echo: bool) -> None:
    assert asr.echoes_prompt(text, build_prompt({})) is echo
