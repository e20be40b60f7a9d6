"""Live audio: from durable audio entries to ordered, transcribed blocks, with one owner per session.

Audio frames are acknowledged once they are entries of the session's audio stream in Redis
(:meth:`SessionBuffer.append_audio`). Turning them into blocks is the job of exactly one
instance at a time, the holder of the session's *lease* (``astra:{sid}:owner``, renewed while
it works). The owner:

1. reads new entries (decoding WebM/Ogg streams to PCM16 16 kHz),
2. cuts utterances with the voice-activity segmenter,
3. for each utterance stores its audio in the object store (evidence), reserves its position in
   the block order and records it as pending, all before transcribing it,
4. transcribes through CORE (bounded concurrency) and stores the block at its reserved
   position, retiring the pending record in the same step; at most ``max_in_flight`` seconds
   of utterance audio wait for CORE at once: beyond that the owner stops reading the session's
   audio until CORE answers (the audio waits, durable, in Redis; acks go on, since they only
   mean "stored"), so a slow CORE cannot make the owner's memory grow,
5. checkpoints where a successor would resume (an entry boundary where no speech was in
   progress, or the start of the current WebM stream) and trims the audio before it.

If the owner dies its lease expires; the next instance that sees audio for the session (or a
finalize) takes the lease (one that saw audio while the lease was held takes it when the lease
ends if audio is still unprocessed then, even if no more comes), resumes from the checkpoint
with ``skip_until`` = the end of the last recorded utterance (so nothing is cut twice) and
re-transcribes the pending utterances from their stored audio (their block commits are
deduplicated by utterance id). Nothing acked is lost and nothing is doubled.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import logging
import time
import uuid
import wave
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from tenacity import AsyncRetrying, stop_after_attempt, wait_exponential

from .audio import AudioFormatError, StreamDecoder
from .buffer import DISCARDED, OPEN, STORE_ERRORS, Entry, LeaseLost, SessionBuffer
from .cancel import cancel_and_wait
from .metrics import Metrics
from .pressure import DEFER, TURN_BYTES, IngestPressure
from .segmenter import CELL, SAMPLE_RATE, Segmenter, SegmenterConfig, Utterance
from .vad_process import VadProcess

log = logging.getLogger("astra.audio")

TELL_READ_BYTES = 1 << 20
"""Audio bytes (33 s of PCM) an owner reads, at most, before it tells Redis how far it has read
when no checkpoint tells it (speech in progress, a compressed stream): the session's audio
backlog (``SessionBuffer.audio_backlog``) is counted by it. See ``AudioSettings.tell_read_bytes``."""
READ_BATCH = 200
"""Audio entries read per round trip at most (20 s of live 100 ms frames)."""
READ_BYTES = 4 << 20
"""Audio bytes read per round trip, about. Entries are not all 3.2 KB frames: a burst of one
client's frames is stored as entries of up to 256 KiB, and a frame may be up to
``max_frame_bytes``; READ_BATCH of those would put 50–200 MB in memory per owner catching up."""
FIRST_READ = 8
"""Entries an owner reads first, before it knows how large this stream's entries are."""
MAX_RUN_SAMPLES = 30 * SAMPLE_RATE
"""Most audio of consecutive PCM entries scored in one VAD request (a backlog's runs)."""
HANDOFF_BYTES = 4 << 20
"""Audio handed over in memory to a session's owner and not processed yet, at most; past it the
owner reads the stream instead (it always can)."""

TRANSCRIBE_TRIES = 8
"""Tries of an utterance's transcription that fails other than by CORE (see ``_transcribe``)."""
TRANSCRIBE_RETRY_DELAY = 0.5
TRANSCRIBE_RETRY_MAX_DELAY = 15.0


def next_read_count(entries: list[Entry], budget: int = READ_BYTES) -> int:
    """How many entries to ask for next so that they hold about ``budget`` bytes, judged by the
    size of the entries just read (a stream's entries are alike: live frames, or a resent burst's
    runs)."""
    size = 0
    for _, fields in entries:
        size += len(fields.get(b"d", b""))
    if size == 0:
        return READ_BATCH
    return max(1, min(READ_BATCH, budget * len(entries) // size))


class Transcribe(Protocol):
    """``Orchestrator.transcribe_utterance``: CORE on one recorded utterance, its block stored;
    returns the block's template. ``after``: the transcription of the utterance cut before it;
    ``continues``: this one goes on with the speech of that one (cut in the middle of it)."""

    def __call__(
        self,
        session_id: str,
        record: dict[str, Any],
        pcm: bytes | None,
        *,
        after: asyncio.Future[str | None] | None = None,
        continues: bool = False,
    ) -> Coroutine[Any, Any, str | None]: ...


def wav_bytes(pcm16: bytes) -> bytes:
    """PCM16 16 kHz mono as a WAV file (how utterance audio is stored as evidence)."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm16)
    return out.getvalue()


def _entry_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def take_contiguous(
    handed: list[tuple[str, list[Entry]]], cursor: str, limit_bytes: int | None = None
) -> list[Entry] | None:
    """From runs of entries handed over in memory, each with the id of the entry that preceded it
    in the stream, take (off ``handed``) the entries that follow ``cursor`` with no gap, up to
    the first one that brings their audio to ``limit_bytes`` (the rest of its run stays, after
    it); None if the stream may hold entries between ``cursor`` and them (then it must be read)."""
    last = _entry_key(cursor)
    while handed and _entry_key(handed[0][1][-1][0]) <= last:  # already read from the stream
        handed.pop(0)
    taken: list[Entry] = []
    after = cursor
    while handed:
        before, run = handed[0]
        if before != after:
            ids = [entry_id for entry_id, _ in run]
            if after not in ids:  # a gap: something was appended in between that we did not see
                break
            run = run[ids.index(after) + 1 :]  # the start of this run was read from the stream
        if limit_bytes is not None:
            for at, (_, fields) in enumerate(run):
                limit_bytes -= len(fields.get(b"d", b""))
                if limit_bytes <= 0:
                    taken += run[: at + 1]
                    if at + 1 < len(run):
                        handed[0] = (run[at][0], run[at + 1 :])
                    else:
                        handed.pop(0)
                    return taken
        handed.pop(0)
        taken += run
        after = taken[-1][0] if taken else after
    return taken or None


WATCH_INTERVAL = 1.0
"""Seconds between looks at another instance's lease on audio this instance saw (at most)."""


def utterance_id(start_sample: int) -> str:
    return f"utt_{start_sample:012d}"


@dataclass(frozen=True, slots=True)
class AudioSettings:
    lease_ttl: float = 10.0
    """Seconds an owner's lease lives without renewal; a dead owner is replaced after this."""
    poll_interval: float = 0.25
    """How often an owner looks for audio appended through another instance."""
    idle_release: float = 30.0
    """An owner with nothing to do for this long releases the session."""
    quiet_flush: float = 10.0
    """Seconds without new PCM audio after which an utterance in progress is cut at its last pause
    and the words before it transcribed: the recording stopped without ``audio_end`` (the console
    reloaded or crashed, or its network is gone for longer than this). A console streams frames
    continuously while it records, silence included, and resends what a network cut held back,
    so this does not cut live speech. The words after the pause wait for the audio to go on (a
    network cut's resend then continues them, whole) until ``quiet_rest_flush``."""
    quiet_rest_flush: float = 20.0
    """Seconds without new PCM audio after which the rest of the utterance (after its last pause)
    is cut and transcribed too: the recording has stopped, not only paused for a network cut
    (under ``idle_release``, so the owner does this before it lets the session go)."""
    max_in_flight: float = 60.0
    """Seconds of one session's utterance audio sent to CORE and not answered yet, at most; an
    utterance longer than this still goes, alone."""
    segmenter: SegmenterConfig = field(
        default_factory=lambda: SegmenterConfig(speech_pad_ms=300, min_speech_ms=100)
    )
    """300 ms of padding, so quiet word endings ("decisorio") are not clipped; bursts of speech of
    100 ms and more are kept (faster-whisper drops those under 250 ms as clicks, and so dropped
    a councillor's "sí" said alone in a roll-call vote: a cough kept is heard by the recognizer,
    which finds no words in it, and the stenographers see it listed, its audio kept)."""
    tell_read_bytes: int = TELL_READ_BYTES
    """Audio bytes an owner reads before it tells Redis how far it has read when no checkpoint
    tells it. Under a quarter of ``max_audio_backlog``: what it has read and not told counts as
    unread, and a recorder held for the backlog must be let go once the owner has read it all."""


class SessionAudio:
    """The owner's work for one session; runs until drained (session closing) or idle."""

    def __init__(
        self, service: AudioService, session_id: str, owner: str, *, leased_at: float | None = None
    ) -> None:
        self.service = service
        self.session_id = session_id
        self.owner = owner
        self._leased_at = time.monotonic() if leased_at is None else leased_at
        """When the lease was asked for (monotonic): it lasts ``lease_ttl`` from no earlier."""
        self.wake = asyncio.Event()
        self._transcriptions: set[asyncio.Task[str | None]] = set()
        self._last_sent: asyncio.Task[str | None] | None = None
        """The transcription of the utterance sent last: the next one is classified after it."""
        self._last_forced = False
        """Whether that utterance was cut in the middle of speech (for a record of an older version
        that does not say whether it ``continues``)."""
        self._task: asyncio.Task[Any] | None = None
        self._handed: list[tuple[str, list[Entry]]] = []
        self._read_count = FIRST_READ
        """Entries the next stream read asks for (next_read_count of the last read)."""
        self._turn_count = 1
        """The same for a turn under ingest pressure (TURN_BYTES of audio)."""
        self._handed_bytes = 0
        """Audio bytes in ``_handed``: added up as runs are handed (once per run, not recounted on
        each hand: the owner may be thousands of frames behind), recounted after each take over
        what is left (usually nothing)."""
        self._in_flight = 0
        """Samples of utterance audio handed to CORE and not answered yet."""
        self._answered = asyncio.Event()
        self._working_on: str | None = None
        """The entry being segmented (None while waiting for audio): its id is the time Redis
        stored it, so its age is how far behind the live audio this owner is."""
        self._look = True
        """Read the stream at the next turn: it may hold audio not handed over (appended through
        another instance or over HTTP, handed over beyond HANDOFF_BYTES, or the owner is new), or
        the session may be closing (finalize), or a poll is due. A wake by a handover alone is
        served from memory: a live frame that arrives while the owner is busy costs no read."""
        self.waiting_since: float | None = None
        """Since when (monotonic) the owner has waited for audio; None while it works."""
        self._finalizing = False
        """A finalize waits for this session's audio (``hurry``): not deferred for ingest pressure."""
        self._ending = False
        """The owner's work is over (its cleanup runs): the lease renewer stops."""
        self.lease_lost = False
        """It stopped because its lease was (or must have been) lost, its work maybe not done."""
        self._turn: asyncio.Future[None] | None = None
        """While deferring to the acks: resolved at the service's next turn (or by ``hurry``)."""

    def hurry(self) -> None:
        """A finalize waits for this session's audio: cut it without deferring to other sessions'
        acks (server.pressure), starting now if the owner is deferring."""
        self._finalizing = True
        if self._turn is not None and not self._turn.done():
            self._turn.set_result(None)

    async def _defer(self) -> None:
        """Acks are waiting and this audio is durable: wait for the next turn the service gives
        (``AudioService._poll``), or until ``hurry``."""
        self._turn = asyncio.get_running_loop().create_future()
        self.service.deferred.add(self._turn)
        try:
            await self._turn
        finally:
            self.service.deferred.discard(self._turn)
            self._turn = None

    @property
    def ending(self) -> bool:
        """It has stopped reading (its ``run`` is in its last steps): audio that arrives now
        needs another owner (AudioService.notify)."""
        return self._ending

    def look(self) -> None:
        """Wake the owner to read the stream, not only what was handed over (``_look``)."""
        self._look = True
        self.wake.set()

    def describe(self) -> str:
        """What this owner is doing, for a log: its flags and the stack its task waits in."""
        stack = io.StringIO()
        if self._task is not None:
            self._task.print_stack(file=stack)
        return (
            f"owner {self.owner} here: waiting for audio since {self.waiting_since}, "
            f"look {self._look}, finalizing {self._finalizing}, handed runs {len(self._handed)}, "
            f"transcriptions {len(self._transcriptions)}, in flight {self._in_flight} samples, "
            f"task done {self._task is not None and self._task.done()}\n{stack.getvalue().rstrip()}"
        )

    def segmenting(self) -> str | None:
        """The id of the entry being segmented now (None while waiting for audio)."""
        return self._working_on

    def lag(self, now: float) -> float:
        """Seconds since the audio this owner is segmenting now was stored (0 when caught up)."""
        if self._working_on is None:
            return 0.0
        return max(0.0, now - _entry_key(self._working_on)[0] / 1000)

    def hand(self, before: str, entries: list[Entry]) -> None:
        """Entries just appended here (``before``: the entry that preceded them): the owner can
        take them from memory instead of reading the stream back (bounded by HANDOFF_BYTES)."""
        for _, fields in entries:  # a loop, not sum() over a generator: once per live frame
            self._handed_bytes += len(fields.get(b"d", b""))
        if self._handed_bytes > HANDOFF_BYTES:
            self._handed.clear()  # far behind: reading the stream is as good
            self._handed_bytes = 0
            self._look = True
            # A burst (a resend after a network cut) comes as entries of up to 256 KiB: read
            # it carefully first, not by the count that suited the live frames read before.
            self._read_count = FIRST_READ
            self._turn_count = 1
        else:
            self._handed.append((before, entries))
        self.wake.set()

    def _take_handed(self, cursor: str, limit_bytes: int | None) -> list[Entry] | None:
        """The handed entries that continue the stream right after ``cursor`` (take_contiguous)."""
        if not self._handed:
            return None
        entries = take_contiguous(self._handed, cursor, limit_bytes)
        self._handed_bytes = (
            sum(len(f.get(b"d", b"")) for _, run in self._handed for _, f in run) if self._handed else 0
        )
        return entries

    async def run(self) -> None:
        self._task = asyncio.current_task()
        svc = self.service
        sid = self.session_id
        buffer = svc.buffer
        renewer = asyncio.create_task(self._renew_lease())
        decoder: StreamDecoder | None = None
        stream_format: str | None = None  # of the last container entry read
        try:
            state = await buffer.audio_state(sid)
            cursor = state.get("cursor", "0-0")
            sample = int(state.get("cursor_sample", "0"))
            read = int(state.get("cursor_bytes", "0"))  # audio bytes gone through (audio_backlog)
            told = read  # ... as the last checkpoint told Redis
            covered = int(state.get("covered", "0"))
            # (recorded by a version that kept only whether it was cut at the length limit)
            forced_carry = covered - 1 if state.get("covered_forced") == "1" else -1
            segmenter = Segmenter(
                None,
                svc.settings.segmenter,
                start_sample=sample,
                skip_until=covered,
                carry_until=int(state.get("covered_carry", forced_carry)),
            )
            decoder = None
            # Where a successor must resume: the last entry boundary with nothing in progress.
            resume_at: tuple[str, int, int] = (cursor, sample, read)
            stream_resume = resume_at
            broken = False  # the current container stream could not be decoded
            for record in await buffer.pending_utterances(sid):  # left over by a previous owner
                await self._send(record, None)
            idle_since = time.monotonic()
            cut_for_quiet = False  # the speech in progress was cut at its last pause (quiet_flush)
            while True:
                limit = None  # the audio bytes this turn takes at most (ingest pressure)
                if svc.pressure.high and not self._finalizing:
                    await self._defer()
                    limit = None if self._finalizing else TURN_BYTES
                entries = self._take_handed(cursor, limit)
                asked = None
                status = OPEN  # until a look reads it: a take from memory is never empty
                if entries is None:
                    if not self._look and not self._handed:  # woken for a handover already taken
                        await self._await_audio()
                        continue
                    self._look = False
                    asked = self._read_count if limit is None else self._turn_count
                    entries, status = await buffer.audio_look(sid, cursor, asked)
                    if entries:
                        self._read_count = next_read_count(entries)
                        self._turn_count = next_read_count(entries, TURN_BYTES)
                    if len(entries) >= asked:  # a backlog: more follows in the stream
                        self._look = True
                if not entries:
                    if status == DISCARDED:  # no acta will be built: nothing more to cut or hear
                        return
                    if status != OPEN:  # finalize: cut what is left, finish every transcription
                        tail = await self._close_stream(decoder, segmenter, cursor, flush=True)
                        decoder = None
                        await self._record(tail)
                        await self._finish_transcriptions()
                        if cursor != resume_at[0] or segmenter.position > resume_at[1]:
                            # to the end of the stream, even past entries that carried no samples
                            # (an end of utterance): finalize's drain checks that nothing is left
                            await buffer.checkpoint_audio(
                                sid, cursor, segmenter.position, read, read, self.owner
                            )
                        return
                    quiet = time.monotonic() - idle_since
                    # (a container stream's audio decoded so far is in the segmenter too: a
                    # WebM/Ogg recording that stopped mid-speech is flushed as a PCM one is)
                    stalled = segmenter.in_speech
                    if stalled and not cut_for_quiet and quiet > svc.settings.quiet_flush:
                        # Speech in progress and no audio for a while: the words said up to the
                        # last pause become a block now, not when (if) the recording resumes; the
                        # rest waits a little longer for the audio that goes on with it (a network
                        # cut's resend), so the word the audio stopped in stays whole.
                        cut_for_quiet = True
                        await self._record(await self._score(segmenter) + segmenter.cut_at_pause())
                        continue
                    if stalled and quiet > svc.settings.quiet_rest_flush:
                        # Nothing came: the recording stopped. The rest becomes a block too.
                        # (cut as going on: a resend that comes later continues it)
                        await self._record(await self._score(segmenter, final=True, resumable=True))
                        if decoder is None:  # (inside a container stream a successor must
                            # decode from the stream's start: its checkpoint stays there, and
                            # the covered mark keeps what was cut from being cut again)
                            read = await self._checkpoint((cursor, segmenter.position, read), read)
                            resume_at = (cursor, segmenter.position, read)
                            state["cursor"], told = cursor, read
                        continue
                    # nothing handed over or announced while the look was out (a frame stored
                    # here then): this owner would end with it, and no one would read it
                    idle = not self._transcriptions and not self._handed and not self._look
                    if idle and quiet > svc.settings.idle_release:
                        return
                    await self._await_audio()
                    continue
                idle_since = time.monotonic()
                cut_for_quiet = False
                for i, (entry_id, fields) in enumerate(entries):
                    self._working_on = entry_id
                    fmt = fields[b"f"].decode()
                    data = fields.get(b"d", b"")
                    read += len(data)
                    if fmt == "pcm16":
                        if decoder is not None:  # a PCM frame ends any container stream
                            tail = await self._close_stream(decoder, segmenter, cursor, flush=False)
                            decoder = None
                            await self._record(tail)
                        broken = False
                        segmenter.append(data)
                        # A backlog (a successor resuming, a finalize catching up) is scored in
                        # runs of PCM entries, one VAD request each, not one request per frame.
                        run_goes_on = i + 1 < len(entries) and entries[i + 1][1][b"f"] == b"pcm16"
                        if run_goes_on and segmenter.unscored_samples < MAX_RUN_SAMPLES:
                            utterances = []
                        else:
                            utterances = await self._score(segmenter)
                    elif fmt == "end":
                        carried = segmenter.carry_until >= 0
                        utterances = await self._close_stream(decoder, segmenter, cursor, flush=True)
                        decoder, broken = None, False
                        if carried and not utterances:  # (a piece cut now records its own)
                            await buffer.end_audio_carry(sid, self.owner)
                    else:  # webm / ogg
                        # a container of another format is another stream, said or not (an Ogg
                        # stream fed to a WebM decoder was skipped as garbage, acked audio lost)
                        new_stream = fields.get(b"s") == b"1" or (stream_format not in (None, fmt))
                        stream_format = fmt
                        if decoder is not None and new_stream:
                            tail = await self._close_stream(decoder, segmenter, cursor, flush=False)
                            decoder = None
                            await self._record(tail)
                        if new_stream:
                            broken = False
                        utterances = []
                        if not broken:
                            if decoder is None:
                                decoder = StreamDecoder(fmt)
                                stream_resume = resume_at
                            utterances, decoded = await self._decode(
                                decoder, functools.partial(decoder.feed, data), segmenter, entry_id
                            )
                            if not decoded:
                                # Undecodable: skip the rest of this stream (until a new one
                                # starts) instead of failing the session's audio forever.
                                decoder, broken = None, True
                    if utterances:  # most frames cut none
                        await self._record(utterances)
                    cursor = entry_id
                    if decoder is None and segmenter.idle:
                        resume_at = (cursor, segmenter.position, read)
                    elif decoder is not None:
                        resume_at = stream_resume
                if resume_at[0] != state.get("cursor") or read - told >= svc.settings.tell_read_bytes:
                    # the reading told too while speech (or a compressed stream) holds the cursor
                    read = await self._checkpoint(resume_at, read)
                    if resume_at[0] == cursor:  # with the count it gave (the same, or put right)
                        resume_at = (cursor, resume_at[1], read)
                    state["cursor"], told = resume_at[0], read
                # Quiet is counted from when we were done with what came, not from when we read
                # it: scoring a backlog (the CPU short, the VAD child at low priority) can take
                # longer than quiet_flush, and is not a recording that stopped.
                idle_since = time.monotonic()
                if (asked is None or len(entries) < asked) and not self._handed:
                    # We read everything there was: wait for more rather than ask again at once
                    # (live audio wakes us once per frame; this saves two round trips a frame).
                    await self._await_audio()
        except LeaseLost:  # another instance owns the session's audio now: it goes on from there
            log.warning("the audio lease of %s was lost before its renewal said so; stopping", sid)
            self.lease_lost = True
        finally:
            self._ending = True
            if decoder is not None:  # a container stream left open: its thread joined off the loop
                # (not awaited: the renewer cancels this task until it ends)
                asyncio.get_running_loop().run_in_executor(None, decoder.abandon)
            await cancel_and_wait([renewer, *self._transcriptions])
            with contextlib.suppress(Exception):
                await asyncio.shield(buffer.release_lease(sid, self.owner))

    async def _checkpoint(self, resume_at: tuple[str, int, int], read: int) -> int:
        """Checkpoint at ``resume_at`` (entry, sample, audio bytes up to it), having read ``read``
        bytes of the session's audio; the count to go on from: Redis's own when the checkpoint is
        at the stream's last entry (this owner has read all of it then, and so is where
        ``read`` stands), which puts right a count that started from none (see _CHECKPOINT_AUDIO)."""
        everything = await self.service.buffer.checkpoint_audio(self.session_id, *resume_at, read, self.owner)
        return read if everything is None else everything

    async def _feed(self, segmenter: Segmenter, pcm: bytes) -> list[Utterance]:
        """Feed the segmenter; the whole cells it then holds are scored by the VAD process (most
        100 ms frames complete none and cost a buffer append)."""
        segmenter.append(pcm)
        return await self._score(segmenter)

    async def _score(
        self, segmenter: Segmenter, *, final: bool = False, resumable: bool = False
    ) -> list[Utterance]:
        pcm = segmenter.unscored(final=final)
        if not pcm:
            if not final:
                return []
            return segmenter.apply(np.zeros(0, dtype=np.float32), None, final=True, resumable=resumable)
        probs, state = await self.service.vad.score(pcm, segmenter.vad_state, CELL)
        return segmenter.apply(probs, state, final=final, resumable=resumable)

    async def _await_audio(self) -> None:
        """Until new audio is announced (``wake``), or the service's poller finds this owner has
        waited ``poll_interval`` (audio appended through another instance, or finalize): one
        timer for all owners rather than one per wait, i.e. per live frame."""
        self._working_on = None
        self.waiting_since = time.monotonic()
        try:
            await self.wake.wait()
        finally:
            self.waiting_since = None
        self.wake.clear()

    async def _decode(
        self, decoder: StreamDecoder, step: Callable[[], bytes], segmenter: Segmenter, entry_id: str
    ) -> tuple[list[Utterance], bool]:
        """Run one decoder step (feed or close) and segment its PCM; False if the stream turned
        out undecodable: then ``audio.rejected`` names ``entry_id``, and the PCM decoded before
        the failure is segmented all the same (it was acked). A failed decoder is let go of in a
        worker thread: one whose close timed out still has its thread busy, and garbage
        collection on the event loop joined it there (up to ``close_timeout``, every ack held)."""
        try:
            pcm, decoded = await asyncio.to_thread(step), True
        except AudioFormatError as exc:
            await asyncio.to_thread(decoder.abandon)
            log.warning("session %s: undecodable audio stream at %s: %s", self.session_id, entry_id, exc)
            await self.service.rejected(self.session_id, entry_id, str(exc))
            pcm, decoded = exc.pcm, False
        return await self._feed(segmenter, pcm), decoded

    async def _close_stream(
        self, decoder: StreamDecoder | None, segmenter: Segmenter, last_entry: str, *, flush: bool
    ) -> list[Utterance]:
        """End a container stream (``last_entry``: its last entry), feeding its last samples;
        ``flush`` also closes the utterance in progress (the recording stopped). A stream whose
        damage shows only at its end is rejected like one found undecodable mid-stream."""
        utterances: list[Utterance] = []
        if decoder is not None:
            utterances += (await self._decode(decoder, decoder.close, segmenter, last_entry))[0]
        if flush:
            utterances += await self._score(segmenter, final=True)
        return utterances

    async def _record(self, utterances: list[Utterance]) -> None:
        for utt in utterances:
            record = await self.service.record(self.session_id, utt, self.owner)
            if record is not None:
                await self._send(record, utt.pcm)

    async def _send(self, record: dict[str, Any], pcm: bytes | None) -> None:
        """Transcribe one utterance once the audio waiting for CORE leaves room for it. Waiting
        here holds up the reading loop: the session's audio stays in Redis meanwhile."""
        samples = int(record["end_sample"]) - int(record["start_sample"])
        limit = int(self.service.settings.max_in_flight * SAMPLE_RATE)
        if self._in_flight and self._in_flight + samples > limit:
            metrics = self.service.metrics
            metrics.audio_paused.inc()
            try:
                while self._in_flight and self._in_flight + samples > limit:
                    self._answered.clear()
                    await self._answered.wait()
            finally:
                metrics.audio_paused.dec()
        self._in_flight += samples
        self.service.metrics.audio_in_flight.inc(samples / SAMPLE_RATE)
        # each classified after the one cut before it (Orchestrator.transcribe_utterance)
        after = self._last_sent
        # the record says (kept across a takeover); one stored by an older version does not
        continues = bool(record.get("continues", self._last_forced))
        task = asyncio.create_task(self._transcribe(record, pcm, after=after, continues=continues))
        self._last_sent, self._last_forced = task, bool(record.get("forced"))
        self._transcriptions.add(task)
        task.add_done_callback(lambda done: self._answered_one(done, samples))

    async def _transcribe(
        self,
        record: dict[str, Any],
        pcm: bytes | None,
        *,
        after: asyncio.Future[str | None] | None,
        continues: bool,
    ) -> str | None:
        """One utterance transcribed and stored; a try that fails (not CORE: its failures become
        blocks pending review, but Redis or the object store away for a moment) is made again
        while this owner lives, after 0.5 s, 1 s, 2 s … up to :data:`TRANSCRIBE_TRIES` tries
        (over about 45 s), from the stored audio as a successor would. Before, the utterance
        stayed pending until the next owner (the next finalize, a restart): the stenographers had
        no block for it for hours. The utterances after it wait for it, so blocks keep the audio's
        order."""
        retrying = AsyncRetrying(
            stop=stop_after_attempt(TRANSCRIBE_TRIES),
            wait=wait_exponential(multiplier=TRANSCRIBE_RETRY_DELAY, max=TRANSCRIBE_RETRY_MAX_DELAY),
            before_sleep=lambda state: log.warning(
                "session %s: utterance %s was not transcribed and stored (%r); again in %.1f s",
                self.session_id,
                record["utterance_id"],
                state.outcome.exception() if state.outcome else None,
                state.next_action.sleep if state.next_action else 0.0,
            ),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                # a try again reads the audio back from the object store, as a successor would
                heard = pcm if attempt.retry_state.attempt_number == 1 else None
                return await self.service.transcribe(
                    self.session_id, record, heard, after=after, continues=continues
                )
        raise AssertionError("tenacity ends with a result or the last failure (reraise)")

    def _answered_one(self, task: asyncio.Task[str | None], samples: int) -> None:
        self._transcriptions.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            # The utterance stays pending in Redis: finalize's drain sees it and goes round again.
            log.error(
                "session %s: an utterance's transcription failed %d times",
                self.session_id,
                TRANSCRIBE_TRIES,
                exc_info=exc,
            )
        self._in_flight -= samples
        self.service.metrics.audio_in_flight.dec(samples / SAMPLE_RATE)
        self._answered.set()

    async def _finish_transcriptions(self) -> None:
        while self._transcriptions:
            await asyncio.gather(*list(self._transcriptions), return_exceptions=True)

    async def _renew_lease(self) -> None:
        """Renew the lease until the owner ends (``_ending``), or stop the owner if the lease was
        lost. Neither relies on one cancellation arriving: Python 3.11's ``asyncio.wait_for``,
        which redis-py writes a command through, drops a cancellation that lands as the write
        completes. A renewer that missed its own went on renewing for ever, so an owner that had
        ended held the session's audio (a finalize elsewhere waited for it in vain).

        A renewal that fails (Redis unreachable for a moment: a failover, a restart) is tried
        again soon while the lease may still be ours; once it cannot be (``lease_ttl`` since the
        last renewal was sent), the owner stops as if it had lost it: another instance may own
        the session by then, and two owners would cut, record and trim the same audio."""
        ttl = self.service.settings.lease_ttl
        renewed = self._leased_at
        delay = ttl / 3
        while not self._ending:
            await asyncio.sleep(delay)
            if self._ending:
                return
            asked = time.monotonic()
            try:
                held = await self.service.buffer.renew_lease(self.session_id, self.owner, ttl)
            except Exception as exc:
                held = time.monotonic() - renewed < ttl  # unknown: ours until it must have expired
                if held:
                    log.warning(
                        "could not renew the audio lease of %s (%r); trying again", self.session_id, exc
                    )
                    delay = ttl / 10
                    continue
            else:
                renewed, delay = asked, ttl / 3
            if not held:
                log.warning("lost the audio lease of %s; stopping", self.session_id)
                self.lease_lost = True
                task = self._task  # another instance owns the session now
                while task is not None and not task.done() and not self._ending:
                    task.cancel()
                    await asyncio.wait({task}, timeout=0.05)
                return


class AudioService:
    """Starts, wakes and drains the audio pipelines of this instance."""

    def __init__(
        self,
        *,
        buffer: SessionBuffer,
        vad: VadProcess,
        settings: AudioSettings,
        record: Callable[[str, Utterance, str], Coroutine[Any, Any, dict[str, Any] | None]],
        transcribe: Transcribe,
        rejected: Callable[[str, str, str], Coroutine[Any, Any, None]],
        metrics: Metrics,
        pressure: IngestPressure,
    ) -> None:
        self.buffer = buffer
        self.metrics = metrics
        self.pressure = pressure
        self.vad = vad
        self.settings = settings
        self.record = record
        self.transcribe = transcribe
        self.rejected = rejected
        self.instance = uuid.uuid4().hex
        self._running: dict[str, tuple[SessionAudio, asyncio.Task[None]]] = {}
        self._owners: set[asyncio.Task[None]] = set()
        """Every owner's task until it is done: one ending may have left ``_running`` to its
        successor, and shutdown still waits for it."""
        self._poller: asyncio.Task[None] | None = None
        self.deferred: set[asyncio.Future[None]] = set()
        """The turns owners deferring to the acks wait for (``_poll`` gives them together)."""
        self._next_turn = 0.0
        self._watching: dict[str, asyncio.Task[None]] = {}
        self._last_try: dict[str, float] = {}
        self._stopping = False

    def lag(self) -> float:
        """How far behind the live audio this instance's segmentation is: the largest
        ``SessionAudio.lag`` of the sessions it owns (``astra_audio_lag_seconds``)."""
        now = time.time()
        return max((pipeline.lag(now) for pipeline, _ in self._running.values()), default=0.0)

    async def notify(self, session_id: str, handoff: tuple[str, list[Entry]] | None = None) -> None:
        """New audio arrived here: wake our pipeline (handing it the entries, with the id of the
        entry before them, so that it need not read them back), or try to become the owner."""
        running = self._owner(session_id)
        if running is not None:
            if handoff is not None:
                running.hand(*handoff)
            else:
                running.look()
            return
        # None here, or one ending (it would drop what it is handed): a try, then a watch for
        # its lease to be let go
        now = time.monotonic()
        if now - self._last_try.get(session_id, 0.0) < min(1.0, self.settings.lease_ttl / 4):
            return
        self._last_try[session_id] = now
        try:
            started = await self._try_start(session_id)
        except BaseException:  # Redis away: the retried store's notify, within a second, tries again
            self._last_try.pop(session_id, None)
            raise
        if started is not None:
            # Its owner runs here (notify wakes it): the try need not be remembered, and is not,
            # or an instance would keep one entry for every session it ever saw.
            self._last_try.pop(session_id, None)
        elif session_id not in self._watching:
            watch = self._take_over_when_free(session_id)
            task = asyncio.create_task(watch, name=f"audio-watch:{session_id}")
            self._watching[session_id] = task
            task.add_done_callback(lambda _: self._watched(session_id))

    def _owner(self, session_id: str) -> SessionAudio | None:
        """This instance's owner of the session's audio that still reads it, if any."""
        running = self._running.get(session_id)
        return running[0] if running is not None and not running[0].ending else None

    def _ended(self, session_id: str, task: asyncio.Task[None], pipeline: SessionAudio) -> None:
        if (running := self._running.get(session_id)) is not None and running[1] is task:
            del self._running[session_id]  # not a successor started while it was ending
        if self._stopping or session_id in self._watching or self._owner(session_id) is not None:
            return
        failed = not task.cancelled() and isinstance(task.exception(), STORE_ERRORS)
        if pipeline.lease_lost or failed:
            # Stopped with its work maybe not done, and the audio it held may have no frame to
            # come that would wake an owner (the recording ended with it): its words would wait
            # for a reconnect or finalize.
            watch = asyncio.create_task(
                self._take_over_after_a_stop(session_id, pipeline.owner), name=f"audio-after:{session_id}"
            )
            self._watching[session_id] = watch
            watch.add_done_callback(lambda _: self._watched(session_id))

    def _watched(self, session_id: str) -> None:
        self._watching.pop(session_id, None)
        self._last_try.pop(session_id, None)

    async def _take_over_when_free(self, session_id: str) -> None:
        """Another instance holds the session's audio: when its lease ends or is let go, take the
        audio over if some is still unprocessed. The holder may have stopped (SIGTERM) or died
        with audio it never cut, and the recorder, now connected here, may have nothing more to
        send that would wake us (it sent the rest of the utterance and ``audio_end`` at once)."""
        while self._owner(session_id) is None:
            try:
                # One PTTL a second while the holder works (a live session's audio is never all
                # cut, so asking what is unprocessed first would cost three calls a second).
                left = await self.buffer.lease_left(session_id)
                if left is None:
                    if not await self._unprocessed(session_id):
                        return
                    if await self._try_start(session_id) is not None:
                        return
                    continue  # taken by another instance in between: wait for its lease
                # Looked at again within a second: a holder stopped by SIGTERM lets go at once,
                # long before its lease would have ended.
                await asyncio.sleep(min(max(left, 0.05), WATCH_INTERVAL))
            except STORE_ERRORS as exc:  # Redis unreachable: its next audio wakes us anyway
                log.warning("cannot watch the audio lease of %s: %s", session_id, exc)
                return

    async def _take_over_after_a_stop(self, session_id: str, stopped: str) -> None:
        """An owner here (``stopped``, its lease's name) stopped before its work was done (its
        lease lost, Redis failing): once Redis answers (tried each WATCH_INTERVAL for
        ``idle_release``), let go of its lease if it still holds it (its own release may have
        failed with Redis) and take the session's audio over if some is unprocessed. An owner
        elsewhere holding the lease has it in hand."""
        deadline = time.monotonic() + self.settings.idle_release
        while not self._stopping and self._owner(session_id) is None:
            try:
                await self.buffer.release_lease(session_id, stopped)
                if await self.buffer.lease_left(session_id) is None and await self._unprocessed(session_id):
                    await self._try_start(session_id)
                return
            except STORE_ERRORS as exc:
                if time.monotonic() >= deadline:  # a reconnect, new audio or finalize takes it on
                    log.warning(
                        "cannot take over the audio of %s after its owner stopped: %s", session_id, exc
                    )
                    return
                await asyncio.sleep(WATCH_INTERVAL)

    async def _try_start(self, session_id: str) -> asyncio.Task[None] | None:
        """The task of this instance's owner of the session's audio, started if the lease is
        free; None while another owner holds it (one here that is ending, too)."""
        if self._owner(session_id) is not None:
            return self._running[session_id][1]
        owner = f"{self.instance}:{uuid.uuid4().hex[:8]}"
        asked = time.monotonic()  # the lease lasts lease_ttl from no earlier than this
        if not await self.buffer.acquire_lease(session_id, owner, self.settings.lease_ttl):
            return None
        if self._owner(session_id) is not None:  # raced with ourselves
            await self.buffer.release_lease(session_id, owner)
            return self._running[session_id][1]
        pipeline = SessionAudio(self, session_id, owner, leased_at=asked)
        task = asyncio.create_task(pipeline.run(), name=f"audio:{session_id}")
        self._running[session_id] = (pipeline, task)
        self._owners.add(task)
        task.add_done_callback(self._owners.discard)
        task.add_done_callback(lambda _: self._ended(session_id, task, pipeline))
        task.add_done_callback(_log_failure)
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._poll(), name="audio-poll")
        return task

    async def _poll(self) -> None:
        """Every half ``poll_interval`` while this instance owns sessions: an owner that has
        waited ``poll_interval`` for audio looks at its stream (so it does between 1 and 1.5
        ``poll_interval`` after it began to wait); and every DEFER seconds the owners deferring
        to the acks get their turn, all together: their VAD requests then go in one call of the
        model, which costs a fraction per window of a call for one stream (server.silero)."""
        interval = self.settings.poll_interval
        while self._running:
            await asyncio.sleep(interval / 2)
            now = time.monotonic()
            for pipeline, _ in list(self._running.values()):
                since = pipeline.waiting_since
                if since is not None and now - since >= interval:
                    pipeline.look()
            if self.deferred and now >= self._next_turn:
                self._next_turn = now + DEFER
                turns, self.deferred = self.deferred, set()
                for turn in turns:
                    if not turn.done():
                        turn.set_result(None)

    async def drain(self, session_id: str, stall: float) -> None:
        """Finalize: make sure every acked audio frame of the (closing) session has become a
        block. Runs the pipeline here, taking over the lease when its holder lets go or dies.
        A pipeline that ended well can still leave utterances pending (a transcription that
        failed): then another one runs, and transcribes them from the stored audio.

        Waits as long as the audio moves on (``drain_marks``); TimeoutError once ``stall``
        seconds pass in which it did not: a machine short of CPU (the VAD child runs at the
        lowest priority) makes a big backlog slow, not a reason to fail the acta."""
        deadline = time.monotonic() + stall
        best = await self.drain_marks(session_id)
        delay = 0.05
        while True:
            running = self._running.get(session_id)
            task = running[1] if running else await self._try_start(session_id)
            if task is not None:
                if (now_running := self._running.get(session_id)) is not None:
                    now_running[0].hurry()
                if running is not None:
                    running[0].look()
                await asyncio.wait({task}, timeout=max(0.1, deadline - time.monotonic()))
                ended_well = task.done() and not task.cancelled() and task.exception() is None
                # and nothing left uncut: an owner ending on its own (idle, its audio all cut) just
                # as a last frame came could have been handed that frame and ended without it
                if ended_well and not await self._unprocessed(session_id):
                    return
            if time.monotonic() > deadline:
                marks = await self.drain_marks(session_id)
                if not any(now > before for now, before in zip(marks, best, strict=True)):
                    log.warning("%s", await self.stall_report(session_id, marks))
                    raise TimeoutError(f"audio of the session has not moved on for {stall:.0f} s")
                best = tuple(max(now, before) for now, before in zip(marks, best, strict=True))
                deadline = time.monotonic() + stall
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)

    async def stall_report(self, session_id: str, marks: tuple[tuple[int, int], ...]) -> str:
        """Why a drain gave up, for the log: who holds the audio lease and, when the owner runs
        here, what it is waiting for (its flags and the coroutine stack it is suspended in)."""
        holder = await self.buffer.lease_holder(session_id)
        lines = [f"audio of {session_id} stalled at {marks}; lease holder {holder}"]
        running = self._running.get(session_id)
        if running is None:
            lines.append(f"no owner of it runs in this instance ({self.instance})")
        else:
            lines.append(running[0].describe())
        return "\n".join(lines)

    async def drain_marks(self, session_id: str) -> tuple[tuple[int, int], ...]:
        """How far the session's audio has got, as values that only grow while it moves on: the
        sample its utterances cover, the resume checkpoint, the entry this instance's owner is
        segmenting, the blocks stored, and (negated) the utterances waiting for CORE. A
        pipeline restarted from the checkpoint re-reads entries, but none of these goes back
        past what a drain has already seen."""
        state = await self.buffer.audio_state(session_id)
        pending = len(await self.buffer.pending_utterances(session_id))
        blocks = await self.buffer.block_count(session_id)
        running = self._running.get(session_id)
        segmenting = running[0].segmenting() if running is not None else None
        return (
            (int(state.get("covered", "0")), 0),
            _entry_key(state.get("cursor", "0-0")),
            _entry_key(segmenting or "0-0"),
            (blocks, 0),
            (-pending, 0),
        )

    async def resume_orphans(self, session_id: str) -> None:
        """A client (re)connected: if the session has audio or utterances nobody is working on
        (its owner died), take them over; a session with nothing pending costs nothing."""
        if await self._unprocessed(session_id):
            await self.notify(session_id)

    async def _unprocessed(self, session_id: str) -> bool:
        """Whether the session has audio not cut yet, or utterances not transcribed yet."""
        state = await self.buffer.audio_state(session_id)
        return state.get("last", "0-0") != state.get("cursor", "0-0") or bool(
            await self.buffer.pending_utterances(session_id)
        )

    async def stop(self) -> None:
        self._stopping = True
        if self._poller is not None:
            self._poller.cancel()
        for watch in list(self._watching.values()):
            watch.cancel()
        tasks = list(self._owners)
        for task in tasks:
            task.cancel()
        if tasks:  # bounded: shutdown must not hang on a pipeline (its lease expires anyway)
            await asyncio.wait(tasks, timeout=5)
        await self.vad.aclose()


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("audio pipeline %s failed", task.get_name(), exc_info=exc)
