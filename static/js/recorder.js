// The microphone: getUserMedia → MediaStreamSource → the "pcm16-downsampler" AudioWorklet
// (pcm-worklet.js), which posts 100 ms chunks of 16 kHz mono PCM16 little-endian. This module
// owns the capture and its states; it knows nothing about the socket or the page and reports
// through callbacks.
//
//   state: "idle" | "starting" | "recording" | "pausing" | "paused" | "stopping"
//
// Pause keeps the microphone open (the context is suspended); stop releases it. Both flush the
// worklet first, so the last fraction of a chunk is delivered before `ended` is reported.

const WORKLET_URL = new URL("./pcm-worklet.js", import.meta.url);
const FLUSH_TIMEOUT = 1500; // ms to wait for the worklet's last chunk
export const OUT_RATE = 16000;

export const CONSTRAINTS = {
  audio: {
    channelCount: 1,
    echoCancellation: false,
    noiseSuppression: false,
    autoGainControl: true,
  },
};

/** A Spanish explanation for a getUserMedia / AudioContext failure. */
export function describeCaptureError(exc) {
  const name = exc && exc.name;
  switch (name) {
    case "NotAllowedError":
    case "SecurityError":
      return "El navegador no permitió usar el micrófono. Autorícelo en la configuración del sitio.";
    case "NotFoundError":
    case "OverconstrainedError":
      return "No se encontró un micrófono.";
    case "NotReadableError":
    case "AbortError":
      return "El micrófono no está disponible (¿lo usa otra aplicación?).";
    case "NotSupportedError":
      return "Este navegador no puede grabar desde la consola (falta AudioWorklet o HTTPS).";
    default:
      return `No se pudo iniciar la grabación: ${(exc && exc.message) || exc}`;
  }
}

export function captureSupported() {
  return Boolean(
    globalThis.isSecureContext !== false &&
      navigator.mediaDevices &&
      typeof navigator.mediaDevices.getUserMedia === "function" &&
      typeof globalThis.AudioWorkletNode === "function",
  );
}

export class Recorder {
  /**
   * on: {chunk(bytes: Uint8Array, samples), level(peak, rms), state(state, info),
   *      ended(reason)} — `ended` after a pause or a stop has flushed the last chunk ("pause",
   *      "stop", or "lost" when the microphone went away); the caller sends `audio_end` then.
   */
  constructor(on) {
    this.on = on;
    this.state = "idle";
    this.context = null;
    this.stream = null;
    this.source = null;
    this.node = null;
    this.flushWaiter = null;
  }

  setState(state, info = {}) {
    this.state = state;
    this.on.state(state, info);
  }

  get active() {
    return this.state !== "idle";
  }

  /** Start (from idle) or resume (from paused). Throws with a Spanish message on failure. */
  async record() {
    if (this.state === "paused") {
      this.setState("starting");
      this.node.port.postMessage({ type: "start" });
      try {
        await this.context.resume();
      } catch (exc) {
        await this.release();
        this.setState("idle");
        throw new Error(describeCaptureError(exc));
      }
      this.setState("recording");
      return;
    }
    if (this.state !== "idle") return;
    if (!captureSupported()) {
      throw new Error(describeCaptureError({ name: "NotSupportedError" }));
    }
    this.setState("starting");
    try {
      // Created before any await, inside the click that asked for it (autoplay policies).
      this.context = new AudioContext({ latencyHint: "interactive" });
      this.stream = await navigator.mediaDevices.getUserMedia(CONSTRAINTS);
      await this.context.audioWorklet.addModule(WORKLET_URL.href);
      this.node = new AudioWorkletNode(this.context, "pcm16-downsampler", {
        numberOfInputs: 1,
        numberOfOutputs: 0,
        channelCount: 1,
        channelCountMode: "explicit",
        channelInterpretation: "speakers",
        processorOptions: { active: true },
      });
      this.node.port.onmessage = (event) => this.fromWorklet(event.data);
      this.source = this.context.createMediaStreamSource(this.stream);
      this.source.connect(this.node);
      for (const track of this.stream.getAudioTracks()) {
        track.addEventListener("ended", () => this.lost());
      }
      await this.context.resume();
    } catch (exc) {
      await this.release();
      this.setState("idle");
      throw new Error(describeCaptureError(exc));
    }
    this.setState("recording", { sampleRate: this.context.sampleRate });
  }

  /** Pause: flush, keep the microphone, suspend processing. */
  async pause() {
    if (this.state !== "recording") return;
    this.setState("pausing");
    await this.flush();
    try {
      await this.context.suspend();
    } catch {
      // a closed context cannot be suspended: nothing to do
    }
    this.on.level(0, 0);
    this.setState("paused");
    this.on.ended("pause");
  }

  /** Stop: flush if recording, release the microphone. */
  async stop(reason = "stop") {
    if (this.state === "pausing" || this.state === "starting") await this.waitFor(["paused", "recording"]);
    if (this.state === "idle" || this.state === "stopping") return;
    const wasRecording = this.state === "recording";
    this.setState("stopping");
    if (wasRecording) await this.flush();
    await this.release();
    this.on.level(0, 0);
    this.setState("idle", { reason });
    // A pause already ended the utterance in progress: only a recording stop ends one now.
    if (wasRecording) this.on.ended(reason);
  }

  lost() {
    if (this.state === "recording" || this.state === "paused" || this.state === "pausing") {
      this.stop("lost");
    }
  }

  /** Resolve once the state is one of `states` (or idle). */
  waitFor(states) {
    return new Promise((resolve) => {
      const check = () =>
        states.includes(this.state) || this.state === "idle" ? resolve() : setTimeout(check, 20);
      check();
    });
  }

  flush() {
    if (!this.node) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.flushWaiter = null;
        resolve();
      }, FLUSH_TIMEOUT);
      this.flushWaiter = () => {
        clearTimeout(timer);
        this.flushWaiter = null;
        resolve();
      };
      this.node.port.postMessage({ type: "flush" });
    });
  }

  fromWorklet(msg) {
    if (!msg || typeof msg !== "object") return;
    if (msg.type === "chunk" && msg.pcm instanceof ArrayBuffer) {
      // Chunks flushed while pausing or stopping still belong to the recording.
      if (this.state === "recording" || this.state === "pausing" || this.state === "stopping") {
        this.on.chunk(new Uint8Array(msg.pcm), msg.samples);
        this.on.level(msg.peak, msg.rms);
      }
    } else if (msg.type === "flushed" && this.flushWaiter) {
      this.flushWaiter();
    }
  }

  async release() {
    if (this.node) {
      this.node.port.postMessage({ type: "close" });
      this.node.port.onmessage = null;
      try {
        this.node.disconnect();
      } catch {
        // not connected
      }
    }
    if (this.source) {
      try {
        this.source.disconnect();
      } catch {
        // not connected
      }
    }
    if (this.stream) for (const track of this.stream.getTracks()) track.stop();
    if (this.context && this.context.state !== "closed") {
      try {
        await this.context.close();
      } catch {
        // already closing
      }
    }
    this.node = null;
    this.source = null;
    this.stream = null;
    this.context = null;
  }
}
