"""Every Redis key the orchestrator uses, in one place.

All keys of one session share the hash tag ``{<session_id>}`` so that the Lua scripts that touch
several of them run in one hash slot (Redis Cluster) and one round trip. A tenant's keys live in
other slots: no script touches a tenant key and a session key together.

    astra:{sid}:meta       hash    status, tenant, pinned config (msgpack), counters, finalize result
    astra:{sid}:blocks     hash    block_id -> block (msgpack)
    astra:{sid}:order      zset    block_id scored by position (audio / arrival order)
    astra:{sid}:events     stream  the session's event log, entry ids "<event_id>-0"
    astra:{sid}:producers  hash    client_id -> last applied sequence number (deduplication)
    astra:{sid}:clients    hash    client_id -> the token sub that first said hello with it
    astra:{sid}:idem       hash    HTTP Idempotency-Key, or "utterance:" + utterance id -> block_id
    astra:{sid}:inflight   zset    ingest tokens in progress, scored by deadline (finalize drains)
    astra:{sid}:finalize   string  finalize lock: owner token, with a TTL renewed while building
    astra:{sid}:audio      stream  durable audio not yet segmented: f (pcm16|webm|ogg|end), d, s (new stream)
    astra:{sid}:audio:gate stream  the audio stream, renamed for the length of one transaction only
    astra:{sid}:utterances hash    utterance id -> record (msgpack), until its block is stored
    astra:{sid}:heard      hash    utterance id -> id of the block holding its audio (may be deleted since)
    astra:{sid}:owner      string  lease of the instance that segments and transcribes the audio
    astra:{sid}:presence   hash    connection id -> who is connected and what they edit (expiring)
    astra:{sid}:connections zset   connection id scored by expiry (ms), refreshed while connected
    astra:{sid}:live       channel pub/sub doorbell carrying "<event_id>:<event payload>"
    astra:tenant:{tid}:open      zset session ids of a tenant not yet finalizing, scored by start (ms)
    astra:learn:owed             zset finalized sessions whose corrections LEARN has not taken yet,
                                      scored by when the export may be tried (again) (ms)
    astra:replicas:mark          string  a count, written before each wait for replicas
                                         (ASTRA_REDIS_ACK_REPLICAS)
"""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "astra"


@dataclass(frozen=True, slots=True)
class SessionKeys:
    """The key names of one session."""

    session_id: str

    def _key(self, suffix: str) -> str:
        return f"{PREFIX}:{{{self.session_id}}}:{suffix}"

    @property
    def meta(self) -> str:
        return self._key("meta")

    @property
    def blocks(self) -> str:
        return self._key("blocks")

    @property
    def order(self) -> str:
        return self._key("order")

    @property
    def events(self) -> str:
        return self._key("events")

    @property
    def clients(self) -> str:
        return self._key("clients")

    @property
    def producers(self) -> str:
        return self._key("producers")

    @property
    def idem(self) -> str:
        return self._key("idem")

    @property
    def inflight(self) -> str:
        return self._key("inflight")

    @property
    def finalize_lock(self) -> str:
        return self._key("finalize")

    @property
    def audio(self) -> str:
        return self._key("audio")

    @property
    def audio_gate(self) -> str:
        """The audio stream's name inside a transaction that appends to it through the gate
        (``SessionBuffer.append_audio_frames``); no key has it outside one."""
        return self._key("audio:gate")

    @property
    def utterances(self) -> str:
        return self._key("utterances")

    @property
    def heard(self) -> str:
        return self._key("heard")

    @property
    def audio_refs(self) -> str:
        """Each recorded utterance's ``audio_ref`` (the key of its WAV, named by its cut)."""
        return self._key("audio_refs")

    @property
    def owner(self) -> str:
        return self._key("owner")

    @property
    def presence(self) -> str:
        return self._key("presence")

    @property
    def connections(self) -> str:
        return self._key("connections")

    @property
    def channel(self) -> str:
        return self._key("live")

    def kept(self, *, but: tuple[str, ...] = ()) -> list[str]:
        """The keys that hold what the session stored (not its lock, lease or transient names),
        less ``but``: the ones that expire together once it is finalized or discarded."""
        every = (
            self.meta,
            self.blocks,
            self.order,
            self.events,
            self.producers,
            self.clients,
            self.idem,
            self.inflight,
            self.audio,
            self.utterances,
            self.heard,
            self.audio_refs,
            self.presence,
            self.connections,
        )
        return [key for key in every if key not in but]


def tenant_open_sessions(tenant_id: str) -> str:
    """The tenant's open sessions (its own hash slot: the admission script touches only it)."""
    return f"{PREFIX}:tenant:{{{tenant_id}}}:open"


LEARN_OWED = f"{PREFIX}:learn:owed"
"""The LEARN exports owed, for every instance (its own hash slot: one key per script call)."""

REPLICAS_MARK = f"{PREFIX}:replicas:mark"
"""Incremented before each wait for replicas: the wait then covers every write before it."""
