"""Voice-activity detection: the Silero VAD that faster-whisper bundles, scored as a stream.

faster-whisper's own wrapper restarts the recurrent state (and the 64-sample context each window
carries from the one before) at every call, which suits a whole file scored at once. A live stream
is scored a cell at a time, so here the state is handed back to the caller and passed in with the
next cell: scoring a stream cell by cell gives the very probabilities of scoring it in one call
(tested), and each window is scored once. The model file is the one faster-whisper ships (offline,
pinned with it); the ONNX session is created on first use and shared by every stream (onnxruntime
sessions are safe to run from several threads, and ``run`` releases the GIL).
"""

from __future__ import annotations

import importlib.util
import os
import threading
from typing import Any

import numpy as np
import numpy.typing as npt

WINDOW = 512
"""Samples per scored window (32 ms at 16 kHz)."""
CONTEXT = 64
"""Samples of the previous window the model sees in front of each window."""

VadState = tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32]]
"""(h, c, context): the recurrent state after a call and the last CONTEXT samples it scored."""


_STATE_FLOATS = 128 + 128 + CONTEXT


def pack_state(state: VadState | None) -> bytes | None:
    """A stream's state as bytes (to cross a process boundary)."""
    if state is None:
        return None
    h, c, context = state
    return np.concatenate([h.reshape(-1), c.reshape(-1), context]).astype(np.float32).tobytes()


def unpack_state(data: bytes | None) -> VadState | None:
    if data is None:
        return None
    flat = np.frombuffer(data, dtype=np.float32)
    if flat.size != _STATE_FLOATS:
        raise ValueError(f"a VAD state holds {_STATE_FLOATS} floats, got {flat.size}")
    return flat[:128].reshape(1, 1, 128).copy(), flat[128:256].reshape(1, 1, 128).copy(), flat[256:].copy()


def bundled_model() -> str:
    """The Silero model file faster-whisper ships, found without importing faster-whisper: that
    would load CTranslate2, PyAV and tokenizers too (~29 MB more RSS in the VAD child)."""
    spec = importlib.util.find_spec("faster_whisper")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("faster-whisper is not installed: it ships the Silero VAD model")
    return os.path.join(next(iter(spec.submodule_search_locations)), "assets", "silero_vad_v6.onnx")


class SileroVad:
    """Streaming Silero VAD: ``vad(audio, state) -> (one probability per window, state)``.

    ``audio``: float32 mono 16 kHz, a whole number of windows. ``state``: None at the start of a
    stream, else what the previous call on the same stream returned.
    """

    def __init__(self, model_path: str | None = None) -> None:
        self._path = model_path
        self._session: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._session is None:
                import onnxruntime

                options = onnxruntime.SessionOptions()
                options.inter_op_num_threads = 1  # one small recurrent model: threads only add waits
                options.intra_op_num_threads = 1
                options.log_severity_level = 4
                path = self._path or bundled_model()
                self._session = onnxruntime.InferenceSession(
                    path, sess_options=options, providers=["CPUExecutionProvider"]
                )
            return self._session

    def __call__(
        self, audio: npt.NDArray[np.float32], state: VadState | None
    ) -> tuple[npt.NDArray[np.float32], VadState]:
        session = self._session or self._load()
        if audio.ndim != 1 or audio.size % WINDOW:
            raise ValueError(f"VAD input must be 1-D and a multiple of {WINDOW} samples, got {audio.shape}")
        windows = audio.reshape(-1, WINDOW)
        if state is None:
            h = np.zeros((1, 1, 128), dtype=np.float32)
            c = np.zeros((1, 1, 128), dtype=np.float32)
            context = np.zeros(CONTEXT, dtype=np.float32)
        else:
            h, c, context = state
        batch = np.empty((windows.shape[0], CONTEXT + WINDOW), dtype=np.float32)
        batch[:, CONTEXT:] = windows
        batch[0, :CONTEXT] = context
        batch[1:, :CONTEXT] = windows[:-1, -CONTEXT:]
        probs, h, c = session.run(None, {"input": batch, "h": h, "c": c})
        return np.asarray(probs, dtype=np.float32).reshape(-1), (h, c, windows[-1, -CONTEXT:].copy())
