// The client's numbered text frames (protocol.md, `text` and "Resume, in short").
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

/** Errors after which a frame can never be applied: it leaves the queue (and is reported). */
export const TERMINAL_CODES = new Set(["SESSION_CLOSED", "FORBIDDEN", "INVALID_INPUT", "INVALID_FIELD"]);

export class Outbox {
  /**
   * store: {load(): {next, frames} | null, save({next, frames}): void} — persistence per
   * session and client id (the counter must survive reloads: seq is per client id, forever).
   */
  constructor(store) {
    this.store = store;
    const saved = store.load();
    this.next = saved && Number.isSafeInteger(saved.next) && saved.next >= 1 ? saved.next : 1;
    this.frames = [];
    if (saved && Array.isArray(saved.frames)) {
      for (const f of saved.frames) {
        if (f && Number.isSafeInteger(f.seq) && f.seq >= 1 && typeof f.text === "string") {
          this.frames.push({ seq: f.seq, text: f.text, sent: f.sent === true });
        }
      }
      this.frames.sort((a, b) => a.seq - b.seq);
    }
    if (this.frames.length) this.next = Math.max(this.next, this.frames[this.frames.length - 1].seq + 1);
    this.gapHandledAt = null; // `expected` of the SEQ_GAP already answered by a resend
  }

  get pending() {
    return this.frames.length;
  }

  save() {
    this.store.save({ next: this.next, frames: this.frames });
  }

  /** Queue one utterance; returns its frame ({seq, text}) to send now if connected. */
  add(text) {
    const frame = { seq: this.next, text, sent: false };
    this.next += 1;
    this.frames.push(frame);
    this.save();
    return frame;
  }

  /** Record that frames went out on a connection (only those can have been applied). */
  markSent(frames) {
    let changed = false;
    for (const f of frames) {
      if (!f.sent) {
        f.sent = true;
        changed = true;
      }
    }
    if (changed) this.save();
  }

  /**
   * The server applied everything up to `lastApplied`: drop what it has, renumber what
   * follows from there. A frame never sent cannot be one of those the server applied (the
   * counter was behind, e.g. storage was lost): it is kept and renumbered, not dropped.
   */
  resyncFrom(lastApplied) {
    this.frames = this.frames.filter((f) => f.seq > lastApplied || !f.sent);
    this.frames.forEach((f, i) => {
      f.seq = lastApplied + 1 + i;
    });
    this.next = lastApplied + 1 + this.frames.length;
    this.save();
  }

  /** After `welcome`: drop what the server has, return the rest to resend in order. */
  welcome(lastSeq) {
    this.gapHandledAt = null;
    this.resyncFrom(Math.max(0, Number(lastSeq) || 0));
    return this.frames.slice();
  }

  /** An ack for `seq`: it and everything before it are durable. */
  ack(seq) {
    this.gapHandledAt = null;
    const before = this.frames.length;
    this.frames = this.frames.filter((f) => f.seq > seq);
    if (this.frames.length !== before) this.save();
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
    if (!TERMINAL_CODES.has(code)) return { dropped: null, resend: [] };
    const index = this.frames.findIndex((f) => f.seq === seq);
    if (index < 0) return { dropped: null, resend: [] };
    const [dropped] = this.frames.splice(index, 1);
    this.save();
    return { dropped, resend: [] };
  }

  /** Remove every queued frame (e.g. the session closed); returns them. */
  drain() {
    const frames = this.frames;
    this.frames = [];
    this.save();
    return frames;
  }
}
