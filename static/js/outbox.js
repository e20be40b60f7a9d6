// The client's numbered frames (protocol.md, `text`, `audio`, `audio_end` and "Resume, in
// short"): one sequence per client id for all of them.
//
// Every frame gets the next sequence number and stays queued until the server acks it. The
// server applies one client's frames strictly in order (1, 2, 3, …, no gaps) and answers each
// with one ack or one error. This module holds that state and decides what to (re)send; it has
// no DOM and no socket, so it can be exercised on its own.
//
// Invariant: the server has applied every seq below the first queued frame's, and none of the
// queued ones that have not been acked. So when the server tells us where it stands
// (`welcome.last_seq`, or `SEQ_GAP` with `details.expected`), the queue can be renumbered from
// there without ever giving a second meaning to a number the server already applied.
//
// Persistence: text, audio_end and correction frames (small) are saved in localStorage with the
// counter at every change, so a reload resends them. Audio chunks are large (3,200 bytes per
// 100 ms) and an outage may last hours: they are written to IndexedDB (audiostore.js), in
// batches every AUDIO_WRITE_DELAY, each with its current seq and whether it went out, and deleted
// once acked or dropped; up to MAX_AUDIO_BYTES of them (2 hours, 230 MB) are queued. Memory holds
// the bytes of at most MEMORY_AUDIO_BYTES of them (5 minutes, 9.6 MB): a frame on disk may give
// its bytes up (`trimMemory`: first frames already sent, then the newest), keeping only its
// seq, order and size, and a connection pages them back in order as it sends (`pageIn`), a few
// at a time, so a reconnect after an outage sends the backlog paced and then the audio recorded
// since, in one order (connection.js). Without a disk (IndexedDB missing or broken) the memory
// window is the bound. Past the bound, or when the disk is full (QuotaExceededError), the oldest
// never-sent audio is dropped and counted (the page says so). Every frame carries a local
// `order` that is never renumbered: after a reload (`restoreAudio`, before connecting) the saved
// audio (read page by page, the bytes of the first window kept) and the saved frames are merged
// back in that order, the frames that went out keep the seq they were sent with (the server may
// have applied them: the welcome's last_seq settles them) and the rest are renumbered like any
// unapplied frame. What a crash can still lose: the chunks of the last AUDIO_WRITE_DELAY not yet
// written (the page writes them on pagehide, best effort); a frame gives its bytes up only once
// they are on disk. A crash within that delay after a renumbering or a resend can leave a stale
// seq or `sent` on disk: that audio may be sent twice after the reload, never dropped unsent.
// Audio whose only copy was on disk and is gone (the site's storage cleared) or stays unreadable
// is counted as lost and leaves the queue (`loseAudio`): the rest is not held back for it.

/**
 * Errors after which a frame can never be applied: it leaves the queue (and is reported).
 * STALE_VERSION and NOT_FOUND answer human corrections (edit/insert/delete) made on a version
 * that is gone, UTTERANCE_WRITTEN an insert for audio a colleague wrote first, UTTERANCE_PENDING
 * one for audio the recognizer had not finished: resending the same frame could never succeed
 * (or, once the recognizer is done, would succeed with no one deciding again), the user has to
 * decide again.
 */
export const TERMINAL_CODES = new Set([
  "SESSION_CLOSED",
  "SESSION_TOO_LONG",
  "RECORDING_ELSEWHERE",
  "FORBIDDEN",
  "INVALID_INPUT",
  "INVALID_FIELD",
  "STALE_VERSION",
  "UTTERANCE_WRITTEN",
  "UTTERANCE_PENDING",
  "NOT_FOUND",
  "POSITIONS_EXHAUSTED",
]);

/**
 * Refusals after which the same frame is sent again (protocol.md): nothing was changed and the
 * seq was not used. PLACE_CONTENDED: other people's changes kept moving the place the change
 * reads; a moment later it goes through. SERVICE_UNAVAILABLE: a service the frame needs (the
 * object store holding an utterance's audio) did not answer the server's tries. Without this, the frame waited unanswered, its editor
 * read-only on «Guardando…», until some later frame's SEQ_GAP or a reconnect sent it again.
 */
export const SEND_AGAIN_CODES = new Set(["PLACE_CONTENDED", "SERVICE_UNAVAILABLE"]);

/**
 * Refusals of audio that every queued audio frame would get too (the session is closed or too
 * old, another console is recording it, or this user's token no longer has a role that records):
 * they all leave the queue at once. One at a time,
 * each round would refuse one frame and renumber the rest (SEQ_GAP): a minute of queued audio
 * would be sent again hundreds of times.
 */
export const AUDIO_REFUSED_FOR_ALL = new Set(["SESSION_CLOSED", "SESSION_TOO_LONG", "RECORDING_ELSEWHERE", "FORBIDDEN"]);

/** Human corrections of the draft (protocol.md, `edit`, `insert`, `delete`). */
export const CORRECTIONS = new Set(["edit", "insert", "delete"]);

export const AUDIO_BYTES_PER_SECOND = 32000; // 16 kHz × 2 bytes
/** Unacked audio kept at most, on disk: 2 hours of 16 kHz PCM16 (230.4 MB). */
export const MAX_AUDIO_BYTES = 2 * 3600 * AUDIO_BYTES_PER_SECOND;
/** Bytes of unacked audio held in memory at most: 5 minutes (9.6 MB); the rest waits on disk. */
export const MEMORY_AUDIO_BYTES = 5 * 60 * AUDIO_BYTES_PER_SECOND;
/** Audio frames per disk transaction (writes and page-ins). */
const DISK_BATCH = 500;
const AUDIO_SAVE_DELAY = 1000; // ms: the counter after audio frames is saved lazily
/** ms: queued audio is written to disk in batches (one transaction per 100 ms frame costs). */
export const AUDIO_WRITE_DELAY = 500;

const PERSISTED = new Set(["text", "audio_end", "edit", "insert", "delete"]);
/** Reads of the disk that fail in a row before its audio is given up as lost (one a second). */
export const READ_FAILURES_LOST = 5;

let refCounter = 0;
/** A stable reference for a correction frame (its seq may be renumbered before it is applied). */
function newRef() {
  refCounter += 1;
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}-${refCounter}`;
}

/** The wire message of a queued frame. */
export function wireFrame(frame) {
  switch (frame.kind) {
    case "audio":
      return { type: "audio", seq: frame.seq, format: frame.format, data: frame.data };
    case "audio_end":
      return { type: "audio_end", seq: frame.seq };
    case "edit":
      return {
        type: "edit",
        seq: frame.seq,
        block_id: frame.block_id,
        base_version: frame.base_version,
        changes: frame.changes,
      };
    case "insert":
      return { type: "insert", seq: frame.seq, after_block_id: frame.after_block_id, block: frame.block };
    case "delete":
      return { type: "delete", seq: frame.seq, block_id: frame.block_id, base_version: frame.base_version };
    default:
      return { type: "text", seq: frame.seq, text: frame.text };
  }
}

/** A saved correction frame read back (from storage: checked field by field), or null. */
function restoreCorrection(f, sent) {
  const ref = typeof f.ref === "string" ? f.ref : newRef();
  const isMap = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
  const version = Number.isSafeInteger(f.base_version) && f.base_version >= 1;
  switch (f.kind) {
    case "edit":
      if (typeof f.block_id !== "string" || !version || !isMap(f.changes)) return null;
      return { seq: f.seq, kind: "edit", block_id: f.block_id, base_version: f.base_version, changes: f.changes, ref, sent };
    case "insert":
      if ((f.after_block_id !== null && typeof f.after_block_id !== "string") || !isMap(f.block)) return null;
      return { seq: f.seq, kind: "insert", after_block_id: f.after_block_id, block: f.block, ref, sent };
    case "delete":
      if (typeof f.block_id !== "string" || !version) return null;
      return { seq: f.seq, kind: "delete", block_id: f.block_id, base_version: f.base_version, ref, sent };
    default:
      return null;
  }
}

/** What is saved in localStorage of a frame (not audio: it goes to IndexedDB). */
function persisted(f) {
  if (f.kind === "text") return { seq: f.seq, order: f.order, kind: "text", text: f.text, sent: f.sent };
  if (CORRECTIONS.has(f.kind)) {
    const { seq, order, kind, ref, sent } = f;
    const saved = { seq, order, kind, ref, sent };
    for (const key of ["block_id", "base_version", "changes", "after_block_id", "block"]) {
      if (key in f) saved[key] = f[key];
    }
    return saved;
  }
  return { seq: f.seq, order: f.order, kind: f.kind, sent: f.sent };
}

export class Outbox {
  /**
   * store: {load(): {next, frames} | null, save({next, frames}): void} — persistence per
   * session and client id (the counter must survive reloads: seq is per client id, forever).
   * options.maxAudioBytes: the bound for unacked audio (on disk); options.memoryAudioBytes: the
   * bytes of it held in memory at most (and the bound when there is no disk).
   * Call `restoreAudio(audioStore)` before queueing anything to keep audio on disk too.
   */
  constructor(store, { maxAudioBytes = MAX_AUDIO_BYTES, memoryAudioBytes = MEMORY_AUDIO_BYTES } = {}) {
    this.store = store;
    this.maxAudioBytes = maxAudioBytes;
    this.memoryAudioBytes = memoryAudioBytes;
    this.fullDiskBytes = null; // while the disk refuses writes: the audio it held then (the bound)
    this.audioBytes = 0; // bytes of audio frames queued
    this.memoryBytes = 0; // bytes of those held in memory (the rest is on disk only)
    this.peakMemoryBytes = 0; // the most memoryBytes has been after any change
    this.unstoredBytes = 0; // bytes of queued audio not on disk (yet)
    this.refusedAudio = 0; // audio frames dropped with a refusal that covers all queued audio
    this.refusedAudioBytes = 0; // ... their audio, which the console says it lost
    this.droppedAudioBytes = 0; // audio discarded by the bound since this page loaded
    this.lostAudioBytes = 0; // audio whose only copy, on disk, could not be read back
    this.readFailures = 0; // reads of the disk that failed in a row
    this.saveTimer = null;
    this.audioStore = null; // audiostore.js, once restoreAudio ran (null: memory only)
    this.audioReader = null; // where evicted bytes are read back (kept if writing breaks)
    this.audioRemoved = []; // orders of written audio frames that left the queue: to delete
    this.writeTimer = null;
    this.writing = false; // a batch is being written
    this.writeAgain = false; // something changed while it was
    this.reading = null; // the page-in under way (a promise)
    this.onWritten = null; // called after a batch is on disk (a connection pages in then)
    const saved = store.load();
    this.next = saved && Number.isSafeInteger(saved.next) && saved.next >= 1 ? saved.next : 1;
    this.frames = [];
    if (saved && Array.isArray(saved.frames)) {
      for (const f of saved.frames) {
        if (!f || !Number.isSafeInteger(f.seq) || f.seq < 1) continue;
        const sent = f.sent === true;
        const order = Number.isSafeInteger(f.order) ? f.order : 0; // saved before orders: first
        if (f.kind === "audio_end") this.frames.push({ seq: f.seq, order, kind: "audio_end", sent });
        else if ((f.kind === undefined || f.kind === "text") && typeof f.text === "string") {
          this.frames.push({ seq: f.seq, order, kind: "text", text: f.text, sent });
        } else if (CORRECTIONS.has(f.kind)) {
          const frame = restoreCorrection(f, sent);
          if (frame) this.frames.push({ ...frame, order });
        }
      }
      this.frames.sort((a, b) => a.seq - b.seq);
    }
    if (this.frames.length) this.next = Math.max(this.next, this.frames[this.frames.length - 1].seq + 1);
    this.nextOrder = 1;
    this.kinds = { text: 0, corrections: 0 };
    for (const f of this.frames) {
      this.nextOrder = Math.max(this.nextOrder, f.order + 1);
      this.countKind(f, 1);
    }
    this.gapHandledAt = null; // `expected` of the SEQ_GAP already answered by a resend
    this.settled = []; // frames found applied by a welcome or a SEQ_GAP (their ack was lost)
  }

  /** Every queued frame. */
  get pending() {
    return this.frames.length;
  }

  /** Queued text frames (utterances typed by the user). */
  get pendingText() {
    return this.kinds.text;
  }

  /** Queued corrections (edits, inserts, deletes) not yet acknowledged. */
  get pendingCorrections() {
    return this.kinds.corrections;
  }

  /** Count a frame in or out of the queued kinds (the page reads them at every ack). */
  countKind(f, delta) {
    if (f.kind === "text") this.kinds.text += delta;
    else if (CORRECTIONS.has(f.kind)) this.kinds.corrections += delta;
  }

  /** Seconds of audio not yet acknowledged. */
  get pendingAudioSeconds() {
    return this.audioBytes / AUDIO_BYTES_PER_SECOND;
  }

  /** Seconds of unacked audio only in memory (not on disk yet, or no disk): a reload loses it. */
  get unsavedAudioSeconds() {
    if (!this.audioStore) return this.pendingAudioSeconds;
    return this.unstoredBytes / AUDIO_BYTES_PER_SECOND;
  }

  get droppedAudioSeconds() {
    return this.droppedAudioBytes / AUDIO_BYTES_PER_SECOND;
  }

  /** Seconds of audio lost because the browser deleted its copy on disk or cannot read it. */
  get lostAudioSeconds() {
    return this.lostAudioBytes / AUDIO_BYTES_PER_SECOND;
  }

  /** Audio the server refused with all that was queued after it (the session closed, another
   * console records, the session too long, a role that may not): not stored, gone. */
  get refusedAudioSeconds() {
    return this.refusedAudioBytes / AUDIO_BYTES_PER_SECOND;
  }

  /**
   * The bound on queued audio: the disk's (while the disk is full, what it held then), or the
   * memory window where there is no disk.
   */
  get audioBound() {
    if (!this.audioStore) return Math.min(this.maxAudioBytes, this.memoryAudioBytes);
    return this.fullDiskBytes === null ? this.maxAudioBytes : Math.min(this.maxAudioBytes, this.fullDiskBytes);
  }

  save() {
    if (this.saveTimer !== null) clearTimeout(this.saveTimer);
    this.saveTimer = null;
    const frames = [];
    for (const f of this.frames) {
      if (PERSISTED.has(f.kind)) frames.push(persisted(f));
    }
    this.store.save({ next: this.next, frames });
  }

  /** Save soon: only the counter changed (audio), and a stale counter is corrected at welcome. */
  saveSoon() {
    if (this.saveTimer !== null) return;
    this.saveTimer = setTimeout(() => this.save(), AUDIO_SAVE_DELAY);
  }

  recount() {
    let bytes = 0;
    let memory = 0;
    let unstored = 0;
    for (const f of this.frames) {
      if (f.kind !== "audio") continue;
      bytes += f.bytes;
      if (f.data) memory += f.bytes;
      if (!f.stored) unstored += f.bytes;
    }
    this.audioBytes = bytes;
    this.memoryBytes = memory;
    this.unstoredBytes = unstored;
  }

  /** Frames that left the queue (acked, refused, dropped): out of the counts, never back. */
  leave(frames) {
    for (const f of frames) {
      f.gone = true;
      this.countKind(f, -1);
      if (f.kind !== "audio") continue;
      this.audioBytes -= f.bytes;
      if (f.data) this.memoryBytes -= f.bytes;
      if (!f.stored) this.unstoredBytes -= f.bytes;
    }
  }

  /** Note the memory held once a change is done (what tests and measurements read). */
  notePeak() {
    if (this.memoryBytes > this.peakMemoryBytes) this.peakMemoryBytes = this.memoryBytes;
  }

  push(frame) {
    this.next += 1;
    frame.order = this.nextOrder;
    this.nextOrder += 1;
    this.frames.push(frame);
    this.countKind(frame, 1);
    return frame;
  }

  /**
   * Load the audio saved on disk for this session and client id (a reload, a crash) back into
   * the queue, merged with the saved frames in their original order, and keep queued audio on
   * disk from now on. The disk is read page by page and only the bytes of the first
   * memory window are kept (the rest is paged in as it is sent). Saved chunks past the bound
   * are dropped (counted) like any others.
   */
  async restoreAudio(audioStore) {
    if (!audioStore) return;
    const restored = [];
    let memory = 0;
    const take = (r) => {
      if (!r || !Number.isSafeInteger(r.order)) return;
      this.nextOrder = Math.max(this.nextOrder, r.order + 1);
      if (!Number.isSafeInteger(r.seq) || r.seq < 1 || !(r.data instanceof Uint8Array) || typeof r.format !== "string") {
        this.audioRemoved.push(r.order); // unusable: not kept on disk either
        return;
      }
      const sent = r.sent === true;
      const { seq, order, format } = r;
      const bytes = r.data.length;
      const data = memory + bytes <= this.memoryAudioBytes ? r.data : null;
      if (data) memory += bytes;
      restored.push({ seq, order, kind: "audio", format, data, bytes, sent, stored: { seq, sent } });
      this.next = Math.max(this.next, r.seq + 1);
    };
    try {
      if (typeof audioStore.scan === "function") await audioStore.scan(take);
      else for (const r of await audioStore.load()) take(r);
    } catch (exc) {
      console.warn("astra: saved audio unreadable", exc);
      return;
    }
    this.audioStore = audioStore;
    this.audioReader = audioStore;
    if (!restored.length) {
      this.writeSoon();
      return;
    }
    this.frames = this.frames.concat(restored).sort((a, b) => a.order - b.order);
    this.recount();
    this.enforceBudget();
    this.notePeak();
    this.save();
  }

  /** Frames that left the queue: their copies on disk are deleted at the next write. */
  forget(frames) {
    for (const f of frames) if (f.kind === "audio" && f.stored) this.audioRemoved.push(f.order);
    this.writeSoon();
  }

  /** Write the queued audio whose saved copy is missing or stale, soon (batched). */
  writeSoon() {
    if (!this.audioStore || this.writeTimer !== null) return;
    if (this.writing) {
      this.writeAgain = true; // a change made while a batch is written: the next batch has it
      return;
    }
    this.writeTimer = setTimeout(() => this.writeAudio(), AUDIO_WRITE_DELAY);
  }

  /**
   * Write one batch now (at most DISK_BATCH frames): new audio frames, the seq and `sent` of
   * those changed since (their bytes too if held, else the saved copy is patched), and the
   * deletions of those gone. Then memory past the window gives up bytes that are on disk.
   */
  async writeAudio() {
    if (this.writeTimer !== null) clearTimeout(this.writeTimer);
    this.writeTimer = null;
    if (!this.audioStore || this.writing) return;
    const batch = [];
    for (const f of this.frames) {
      if (f.kind === "audio" && (!f.stored || f.stored.seq !== f.seq || f.stored.sent !== f.sent)) {
        batch.push(f);
        if (batch.length >= DISK_BATCH) break;
      }
    }
    const removed = this.audioRemoved;
    this.audioRemoved = [];
    if (!batch.length && !removed.length) return;
    const written = batch.map((f) => ({ frame: f, seq: f.seq, sent: f.sent, data: f.data }));
    const puts = [];
    const patches = [];
    for (const w of written) {
      if (w.data) puts.push({ order: w.frame.order, format: w.frame.format, data: w.data, seq: w.seq, sent: w.sent });
      else patches.push({ order: w.frame.order, seq: w.seq, sent: w.sent });
    }
    this.writing = true;
    this.writeAgain = false;
    try {
      await this.audioStore.write(puts, removed, patches);
      this.fullDiskBytes = null; // the disk takes writes again: the whole bound is back
      for (const { frame, seq, sent } of written) {
        if (!frame.stored && !frame.gone) this.unstoredBytes -= frame.bytes;
        frame.stored = { seq, sent };
        // Acked while it was being written: its copy is on disk now, delete it too.
        if (frame.gone) this.audioRemoved.push(frame.order);
      }
    } catch (exc) {
      this.audioRemoved = removed.concat(this.audioRemoved);
      if (exc && exc.name === "QuotaExceededError") this.diskFull(batch);
      else {
        // IndexedDB is broken here (not full): memory only, as without it (the page warns).
        console.warn("astra: audio not saved on disk", exc);
        this.audioStore = null;
        this.enforceBudget();
      }
    } finally {
      this.writing = false;
    }
    this.trimMemory();
    if (this.audioRemoved.length || this.writeAgain || batch.length >= DISK_BATCH || this.unstoredBytes > 0) {
      this.writeSoon();
    }
    if (this.onWritten) this.onWritten();
  }

  /**
   * The disk refused a batch: until it takes one again, queue no more audio than what is already
   * on disk (at least 1 s), dropping the oldest never-sent chunks (counted and shown like the
   * bound). Once a write goes through, the configured bound is back: a moment of a full disk
   * while online (when little is on disk) must not leave the next network cut with 1 s.
   */
  diskFull(batch) {
    let unwritten = 0;
    for (const f of batch) if (!f.stored && !f.gone) unwritten += f.bytes;
    this.fullDiskBytes = Math.max(AUDIO_BYTES_PER_SECOND, this.audioBytes - unwritten);
    this.enforceBudget();
  }

  /**
   * Keep at most `memoryAudioBytes` of audio bytes in memory (less `room`): frames whose bytes
   * are on disk give them up, first those already sent (answered soon, or resent after a
   * reconnect from their start), then the newest (sent last), never those before `keep` (the
   * next to be sent). Frames not on disk yet keep theirs until they are.
   */
  trimMemory(room = 0, keep = 0) {
    const limit = this.memoryAudioBytes - room;
    if (this.audioReader && this.memoryBytes > limit) {
      for (const f of this.frames) {
        if (this.memoryBytes <= limit || !f.sent) break;
        if (f.kind === "audio" && f.data && f.stored) this.evict(f);
      }
      for (let i = this.frames.length - 1; i >= keep && this.memoryBytes > limit; i--) {
        const f = this.frames[i];
        if (f.kind === "audio" && f.data && f.stored) this.evict(f);
      }
    }
    this.notePeak();
  }

  evict(f) {
    f.data = null;
    this.memoryBytes -= f.bytes;
  }

  /**
   * Read back from disk the bytes of queued audio frames from index `from` on that hold none,
   * as many (up to DISK_BATCH) as the memory window has room for, making room by trimming the
   * frames after them. Resolves to how many frames got their bytes or were given up as lost
   * (-1: the disk failed; read again later). A frame whose copy is gone from the disk (the
   * browser or the user cleared the site's storage) is lost; so, after READ_FAILURES_LOST
   * failed reads in a row, is every frame held only there, and the disk is no longer used.
   * Waiting for them would hold back all the audio after them, for good.
   *
   * Call it only for frames not sent on the current connection since its `welcome`: the
   * server has not applied them, so a lost one's number can be given to the next.
   */
  pageIn(from) {
    if (this.reading) return this.reading;
    const wanted = [];
    let need = 0;
    for (let i = from; i < this.frames.length && wanted.length < DISK_BATCH; i++) {
      const f = this.frames[i];
      if (f.kind !== "audio" || f.data) continue;
      if (need + f.bytes > this.memoryAudioBytes / 2 && wanted.length) break;
      need += f.bytes;
      wanted.push(f);
    }
    if (!wanted.length) return Promise.resolve(0);
    if (!this.audioReader) return Promise.resolve(this.loseAudio(wanted)); // the disk was given up
    this.trimMemory(need, from + 1);
    while (wanted.length && this.memoryBytes + need > this.memoryAudioBytes) need -= wanted.pop().bytes;
    if (!wanted.length) return Promise.resolve(0);
    const reader = this.audioReader;
    this.reading = (async () => {
      let records;
      try {
        records = await reader.read(wanted[0].order, wanted[wanted.length - 1].order);
      } catch (exc) {
        console.warn("astra: saved audio unreadable", exc);
        this.readFailures += 1;
        if (this.readFailures < READ_FAILURES_LOST) return -1;
        // The disk stays unreadable: memory only from now on; what only it held is lost.
        this.audioStore = null;
        this.audioReader = null;
        return this.loseAudio(wanted);
      } finally {
        this.reading = null;
      }
      this.readFailures = 0;
      const byOrder = new Map();
      for (const r of records) if (r && r.data instanceof Uint8Array) byOrder.set(r.order, r.data);
      let n = 0;
      const lost = [];
      for (const f of wanted) {
        const data = byOrder.get(f.order);
        if (f.gone || f.data) continue;
        if (!data || data.length !== f.bytes) {
          lost.push(f);
          continue;
        }
        if (this.memoryBytes + f.bytes > this.memoryAudioBytes) break;
        f.data = data;
        this.memoryBytes += f.bytes;
        n += 1;
      }
      this.notePeak();
      return n + this.loseAudio(lost);
    })();
    return this.reading;
  }

  /**
   * Audio frames whose bytes cannot be had again leave the queue, counted (the page says so).
   * The frames after the first of them take its number on, as after a refused frame (those
   * already sent on an earlier connection are answered SEQ_GAP and renumbered). Returns how
   * many left.
   */
  loseAudio(frames) {
    const lost = frames.filter((f) => !f.gone && !f.data);
    if (!lost.length) return 0;
    const gone = new Set(lost);
    const index = this.frames.indexOf(lost[0]);
    const base = lost[0].seq;
    this.frames = this.frames.filter((f) => !gone.has(f));
    for (const f of lost) this.lostAudioBytes += f.bytes;
    const rest = this.frames.slice(index);
    if (rest.every((f) => !f.sent)) {
      rest.forEach((f, i) => {
        f.seq = base + i;
      });
      this.next = base + rest.length;
    }
    this.leave(lost);
    this.forget(lost);
    this.save();
    return lost.length;
  }

  /** Queue one utterance; returns its frame ({seq, text}) to send now if connected. */
  add(text) {
    const frame = this.push({ seq: this.next, kind: "text", text, sent: false });
    this.save();
    return frame;
  }

  /**
   * Queue a human correction: kind "edit" ({block_id, base_version, changes}), "insert"
   * ({after_block_id, block}) or "delete" ({block_id, base_version}). Returns its frame, which
   * carries a stable `ref` (its seq may change before it is applied).
   */
  addCorrection(kind, fields) {
    if (!CORRECTIONS.has(kind)) throw new Error(`not a correction: ${kind}`);
    const frame = this.push({ ...fields, seq: this.next, kind, ref: newRef(), sent: false });
    this.save();
    return frame;
  }

  /** Queue a chunk of audio (bytes: Uint8Array). Returns its frame. */
  addAudio(data, format = "pcm16") {
    const bytes = data.length;
    const frame = this.push({ seq: this.next, kind: "audio", format, data, bytes, sent: false });
    this.audioBytes += bytes;
    this.memoryBytes += bytes;
    this.unstoredBytes += bytes;
    this.enforceBudget();
    this.trimMemory();
    this.saveSoon();
    this.writeSoon();
    return frame;
  }

  /** Queue the end of a recording (pause or stop). */
  addAudioEnd() {
    const frame = this.push({ seq: this.next, kind: "audio_end", sent: false });
    this.save();
    return frame;
  }

  /**
   * Keep unacked audio under the bound: drop the oldest chunks never sent (the server cannot
   * have them) and renumber the unsent frames after them. Frames go out in order, so the sent
   * ones are a prefix; the renumbered tail holds only unsent frames.
   */
  enforceBudget() {
    const bound = this.audioBound;
    if (this.audioBytes <= bound) return;
    const firstUnsent = this.frames.findIndex((f) => !f.sent);
    if (firstUnsent < 0) return;
    for (let i = firstUnsent; i < this.frames.length; i++) if (this.frames[i].sent) return;
    const base = this.frames[firstUnsent].seq;
    const kept = [];
    const dropped = [];
    const tail = this.frames.length - 1;
    let over = this.audioBytes - bound;
    for (let i = firstUnsent; i < this.frames.length; i++) {
      const f = this.frames[i];
      if (over > 0 && f.kind === "audio" && i < tail) {
        over -= f.bytes;
        this.droppedAudioBytes += f.bytes;
        dropped.push(f);
        continue;
      }
      kept.push(f);
    }
    kept.forEach((f, i) => {
      f.seq = base + i;
    });
    this.frames = this.frames.slice(0, firstUnsent).concat(kept);
    this.next = base + kept.length;
    this.leave(dropped);
    this.forget(dropped);
    this.save();
  }

  /** Record that frames went out on a connection (only those can have been applied). */
  markSent(frames) {
    let persist = false;
    for (const f of frames) {
      if (!f.sent) {
        f.sent = true;
        if (PERSISTED.has(f.kind)) persist = true;
        else if (f.stored) this.writeSoon(); // the copy on disk says "never sent": rewrite it
      }
    }
    if (persist) this.save();
  }

  /**
   * The server applied everything up to `lastApplied`: drop what it has, renumber what
   * follows from there. A frame never sent cannot be one of those the server applied (the
   * counter was behind, e.g. storage was lost): it is kept and renumbered, not dropped.
   */
  resyncFrom(lastApplied) {
    const applied = this.frames.filter((f) => f.seq <= lastApplied && f.sent);
    this.settled.push(...applied);
    this.frames = this.frames.filter((f) => f.seq > lastApplied || !f.sent);
    this.frames.forEach((f, i) => {
      f.seq = lastApplied + 1 + i;
    });
    this.next = lastApplied + 1 + this.frames.length;
    this.leave(applied);
    this.forget(applied); // also rewrites the renumbered copies
    this.save();
  }

  /** The frames found applied without an ack of their own since the last call (then forgotten). */
  takeSettled() {
    const settled = this.settled;
    this.settled = [];
    return settled;
  }

  /** After `welcome`: drop what the server has, return the rest to resend in order. */
  welcome(lastSeq) {
    this.gapHandledAt = null;
    this.resyncFrom(Math.max(0, Number(lastSeq) || 0));
    return this.frames.slice();
  }

  /** An ack for `seq`: it and everything before it are durable. Returns the frames acked. */
  ack(seq) {
    this.gapHandledAt = null;
    let n = 0;
    let persist = false;
    while (n < this.frames.length && this.frames[n].seq <= seq) {
      if (this.frames[n].kind !== "audio") persist = true;
      n += 1;
    }
    if (!n) return [];
    const acked = this.frames.splice(0, n);
    this.leave(acked);
    this.forget(acked);
    if (persist) this.save();
    return acked;
  }

  /**
   * An error answering frame `seq`. Returns {dropped: frame | null, resend: frames[]}:
   * terminal codes drop the frame (the caller shows it to the user so nothing is lost
   * silently); SEQ_GAP renumbers from `details.expected` and returns the frames to resend.
   */
  error(seq, code, details) {
    if (code === "SEQ_GAP") {
      const expected = Number(details && details.expected);
      if (!Number.isSafeInteger(expected) || expected < 1) return { dropped: null, resend: [] };
      // Frames sent before our resend all report the same gap: answer it once.
      if (this.gapHandledAt === expected) return { dropped: null, resend: [] };
      this.gapHandledAt = expected;
      this.resyncFrom(expected - 1);
      return { dropped: null, resend: this.frames.slice() };
    }
    this.gapHandledAt = null;
    if (SEND_AGAIN_CODES.has(code)) {
      // Sent again a moment later (`later`), with the frames after it: those already sent are
      // answered SEQ_GAP (the refused frame did not use its seq), gaps set aside here (as
      // handled) so that they are not sent again at once, and twice.
      const index = this.frames.findIndex((f) => f.seq === seq);
      if (index < 0) return { dropped: null, resend: [] };
      this.gapHandledAt = seq;
      return { dropped: null, resend: this.frames.slice(index), later: true };
    }
    if (!TERMINAL_CODES.has(code)) return { dropped: null, resend: [] };
    const index = this.frames.findIndex((f) => f.seq === seq);
    if (index < 0) return { dropped: null, resend: [] };
    const [dropped] = this.frames.splice(index, 1);
    this.leave([dropped]);
    const isAudio = (f) => f.kind === "audio" || f.kind === "audio_end";
    let resend = [];
    if (isAudio(dropped) && AUDIO_REFUSED_FOR_ALL.has(code)) {
      // The queued audio after it would be refused alike: it goes too, and what is left (text,
      // corrections) takes the numbers from the refused frame's on and is sent again.
      const refusedToo = this.frames.slice(index).filter(isAudio);
      this.leave(refusedToo);
      this.refusedAudio += refusedToo.length;
      for (const f of [dropped, ...refusedToo]) this.refusedAudioBytes += f.bytes || 0;
      const kept = this.frames.slice(index).filter((f) => !isAudio(f));
      kept.forEach((f, i) => {
        f.seq = dropped.seq + i;
      });
      this.frames = this.frames.slice(0, index).concat(kept);
      this.next = dropped.seq + kept.length;
      this.gapHandledAt = dropped.seq; // the gaps the dropped frames are answered with: handled
      resend = kept.filter((f) => f.sent);
      this.forget([dropped, ...refusedToo]);
      this.save();
      return { dropped, resend };
    }
    // The refused frame did not use up its seq: the frames after it, if none has gone out yet,
    // take the numbers down by one (frames already sent are answered SEQ_GAP and renumbered).
    const rest = this.frames.slice(index);
    if (rest.every((f) => !f.sent)) {
      rest.forEach((f, i) => {
        f.seq = dropped.seq + i;
      });
      this.next = dropped.seq + rest.length;
    }
    this.forget([dropped]);
    this.save();
    return { dropped, resend };
  }

  /** Remove every queued frame (e.g. the session closed); returns them. */
  drain() {
    const frames = this.frames;
    this.frames = [];
    this.leave(frames);
    this.forget(frames);
    this.save();
    return frames;
  }
}
