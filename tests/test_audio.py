"""Audio intake: sniffing, whole-file decoding and incremental stream decoding to PCM16 16 kHz mono.

Every input is made here, with PyAV's encoders, from the committed speech fixture.
"""

from __future__ import annotations

import io
import random
import subprocess
import sys
import threading
import wave
from collections.abc import Iterator
from pathlib import Path

import av
import av.error
import numpy as np
import pytest
from av.audio.frame import AudioFrame
from av.audio.resampler import AudioResampler
from av.audio.stream import AudioStream
from numpy.typing import NDArray

from server.audio import (
    ACCEPTED,
    SAMPLE_RATE,
    AudioFormatError,
    StreamDecoder,
    decode_file,
    resample_pcm16,
    sniff,
)

from .conftest import require

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "audio" / "02_llamado.wav"
ACCEPTED_TEXT = "accepted: WAV, WebM/Opus, Ogg/Opus or raw PCM16 with sample_rate"
DURATION_TOLERANCE = 0.050  # seconds


# -- making inputs ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def original() -> NDArray[np.int16]:
    with wave.open(str(FIXTURE), "rb") as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (SAMPLE_RATE, 1, 2)
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.int16)


def _frame(samples: NDArray[np.int16], rate: int, layout: str = "mono") -> AudioFrame:
    frame = AudioFrame.from_ndarray(np.ascontiguousarray(samples).reshape(1, -1), format="s16", layout=layout)
    frame.sample_rate = rate
    return frame


def _resampled(samples: NDArray[np.int16], rate: int) -> NDArray[np.int16]:
    """The mono 16 kHz samples at ``rate`` (independently of the code under test's resampling)."""
    if rate == SAMPLE_RATE:
        return samples
    resampler = AudioResampler(format="s16", layout="mono", rate=rate)
    frames = resampler.resample(_frame(samples, SAMPLE_RATE)) + resampler.resample(None)
    return np.concatenate([f.to_ndarray().ravel() for f in frames]).astype(np.int16)


def _encode(
    samples: NDArray[np.int16],
    container: str,
    codec: str,
    rate: int,
    *,
    stereo: bool = False,
    options: dict[str, str] | None = None,
) -> bytes:
    """Encode mono 16 kHz samples into ``container``/``codec`` at ``rate`` (stereo: both channels equal)."""
    at_rate = _resampled(samples, rate)
    # Stereo: interleaved L R L R ... with both channels equal, so a mixdown gives the original.
    frame = _frame(np.repeat(at_rate, 2), rate, "stereo") if stereo else _frame(at_rate, rate)
    buf = io.BytesIO()
    with av.open(buf, "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate, layout="stereo" if stereo else "mono")
        assert isinstance(stream, AudioStream)
        if options:
            stream.codec_context.options = options
        # PyAV converts the frame to the encoder's sample format and frame size.
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


@pytest.fixture(scope="module")
def inputs(original: NDArray[np.int16]) -> dict[str, bytes]:
    try:
        av.codec.Codec("libopus", "w")
        has_opus = True
    except Exception:  # pragma: no cover - PyAV wheels bundle libopus
        has_opus = False
    require(has_opus, "PyAV with a libopus encoder")  # CI: a failure, not 14 tests skipped
    return {
        "wav44100stereo": _encode(original, "wav", "pcm_s16le", 44_100, stereo=True),
        "wav8000": _encode(original, "wav", "pcm_s16le", 8_000),
        "wav48000s24": _encode(original, "wav", "pcm_s24le", 48_000),
        "wav22050float": _encode(original, "wav", "pcm_f32le", 22_050, stereo=True),
        "webm": _encode(original, "webm", "libopus", 48_000),
        "ogg": _encode(original, "ogg", "libopus", 48_000),
        # FFmpeg's own Vorbis encoder is flagged experimental.
        "oggvorbis": _encode(
            original, "ogg", "vorbis", 44_100, stereo=True, options={"strict": "experimental"}
        ),
        "pcm22050": _resampled(original, 22_050).astype("<i2").tobytes(),
    }


# -- comparing outputs -----------------------------------------------------------------------------


def _samples(pcm: bytes) -> NDArray[np.float64]:
    assert len(pcm) % 2 == 0
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64)


def _envelope(x: NDArray[np.float64], window: int = 320) -> NDArray[np.float64]:
    """RMS per 20 ms window."""
    n = len(x) // window
    return np.asarray(np.sqrt((x[: n * window].reshape(n, window) ** 2).mean(axis=1)), dtype=np.float64)


def _assert_same_speech(pcm: bytes, original: NDArray[np.int16], *, lossless: bool) -> None:
    got = _samples(pcm)
    ref = original.astype(np.float64)
    assert abs(len(got) - len(ref)) / SAMPLE_RATE <= DURATION_TOLERANCE
    n = min(len(got), len(ref))
    envelope = np.corrcoef(_envelope(got[:n]), _envelope(ref[:n]))[0, 1]
    assert envelope > 0.95
    level = np.sqrt((got[:n] ** 2).mean() / (ref[:n] ** 2).mean())
    assert 0.8 < level < 1.25
    if lossless:
        assert np.corrcoef(got[:n], ref[:n])[0, 1] > 0.98


def _chunks(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def _stream(fmt: str, chunks: Iterator[bytes] | list[bytes]) -> tuple[bytes, StreamDecoder]:
    decoder = StreamDecoder(fmt)
    out = [decoder.feed(chunk) for chunk in chunks]
    out.append(decoder.close())
    return b"".join(out), decoder


# -- sniff and decode_file -------------------------------------------------------------------------


def test_sniff_recognises_each_container(inputs: dict[str, bytes]) -> None:
    """sniff names WAV, WebM and Ogg by their headers and nothing else."""
    assert sniff(inputs["wav44100stereo"]) == "wav"
    assert sniff(inputs["wav8000"]) == "wav"
    assert sniff(inputs["webm"]) == "webm"
    assert sniff(inputs["ogg"]) == "ogg"
    assert sniff(inputs["oggvorbis"]) == "ogg"
    assert sniff(inputs["pcm22050"]) is None
    assert sniff(b"") is None
    assert sniff(b"RIFF\x00\x00\x00\x00AVI ") is None
    assert sniff(b"ID3\x04\x00\x00\x00\x00\x00\x00") is None
    assert ACCEPTED == ("wav", "webm", "ogg", "pcm16")


@pytest.mark.parametrize("name", ["wav44100stereo", "wav8000", "wav48000s24", "wav22050float"])
def test_decode_wav_variants(name: str, inputs: dict[str, bytes], original: NDArray[np.int16]) -> None:
    """WAV of any rate, width and channel count decodes to the original speech at 16 kHz mono."""
    pcm = decode_file(inputs[name])
    # 8 kHz loses everything above 4 kHz, so only its envelope is compared strictly.
    _assert_same_speech(pcm, original, lossless=name != "wav8000")


def test_decode_wav_16k_mono_is_exact(original: NDArray[np.int16]) -> None:
    """A WAV already in 16 kHz mono PCM16 comes back sample for sample."""
    assert decode_file(FIXTURE.read_bytes()) == original.astype("<i2").tobytes()


@pytest.mark.parametrize("name", ["webm", "ogg", "oggvorbis"])
def test_decode_compressed_containers(
    name: str, inputs: dict[str, bytes], original: NDArray[np.int16]
) -> None:
    """WebM/Opus, Ogg/Opus and Ogg/Vorbis decode to the original speech (same duration and envelope)."""
    pcm = decode_file(inputs[name])
    assert decode_file(inputs[name], fmt=sniff(inputs[name])) == pcm
    _assert_same_speech(pcm, original, lossless=False)


def test_decode_raw_pcm16_resamples(inputs: dict[str, bytes], original: NDArray[np.int16]) -> None:
    """Raw PCM16 at 22050 Hz is resampled to 16 kHz; at 16 kHz it passes through unchanged."""
    pcm = decode_file(inputs["pcm22050"], fmt="pcm16", sample_rate=22_050)
    _assert_same_speech(pcm, original, lossless=True)
    raw = original.astype("<i2").tobytes()
    assert decode_file(raw, fmt="pcm16", sample_rate=SAMPLE_RATE) == raw
    assert resample_pcm16(inputs["pcm22050"], 22_050) == pcm
    # No header and a sample_rate: raw PCM16 even without fmt.
    assert decode_file(inputs["pcm22050"], sample_rate=22_050) == pcm


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"this is not audio at all" * 20, id="garbage"),
        pytest.param(b"", id="empty"),
        pytest.param(b"ID3\x04\x00\x00\x00\x00\x00\x0a" + bytes(600), id="mp3-id3"),
        pytest.param(b"\xff\xfb\x90\x64" + bytes(600), id="mp3-frame"),
    ],
)
def test_unrecognised_input_names_accepted_formats(data: bytes) -> None:
    """Garbage, empty input and MP3 are refused with a message naming the accepted formats."""
    with pytest.raises(AudioFormatError, match=ACCEPTED_TEXT):
        decode_file(data)


@pytest.mark.parametrize("name", ["webm", "ogg"])
def test_truncated_container_is_refused(name: str, inputs: dict[str, bytes]) -> None:
    """A WebM/Ogg cut inside its header gives AudioFormatError, never a raw PyAV error."""
    for cut in (4, 40, 200):
        with pytest.raises(AudioFormatError, match=ACCEPTED_TEXT):
            decode_file(inputs[name][:cut])


def test_truncated_webm_data_yields_audio_up_to_the_cut(inputs: dict[str, bytes]) -> None:
    """A WebM cut in the middle of its audio decodes up to the cut."""
    whole = decode_file(inputs["webm"])
    half = decode_file(inputs["webm"][: len(inputs["webm"]) // 2])
    assert 0.3 * len(whole) < len(half) < 0.7 * len(whole)
    assert whole.startswith(half[: len(half) // 2])


@pytest.mark.parametrize("name", ["webm", "ogg"])
def test_corrupt_container_body_is_refused(name: str, inputs: dict[str, bytes]) -> None:
    """A valid header followed by a long run of garbage is refused, not silently skipped."""
    noise = random.Random(7).randbytes(200_000)
    with pytest.raises(AudioFormatError, match=ACCEPTED_TEXT):
        decode_file(inputs[name][:20_000] + noise)


def test_declared_format_must_match_the_header(inputs: dict[str, bytes]) -> None:
    """fmt naming another container than the data's header is refused; unknown fmt too."""
    with pytest.raises(AudioFormatError, match="looks like ogg"):
        decode_file(inputs["ogg"], fmt="webm")
    with pytest.raises(AudioFormatError, match=ACCEPTED_TEXT):
        decode_file(inputs["webm"], fmt="mp3")


def test_pcm16_needs_valid_sample_rate_and_even_length() -> None:
    """Raw PCM16 without sample_rate, with an out-of-range rate or an odd byte count is refused."""
    with pytest.raises(AudioFormatError, match="sample_rate"):
        decode_file(bytes(320), fmt="pcm16")
    for rate in (4_000, 96_000):
        with pytest.raises(AudioFormatError, match="sample_rate"):
            decode_file(bytes(320), fmt="pcm16", sample_rate=rate)
    with pytest.raises(AudioFormatError, match="odd"):
        decode_file(bytes(321), fmt="pcm16", sample_rate=SAMPLE_RATE)
    with pytest.raises(AudioFormatError, match="odd"):
        resample_pcm16(bytes(3), 8_000)


def test_max_seconds_limit(inputs: dict[str, bytes]) -> None:
    """Decoded audio longer than max_seconds is refused, for containers and for raw PCM16."""
    for name in ("wav44100stereo", "webm", "ogg"):
        assert decode_file(inputs[name], max_seconds=4)
        with pytest.raises(AudioFormatError, match="limit of 3 s"):
            decode_file(inputs[name], max_seconds=3)
    with pytest.raises(AudioFormatError, match="limit of 2 s"):
        decode_file(inputs["pcm22050"], fmt="pcm16", sample_rate=22_050, max_seconds=2)
    assert decode_file(bytes(2 * 16_000), fmt="pcm16", sample_rate=16_000, max_seconds=1) == bytes(32_000)


# -- StreamDecoder ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["webm", "ogg", "oggvorbis"])
@pytest.mark.parametrize("split", ["1000-byte", "one-chunk", "1-byte-header"])
def test_stream_equals_whole_file(name: str, split: str, inputs: dict[str, bytes]) -> None:
    """Feeding the stream in chunks yields, all outputs together, the same PCM as decode_file."""
    data = inputs[name]
    if split == "1000-byte":
        chunks = list(_chunks(data, 1000))
    elif split == "one-chunk":
        chunks = [data]
    else:
        chunks = [*_chunks(data[:200], 1), *_chunks(data[200:], 1000)]
    before = threading.active_count()
    fmt = sniff(data)
    assert fmt is not None
    pcm, decoder = _stream(fmt, chunks)
    whole = decode_file(data)
    assert abs(len(pcm) - len(whole)) <= 2 * 16 * 5  # within 5 ms
    n = min(len(pcm), len(whole)) // 2
    assert np.corrcoef(_samples(pcm)[:n], _samples(whole)[:n])[0, 1] > 0.999
    assert decoder.samples_out == len(pcm) // 2
    assert threading.active_count() == before


def test_stream_output_is_incremental(inputs: dict[str, bytes]) -> None:
    """WebM fed in 1000-byte chunks yields PCM along the way, not only at close."""
    decoder = StreamDecoder("webm")
    data = inputs["webm"]
    half = b"".join(decoder.feed(chunk) for chunk in _chunks(data[: len(data) // 2], 1000))
    assert len(half) > 2 * SAMPLE_RATE  # more than a second already
    assert decoder.samples_out == len(half) // 2
    rest = b"".join(decoder.feed(chunk) for chunk in _chunks(data[len(data) // 2 :], 1000))
    tail = decoder.close()
    assert len(tail) < 2 * SAMPLE_RATE // 10  # only the last bit of the stream waits for close
    assert decoder.samples_out == (len(half) + len(rest) + len(tail)) // 2


@pytest.mark.parametrize("name", ["webm", "ogg"])
def test_stream_with_garbage_later_raises(name: str, inputs: dict[str, bytes]) -> None:
    """A stream whose later chunks are garbage raises AudioFormatError, and the thread ends."""
    before = threading.active_count()
    noise = random.Random(3).randbytes(300_000)
    data = inputs[name][:20_000] + noise
    decoder = StreamDecoder(name)
    with pytest.raises(AudioFormatError, match=ACCEPTED_TEXT):
        for chunk in _chunks(data, 1000):
            decoder.feed(chunk)
        decoder.close()
    with pytest.raises(AudioFormatError):  # stays failed
        decoder.feed(b"more")
    with pytest.raises(AudioFormatError):
        decoder.close()
    assert threading.active_count() == before


def test_stream_failing_at_close_hands_over_the_pcm_decoded_before(inputs: dict[str, bytes]) -> None:
    """Garbage after a valid stream, too little to tell while chunks arrive, fails close; the error
    carries the PCM close decoded before the failure, so nothing of the valid audio is lost; a
    later call raises again, without PCM (it is delivered once)."""
    data = inputs["webm"]
    decoder = StreamDecoder("webm")
    # More than the ~70 kB of container overhead the tally allows a finished stream of this
    # length, less than the extra 16 kB it allows while chunks still arrive.
    stream = data + random.Random(11).randbytes(76_000)
    fed = b"".join(decoder.feed(chunk) for chunk in _chunks(stream, 4000))
    with pytest.raises(AudioFormatError, match="not audio packets") as failed:
        decoder.close()
    assert failed.value.pcm and len(fed) + len(failed.value.pcm) == len(decode_file(data))
    with pytest.raises(AudioFormatError) as again:
        decoder.close()
    assert again.value.pcm == b""


def test_stream_with_garbage_header_raises() -> None:
    """A stream that is garbage from the start raises AudioFormatError by close at the latest."""
    decoder = StreamDecoder("webm")
    with pytest.raises(AudioFormatError):
        for chunk in _chunks(b"\x1a\x45\xdf\xa3" + random.Random(5).randbytes(5000), 500):
            decoder.feed(chunk)
        decoder.close()


def test_containers_built_to_expand_are_refused_before_they_do(
    inputs: dict[str, bytes], original: NDArray[np.int16], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review: a WebM chunk of a few KB holding a PCM track at a sample rate of 1 Hz decoded to
    gigabytes (the server ran out of memory, and each owner taking the session over decoded it
    again). A live stream's codec must be a MediaRecorder's (Opus, Vorbis), a decoded rate 8 kHz
    or more, and one chunk's PCM a bounded size: each is refused with AudioFormatError instead."""
    pcm_in_mkv = _encode(original[:8000], "matroska", "pcm_s16le", 16_000)  # sent as "webm"
    with pytest.raises(AudioFormatError, match="webm audio in pcm_s16le"), StreamDecoder("webm") as decoder:
        decoder.feed(pcm_in_mkv)
        decoder.close()
    with pytest.raises(AudioFormatError, match="webm audio in pcm_s16le"):
        decode_file(pcm_in_mkv, fmt="webm")
    slow = _encode(original, "wav", "pcm_s16le", 1_000)
    with pytest.raises(AudioFormatError, match="audio at 1000 Hz"):
        decode_file(slow)
    import server.audio as audio

    monkeypatch.setattr(audio, "_MAX_PENDING_PCM", 64 << 10)  # the fixture's 5 s are 160 KiB
    with pytest.raises(AudioFormatError, match="decodes to more than"), StreamDecoder("webm") as decoder:
        decoder.feed(inputs["webm"])
        decoder.close()
    with StreamDecoder("webm") as decoder:  # the same, fed in pieces: each feed's PCM is taken
        pcm = b"".join(decoder.feed(chunk) for chunk in _chunks(inputs["webm"], 4000)) + decoder.close()
    assert len(pcm) > 64 << 10


def test_a_webm_with_video_beside_its_audio_is_decoded_its_video_left_out(
    original: NDArray[np.int16],
) -> None:
    """Review: a camera's MediaRecorder stream (``video/webm;codecs=vp8,opus``) was refused as
    corrupt, the video's bytes counted as garbage, and most of its audio dropped. Its audio is
    decoded as the same audio alone is."""
    buf = io.BytesIO()
    noise = np.random.default_rng(3)
    with av.open(buf, "w", format="webm") as out:
        audio = out.add_stream("libopus", rate=48_000, layout="mono")
        video = out.add_stream("libvpx", rate=10)
        assert isinstance(audio, AudioStream)
        video.width, video.height, video.pix_fmt = 640, 480, "yuv420p"  # type: ignore[attr-defined]
        video.bit_rate = 8_000_000  # type: ignore[attr-defined]
        largest = 0
        for i in range(20):  # 2 s of noise: keyframes of over 100 KB, past the garbage allowance
            picture = av.VideoFrame.from_ndarray(
                noise.integers(0, 255, (480, 640, 3), dtype=np.uint8), format="rgb24"
            )
            picture.pts = i
            for packet in video.encode(picture):  # type: ignore[attr-defined]
                largest = max(largest, packet.size)
                out.mux(packet)
        for packet in audio.encode(_frame(_resampled(original, 48_000), 48_000)):
            out.mux(packet)
        for stream in (audio, video):
            for packet in stream.encode(None):  # type: ignore[attr-defined]
                out.mux(packet)
    data = buf.getvalue()
    alone = decode_file(_encode(original, "webm", "libopus", 48_000))
    assert largest > 100_000  # a block larger than the in-flight allowance of audio alone
    assert len(decode_file(data, fmt="webm")) == len(alone)
    with StreamDecoder("webm") as decoder:
        pcm = b"".join(decoder.feed(chunk) for chunk in _chunks(data, 4000)) + decoder.close()
    assert len(pcm) == len(alone)


def test_stream_threads_never_leak(inputs: dict[str, bytes]) -> None:
    """close, leaving a with block and garbage collection all end the decoder thread."""
    before = threading.active_count()
    decoder = StreamDecoder("webm")
    decoder.feed(inputs["webm"][:5000])
    assert threading.active_count() == before + 1
    decoder.close()
    assert threading.active_count() == before

    with StreamDecoder("ogg") as in_block:
        in_block.feed(inputs["ogg"][:5000])
    assert threading.active_count() == before

    abandoned = StreamDecoder("webm")
    abandoned.feed(inputs["webm"][:5000])
    del abandoned
    assert threading.active_count() == before

    unused = StreamDecoder("webm")
    assert unused.close() == b""
    assert threading.active_count() == before


def test_stream_rejects_misuse() -> None:
    """Only webm/ogg can be streamed, and a closed decoder refuses more data."""
    with pytest.raises(AudioFormatError, match=ACCEPTED_TEXT):
        StreamDecoder("wav")
    decoder = StreamDecoder("ogg")
    decoder.close()
    with pytest.raises(AudioFormatError, match="closed"):
        decoder.feed(b"OggS")


def test_the_server_loads_pyav_only_when_it_decodes_a_container() -> None:
    """PyAV costs a server ~16 MB of RSS: importing the app (a server whose clients send PCM16
    only) must not load it; decoding a WAV does."""
    code = (
        "import sys, server.app, server.audio as a; loaded = 'av' in sys.modules; "
        "a.decode_file(sys.stdin.buffer.read()); print(loaded, 'av' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], input=_silent_wav(16_000, 16_000), capture_output=True, timeout=60
    )
    assert done.stdout.split() == [b"False", b"True"], done.stderr


@pytest.mark.parametrize("error", [av.error.UnknownError(-1, "boom"), av.error.BugError(-1, "bug")])
def test_an_ffmpeg_error_of_any_kind_is_an_audio_format_error(
    monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    """FFmpeg errors that are neither OSError, ValueError nor EOFError (UnknownError, BugError)
    still come out as AudioFormatError (a coded 4xx), never as a raw PyAV exception (a 500)."""

    def failing_open(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(av, "open", failing_open)
    with pytest.raises(AudioFormatError, match="corrupt or truncated wav"):
        decode_file(_silent_wav(8_000, 800))


def _silent_wav(rate: int, samples: int) -> bytes:
    """A mono PCM16 WAV of silence, written with the standard library (not PyAV)."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(2 * samples))
    return out.getvalue()


def test_a_decoder_too_slow_to_close_hands_over_what_it_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stream whose decoder does not finish within ``close_timeout`` (the CPU starved) is
    abandoned with an error that carries the PCM decoded by then; it was dropped, and a successor
    decoding the same stream again counted more samples than this owner did."""
    import server.audio as audio

    late = b"\x01\x00" * 160

    def slow_worker(shared: audio._Shared, fmt: str) -> None:
        with shared.cond:
            shared.cond.wait_for(lambda: shared.eof or shared.aborted, timeout=30)
            shared.output.append(late)  # the stream's last samples, decoded at its end
            shared.cond.wait_for(lambda: shared.aborted, timeout=30)  # and then too slow to finish
            shared.done = True
            shared.cond.notify_all()

    monkeypatch.setattr(audio, "_stream_worker", slow_worker)
    decoder = StreamDecoder("webm")
    decoder.close_timeout = 0.2
    assert decoder.feed(b"\x1a\x45\xdf\xa3") == b""
    with pytest.raises(AudioFormatError, match="did not finish in time") as failed:
        decoder.close()
    assert failed.value.pcm == late
    with pytest.raises(AudioFormatError) as again:  # once: a later call has no PCM to give
        decoder.close()
    assert not again.value.pcm
