"""Voice-activity detection: the Silero VAD that faster-whisper bundles, scored as a stream.

faster-whisper's own wrapper restarts the recurrent state (and the 64-sample context each window
carries from the one before) at every call, which suits a whole file scored at once. A live stream
is scored a cell at a time, so here the state is handed back to the caller and passed in with the
next cell: scoring a stream cell by cell gives the very probabilities of scoring it in one call
(tested), and each window is scored once. The model is :mod:`server.silero` (the file
faster-whisper ships, computed with numpy); the VAD child scores many streams per call with it,
:class:`SileroVad` one stream in this process (the segmenter's tests, the benchmarks).
"""

from __future__ import annotations

import threading

import numpy as np
import numpy.typing as npt

from .silero import CONTEXT, WINDOW, Silero, VadState

__all__ = ["CONTEXT", "WINDOW", "SileroVad", "VadState", "pack_state", "unpack_state"]

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


class SileroVad:
    """Streaming Silero VAD: ``vad(audio, state) -> (one probability per window, state)``.

    ``audio``: float32 mono 16 kHz, a whole number of windows. ``state``: None at the start of a
    stream, else what the previous call on the same stream returned (empty audio returns it as
    it was). The model is loaded on first use and may be called from several threads.
    """

    def __init__(self, model_path: str | None = None) -> None:
        self._path = model_path
        self._model: Silero | None = None
        self._lock = threading.Lock()

    def _load(self) -> Silero:
        with self._lock:
            if self._model is None:
                self._model = Silero(self._path)
            return self._model

    def __call__(
        self, audio: npt.NDArray[np.float32], state: VadState | None
    ) -> tuple[npt.NDArray[np.float32], VadState | None]:
        model = self._model or self._load()
        if audio.ndim != 1 or audio.size % WINDOW:
            raise ValueError(f"VAD input must be 1-D and a multiple of {WINDOW} samples, got {audio.shape}")
        [(probs, new_state)] = model.score([(audio.reshape(-1, WINDOW), state)])
        return probs, new_state
