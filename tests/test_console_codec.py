"""The console's msgpack codec (static/js/msgpack.js) against msgpack-python, through node."""

from __future__ import annotations

import base64
import json
import math
import shutil
import struct
import subprocess
from typing import Any

import msgpack

from tests.conftest import ROOT, TIME_UNIT, require

CODEC = ROOT / "static" / "js" / "msgpack.js"

# Reads {"codec": path, "ops": [...]} on stdin, writes one result per op as JSON on stdout.
# Values cross the boundary as hex msgpack, or as JSON with tags for what JSON cannot carry.
HARNESS = r"""
import { pathToFileURL } from "node:url";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const request = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const { encode, decode } = await import(pathToFileURL(request.codec).href);

const hex = (bytes) => Buffer.from(bytes).toString("hex");
const unhex = (text) => new Uint8Array(Buffer.from(text, "hex"));

function untag(value) {
  if (Array.isArray(value)) return value.map(untag);
  if (value === null || typeof value !== "object") return value;
  if ("$bytes" in value) return new Uint8Array(Buffer.from(value.$bytes, "base64"));
  if ("$bigint" in value) return BigInt(value.$bigint);
  if ("$float" in value) return Number(value.$float);
  if ("$undefined" in value) return undefined;
  if ("$map" in value) return new Map(value.$map.map(([k, v]) => [untag(k), untag(v)]));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, untag(v)]));
}

function kind(value) {
  if (value === null) return "null";
  if (value instanceof Uint8Array) return "Uint8Array";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

const results = request.ops.map((op) => {
  try {
    switch (op.op) {
      case "roundtrip": {
        const bytes = unhex(op.hex);
        const value = decode(op.as_buffer ? bytes.slice().buffer : bytes);
        return { hex: hex(encode(value)), kind: kind(value) };
      }
      case "encode":
        return { hex: hex(encode(untag(op.value))) };
      case "decode":
        return { hex: hex(encode(decode(unhex(op.hex)))) };
      default:
        return { error: "unknown op" };
    }
  } catch (exc) {
    return { error: String(exc && exc.message), name: exc && exc.name, is_error: exc instanceof Error };
  }
});
process.stdout.write(JSON.stringify(results));
"""

BIG_MAP = {f"k{i:05d}": i for i in range(65536)}

ROUNDTRIP: list[Any] = [
    None,
    True,
    False,
    0,
    1,
    127,
    128,
    255,
    256,
    65535,
    65536,
    2**31 - 1,
    2**31,
    2**32 - 1,
    2**32,
    2**53 - 1,
    2**53,
    2**53 + 1,
    2**63 - 1,
    2**64 - 1,
    -1,
    -32,
    -33,
    -128,
    -129,
    -32768,
    -32769,
    -(2**31),
    -(2**31) - 1,
    -(2**53) + 1,
    -(2**53) - 1,
    -(2**63),
    0.5,
    -1.25,
    math.pi,
    1e300,
    -1e-300,
    1712345678.123456,
    -0.0,
    "",
    "a",
    "x" * 31,
    "x" * 32,
    "x" * 255,
    "x" * 256,
    "x" * 65535,
    "x" * 65536,
    "sesión ñ 🎤",
    "ñ" * 200,
    b"",
    b"\x00\xff",
    bytes(range(256))[:255],
    bytes(256),
    bytes(65535),
    bytes(65536),
    [],
    list(range(15)),
    list(range(16)),
    ["a"] * 65535,
    [None] * 65536,
    {},
    {f"k{i}": i for i in range(15)},
    {f"k{i}": i for i in range(16)},
    BIG_MAP,
    {
        "type": "event",
        "id": 7,
        "kind": "block.added",
        "at": 1712345678.25,
        "actor": "demo",
        "data": {
            "block": {
                "block_id": "blk_x",
                "type": "TEMPLATE",
                "target_placeholder": "ZONE_DEBATE",
                "text": "El concejal Ramírez: «sesión ñ 🎤»",
                "structured_data": {"orador": "Ramírez", "votacion": {"si": 12, "no": -3}},
                "confidence": 0.93,
                "audio_metadata": None,
                "asset": {"sha256": b"\x01" * 32, "size": 2**40},
                "nested": [1, [2, [3, [4, {"deep": [True, False, None]}]]]],
            }
        },
    },
]


def strict_equal(a: Any, b: Any) -> bool:
    """Equal values of the same types (1 != 1.0, True != 1), NaN equal to NaN, -0.0 keeps its sign."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a):
            return math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, list):
        return len(a) == len(b) and all(strict_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(strict_equal(a[k], b[k]) for k in a)
    return bool(a == b)


def f32(value: float) -> float:
    """The double nearest to ``value`` as a float32 holds it."""
    result: float = struct.unpack(">f", struct.pack(">f", value))[0]
    return result


def unpack(data: bytes) -> Any:
    return msgpack.unpackb(data, raw=False, strict_map_key=False)


def run_node(ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run the harness once over all ops; the codec is imported as an ES module."""
    node = shutil.which("node")
    if node is None:
        require(False, "node")
    assert node is not None
    proc = subprocess.run(
        [node, "--input-type=module", "-e", HARNESS],
        input=json.dumps({"codec": str(CODEC), "ops": ops}).encode(),
        capture_output=True,
        timeout=60 * TIME_UNIT,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    results: list[dict[str, Any]] = json.loads(proc.stdout)
    assert len(results) == len(ops)
    return results


def test_python_encoded_values_round_trip_through_the_codec() -> None:
    """Node decodes msgpack-python's bytes and re-encodes them to the same bytes and values."""
    ops = [{"op": "roundtrip", "hex": msgpack.packb(v, use_bin_type=True).hex()} for v in ROUNDTRIP]
    results = run_node(ops)
    for value, op, result in zip(ROUNDTRIP, ops, results, strict=True):
        assert "error" not in result, (value if len(repr(value)) < 200 else type(value), result)
        back = unpack(bytes.fromhex(result["hex"]))
        assert strict_equal(back, value), repr(value)[:200]
        assert result["hex"] == op["hex"], repr(value)[:200]  # the same (smallest) encodings


def test_decoded_javascript_types() -> None:
    """Integers are Numbers up to 2^53 - 1 and BigInts beyond; bin is a Uint8Array; maps are objects."""
    cases = {
        2**53 - 1: "number",
        2**53 + 1: "bigint",
        -(2**53) + 1: "number",
        -(2**63): "bigint",
        2**31: "number",
        1.5: "number",
        b"\x00": "Uint8Array",
        "sesión": "string",
        None: "null",
        (1, 2): "array",
    }
    ops = [{"op": "roundtrip", "hex": msgpack.packb(v, use_bin_type=True).hex()} for v in cases]
    # The same value from an ArrayBuffer (the WebSocket's binaryType) rather than a Uint8Array.
    ops.append({"op": "roundtrip", "hex": msgpack.packb({"a": [1]}).hex(), "as_buffer": True})
    results = run_node(ops)
    assert [r["kind"] for r in results] == [*cases.values(), "object"]


def test_non_canonical_inputs_decode() -> None:
    """float32, oversized integer encodings and integer map keys are read as msgpack allows."""
    values: list[tuple[bytes, Any]] = [
        (msgpack.packb(1.5, use_single_float=True), 1.5),
        (msgpack.packb(0.1, use_single_float=True), f32(0.1)),
        (msgpack.packb([-2.5, 1e30], use_single_float=True), [-2.5, f32(1e30)]),
        (bytes.fromhex("cf0000000000000001"), 1),
        (bytes.fromhex("d3ffffffffffffffff"), -1),
        (bytes.fromhex("d2000000ff"), 255),
        (bytes.fromhex("d9") + bytes([3]) + b"abc", "abc"),
        (bytes.fromhex("dc0001c0"), [None]),
        (bytes.fromhex("de0001") + msgpack.packb("k") + b"\x01", {"k": 1}),
        (msgpack.packb({1: "uno", -2: "menos dos"}), {"1": "uno", "-2": "menos dos"}),
    ]
    results = run_node([{"op": "decode", "hex": data.hex()} for data, _ in values])
    for (data, expected), result in zip(values, results, strict=True):
        assert "error" not in result, (data, result)
        assert strict_equal(unpack(bytes.fromhex(result["hex"])), expected), (data, expected)


def tagged(value: Any) -> Any:
    """A JSON form of a Python value for the harness ($bytes, $bigint and $float tags)."""
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode()}
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value if abs(value) <= 2**53 - 1 else {"$bigint": str(value)}
    if isinstance(value, float):
        if math.isinf(value):
            return {"$float": "Infinity" if value > 0 else "-Infinity"}
        return value if math.isfinite(value) and value != int(value) else {"$float": repr(value)}
    if isinstance(value, list):
        return [tagged(v) for v in value]
    return {k: tagged(v) for k, v in value.items()}


ENCODE: list[Any] = [
    None,
    True,
    False,
    0,
    127,
    128,
    255,
    256,
    65535,
    65536,
    -32,
    -33,
    -128,
    -129,
    -32768,
    -32769,
    2**31,
    -(2**31) - 1,
    2**53 - 1,
    2**53 + 1,
    2**63 - 1,
    2**64 - 1,
    -(2**63),
    0.5,
    -1.25,
    1712345678.123456,
    float("inf"),
    float("-inf"),
    -0.0,
    "",
    "x" * 31,
    "x" * 32,
    "x" * 255,
    "x" * 256,
    "x" * 65535,
    "x" * 65536,
    "sesión ñ 🎤",
    b"",
    bytes(255),
    bytes(256),
    bytes(65535),
    bytes(65536),
    list(range(15)),
    list(range(16)),
    [0] * 65536,
    {f"k{i}": None for i in range(15)},
    {f"k{i}": None for i in range(16)},
    BIG_MAP,
    {"type": "hello", "v": 1, "token": "eyJ.x.y", "client_id": "c-1", "last_event_id": 0},
    {"type": "text", "seq": 2**40, "text": "Siendo las nueve — sesión ñ 🎤"},
    {"a": [1, {"b": [b"\x00\x01", {"c": -(2**63)}]}], "d": {}},
]


def test_values_encoded_by_the_codec_decode_in_python() -> None:
    """Node encodes values given as JSON; msgpack-python decodes them to the same values and bytes."""
    results = run_node([{"op": "encode", "value": tagged(v)} for v in ENCODE])
    for value, result in zip(ENCODE, results, strict=True):
        assert "error" not in result, (repr(value)[:200], result)
        data = bytes.fromhex(result["hex"])
        assert strict_equal(unpack(data), value), repr(value)[:200]
        assert data == msgpack.packb(value, use_bin_type=True), repr(value)[:200]


def test_javascript_only_values_encode_as_documented() -> None:
    """Whole Numbers encode as integers, NaN as float; undefined is nil in arrays, absent in objects."""
    values: list[tuple[Any, Any]] = [
        ({"$float": "2"}, 2),
        ({"$float": "NaN"}, float("nan")),
        ({"$float": str(2**60)}, 2**60),
        ({"$float": "1e300"}, 1e300),
        ([1, {"$undefined": True}], [1, None]),
        ({"a": {"$undefined": True}, "b": 1}, {"b": 1}),
        ({"$map": [["k", 1], [2, "dos"]]}, {"k": 1, 2: "dos"}),
    ]
    results = run_node([{"op": "encode", "value": v} for v, _ in values])
    for (value, expected), result in zip(values, results, strict=True):
        assert "error" not in result, (value, result)
        assert strict_equal(unpack(bytes.fromhex(result["hex"])), expected), (value, expected)


BAD_INPUT: list[tuple[bytes, str]] = [
    (b"", "truncated"),
    (b"\xcd\x01", "truncated"),
    (b"\xcf" + bytes(7), "truncated"),
    (b"\xcb\x00\x00", "truncated"),
    (b"\xa5abc", "truncated"),
    (b"\xda\x00", "truncated"),
    (b"\xc6\x00\x00\x01\x00" + bytes(10), "truncated"),
    (b"\x92\x01", "truncated"),
    (b"\xdd\xff\xff\xff\xff", "truncated"),
    (b"\x82\xa1a\x01", "truncated"),
    (b"\xdf\xff\xff\xff\xff\x00", "truncated"),
    (b"\xc1", "invalid"),
    (b"\x01\x02", "unexpected byte"),
    (b"\xa2\xc3\x28", "UTF-8"),
    (b"\xd4\x01\x00", "extension"),
    (b"\xc7\x01\x05\x00", "extension"),
    (b"\x81\x90\x01", "map key"),
    (b"\x91" * 600 + b"\xc0", "nested"),
]


def test_bad_input_throws_a_clear_error() -> None:
    """Truncated or invalid bytes throw an Error whose message says what is wrong."""
    results = run_node([{"op": "decode", "hex": data.hex()} for data, _ in BAD_INPUT])
    for (data, message), result in zip(BAD_INPUT, results, strict=True):
        assert result.get("is_error") is True and result["name"] == "MsgpackError", (data, result)
        assert message.lower() in result["error"].lower(), (data, result)


def test_unencodable_values_throw() -> None:
    """BigInts outside int64/uint64 are refused with an Error rather than silently wrapped."""
    ops = [
        {"op": "encode", "value": {"$bigint": str(2**64)}},
        {"op": "encode", "value": {"$bigint": str(-(2**63) - 1)}},
    ]
    for result in run_node(ops):
        assert result.get("is_error") is True and "does not fit" in result["error"], result
