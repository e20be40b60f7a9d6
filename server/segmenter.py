"""Streaming utterance segmenter: cuts a live 16 kHz mono PCM16 stream into utterances (sans-I/O).

The caller feeds audio frames of any size; the segmenter asks a voice-activity function (the Silero
VAD bundled with faster-whisper, or a fake in tests) for one speech probability per 512-sample window
(32 ms) and runs the same hysteresis as faster-whisper's ``get_speech_timestamps``, incrementally:

* a window with probability ``>= threshold`` starts speech; once in speech, a window ``< neg_threshold``
  starts a silence run, which only a window ``>= threshold`` cancels; a silence run of
  ``min_silence_ms`` closes the utterance at the start of the run;
* an utterance is the speech plus ``speech_pad_ms`` on each side; the padding never reaches before the
  first sample fed, before ``skip_until`` nor into the previous utterance;
* speech shorter than ``min_speech_ms`` (a click, a cough) is dropped;
* speech going on past ``max_utterance_s`` is cut (``forced=True``) in the middle of the longest
  run of windows below ``neg_threshold`` (a pause too short to close the utterance) of the last
  :data:`CUT_LOOKBACK_S` seconds before the limit, or at the quietest window when there is no such
  run; the next utterance starts exactly there, so consecutive pieces of a long speech neither
  overlap nor lose samples;
* a stream that stalled in the middle of speech (``flush(resumable=True)``) is cut as at the length
  limit, and speech fed after it before a pause of ``min_silence_ms`` goes on with it (``continues``).

Determinism. Silero is a recurrent network, so a window's probability depends on the audio scored
before it; scoring "every whole window available now" would make calls depend on the size of the
frames the client happens to send. Windows are therefore scored in fixed cells of
:data:`BLOCK_WINDOWS` windows laid on a grid that starts at ``start_sample``, one VAD call per cell,
and the VAD's recurrent state is carried from each cell to the next (the segmenter keeps it and
hands it back; it restarts with the grid). The same audio fed in any frame sizes gives the very
same calls, hence the same utterances, and each window is scored exactly once (with Silero, about
1.2 ms of one core per second of audio); the price is at most one cell (128 ms) of latency.

Nothing here does I/O or keeps a clock: positions are absolute sample indices in the session's audio.
"""

from __future__ import annotations

import math
import sys
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 16_000
WINDOW = 512
"""Samples per VAD window (32 ms at 16 kHz)."""
BLOCK_WINDOWS = 4
"""Windows scored per VAD call: one grid cell (128 ms)."""
CUT_LOOKBACK_S = 4.0
"""How far before the length limit a forced cut looks for a pause. Measured on 13 min of continuous
council speech (bench/cut_study.py, max_utterance_s 15): 11 of 42 cuts had no pause within 2 s of
the limit, 3 of 44 within 4 s; the pieces are 13.0 s long on average instead of 14.1 s."""

CELL = BLOCK_WINDOWS * WINDOW
"""Samples per grid cell."""
_SCALE = np.float32(1.0 / 32768.0)
_INFINITIES = (math.inf, -math.inf)

VadFunction: TypeAlias = Callable[[npt.NDArray[np.float32], Any], tuple[npt.NDArray[Any], Any]]
"""``vad(audio, state) -> (probabilities, state)``: float32 mono audio whose length is a multiple of
:data:`WINDOW` gives one speech probability per window. ``state`` is None at the start of a stream,
else what the previous call of the same stream returned (opaque to the segmenter)."""


def windows_of(pcm16: bytes) -> npt.NDArray[np.float32]:
    """PCM16 samples as the VAD's float32 input, zero-padded to whole windows."""
    audio = np.frombuffer(pcm16, dtype="<i2").astype(np.float32)
    audio *= _SCALE
    missing = -audio.size % WINDOW
    if missing:  # only the last window of a flushed stream
        audio = np.concatenate([audio, np.zeros(missing, dtype=np.float32)])
    return audio


def _ms(ms: int) -> int:
    return ms * SAMPLE_RATE // 1000


@dataclass(frozen=True, slots=True)
class SegmenterConfig:
    threshold: float = 0.5
    neg_threshold: float = 0.35
    """Below this (after speech), a window counts as silence."""
    min_speech_ms: int = 250
    """Shorter bursts are dropped (clicks, coughs)."""
    min_silence_ms: int = 600
    """Silence that closes an utterance."""
    speech_pad_ms: int = 200
    """Audio kept before the start and after the end."""
    max_utterance_s: float = 15.0
    """A long speech is cut so it still produces blocks (``math.inf``: never cut)."""

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold}")
        if not 0.0 <= self.neg_threshold <= self.threshold:
            raise ValueError(f"neg_threshold must be in [0, threshold], got {self.neg_threshold}")
        for name in ("min_speech_ms", "min_silence_ms", "speech_pad_ms"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if math.isnan(self.max_utterance_s) or self.max_utterance_s < 1.0:
            raise ValueError(f"max_utterance_s must be >= 1 s, got {self.max_utterance_s}")


@dataclass(frozen=True, slots=True)
class Utterance:
    start: int
    """Absolute sample index (from the start of the session's audio) of the first sample."""
    end: int
    """Absolute sample index one past the last sample."""
    pcm: bytes
    """The PCM16 little-endian samples ``[start, end)``."""
    forced: bool
    """True when cut in the middle of speech that went on: at ``max_utterance_s``, at a pause when
    the audio stopped (``cut_at_pause``), or where a stalled stream was flushed."""
    continues: bool = False
    """True when it goes on with the speech of the utterance before it (cut at
    ``max_utterance_s``, at a pause when the audio stopped, or where a stalled stream was
    flushed)."""
    carry: int = -1
    """Speech whose first window starts at or before this sample goes on with this utterance
    (-1: none): what a successor resuming after it needs to know (``carry_until``)."""


class Segmenter:
    """Incremental voice-activity segmentation of one audio stream; see the module docstring.

    ``start_sample``: absolute index of the first sample that will be fed (resume after a checkpoint).
    ``skip_until``: absolute index before which no utterance may start (that audio is already covered
    by utterances recorded earlier); speech that began before it is clipped to start there, and must
    still last ``min_speech_ms`` after it to be kept. ``carry_until``: the ``carry`` of the
    utterance recorded last, which ends at ``skip_until``: speech starting at or before it
    continues that utterance (a successor resuming a session's audio where its owner died knows
    the next piece of a long speech, or of one whose audio stalled, for what it is).

    After :meth:`flush` the segmenter may be fed again: it continues as a new stream starting at
    :attr:`position`.
    """

    def __init__(
        self,
        vad: VadFunction | None,
        config: SegmenterConfig = SegmenterConfig(),
        *,
        start_sample: int = 0,
        skip_until: int = 0,
        carry_until: int = -1,
    ) -> None:
        if start_sample < 0:
            raise ValueError(f"start_sample must be >= 0, got {start_sample}")
        self._vad = vad
        self._config = config
        self._pad = _ms(config.speech_pad_ms)
        self._min_speech = _ms(config.min_speech_ms)
        self._min_silence = _ms(config.min_silence_ms)
        self._max_len: int | None = (
            None if math.isinf(config.max_utterance_s) else round(config.max_utterance_s * SAMPLE_RATE)
        )
        self._lookback = min(round(CUT_LOOKBACK_S * SAMPLE_RATE), (self._max_len or 0) // 2)
        # Audio kept behind the scored position while no speech is in progress: the padding of a
        # speech starting in the next window.
        self._keep = self._pad
        self._skip_until = skip_until
        # Speech whose first window starts at or before this continues the utterance recorded
        # last (that one ended with its speech going on): a successor's resume after a forced
        # cut, or audio resumed after a stall's flush (-1: none).
        self._carry_from = carry_until

        self._position = start_sample  # one past the last sample fed
        self._scored = start_sample  # one past the last window scored (a cell boundary until flush)
        self._vad_state: Any = None  # the VAD's recurrent state after the last cell (None: new grid)
        self._floor = max(start_sample, skip_until)  # no utterance may start before this
        self._buf = bytearray()  # PCM16 samples [_buf_start, _position)
        self._buf_start = start_sample

        self._in_speech = False
        self._seg_start = 0  # first sample of the utterance being built (padding included)
        self._speech_start = 0  # first speech sample of it
        self._silence_start: int | None = None  # start of the silence run in progress, if any
        self._continuation = False  # the utterance being built goes on with the last one cut
        windows = (round(CUT_LOOKBACK_S * SAMPLE_RATE) + self._min_silence) // WINDOW + BLOCK_WINDOWS + 2
        self._recent: deque[tuple[int, float]] = deque(maxlen=windows)  # (window start, probability)

    # -- public API ------------------------------------------------------------------------------

    @property
    def position(self) -> int:
        """Absolute index one past the last sample fed."""
        return self._position

    @property
    def idle(self) -> bool:
        """No speech in progress and every sample fed scored: a checkpoint at `position` loses nothing.

        Samples are scored by whole cells of the grid, so this needs `position` on a cell boundary
        (every 2048 samples from ``start_sample``; with 100 ms frames, every 3.2 s of silence).
        """
        return not self._in_speech and self._scored == self._position

    @property
    def in_speech(self) -> bool:
        """An utterance is being built: speech was scored and its end not yet found."""
        return self._in_speech

    @property
    def carry_until(self) -> int:
        """Speech starting at or before this sample would go on with the last utterance cut, -1
        when none would (see :meth:`flush`)."""
        return self._carry_from

    @property
    def buffered_samples(self) -> int:
        """Samples held in memory."""
        return len(self._buf) // 2

    def feed(self, pcm16: bytes) -> list[Utterance]:
        """Add PCM16 little-endian mono samples; return the utterances decided by them."""
        self.append(pcm16)
        out: list[Utterance] = []
        while self._position - self._scored >= CELL:
            self._score(self._scored + CELL, out)
        return out

    def flush(self, *, resumable: bool = False) -> list[Utterance]:
        """End of stream: score the tail and close the utterance in progress (if long enough).

        ``resumable``: the audio stalled rather than ended, and may go on where it stopped (a
        network cut resent later). Speech still going on at the end is then cut as at the length
        limit (``forced``); speech fed next that would have gone on with it had the audio not
        stalled (before a pause of ``min_silence_ms``, counted from the stall or from the
        pause open there) continues it: the acta joins the two, and that piece is kept however
        short."""
        out: list[Utterance] = []
        if self._position > self._scored:
            self._score(self._position, out)
        self._end_stream(out, resumable)
        return out

    def cut_at_pause(self) -> list[Utterance]:
        """The audio stopped coming in the middle of speech, perhaps not for good (a network cut
        whose audio the console resends later): return the speech in progress up to its last
        pause among what was scored (as a cut at the length limit goes, :meth:`_cut_point`), and
        keep the rest as the start of a piece that continues it, to go on with what is fed next.
        A cut at the end of what arrived would split the word being said when the audio stopped,
        and each piece would lose it. Nothing is returned when the last ``CUT_LOOKBACK_S`` hold
        no pause (no window under ``neg_threshold``: a cut there could split a word too) or no
        pause leaves at least ``min_speech_ms`` of speech before it; :meth:`flush` ends the rest
        if nothing comes."""
        if not self._in_speech:
            return []
        end = self._scored
        earliest = max(end - self._lookback, self._speech_start)
        neg = self._config.neg_threshold
        if not any(earliest <= ws and p < neg for ws, p in self._recent):
            return []
        cut = self._cut_point(earliest, end)
        if cut - max(self._speech_start, self._skip_until) < self._min_speech:
            return []
        out: list[Utterance] = []
        self._emit(self._seg_start, cut, forced=True, out=out)
        self._seg_start = self._speech_start = cut
        self._continuation = True
        if self._silence_start is not None and self._silence_start < cut:
            self._silence_start = cut  # the open pause goes on after the cut
        self._trim()
        return out

    # -- scoring elsewhere -----------------------------------------------------------------------
    # The same steps as feed/flush with the VAD call left to the caller (the server scores in a
    # process of its own, awaited): append, score what ``unscored`` returns one cell at a time
    # (the tail last, zero-padded to whole windows), then ``apply`` the probabilities.

    def append(self, pcm16: bytes) -> None:
        """Add PCM16 little-endian mono samples without scoring them."""
        if len(pcm16) % 2:
            raise ValueError(f"PCM16 frames hold whole samples; got {len(pcm16)} bytes")
        self._buf += pcm16
        self._position += len(pcm16) // 2

    @property
    def unscored_samples(self) -> int:
        """Samples fed and not scored yet."""
        return self._position - self._scored

    @property
    def vad_state(self) -> Any:
        """The VAD's recurrent state after the last cell scored (None: a new grid)."""
        return self._vad_state

    def unscored(self, *, final: bool = False) -> bytes:
        """PCM16 of the whole cells fed and not scored yet (``final``: and the tail after them)."""
        return self._samples(self._scored, self._unscored_end(final))

    def _unscored_end(self, final: bool) -> int:
        return self._position if final else self._scored + (self._position - self._scored) // CELL * CELL

    def apply(
        self, probs: npt.NDArray[Any], state: Any, *, final: bool = False, resumable: bool = False
    ) -> list[Utterance]:
        """The VAD's probabilities for what ``unscored(final=final)`` returned, and its state
        after them: run the state machine (``final``: then end the stream, as
        ``flush(resumable=resumable)`` does)."""
        end = self._unscored_end(final)
        out: list[Utterance] = []
        if end > self._scored:
            self._run(self._scored, end, probs, out)
            self._vad_state = state
        if final:
            self._end_stream(out, resumable)
        return out

    def _end_stream(self, out: list[Utterance], resumable: bool = False) -> None:
        if self._in_speech:
            pause = self._silence_start  # None: cut in the middle of speech
            end = pause if pause is not None else self._position
            # what would have kept it going had the audio not stalled: speech before the pause
            # (open, or starting at the stall) reaches min_silence
            carry = end + self._min_silence - 1 if resumable else -1
            self._close(end, self._position, out, forced=resumable and pause is None, carry=carry)
        if not resumable:
            self._carry_from = -1  # the stream ended: what comes next is speech of its own
        # A later feed starts a new grid (the tail's last window was zero-padded).
        self._scored = self._position
        self._vad_state = None
        self._trim()

    # -- scoring ---------------------------------------------------------------------------------

    def _samples(self, start: int, end: int) -> bytes:
        return bytes(self._buf[(start - self._buf_start) * 2 : (end - self._buf_start) * 2])

    def _score(self, end: int, out: list[Utterance]) -> None:
        """Score the windows of [_scored, end) in one VAD call and run the state machine over them."""
        start = self._scored
        audio = windows_of(self._samples(start, end))
        if self._vad is None:
            raise RuntimeError("this segmenter has no VAD of its own: use unscored/apply")
        scored, self._vad_state = self._vad(audio, self._vad_state)
        self._run(start, end, scored, out)

    def _run(self, start: int, end: int, scored: npt.NDArray[Any], out: list[Utterance]) -> None:
        """The state machine over the scored windows of [start, end)."""
        n_new = -(-(end - start) // WINDOW)
        probs = np.asarray(scored, dtype=np.float64).reshape(-1)
        if probs.size != n_new:
            raise ValueError(f"VAD returned {probs.size} probabilities for {n_new} windows")
        for i, p in enumerate(probs.tolist()):
            # As np.nan_to_num (a Python function of ~6 calls, once per 128 ms cell) would.
            if p != p:  # NaN
                p = 0.0
            elif p in _INFINITIES:
                p = math.copysign(sys.float_info.max, p)
            ws = start + i * WINDOW
            self._step(ws, min(ws + WINDOW, end), p, out)
        self._scored = end
        self._trim()

    def _trim(self) -> None:
        keep_from = self._scored - self._keep
        if self._in_speech:
            keep_from = min(keep_from, self._seg_start)
        elif self._scored <= self._carry_from:  # a piece continuing the last one starts there
            keep_from = min(keep_from, self._floor)
        drop = keep_from - self._buf_start
        if drop > 0:
            del self._buf[: drop * 2]  # deleting a bytearray's head is O(1) in CPython
            self._buf_start += drop

    # -- state machine ---------------------------------------------------------------------------

    def _step(self, ws: int, we: int, p: float, out: list[Utterance]) -> None:
        """One scored window [ws, we) with speech probability p."""
        self._recent.append((ws, p))
        cfg = self._config
        if not self._in_speech:
            if p >= cfg.threshold:
                self._in_speech = True
                self._speech_start = ws
                # speech under way where the last recorded piece was cut goes on with it
                self._continuation = ws <= self._carry_from
                self._seg_start = self._floor if self._continuation else max(ws - self._pad, self._floor)
                self._silence_start = None
            return
        if p >= cfg.threshold:
            self._silence_start = None
        elif p < cfg.neg_threshold and self._silence_start is None:
            self._silence_start = ws
        if self._silence_start is not None:
            # While a silence run is open the length limit waits: either the run closes the
            # utterance (its end then lies at most one padding past the limit) or speech resumes
            # and the cut happens at the next window, back in the lookback before the limit.
            if we - self._silence_start >= self._min_silence:
                self._close(self._silence_start, we, out)
            return
        if self._max_len is not None and we - self._seg_start >= self._max_len:
            self._force_cut(out)

    def _close(
        self, speech_end: int, scored_end: int, out: list[Utterance], *, forced: bool = False, carry: int = -1
    ) -> None:
        """End the utterance in progress: its speech ends at speech_end, audio is scored up to scored_end.

        The end padding stops at scored_end (not at `position`, which depends on the frame sizes).
        ``forced``: the speech went on past the end (a stalled stream's flush); ``carry``: speech
        starting up to there goes on with it (see :meth:`flush`).
        """
        start = self._seg_start
        end = min(speech_end + self._pad, scored_end)
        speech = speech_end - max(self._speech_start, self._skip_until)
        keep = speech > 0 and (self._continuation or speech >= self._min_speech)
        if keep and end > start:
            self._emit(start, end, forced=forced, out=out, carry=carry)
            # (one not kept leaves the carry: a successor re-reading speech before skip_until
            # still knows what goes on with the piece recorded there)
            self._carry_from = carry
        self._in_speech = False
        self._continuation = False
        self._silence_start = None

    def _force_cut(self, out: list[Utterance]) -> None:
        """Cut a speech that reached the length limit, in a pause before the limit (see _cut_point)."""
        assert self._max_len is not None
        limit = self._seg_start + self._max_len
        earliest = max(limit - self._lookback, self._speech_start)
        cut = self._cut_point(earliest, limit)
        self._emit(self._seg_start, cut, forced=True, out=out)
        self._seg_start = self._speech_start = cut
        self._continuation = True

    def _cut_point(self, earliest: int, limit: int) -> int:
        """Where a forced cut goes: the middle of the longest pause among the windows scored in
        [earliest, limit] (those whose middle lies in the utterance and at or before the limit).

        A single quiet window is often a stop consonant's closure or the seam between two words
        of a name ("Mauricio Alberto | Tenorio"); a real pause, between clauses or sentences
        (150-500 ms, too short to close the utterance), is a run of several windows below
        ``neg_threshold``. So the cut goes to the middle of the longest such run (ties: the latest,
        the longer piece); with no window below ``neg_threshold``, to the middle of the quietest
        window (ties: the latest). The middle of a run is never past the middle of its last
        window, so the cut stays at or before the limit.
        """
        neg = self._config.neg_threshold
        cut = limit
        quietest = math.inf
        longest = 0  # the longest run below neg so far, in windows
        run = run_start = 0  # the run in progress: its length and its first window's start
        for ws, p in self._recent:  # consecutive windows; the eligible ones form one stretch
            if ws < earliest or not self._seg_start < ws + WINDOW // 2 <= limit:
                continue
            if p < neg:
                if run == 0:
                    run_start = ws
                run += 1
                if run >= longest:
                    longest = run
                    cut = (run_start + ws + WINDOW) // 2
            else:
                run = 0
                if longest == 0 and p <= quietest:
                    cut, quietest = ws + WINDOW // 2, p
        return cut

    def _emit(self, start: int, end: int, *, forced: bool, out: list[Utterance], carry: int = -1) -> None:
        pcm = self._samples(start, end)
        if forced and carry < 0:  # cut in the middle of speech: speech under way at the cut goes on
            carry = end - 1
        out.append(
            Utterance(start=start, end=end, pcm=pcm, forced=forced, continues=self._continuation, carry=carry)
        )
        self._floor = max(self._floor, end)
