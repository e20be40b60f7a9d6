"""The numpy Silero (server/silero.py) against onnxruntime running the same model file."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from server.silero import CONTEXT, WINDOW, Silero, VadState, bundled_model, read_weights

AUDIO = Path(__file__).resolve().parent / "fixtures" / "audio"
TOLERANCE = 5e-5
"""Probabilities agree to ~1e-5 (float32 products summed in another order); 0.5 is the cut."""


@pytest.fixture(scope="module")
def model() -> Silero:
    return Silero()


@pytest.fixture(scope="module")
def windows() -> npt.NDArray[np.float32]:
    """sesion.wav (47 s of espeak-ng speech and pauses) as VAD windows."""
    with wave.open(str(AUDIO / "sesion.wav"), "rb") as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    audio = pcm.astype(np.float32) / np.float32(32768.0)
    return audio[: audio.size // WINDOW * WINDOW].reshape(-1, WINDOW)


class Reference:
    """onnxruntime on the same file, one stream per call, as faster-whisper runs it."""

    def __init__(self) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        providers = ["CPUExecutionProvider"]
        self.session = onnxruntime.InferenceSession(bundled_model(), options, providers=providers)

    def __call__(
        self, windows: npt.NDArray[np.float32], state: VadState | None
    ) -> tuple[npt.NDArray[np.float32], VadState]:
        zeros = np.zeros((1, 1, 128), dtype=np.float32)
        h, c, context = state if state is not None else (zeros, zeros, np.zeros(CONTEXT, dtype=np.float32))
        x = np.empty((len(windows), CONTEXT + WINDOW), dtype=np.float32)
        x[:, CONTEXT:] = windows
        x[0, :CONTEXT] = context
        x[1:, :CONTEXT] = windows[:-1, -CONTEXT:]
        probs, h, c = self.session.run(None, {"input": x, "h": h, "c": c})
        return np.asarray(probs).reshape(-1), (h, c, windows[-1, -CONTEXT:].copy())


@pytest.fixture(scope="module")
def reference() -> Reference:
    return Reference()


def test_one_stream_in_one_call_gives_onnxruntimes_probabilities(
    model: Silero, reference: Reference, windows: npt.NDArray[np.float32]
) -> None:
    expected, (h, c, _) = reference(windows, None)
    [(got, state)] = model.score([(windows, None)])
    assert state is not None
    assert got.shape == expected.shape == (len(windows),)
    assert np.abs(got - expected).max() < TOLERANCE
    # The LSTM's cell (c) is unbounded and sums 1,483 steps' rounding: 3.5e-4 measured.
    assert np.abs(state[0] - h).max() < TOLERANCE and np.abs(state[1] - c).max() < 2e-3
    assert (expected > 0.5).sum() > 400 and (expected < 0.1).sum() > 200  # speech and pauses both


def test_many_streams_of_different_lengths_carry_their_own_state(
    model: Silero, reference: Reference, windows: npt.NDArray[np.float32]
) -> None:
    """40 streams (from 1 to 300 windows, from random points of the file) scored together in
    one call and then continued in a second call with the states it returned: each stream gets
    what onnxruntime gives it alone, in one call."""
    rng = np.random.default_rng(3)
    spans = [(int(rng.integers(0, len(windows) - 340)), int(rng.integers(1, 300))) for _ in range(40)]
    first = model.score([(windows[a : a + n], None) for a, n in spans])
    states = [state for _, state in first]
    more = [windows[a + n : a + n + 37] for a, n in spans]
    second = model.score(list(zip(more, states, strict=True)))
    for (a, n), (p1, _), (p2, _) in zip(spans, first, second, strict=True):
        expected, _ = reference(windows[a : a + n + 37], None)
        assert np.abs(np.concatenate([p1, p2]) - expected).max() < TOLERANCE


def test_a_stream_with_no_windows_keeps_its_state(model: Silero, windows: npt.NDArray[np.float32]) -> None:
    [(_, state)] = model.score([(windows[:10], None)])
    [(probs, same), (other, _)] = model.score([(windows[:0], state), (windows[10:14], state)])
    assert probs.shape == (0,) and same is state and other.shape == (4,)
    assert model.score([]) == []


def test_windows_of_the_wrong_shape_are_refused(model: Silero) -> None:
    with pytest.raises(ValueError, match="windows must be"):
        model.score([(np.zeros((2, 256), dtype=np.float32), None)])


def test_a_model_file_of_another_graph_is_refused(tmp_path: Path) -> None:
    """Only the graph this code computes is read: a file that is not it fails at load, by name."""
    for content in (b"\x0a\x03abc", b"\xff\xff not protobuf"):  # no graph; not protobuf at all
        (tmp_path / "other.onnx").write_bytes(content)
        with pytest.raises(ValueError, match="not an ONNX model"):
            read_weights(str(tmp_path / "other.onnx"))
    (tmp_path / "empty.onnx").write_bytes(b"\x3a\x00")  # ModelProto.graph, empty
    with pytest.raises(ValueError, match=r"not the Silero v6 graph this code computes \(encoder"):
        read_weights(str(tmp_path / "empty.onnx"))
