"""Audio intake: turn what clients send into 16 kHz mono signed 16-bit little-endian PCM ("PCM16").

The speech pipeline only ever sees PCM16 at :data:`SAMPLE_RATE`. Clients send either

* a whole file over HTTP (:func:`decode_file`): WAV (any PCM/float WAV, any rate, mono or stereo),
  WebM (Opus), Ogg (Opus or Vorbis), recognised by its header (:func:`sniff`), or raw PCM16 with an
  explicit ``sample_rate``; or
* a live byte stream over the WebSocket (:class:`StreamDecoder`): the browser's ``MediaRecorder``
  output, a WebM/Opus (or Ogg/Opus) stream cut into chunks where only the first chunk carries the
  container header. (Raw PCM16 16 kHz frames need no work and never come here.)

Decoding uses PyAV (FFmpeg). Every failure — unknown format, corrupt or truncated data, audio that
is too long — is reported as :class:`AudioFormatError`, a :class:`ValueError`; raw PyAV exceptions
never escape.
"""

from __future__ import annotations

import contextlib
import io
import threading
from collections.abc import Generator
from types import TracebackType
from typing import TYPE_CHECKING, Final, Protocol

import numpy as np

if TYPE_CHECKING:  # PyAV (~16 MB of RSS) is imported on first use: a server that only ever gets
    # PCM16 (the console's microphone) and whose CORE is remote (or not warmed up) never loads it;
    # an embedded CORE's faster-whisper imports it with the model
    from av.audio.frame import AudioFrame
    from av.audio.resampler import AudioResampler
    from av.container import InputContainer

__all__ = [
    "ACCEPTED",
    "SAMPLE_RATE",
    "AudioFormatError",
    "StreamDecoder",
    "decode_file",
    "resample_pcm16",
    "sniff",
]

SAMPLE_RATE = 16_000
ACCEPTED = ("wav", "webm", "ogg", "pcm16")

_ACCEPTED_TEXT: Final = "WAV, WebM/Opus, Ogg/Opus or raw PCM16 with sample_rate"
_MIN_PCM_RATE: Final = 8_000
_MAX_PCM_RATE: Final = 48_000
_DEFAULT_MAX_SECONDS: Final = 600.0
# FFmpeg demuxer name for each container format we accept.
_DEMUXER: Final = {"wav": "wav", "webm": "matroska", "ogg": "ogg"}
# What a MediaRecorder stream carries: a Matroska or Ogg file may hold any codec (PCM, FLAC…),
# and one of a few KB at a sample rate of 1 Hz decoded to gigabytes (the server ran out of memory,
# and every owner that took the session again decoded it again).
_STREAM_CODECS: Final = {"webm": frozenset({"opus", "vorbis"}), "ogg": frozenset({"opus", "vorbis"})}
_MAX_DECODED_RATE: Final = 192_000
# PCM a live stream's decoder may hold for one feed: 35 min of 16 kHz audio. A 1 MiB chunk of Opus
# at its lowest bitrate (6 kbps) is 23 min; more is a stream built to expand, refused.
_MAX_PENDING_PCM: Final = 64 << 20
# Garbage detection (see _Tally): unexplained bytes allowed for the header (Opus/Vorbis headers,
# tags, cues), per packet (block/page headers), and for one cluster/page not yet demuxed (an Ogg page
# is at most 65 307 bytes).
_OVERHEAD_BASE: Final = 64 * 1024
_OVERHEAD_PER_PACKET: Final = 32
_IN_FLIGHT: Final = {"webm": 16 * 1024, "ogg": 64 * 1024}
# A video track's block (a camera's keyframe, hundreds of KB) read but not yet a packet.
_VIDEO_IN_FLIGHT: Final = 16 << 20
# Size of the raw-PCM frames handed to the resampler (keeps memory per step small).
_PCM_CHUNK_SAMPLES: Final = 1 << 16


def _av_errors() -> tuple[type[BaseException], ...]:
    """Errors PyAV/FFmpeg raise on bad input. Some ``av.error.FFmpegError`` subclasses are
    RuntimeErrors or LookupErrors, so PyAV's own class is named; an ``except`` evaluates this only
    while an error is being matched, and by then PyAV is loaded anyway."""
    import av.error

    return (av.error.FFmpegError, OSError, ValueError, EOFError)


class AudioFormatError(ValueError):
    """The audio could not be turned into PCM16: unknown format, corrupt/truncated data, too long.

    ``pcm``: what the failing :class:`StreamDecoder` call decoded before the failure (empty
    otherwise), so that a caller can keep that audio."""

    def __init__(self, message: str, *, pcm: bytes = b"") -> None:
        super().__init__(message)
        self.pcm = pcm


def _error(problem: str) -> AudioFormatError:
    return AudioFormatError(f"{problem}; accepted: {_ACCEPTED_TEXT}")


def sniff(data: bytes) -> str | None:
    """Recognise a container by its header: ``"wav"``, ``"webm"``, ``"ogg"`` or None."""
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"
    if data[:4] == b"OggS":
        return "ogg"
    return None


# -- conversion of decoded frames ------------------------------------------------------------------


class _ToPcm16:
    """Converts decoded frames of any sample format, layout and rate into PCM16 16 kHz mono bytes.

    The resampler is rebuilt (after flushing the old one) if the input format changes mid-stream,
    which PyAV's :class:`AudioResampler` does not allow by itself.
    """

    def __init__(self) -> None:
        self._resampler: AudioResampler | None = None
        self._key: tuple[str, str, int] | None = None

    def convert(self, frame: AudioFrame) -> bytes:
        if not _MIN_PCM_RATE <= frame.sample_rate <= _MAX_DECODED_RATE:  # each frame: rates may change
            raise _error(
                f"audio at {frame.sample_rate} Hz (accepted: {_MIN_PCM_RATE}-{_MAX_DECODED_RATE} Hz)"
            )
        key = (frame.format.name, frame.layout.name, frame.sample_rate)
        parts: list[bytes] = []
        if self._resampler is None or key != self._key:
            parts.append(self.flush())
            from av.audio.resampler import AudioResampler

            self._resampler = AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            self._key = key
        parts.extend(_frame_bytes(f) for f in self._resampler.resample(frame))
        return b"".join(parts)

    def flush(self) -> bytes:
        if self._resampler is None:
            return b""
        out = b"".join(_frame_bytes(f) for f in self._resampler.resample(None))
        self._resampler = None
        self._key = None
        return out


def _frame_bytes(frame: AudioFrame) -> bytes:
    # Packed s16 mono: one plane, shape (1, samples); force little-endian whatever the host.
    array = frame.to_ndarray()
    return array.astype("<i2", copy=False).tobytes()


class _Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


class _Tally:
    """Bytes the demuxer consumed versus bytes it turned into packets.

    FFmpeg's Matroska and Ogg demuxers do not fail on garbage: they skip it, looking for the next
    cluster or page, and if none comes they just reach the end. Garbage therefore shows up only as
    bytes consumed without yielding packets. Container overhead is small (about 7 bytes a packet in
    WebM, 2 in Ogg, plus the header), so far more unexplained bytes than that means corrupt data.
    """

    def __init__(self, fmt: str) -> None:
        self.fmt = fmt
        self.packets = 0
        self.packet_bytes = 0
        self.in_flight_extra = 0  # a container with video: one of its blocks may be in flight

    def check(self, consumed: int, *, in_flight: bool) -> None:
        """Raise if too much of ``consumed`` is not in any packet.

        ``in_flight`` allows for a cluster/page read but not yet split into packets (live streams).
        """
        if self.fmt == "wav":
            return
        allowed = (
            _OVERHEAD_BASE
            + _OVERHEAD_PER_PACKET * self.packets
            + (_IN_FLIGHT.get(self.fmt, 0) + self.in_flight_extra if in_flight else 0)
        )
        unexplained = consumed - self.packet_bytes
        if unexplained > allowed:
            raise _error(f"corrupt {self.fmt} audio: {unexplained} of {consumed} bytes are not audio packets")


def _decode_container(source: _Readable, fmt: str, tally: _Tally) -> Generator[bytes, None, None]:
    """Demux and decode the first audio stream of ``source``; yield PCM16 16 kHz mono pieces.

    Counts packets in ``tally``. Raises the raw PyAV errors; callers translate them.
    """
    import av

    # Opening probes the streams, reading into the first cluster: a camera's first keyframe is
    # read before anyone knows there is video. Its allowance holds until the streams are known.
    tally.in_flight_extra = _VIDEO_IN_FLIGHT
    container: InputContainer = av.open(source, mode="r", format=_DEMUXER[fmt])
    try:
        if not container.streams.audio:
            raise _error(f"no audio stream in the {fmt} data")
        stream = container.streams.audio[0]
        allowed = _STREAM_CODECS.get(fmt)
        if allowed is not None and stream.codec_context.name not in allowed:
            raise _error(
                f"{fmt} audio in {stream.codec_context.name} (accepted: {', '.join(sorted(allowed))})"
            )
        video = any(other.type != "audio" for other in container.streams)
        tally.in_flight_extra = _VIDEO_IN_FLIGHT if video else 0
        converter = _ToPcm16()
        # Every stream's packets are demuxed and counted (a camera's MediaRecorder puts video
        # beside the audio: left out, its bytes were counted as garbage and the stream refused as
        # corrupt); only the audio's are decoded.
        for packet in container.demux():
            tally.packets += 1
            tally.packet_bytes += packet.size
            if packet.stream is not stream:
                continue
            # The final (empty) packet of demux() flushes the decoder.
            for frame in packet.decode():
                assert isinstance(frame, av.AudioFrame)  # the audio stream's packets only
                pcm = converter.convert(frame)
                if pcm:
                    yield pcm
        tail = converter.flush()
        if tail:
            yield tail
    finally:
        container.close()


# -- whole files -----------------------------------------------------------------------------------


def decode_file(
    data: bytes,
    *,
    fmt: str | None = None,
    sample_rate: int | None = None,
    max_seconds: float = _DEFAULT_MAX_SECONDS,
) -> bytes:
    """Decode a whole file (WAV, WebM, Ogg, or raw PCM16 at ``sample_rate``) into PCM16 16 kHz mono.

    ``fmt`` None means: recognise the container with :func:`sniff`, and if that fails but a
    ``sample_rate`` is given, take the data as raw PCM16. Decoded audio longer than
    ``max_seconds`` is refused. A container that yields no audio at all (e.g. cut inside its header)
    is an error; one cut in the middle of its data yields the audio up to the cut.
    """
    if fmt is None:
        # Without a header, a sample_rate says what the data is: raw PCM16.
        fmt = sniff(data) or ("pcm16" if sample_rate is not None else None)
        if fmt is None:
            raise _error("unrecognised audio" if data else "empty audio")
    elif fmt not in ACCEPTED:
        raise _error(f"unknown audio format {fmt!r}")
    limit = int(max_seconds * SAMPLE_RATE)

    if fmt == "pcm16":
        if sample_rate is None:
            raise _error("raw PCM16 needs a sample_rate")
        if isinstance(sample_rate, bool) or not _MIN_PCM_RATE <= sample_rate <= _MAX_PCM_RATE:
            raise _error(f"sample_rate must be {_MIN_PCM_RATE}..{_MAX_PCM_RATE} Hz, got {sample_rate!r}")
        if len(data) % 2:
            raise _error(f"raw PCM16 has an odd byte count ({len(data)})")
        if len(data) // 2 > max_seconds * sample_rate:
            raise _too_long(max_seconds)
        return resample_pcm16(data, sample_rate)

    if not data:
        raise _error(f"empty {fmt} audio")
    found = sniff(data)
    if found != fmt:
        what = f"looks like {found}" if found else "has no valid header"
        raise _error(f"data declared as {fmt} {what}")

    pieces: list[bytes] = []
    samples = 0
    tally = _Tally(fmt)
    try:
        with contextlib.closing(_decode_container(io.BytesIO(data), fmt, tally)) as decoded:
            for pcm in decoded:
                samples += len(pcm) // 2
                if samples > limit:
                    raise _too_long(max_seconds)
                pieces.append(pcm)
        tally.check(len(data), in_flight=False)
    except AudioFormatError:
        raise
    except _av_errors() as exc:
        raise _error(f"corrupt or truncated {fmt} audio ({_describe(exc)})") from exc
    if not samples:
        raise _error(f"no audio could be decoded from the {fmt} data (corrupt or truncated?)")
    return b"".join(pieces)


def _too_long(max_seconds: float) -> AudioFormatError:
    return AudioFormatError(f"audio longer than the limit of {max_seconds:g} s")


def _describe(exc: BaseException) -> str:
    strerror = getattr(exc, "strerror", None)  # FFmpeg's own words, on an av.error.FFmpegError
    if strerror:
        return str(strerror)
    return str(exc) or type(exc).__name__


def resample_pcm16(pcm16: bytes, rate: int) -> bytes:
    """Resample PCM16 mono at ``rate`` Hz to :data:`SAMPLE_RATE` (unchanged if already 16 kHz)."""
    if len(pcm16) % 2:
        raise _error(f"raw PCM16 has an odd byte count ({len(pcm16)})")
    if isinstance(rate, bool) or rate <= 0:
        raise _error(f"invalid sample rate {rate!r}")
    if rate == SAMPLE_RATE:
        return bytes(pcm16)
    from av.audio.frame import AudioFrame

    samples = np.frombuffer(pcm16, dtype="<i2").astype(np.int16, copy=False)
    converter = _ToPcm16()
    parts: list[bytes] = []
    for start in range(0, len(samples), _PCM_CHUNK_SAMPLES):
        chunk = np.ascontiguousarray(samples[start : start + _PCM_CHUNK_SAMPLES]).reshape(1, -1)
        frame = AudioFrame.from_ndarray(chunk, format="s16", layout="mono")
        frame.sample_rate = rate
        parts.append(converter.convert(frame))
    parts.append(converter.flush())
    return b"".join(parts)


# -- live streams ----------------------------------------------------------------------------------


class _Shared:
    """State shared by a :class:`StreamDecoder` and its thread, guarded by one condition.

    The thread holds a reference to this object only (never to the decoder), so an abandoned
    decoder can be garbage-collected and its ``__del__`` can stop the thread.
    """

    def __init__(self, fmt: str) -> None:
        self.cond = threading.Condition()
        self.tally = _Tally(fmt)
        self.pending = bytearray()  # fed, not yet read by the demuxer
        self.consumed = 0  # bytes handed to the demuxer so far
        self.eof = False  # close() called: reads past the pending bytes return EOF
        self.aborted = False  # abandoned: reads return EOF at once
        self.waiting = False  # the thread is blocked in read() with nothing pending
        self.done = False  # the thread has finished (normally or not)
        self.output: list[bytes] = []  # PCM produced, not yet returned
        self.output_bytes = 0  # its size
        self.error: BaseException | None = None


class _BlockingReader:
    """A read-only, non-seekable file for PyAV whose ``read`` waits for fed bytes.

    FFmpeg treats a read of zero bytes as end of file, so ``read`` returns ``b""`` only after
    :meth:`StreamDecoder.close` (or when the stream is abandoned or found corrupt); otherwise it
    blocks, in the decoder thread, until bytes arrive. Short reads are fine. Having no
    ``seek``/``tell`` makes the stream non-seekable, so demuxers never try to jump to its end.

    Errors are not raised from ``read`` (PyAV would print them each time FFmpeg retries); they are
    recorded in the shared state and the worker raises them once the demuxer stops.
    """

    def __init__(self, shared: _Shared) -> None:
        self._shared = shared

    def read(self, size: int = -1) -> bytes:
        s = self._shared
        with s.cond:
            while not s.pending and not s.eof and not s.aborted and s.error is None:
                s.waiting = True
                s.cond.notify_all()
                s.cond.wait()
            s.waiting = False
            if s.aborted or s.error is not None:
                return b""
            if size < 0:
                size = len(s.pending)
            out = bytes(s.pending[:size])
            del s.pending[:size]
            s.consumed += len(out)
            try:
                s.tally.check(s.consumed, in_flight=True)
            except AudioFormatError as exc:
                s.error = exc
                return b""
            return out


def _stream_worker(shared: _Shared, fmt: str) -> None:
    error: BaseException | None = None
    try:
        with contextlib.closing(_decode_container(_BlockingReader(shared), fmt, shared.tally)) as decoded:
            for pcm in decoded:
                with shared.cond:
                    shared.output.append(pcm)
                    shared.output_bytes += len(pcm)
                    if shared.output_bytes > _MAX_PENDING_PCM:
                        raise _error(
                            f"a {fmt} chunk that decodes to more than {_MAX_PENDING_PCM >> 20} MiB of audio"
                        )
        with shared.cond:
            consumed = shared.consumed
        shared.tally.check(consumed, in_flight=False)
    except BaseException as exc:
        error = exc
    finally:
        with shared.cond:
            # An error the reader recorded caused whatever the demuxer reported; keep the cause.
            if shared.error is None:
                shared.error = error
            shared.done = True
            shared.cond.notify_all()


class StreamDecoder:
    """Incremental decoder of one WebM/Ogg byte stream fed in chunks (MediaRecorder output).

    Design: FFmpeg's demuxers pull bytes and read a zero-byte read as end of file, so they cannot
    be handed "what has arrived so far". Instead a PyAV container is opened, in a background
    daemon thread, on a file-like object whose ``read`` blocks on a :class:`threading.Condition`
    until :meth:`feed` supplies bytes (or :meth:`close` signals the end). The thread demuxes,
    decodes and resamples to PCM16 16 kHz mono, appending to an output list.

    :meth:`feed` appends the chunk, then waits — at most :attr:`feed_timeout` seconds — until the
    thread has consumed every fed byte and is blocked waiting for more (or has finished), and
    returns all PCM produced so far. Decoding a 100–250 ms Opus chunk takes well under a
    millisecond, so in practice feed returns at once and its output is deterministic; if the
    bound is hit the late PCM is simply returned by the next call. Feed never waits for *future*
    data. The concatenation of every ``feed`` result plus ``close()`` is the whole decoded stream
    (the same as :func:`decode_file` of all the bytes).

    The thread is started by the first :meth:`feed` and never outlives the decoder: :meth:`close`
    signals end of stream and joins it (bounded by :attr:`close_timeout`: past it the stream is
    abandoned, and the AudioFormatError raised carries the PCM decoded by then); leaving a ``with``
    block without ``close()``, or garbage collection, abandons the stream (its pending read
    returns end of file, undelivered PCM is dropped) and joins the thread.

    Errors: a decoding error in the stream, corrupt data (see :class:`_Tally`: FFmpeg skips
    garbage silently, so the bytes it consumed without yielding packets are counted), or bytes fed
    after the container's end are raised from ``feed``/``close`` as :class:`AudioFormatError`
    (carrying, as ``pcm``, the PCM decoded in that same call before the failure), and again on any
    later call (without PCM).
    """

    feed_timeout: float = 2.0
    close_timeout: float = 10.0

    def __init__(self, fmt: str) -> None:
        if fmt not in ("webm", "ogg"):
            raise _error(f"cannot stream-decode {fmt!r} (only webm and ogg)")
        self._fmt = fmt
        self._shared = _Shared(fmt)
        self._thread: threading.Thread | None = None
        self._closed = False
        self._samples_out = 0
        self._failure: AudioFormatError | None = None

    @property
    def samples_out(self) -> int:
        """Total number of 16 kHz samples returned so far by feed/close."""
        return self._samples_out

    def feed(self, chunk: bytes) -> bytes:
        """Add the next chunk of the stream; return the PCM16 decoded since the previous call."""
        self._check_usable()
        if not chunk:
            return self._collect()
        s = self._shared
        if self._thread is None:
            self._thread = threading.Thread(
                target=_stream_worker, args=(s, self._fmt), name=f"audio-{self._fmt}-decoder", daemon=True
            )
            self._thread.start()
        with s.cond:
            s.pending += chunk
            s.cond.notify_all()
            s.cond.wait_for(lambda: s.done or (s.waiting and not s.pending), timeout=self.feed_timeout)
        return self._collect()

    def close(self) -> bytes:
        """Signal end of stream, wait for the thread, return the remaining PCM16."""
        if self._closed:
            if self._failure is not None:
                raise self._failure
            return b""
        self._check_usable()
        self._closed = True
        thread = self._thread
        if thread is None:
            return b""
        s = self._shared
        with s.cond:
            s.eof = True
            s.cond.notify_all()
        thread.join(self.close_timeout)
        if thread.is_alive():
            self._abandon()
            self._thread = None  # given up on: an abandon() after this does not wait again
            self._failure = AudioFormatError(f"{self._fmt} stream decoder did not finish in time")
            # with the PCM it had decoded (once): dropped, a successor decoding the same stream
            # again would have had more samples than this owner counted, timeline against timeline
            with s.cond:
                out = b"".join(s.output)
                s.output.clear()
            self._samples_out += len(out) // 2
            raise AudioFormatError(str(self._failure), pcm=out)
        return self._collect()

    def _check_usable(self) -> None:
        if self._failure is not None:
            raise self._failure
        if self._closed:
            raise AudioFormatError("stream decoder already closed")

    def _collect(self) -> bytes:
        s = self._shared
        with s.cond:
            out = b"".join(s.output)
            s.output.clear()
            s.output_bytes = 0
            error = s.error
            if error is None and s.done and s.pending:
                error = _error(f"{len(s.pending)} bytes after the end of the {self._fmt} stream")
        if error is not None:
            self._closed = True
            if isinstance(error, AudioFormatError):
                self._failure = error
            elif isinstance(error, _av_errors()):
                self._failure = _error(f"corrupt {self._fmt} stream ({_describe(error)})")
            else:
                self._failure = AudioFormatError(f"{self._fmt} stream decoder failed: {error!r}")
            # Only this raise hands over the PCM decoded before the failure: a later call raises
            # the stored failure, which has none (the PCM must not be delivered twice).
            raise AudioFormatError(str(self._failure), pcm=out) from error
        self._samples_out += len(out) // 2
        return out

    def abandon(self) -> None:
        """Drop the stream (undelivered PCM with it) and join the thread, bounded by
        ``close_timeout``: a blocking call, for a worker thread. Left to garbage collection, the
        same join ran wherever the decoder was let go of, an event loop included."""
        self._closed = True
        if self._thread is not None:
            self._abandon()
        self._thread = None  # joined, or given up on: garbage collection does not wait again

    def _abandon(self) -> None:
        """Stop the thread without waiting for the end of the stream (bounded join)."""
        s = self._shared
        with s.cond:
            s.aborted = True
            s.cond.notify_all()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(self.close_timeout)

    def __enter__(self) -> StreamDecoder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.abandon()

    def __del__(self) -> None:
        # Attributes may be missing if __init__ raised.
        if getattr(self, "_thread", None) is not None:
            self._abandon()
