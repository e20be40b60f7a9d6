// AudioWorklet processor "pcm16-downsampler": the microphone at the context's rate (usually
// 48 or 44.1 kHz) in, 16 kHz mono PCM16 little-endian out, in 100 ms chunks (1600 samples,
// 3200 bytes) posted to the page (protocol.md, `audio` with format "pcm16").
//
// Resampling is band-limited interpolation: every output sample is the input convolved with a
// Kaiser-windowed sinc low-pass centred on the output instant, which falls between input
// samples when the ratio is not an integer (44.1 kHz → 16 kHz is 2.75625). The cut-off is below
// the 8 kHz output Nyquist so nothing above it folds back into speech (over 80 dB down at
// 8 kHz and beyond; flat to about 6 kHz). The kernel is tabulated once and read with linear
// interpolation; the taps of each output sample are normalised to unit DC gain.
//
// Created with processorOptions {active: true} it records from the first render quantum.
// Messages from the page: {type: "start"} begins a fresh recording (no history from a previous
// one), {type: "flush"} emits what is buffered (the tail of the filter padded with silence and
// a final partial chunk) then answers {type: "flushed"} and stops emitting until the next start,
// {type: "close"} ends the processor. To the page: {type: "chunk", pcm: ArrayBuffer, samples,
// peak, rms} (pcm transferred) and {type: "flushed"}.

const OUT_RATE = 16000;
const CHUNK_SAMPLES = 1600; // 100 ms at 16 kHz
const ZERO_CROSSINGS = 16; // of the sinc on each side of the centre
const CUTOFF = 0.42; // of the lower of the two rates: 6.72 kHz for 16 kHz output
const KAISER_BETA = 8;
const TABLE_STEPS = 128; // kernel values per input sample

/** Modified Bessel function of the first kind, order 0 (power series; converges fast). */
function besselI0(x) {
  let sum = 1;
  let term = 1;
  const half = x / 2;
  for (let k = 1; k < 64; k++) {
    term *= (half / k) * (half / k);
    sum += term;
    if (term < sum * 1e-12) break;
  }
  return sum;
}

/** The low-pass kernel as a table of |distance| in input samples, and its half width. */
function buildKernel(inRate, outRate) {
  const fc = (CUTOFF * Math.min(inRate, outRate)) / inRate; // cycles per input sample
  const halfWidth = ZERO_CROSSINGS / (2 * fc); // input samples
  const size = Math.ceil(halfWidth * TABLE_STEPS) + 2;
  const table = new Float32Array(size + 1); // the last entries stay 0: outside the window
  const norm = besselI0(KAISER_BETA);
  for (let i = 0; i < size; i++) {
    const d = i / TABLE_STEPS;
    if (d > halfWidth) break;
    const r = d / halfWidth;
    const window = besselI0(KAISER_BETA * Math.sqrt(Math.max(0, 1 - r * r))) / norm;
    const arg = 2 * fc * d;
    const sinc = arg === 0 ? 1 : Math.sin(Math.PI * arg) / (Math.PI * arg);
    table[i] = 2 * fc * sinc * window;
  }
  return { table, halfWidth };
}

class Pcm16Downsampler extends AudioWorkletProcessor {
  constructor(options) {
    super();
    // `sampleRate` is the AudioWorkletGlobalScope's: the context's rate.
    this.ratio = sampleRate / OUT_RATE; // input samples per output sample
    const { table, halfWidth } = buildKernel(sampleRate, OUT_RATE);
    this.table = table;
    this.halfWidth = halfWidth;
    this.buf = new Float32Array(Math.ceil(2 * halfWidth) + 8192);
    // processorOptions.active: emit from the first render quantum, without waiting for a
    // "start" message (messages reach the processor asynchronously).
    const opts = (options && options.processorOptions) || {};
    this.active = opts.active === true;
    this.alive = true;
    this.reset();
    this.port.onmessage = (event) => this.command(event.data || {});
  }

  reset() {
    this.len = 0; // input samples held in buf
    this.t = 0; // position of the next output sample, in input samples from buf[0]
    this.newChunk();
  }

  newChunk() {
    this.chunk = new ArrayBuffer(CHUNK_SAMPLES * 2);
    this.view = new DataView(this.chunk);
    this.filled = 0;
    this.peak = 0;
    this.squares = 0;
  }

  command(msg) {
    switch (msg.type) {
      case "start":
        this.reset();
        this.active = true;
        break;
      case "flush":
        if (this.active) {
          // Silence after the last sample lets the filter produce the outputs it was waiting for.
          this.append(null, Math.ceil(this.halfWidth) + 1);
          this.produce();
          this.emit();
        }
        this.active = false;
        this.reset();
        this.port.postMessage({ type: "flushed" });
        break;
      case "close":
        this.active = false;
        this.alive = false;
        break;
      default:
        break;
    }
  }

  /** Add input samples (channels averaged to mono), or `count` zeros when channels is null. */
  append(channels, count) {
    if (this.len + count > this.buf.length) {
      const bigger = new Float32Array(Math.max(this.buf.length * 2, this.len + count));
      bigger.set(this.buf.subarray(0, this.len));
      this.buf = bigger;
    }
    const buf = this.buf;
    const at = this.len;
    if (!channels) {
      buf.fill(0, at, at + count);
    } else if (channels.length === 1) {
      buf.set(channels[0].subarray(0, count), at);
    } else {
      const scale = 1 / channels.length;
      for (let i = 0; i < count; i++) {
        let sum = 0;
        for (let c = 0; c < channels.length; c++) sum += channels[c][i];
        buf[at + i] = sum * scale;
      }
    }
    this.len += count;
  }

  /** Compute every output sample whose whole kernel support has arrived. */
  produce() {
    const { buf, table, halfWidth, ratio } = this;
    const steps = TABLE_STEPS;
    let t = this.t;
    while (Math.floor(t + halfWidth) < this.len) {
      const first = Math.max(0, Math.ceil(t - halfWidth));
      const last = Math.floor(t + halfWidth);
      let acc = 0;
      let weights = 0;
      for (let k = first; k <= last; k++) {
        const d = Math.abs(t - k) * steps;
        const i = d | 0;
        const w = table[i] + (table[i + 1] - table[i]) * (d - i);
        acc += buf[k] * w;
        weights += w;
      }
      this.push(weights > 0 ? acc / weights : 0);
      t += ratio;
    }
    // Drop the input no future output sample can reach.
    const keep = Math.max(0, Math.min(this.len, Math.ceil(t - halfWidth)));
    if (keep > 0) {
      buf.copyWithin(0, keep, this.len);
      this.len -= keep;
      t -= keep;
    }
    this.t = t;
  }

  push(sample) {
    const s = sample > 1 ? 1 : sample < -1 ? -1 : sample;
    const value = Math.round(s < 0 ? s * 32768 : s * 32767);
    this.view.setInt16(this.filled * 2, value, true); // little-endian, whatever the platform
    this.filled += 1;
    const a = s < 0 ? -s : s;
    if (a > this.peak) this.peak = a;
    this.squares += s * s;
    if (this.filled === CHUNK_SAMPLES) this.emit();
  }

  emit() {
    if (this.filled === 0) return;
    const samples = this.filled;
    const pcm = samples === CHUNK_SAMPLES ? this.chunk : this.chunk.slice(0, samples * 2);
    this.port.postMessage(
      { type: "chunk", pcm, samples, peak: this.peak, rms: Math.sqrt(this.squares / samples) },
      [pcm],
    );
    this.newChunk();
  }

  process(inputs) {
    const input = inputs[0];
    if (this.active && input && input.length && input[0].length) {
      this.append(input, input[0].length);
      this.produce();
    }
    return this.alive;
  }
}

registerProcessor("pcm16-downsampler", Pcm16Downsampler);
