// One session's WebSocket (protocol.md): hello/welcome, resume from the last applied event,
// numbered text, audio, audio_end and correction (edit/insert/delete) frames with acks and
// resends (outbox.js), presence frames (not numbered), and automatic reconnection with
// exponential backoff and jitter. It knows nothing about the page: it reports through callbacks.
//
// Numbered frames go out in the outbox's order, paced (`pump`): at most a window of them
// unanswered on the connection (the server's ingest window), and no faster than a token bucket
// a little under the server's `frame_rate` / `frame_burst` (welcome.limits), so a reconnect
// after an hour's outage sends its backlog without the server having to hold the socket back,
// and audio recorded meanwhile follows it. Audio the outbox keeps on disk only is paged in just
// ahead of being sent.
//
//   state: "connecting" (first attempt) | "online" (welcome received) | "reconnecting" |
//          "offline" (stopped, or a close code that must not be retried)
//   status: the server's own condition (protocol.md, `status`): `degraded` with a code (e.g.
//          STORE_UNAVAILABLE: unacked frames simply wait in the outbox) or `ok`; a new
//          connection starts `ok`.

import { decode, encode } from "./msgpack.js";
import { wireFrame } from "./outbox.js";

const SUBPROTOCOL = "astra.v1";
const BACKOFF_START = 500;
const BACKOFF_MAX = 10_000;
const PING_EVERY = 15_000;
const CONNECT_TIMEOUT = 15_000; // from opening the socket to welcome
const SILENCE_LIMIT = 45_000; // no frame at all for this long: the link is dead, reconnect
// A change refused with a "send it again" code (PLACE_CONTENDED) goes again 300–600 ms later.
const SEND_AGAIN_MS = 300;
/**
 * Close codes after which reconnecting cannot help (protocol.md, "Close codes"). Any other code
 * reconnects with backoff and resumes from the last event id: among them 4408 (idle timeout),
 * 4503 (slow consumer: the server gave up waiting for us to read) and 4500.
 */
const FINAL_CLOSES = new Set([1009, 4400, 4401, 4403, 4404, 4413]);
/** The session has all the connections it takes (4429): keep trying, but not soon. */
const BUSY_CLOSE = 4429;
const BUSY_ATTEMPT = 4; // backoff from 8 s (then the 10 s ceiling)
const CLIENT_RESTART = 4000; // our own close when we drop a connection to open a new one
/** What the server allows when its welcome does not say (protocol.md, "Limits"). */
const DEFAULT_LIMITS = { frame_rate: 100, frame_burst: 500, ingest_window: 64 };
const RATE_SHARE = 0.9; // of frame_rate for numbered frames: pings and presence take tokens too
const BURST_SHARE = 0.5; // of frame_burst
const PREFETCH = 100; // frames ahead of the next to send whose audio is paged in from disk
const PAGE_RETRY = 1000; // ms before reading the disk again after it failed

/** How fast numbered frames may go out: {rate (frames/s), burst, window (unanswered)}. */
export function pacing(limits) {
  const pick = (name) => {
    const v = limits && Number(limits[name]);
    return Number.isFinite(v) && v > 0 ? v : DEFAULT_LIMITS[name];
  };
  const burst = Math.max(1, Math.floor(pick("frame_burst") * BURST_SHARE));
  return {
    rate: pick("frame_rate") * RATE_SHARE,
    burst,
    window: Math.max(1, Math.min(burst, Math.floor(pick("ingest_window")))),
  };
}

export function streamUrl(sessionId, loc = window.location) {
  const scheme = loc.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${loc.host}/v1/orchestrator/session/${encodeURIComponent(sessionId)}/stream`;
}

/** Delay before reconnect attempt `n` (0-based): 0.5 s doubling to 10 s, half of it random. */
export function backoffDelay(n, random = Math.random) {
  const base = Math.min(BACKOFF_MAX, BACKOFF_START * 2 ** Math.min(n, 20));
  return Math.round(base / 2 + random() * (base / 2));
}

export class SessionConnection {
  /**
   * options: {sessionId, clientId, token, outbox, lastEventId: () => number,
   *           on: {state(state, info), welcome(msg), event(msg) -> bool, synced(msg),
   *                ack(msg, frames), settled(frames), error(msg, dropped), outbox(),
   *                presence(msg), status(msg), closed(code, reason, final)}}
   * `ack` gets the queued frames the ack covers; `settled` (optional) gets frames a welcome or a
   * SEQ_GAP showed were applied although their ack never arrived (a dropped connection).
   * `on.event` returns false when the event does not follow the last applied one: the
   * connection is then restarted to resume from the right place.
   */
  constructor({ sessionId, clientId, token, outbox, lastEventId, on }) {
    this.sessionId = sessionId;
    this.clientId = clientId;
    this.token = token;
    this.outbox = outbox;
    this.lastEventId = lastEventId;
    this.on = on;
    this.ws = null;
    this.state = "offline";
    this.attempt = 0;
    this.timer = null;
    this.pinger = null;
    this.connectTimer = null;
    this.lastHeard = 0;
    this.stopped = true;
    this.welcomed = false;
    this.everOnline = false;
    this.limits = null;
    this.pace = pacing(null);
    this.tokens = 0;
    this.tokensAt = 0;
    this.pumpTimer = null;
    this.sendAgainTimer = null; // a refused change to send again (SEND_AGAIN_MS)
    this.sentThrough = -Infinity; // the order of the last frame sent on this connection
    outbox.onWritten = () => this.pump(); // audio on disk now: it can be paged out and in
    this.degraded = null; // the last `status degraded` frame, until `status ok` or a new welcome
    this.onOnline = () => {
      if (this.state === "reconnecting" && this.timer !== null) this.reconnectNow();
    };
    // The browser lost its network: a socket may look open for a long while (until the ping
    // silence limit) while nothing gets through. Drop it now so frames wait in the outbox and
    // the page shows the truth; reconnecting follows the usual backoff (and `online`).
    this.onOffline = () => {
      if (this.stopped || !this.ws) return;
      this.drop(CLIENT_RESTART, "offline");
      this.closed(1006, "offline");
    };
  }

  setState(state, info = {}) {
    this.state = state;
    this.on.state(state, info);
  }

  start() {
    this.stopped = false;
    this.attempt = 0;
    window.addEventListener("online", this.onOnline);
    window.addEventListener("offline", this.onOffline);
    this.open();
  }

  /** Close for good (leaving the session, or a new token will make a new connection). */
  stop() {
    this.stopped = true;
    window.removeEventListener("online", this.onOnline);
    window.removeEventListener("offline", this.onOffline);
    this.clearTimers();
    this.drop(1000, "client leaving");
    this.setState("offline", { reason: "stopped" });
  }

  /** Use a new token and connect again at once (also after a final close such as 4401). */
  setToken(token) {
    this.token = token;
    if (this.stopped) this.start();
    else this.reconnectNow();
  }

  reconnectNow() {
    this.clearTimers();
    this.drop(CLIENT_RESTART, "restart");
    this.attempt = 0;
    this.open();
  }

  clearTimers() {
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.pinger !== null) clearInterval(this.pinger);
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    if (this.pumpTimer !== null) clearTimeout(this.pumpTimer);
    this.timer = null;
    this.pinger = null;
    this.connectTimer = null;
    this.pumpTimer = null;
  }

  /** Forget the current socket without waiting for its close handshake. */
  drop(code, reason) {
    const ws = this.ws;
    this.ws = null;
    this.welcomed = false;
    if (this.pumpTimer !== null) clearTimeout(this.pumpTimer);
    this.pumpTimer = null;
    // the next connection's welcome sends everything unacked again: no resend of this one's
    if (this.sendAgainTimer !== null) clearTimeout(this.sendAgainTimer);
    this.sendAgainTimer = null;
    if (!ws) return;
    ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
    try {
      ws.close(code, reason);
    } catch {
      // already closing
    }
  }

  open() {
    if (this.stopped) return;
    this.setState(this.everOnline ? "reconnecting" : "connecting");
    let ws;
    try {
      ws = new WebSocket(streamUrl(this.sessionId), [SUBPROTOCOL]);
    } catch (exc) {
      this.scheduleReconnect(1006, String(exc));
      return;
    }
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    this.welcomed = false;
    let opened = false;
    const abandon = (reason) => {
      if (ws !== this.ws) return;
      this.drop(CLIENT_RESTART, reason);
      this.closed(1006, reason);
    };
    // A handshake can hang (a server shutting down, a dead proxy): give up and retry.
    this.connectTimer = setTimeout(() => {
      if (!this.welcomed) abandon("no welcome in time");
    }, CONNECT_TIMEOUT);
    ws.onopen = () => {
      opened = true;
      this.lastHeard = Date.now();
      this.sendFrame({
        type: "hello",
        v: 1,
        token: this.token,
        client_id: this.clientId,
        last_event_id: this.lastEventId(),
      });
    };
    ws.onmessage = (message) => {
      if (ws !== this.ws) return;
      this.lastHeard = Date.now();
      this.receive(message.data);
    };
    ws.onclose = (event) => {
      if (ws !== this.ws) return;
      this.ws = null;
      this.welcomed = false;
      this.closed(event.code, event.reason);
    };
    ws.onerror = () => {
      // Browsers follow an error with a close event carrying the code; some runtimes do not
      // when the connection never opened, so a failed connect is handled here.
      if (!opened) abandon("connection failed");
    };
  }

  closed(code, reason) {
    if (this.pinger !== null) clearInterval(this.pinger);
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    if (this.pumpTimer !== null) clearTimeout(this.pumpTimer);
    if (this.sendAgainTimer !== null) clearTimeout(this.sendAgainTimer); // the welcome resends
    this.pinger = null;
    this.connectTimer = null;
    this.pumpTimer = null;
    this.sendAgainTimer = null;
    const final = this.stopped || FINAL_CLOSES.has(code);
    this.on.closed(code, reason, final);
    if (final) {
      this.stopped = true;
      window.removeEventListener("online", this.onOnline);
      window.removeEventListener("offline", this.onOffline);
      this.setState("offline", { code, reason });
      return;
    }
    if (code === BUSY_CLOSE) this.attempt = Math.max(this.attempt, BUSY_ATTEMPT);
    this.scheduleReconnect(code, reason);
  }

  scheduleReconnect(code, reason) {
    const delay = backoffDelay(this.attempt);
    this.attempt += 1;
    this.setState("reconnecting", { code, reason, delay });
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.open();
    }, delay);
  }

  sendFrame(message) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(encode(message));
    return true;
  }

  /** Queue an utterance; sent at once when online, otherwise after the next welcome. */
  sendText(text) {
    const frame = this.outbox.add(text);
    this.pump();
    this.on.outbox();
    return frame;
  }

  /** Queue a chunk of audio (Uint8Array; pcm16 unless said otherwise), same sequence as text. */
  sendAudio(data, format = "pcm16") {
    const frame = this.outbox.addAudio(data, format);
    this.pump();
    this.on.outbox();
    return frame;
  }

  /**
   * Queue a human correction ("edit", "insert" or "delete", protocol.md) on the same sequence;
   * sent at once when online. Returns its frame (with a stable `ref`).
   */
  sendCorrection(kind, fields) {
    const frame = this.outbox.addCorrection(kind, fields);
    this.pump();
    this.on.outbox();
    return frame;
  }

  /** Say which block this connection is editing (null: none). Not queued: false when offline. */
  sendPresence(blockId) {
    if (!this.welcomed) return false;
    return this.sendFrame({ type: "presence", block_id: blockId === undefined ? null : blockId });
  }

  /** The recording paused or stopped: the server closes the utterance in progress. */
  sendAudioEnd() {
    const frame = this.outbox.addAudioEnd();
    this.pump();
    this.on.outbox();
    return frame;
  }

  /** Frames the outbox renumbered to send again (a SEQ_GAP, a refusal): from the first on. */
  resend(frames) {
    if (frames.length) this.sentThrough = Math.min(this.sentThrough, frames[0].order - 1);
    this.pump();
  }

  /**
   * Send the queued frames not sent on this connection yet, in order, while fewer than the
   * window are unanswered and the token bucket has tokens (else again when an ack comes or the
   * bucket refills); audio held on disk only is paged in first (and the next ones ahead).
   */
  pump() {
    if (!this.welcomed || this.pumpTimer !== null) return;
    const frames = this.outbox.frames;
    let i = 0; // the frames before i went out on this connection and are not answered yet
    while (i < frames.length && frames[i].order <= this.sentThrough) i += 1;
    const now = performance.now();
    this.tokens = Math.min(this.pace.burst, this.tokens + ((now - this.tokensAt) / 1000) * this.pace.rate);
    this.tokensAt = now;
    const sent = [];
    let missing = -1;
    while (i < frames.length && i < this.pace.window) {
      if (this.tokens < 1) {
        const wait = Math.ceil(((1 - this.tokens) / this.pace.rate) * 1000);
        this.pumpTimer = setTimeout(() => {
          this.pumpTimer = null;
          this.pump();
        }, wait);
        break;
      }
      const frame = frames[i];
      if (frame.kind === "audio" && !frame.data) {
        missing = i;
        break;
      }
      if (!this.sendFrame(wireFrame(frame))) break; // closing: the next welcome resends
      this.tokens -= 1;
      this.sentThrough = frame.order;
      sent.push(frame);
      i += 1;
    }
    this.outbox.markSent(sent);
    if (missing < 0) {
      for (let j = i; j < frames.length && j < i + PREFETCH; j++) {
        if (frames[j].kind === "audio" && !frames[j].data) {
          missing = j;
          break;
        }
      }
    }
    if (missing >= 0 && !this.outbox.reading) {
      this.outbox.pageIn(missing).then((n) => {
        if (n > 0) this.pump();
        else if (n < 0 && this.pumpTimer === null && this.welcomed) {
          this.pumpTimer = setTimeout(() => {
            this.pumpTimer = null;
            this.pump();
          }, PAGE_RETRY);
        }
      });
    }
  }

  receive(data) {
    if (typeof data === "string") return; // the protocol is binary only
    let msg;
    try {
      msg = decode(new Uint8Array(data));
    } catch (exc) {
      console.warn("astra: undecodable frame", exc);
      return;
    }
    if (!msg || typeof msg !== "object" || typeof msg.type !== "string") return;
    switch (msg.type) {
      case "welcome":
        this.welcomed = true;
        this.everOnline = true;
        if (this.connectTimer !== null) clearTimeout(this.connectTimer);
        this.connectTimer = null;
        this.limits = msg.limits || null;
        this.pace = pacing(this.limits);
        this.tokens = this.pace.burst;
        this.tokensAt = performance.now();
        if (this.degraded) this.setServerStatus({ type: "status", state: "ok" }); // a new connection starts ok
        this.setState("online");
        this.on.welcome(msg);
        if (!this.welcomed) break; // the handler restarted the connection
        this.outbox.welcome(msg.last_seq);
        this.sentThrough = -Infinity; // nothing went out on this connection yet
        this.pump();
        this.reportSettled();
        this.on.outbox();
        this.startPinger();
        break;
      case "event":
        if (this.on.event(msg) === false) {
          console.warn(`astra: event ${msg.id} out of order; resuming from the log`);
          this.reconnectNow();
        }
        break;
      case "synced":
        this.attempt = 0; // a complete resume: the next failure starts the backoff again
        this.on.synced(msg);
        break;
      case "ack": {
        const acked = this.outbox.ack(msg.seq);
        this.on.ack(msg, acked || []);
        this.pump();
        this.on.outbox();
        break;
      }
      case "error": {
        let dropped = null;
        if (typeof msg.seq === "number") {
          const result = this.outbox.error(msg.seq, msg.code, msg.details);
          dropped = result.dropped;
          if (result.later) {
            // a refusal that asks for the same frame again: after a moment, with some spread so
            // that the colleagues contending for the same place do not all come back together
            // (the SEQ_GAPs of the frames sent after it are set aside by the outbox meanwhile)
            if (this.sendAgainTimer !== null) clearTimeout(this.sendAgainTimer);
            this.sendAgainTimer = setTimeout(() => {
              this.sendAgainTimer = null;
              this.resend(result.resend);
            }, SEND_AGAIN_MS * (1 + Math.random()));
          } else {
            this.resend(result.resend);
          }
          this.reportSettled();
          this.on.outbox();
        }
        this.on.error(msg, dropped);
        break;
      }
      case "presence":
        if (this.on.presence) this.on.presence(msg);
        break;
      case "status":
        this.setServerStatus(msg);
        break;
      case "pong":
      default:
        break;
    }
  }

  /** The server is degraded (its frames wait in the outbox, unacked) or fine again. */
  setServerStatus(msg) {
    this.degraded = msg.state === "degraded" ? msg : null;
    if (this.on.status) this.on.status(msg);
  }

  reportSettled() {
    const settled = this.outbox.takeSettled();
    if (settled.length && this.on.settled) this.on.settled(settled);
  }

  startPinger() {
    if (this.pinger !== null) clearInterval(this.pinger);
    let ref = 0;
    this.pinger = setInterval(() => {
      if (!this.ws) return;
      if (Date.now() - this.lastHeard > SILENCE_LIMIT) {
        const ws = this.ws;
        this.drop(CLIENT_RESTART, "silent");
        if (ws) this.closed(1006, "no answer from the server");
        return;
      }
      ref += 1;
      this.sendFrame({ type: "ping", ref });
    }, PING_EVERY);
  }
}
