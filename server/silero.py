"""The Silero VAD (v6, the model faster-whisper ships) computed with numpy, many streams per call.

Scoring is the server's largest CPU cost per second of live audio. onnxruntime runs this export
one stream per call (its recurrent state is ``[1, 1, 128]``) and its convolutions one 32 ms window
at a time: ~75 µs a window in the live 4-window cells on a 2-core EPYC. Here the windows of every
stream in a call go through the encoder together, as a few large matrix products, and the LSTM
steps all streams at once: ~24 µs a window with 50 streams' cells per call, the same
probabilities to ~1e-5 (``tests/test_silero.py`` holds this against onnxruntime on the same file).

The model is read from faster-whisper's ONNX file (pinned with it), its weights taken out with
protobuf's schema-less reader (checked by name and shape at load; the results are checked
against onnxruntime in the tests). The graph:

* a Hann-windowed 256-point DFT (stride 128) of the 64 + 512 samples reflect-padded by 128 on
  each side, as magnitudes, of which frames 1-4 are kept (they reach 64 samples into the right
  padding and not into the left): 129 bins x 4;
* four 1-D convolutions (kernel 3, padding 1) with ReLU: 129→128 (stride 1), →64 (stride 2),
  →64 (stride 2), →128 (stride 1), which leave one 128-vector per window;
* an LSTM (hidden 128, gates in ONNX's i, o, f, c order) stepping once per window, ReLU, a
  128→1 projection and a sigmoid: the speech probability.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from google.protobuf import empty_pb2, unknown_fields
from google.protobuf.message import DecodeError

WINDOW = 512
"""Samples per scored window (32 ms at 16 kHz)."""
CONTEXT = 64
"""Samples of the previous window the model sees in front of each window."""
HIDDEN = 128
ENCODE_WINDOWS = 512
"""Windows encoded per pass: products large enough to run at full speed (~200 windows do), and a
backlog's frames and spectra are not all in memory at once."""

Floats = npt.NDArray[np.float32]
VadState = tuple[Floats, Floats, Floats]
"""(h, c, context): the recurrent state after a call and the last CONTEXT samples it scored."""

_SHAPES = {
    "encoder.feature_extractor.forward_basis_buffer": (258, 1, 256),
    "encoder.conv_layers.0.weight": (128, 129, 3),
    "encoder.conv_layers.0.bias": (128,),
    "encoder.conv_layers.1.weight": (64, 128, 3),
    "encoder.conv_layers.1.bias": (64,),
    "encoder.conv_layers.2.weight": (64, 64, 3),
    "encoder.conv_layers.2.bias": (64,),
    "encoder.conv_layers.3.weight": (128, 64, 3),
    "encoder.conv_layers.3.bias": (128,),
    "onnx::LSTM_209": (1, 4 * HIDDEN, HIDDEN),
    "onnx::LSTM_210": (1, 4 * HIDDEN, HIDDEN),
    "onnx::LSTM_211": (1, 8 * HIDDEN),
    "decoder.conv1d.weight": (1, HIDDEN, 1),
    "decoder.conv1d.bias": (1,),
}
_FLOAT = 1  # onnx.TensorProto.FLOAT


def _fields(message: bytes) -> list[tuple[int, object]]:
    """A protobuf message's (field number, value) pairs, read without its schema."""
    parsed = empty_pb2.Empty()
    try:
        parsed.ParseFromString(message)
    except DecodeError as exc:
        raise ValueError(f"not an ONNX model: {exc}") from None
    return [(field.field_number, field.data) for field in unknown_fields.UnknownFieldSet(parsed)]


def read_weights(path: str) -> dict[str, Floats]:
    """The float initializers of an ONNX model file this module knows, by name, checked by shape.

    ONNX field numbers: ModelProto.graph 7, GraphProto.initializer 5; TensorProto.dims 1,
    data_type 2, name 8, raw_data 9.
    """
    with open(path, "rb") as f:
        model = f.read()
    graphs = [value for number, value in _fields(model) if number == 7]
    if len(graphs) != 1 or not isinstance(graphs[0], bytes):
        raise ValueError(f"{path}: not an ONNX model (no graph)")
    weights: dict[str, Floats] = {}
    for number, tensor in _fields(graphs[0]):
        if number != 5 or not isinstance(tensor, bytes):
            continue
        fields = _fields(tensor)
        name = next((v for n, v in fields if n == 8), b"")
        if not isinstance(name, bytes) or name.decode() not in _SHAPES:
            continue
        dims = tuple(v for n, v in fields if n == 1 and isinstance(v, int))
        kind = next((v for n, v in fields if n == 2), None)
        raw = next((v for n, v in fields if n == 9), None)
        if kind != _FLOAT or not isinstance(raw, bytes):
            raise ValueError(f"{path}: {name.decode()} is not stored as raw float32")
        weights[name.decode()] = np.frombuffer(raw, dtype="<f4").reshape(dims)
    for name, shape in _SHAPES.items():
        if name not in weights or weights[name].shape != shape:
            found = weights[name].shape if name in weights else "missing"
            raise ValueError(f"{path}: not the Silero v6 graph this code computes ({name}: {found})")
    return weights


def bundled_model() -> str:
    """The Silero model file faster-whisper ships, found without importing faster-whisper: that
    would load CTranslate2, PyAV and tokenizers too (~29 MB more RSS in the VAD child)."""
    import importlib.util

    spec = importlib.util.find_spec("faster_whisper")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("faster-whisper is not installed: it ships the Silero VAD model")
    return os.path.join(next(iter(spec.submodule_search_locations)), "assets", "silero_vad_v6.onnx")


def _sigmoid(x: Floats) -> Floats:
    """In place; tanh's form does not overflow for large negative x as exp(-x) does."""
    x *= 0.5
    np.tanh(x, out=x)
    x *= 0.5
    x += 0.5
    return x


def _as_columns(weight: Floats) -> Floats:
    """A Conv1d weight (out, in, k) as the matrix (k * in, out) for time-major patches."""
    return np.ascontiguousarray(weight.transpose(2, 1, 0).reshape(-1, weight.shape[0]))


class Silero:
    """``score([(windows, state), ...])``: speech probabilities for many streams in one call.

    ``windows``: float32 ``(n, 512)`` of one stream, in order; ``state``: None at the start of a
    stream, else what the previous call on that stream returned.
    """

    def __init__(self, model_path: str | None = None) -> None:
        self.path = model_path or bundled_model()
        w = read_weights(self.path)
        self._dft = np.ascontiguousarray(w["encoder.feature_extractor.forward_basis_buffer"][:, 0, :].T)
        self._conv = [
            (_as_columns(w[f"encoder.conv_layers.{i}.weight"]), w[f"encoder.conv_layers.{i}.bias"].copy())
            for i in range(4)
        ]
        self._w_in = np.ascontiguousarray(w["onnx::LSTM_209"][0].T)  # (128, 512)
        self._w_rec = np.ascontiguousarray(w["onnx::LSTM_210"][0].T)
        bias = w["onnx::LSTM_211"][0]
        self._b = (bias[: 4 * HIDDEN] + bias[4 * HIDDEN :]).astype(np.float32)
        self._w_out = w["decoder.conv1d.weight"][0, :, 0].copy()
        self._b_out = np.float32(w["decoder.conv1d.bias"][0])

    def encode(self, x: Floats) -> Floats:
        """``(n, 64 + 512)`` samples → ``(n, 128)``: the LSTM's input for each window."""
        n = x.shape[0]
        padded = np.empty((n, CONTEXT + WINDOW + 64), dtype=np.float32)
        padded[:, : CONTEXT + WINDOW] = x
        padded[:, CONTEXT + WINDOW :] = x[:, -2 : -2 - 64 : -1]  # reflect, as ONNX Pad does
        # Frames 1-4 of the model's (left-padded too) signal start at 0, 128, 256 and 384 here.
        frames = np.lib.stride_tricks.as_strided(
            padded, shape=(n, 4, 256), strides=(padded.strides[0], 128 * 4, 4), writeable=False
        ).reshape(n * 4, 256)
        spectrum = frames @ self._dft
        magnitude = np.zeros((n, 6, 129), dtype=np.float32)  # a zero frame either side: padding 1
        real, imag = spectrum[:, :129], spectrum[:, 129:]
        magnitude[:, 1:5] = np.sqrt(real * real + imag * imag).reshape(n, 4, 129)
        y = self._conv1d(magnitude, 0, frames_out=4, stride=1)
        y = self._conv1d(self._pad(y), 1, frames_out=2, stride=2)
        y = self._conv1d(self._pad(y), 2, frames_out=1, stride=2)
        return self._conv1d(self._pad(y), 3, frames_out=1, stride=1).reshape(n, HIDDEN)

    @staticmethod
    def _pad(y: Floats) -> Floats:
        out = np.zeros((y.shape[0], y.shape[1] + 2, y.shape[2]), dtype=np.float32)
        out[:, 1:-1] = y
        return out

    def _conv1d(self, padded: Floats, layer: int, frames_out: int, stride: int) -> Floats:
        """Kernel-3 convolution and ReLU over time-major ``(n, frames + 2, channels)``: each
        output frame's patch is three consecutive rows, contiguous in memory."""
        n, _, channels = padded.shape
        patches = np.lib.stride_tricks.as_strided(
            padded,
            shape=(n, frames_out, 3 * channels),
            strides=(padded.strides[0], stride * padded.strides[1], padded.strides[2]),
            writeable=False,
        ).reshape(n * frames_out, 3 * channels)
        weight, bias = self._conv[layer]
        y = patches @ weight
        y += bias
        np.maximum(y, 0, out=y)
        return y.reshape(n, frames_out, -1)

    def score(
        self, streams: Sequence[tuple[Floats, VadState | None]]
    ) -> list[tuple[Floats, VadState | None]]:
        counts = [windows.shape[0] for windows, _ in streams]
        for windows, _ in streams:
            if windows.ndim != 2 or windows.shape[1] != WINDOW:
                raise ValueError(f"VAD windows must be (n, {WINDOW}), got {windows.shape}")
        total = sum(counts)
        x = np.empty((total, CONTEXT + WINDOW), dtype=np.float32)
        h0 = np.zeros((len(streams), HIDDEN), dtype=np.float32)
        c0 = np.zeros((len(streams), HIDDEN), dtype=np.float32)
        offsets = np.zeros(len(streams) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        for i, (windows, state) in enumerate(streams):
            rows = x[offsets[i] : offsets[i + 1]]
            rows[:, CONTEXT:] = windows
            if windows.shape[0]:
                rows[1:, :CONTEXT] = windows[:-1, -CONTEXT:]
                rows[0, :CONTEXT] = 0.0 if state is None else state[2]
            if state is not None:
                h0[i], c0[i] = state[0].reshape(-1), state[1].reshape(-1)
        encoded = np.empty((total, HIDDEN), dtype=np.float32)
        for start in range(0, total, ENCODE_WINDOWS):
            encoded[start : start + ENCODE_WINDOWS] = self.encode(x[start : start + ENCODE_WINDOWS])
        probs, h, c = self._decode(encoded, offsets, h0, c0)
        out: list[tuple[Floats, VadState | None]] = []
        for i, (windows, state) in enumerate(streams):
            if not windows.shape[0]:  # nothing scored: the state is as it was
                out.append((probs[:0], state))
                continue
            h_i, c_i = h[i].reshape(1, 1, HIDDEN).copy(), c[i].reshape(1, 1, HIDDEN).copy()
            out.append((probs[offsets[i] : offsets[i + 1]], (h_i, c_i, windows[-1, -CONTEXT:].copy())))
        return out

    def _decode(
        self, encoded: Floats, offsets: npt.NDArray[np.int64], h: Floats, c: Floats
    ) -> tuple[Floats, Floats, Floats]:
        """The LSTM over every stream at once: step t advances the streams with more than t
        windows (taken longest first, so they are always the first rows)."""
        counts = np.diff(offsets)
        order = np.argsort(-counts, kind="stable")
        sorted_counts = counts[order]
        steps = int(sorted_counts[0]) if sorted_counts.size else 0
        active = [int(np.count_nonzero(sorted_counts > t)) for t in range(steps)]
        # Rows of ``encoded`` in step order: step t holds the t-th window of each active stream.
        rows = np.concatenate([offsets[order[:k]] + t for t, k in enumerate(active)] or [offsets[:0]])
        gates_in = encoded[rows] @ self._w_in
        gates_in += self._b
        hs, cs = h[order], c[order]
        outputs = np.empty((rows.size, HIDDEN), dtype=np.float32)
        at = 0
        for k in active:
            g = gates_in[at : at + k]
            g += hs[:k] @ self._w_rec
            _sigmoid(g[:, : 3 * HIDDEN])
            i, o, f = g[:, :HIDDEN], g[:, HIDDEN : 2 * HIDDEN], g[:, 2 * HIDDEN : 3 * HIDDEN]
            candidate = np.tanh(g[:, 3 * HIDDEN :])
            cs[:k] *= f
            cs[:k] += i * candidate
            hs[:k] = o * np.tanh(cs[:k])
            outputs[at : at + k] = hs[:k]
            at += k
        np.maximum(outputs, 0, out=outputs)
        logits = outputs @ self._w_out
        logits += self._b_out
        probs = np.empty(rows.size, dtype=np.float32)
        probs[rows] = _sigmoid(logits)
        h_out, c_out = np.empty_like(hs), np.empty_like(cs)
        h_out[order], c_out[order] = hs, cs
        return probs, h_out, c_out
