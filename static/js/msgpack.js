// A small MessagePack codec (https://github.com/msgpack/msgpack/blob/master/spec.md) for the
// console's WebSocket frames (protocol.md: every message is one msgpack map).
//
//   encode(value) -> Uint8Array      decode(Uint8Array | ArrayBuffer) -> value
//
// Types: nil, bool, integers (fixint, int8..int64, uint8..uint64), float64 (float32 is decoded),
// str (UTF-8), bin (Uint8Array), array and map. Maps decode to plain objects with string keys
// (integer keys become their decimal string); plain objects and Map instances encode as maps.
// Integers decode to Number while they are safe (|n| <= 2^53 - 1) and to BigInt beyond that.
// JavaScript cannot tell 1.0 from 1: a Number that is a whole value encodes as an integer,
// any other Number (and -0, NaN, ±Infinity) as float64. `undefined` encodes as nil inside
// arrays and is skipped as an object property value, as JSON does. Extension types are refused.
// Errors are always `MsgpackError` (a subclass of Error) with a message saying what and where.

export class MsgpackError extends Error {
  constructor(message) {
    super(message);
    this.name = "MsgpackError";
  }
}

const MAX_DEPTH = 512;
const UTF8_ENCODER = new TextEncoder();
const UTF8_DECODER = new TextDecoder("utf-8", { fatal: true });

const U32 = 0x1_0000_0000;
const I64_MIN = -(2n ** 63n);
const U64_MAX = 2n ** 64n - 1n;

// -- encoding ------------------------------------------------------------------------------------

class Writer {
  constructor(size = 256) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
    this.pos = 0;
  }

  reserve(n) {
    const needed = this.pos + n;
    if (needed <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < needed) size *= 2;
    const bigger = new Uint8Array(size);
    bigger.set(this.bytes.subarray(0, this.pos));
    this.bytes = bigger;
    this.view = new DataView(bigger.buffer);
  }

  u8(v) { this.reserve(1); this.view.setUint8(this.pos, v); this.pos += 1; }
  u16(v) { this.reserve(2); this.view.setUint16(this.pos, v); this.pos += 2; }
  u32(v) { this.reserve(4); this.view.setUint32(this.pos, v); this.pos += 4; }
  i8(v) { this.reserve(1); this.view.setInt8(this.pos, v); this.pos += 1; }
  i16(v) { this.reserve(2); this.view.setInt16(this.pos, v); this.pos += 2; }
  i32(v) { this.reserve(4); this.view.setInt32(this.pos, v); this.pos += 4; }
  u64(v) { this.reserve(8); this.view.setBigUint64(this.pos, v); this.pos += 8; }
  i64(v) { this.reserve(8); this.view.setBigInt64(this.pos, v); this.pos += 8; }
  f64(v) { this.reserve(8); this.view.setFloat64(this.pos, v); this.pos += 8; }

  raw(bytes) {
    this.reserve(bytes.length);
    this.bytes.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  result() {
    return this.bytes.slice(0, this.pos);
  }
}

function isPlainObject(value) {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function writeInt(w, n) {
  // n is a Number holding a whole value with |n| < 2^53, or a BigInt.
  if (typeof n === "bigint") {
    if (n >= 0n) {
      if (n > U64_MAX) throw new MsgpackError(`integer ${n} does not fit in uint64`);
      if (n <= 0xffff_ffffn) return writeInt(w, Number(n));
      w.u8(0xcf); w.u64(n);
      return;
    }
    if (n < I64_MIN) throw new MsgpackError(`integer ${n} does not fit in int64`);
    if (n >= -0x8000_0000n) return writeInt(w, Number(n));
    w.u8(0xd3); w.i64(n);
    return;
  }
  if (n >= 0) {
    if (n <= 0x7f) w.u8(n);
    else if (n <= 0xff) { w.u8(0xcc); w.u8(n); }
    else if (n <= 0xffff) { w.u8(0xcd); w.u16(n); }
    else if (n < U32) { w.u8(0xce); w.u32(n); }
    else writeInt(w, BigInt(n));
    return;
  }
  if (n >= -32) w.u8(n & 0xff);
  else if (n >= -0x80) { w.u8(0xd0); w.i8(n); }
  else if (n >= -0x8000) { w.u8(0xd1); w.i16(n); }
  else if (n >= -0x8000_0000) { w.u8(0xd2); w.i32(n); }
  else writeInt(w, BigInt(n));
}

function writeNumber(w, n) {
  // Whole Numbers inside the int64/uint64 range are integers (exactly, via BigInt when large).
  if (Number.isInteger(n) && !Object.is(n, -0) && n >= -(2 ** 63) && n < 2 ** 64) {
    writeInt(w, Number.isSafeInteger(n) ? n : BigInt(n));
  } else {
    w.u8(0xcb);
    w.f64(n);
  }
}

function writeLength(w, length, fix, fixMax, op8, op16, op32, what) {
  if (fix !== null && length <= fixMax) w.u8(fix | length);
  else if (op8 !== null && length <= 0xff) { w.u8(op8); w.u8(length); }
  else if (length <= 0xffff) { w.u8(op16); w.u16(length); }
  else if (length < U32) { w.u8(op32); w.u32(length); }
  else throw new MsgpackError(`${what} of length ${length} is too long for msgpack`);
}

function writeString(w, s) {
  const bytes = UTF8_ENCODER.encode(s);
  writeLength(w, bytes.length, 0xa0, 31, 0xd9, 0xda, 0xdb, "string");
  w.raw(bytes);
}

function writeBinary(w, bytes) {
  writeLength(w, bytes.length, null, 0, 0xc4, 0xc5, 0xc6, "binary");
  w.raw(bytes);
}

function writeMap(w, entries, depth) {
  writeLength(w, entries.length, 0x80, 15, null, 0xde, 0xdf, "map");
  for (const [key, value] of entries) {
    writeValue(w, key, depth + 1);
    writeValue(w, value, depth + 1);
  }
}

function writeValue(w, value, depth) {
  if (depth > MAX_DEPTH) throw new MsgpackError(`value nested deeper than ${MAX_DEPTH} levels (a cycle?)`);
  switch (typeof value) {
    case "undefined":
      w.u8(0xc0);
      return;
    case "boolean":
      w.u8(value ? 0xc3 : 0xc2);
      return;
    case "number":
      writeNumber(w, value);
      return;
    case "bigint":
      writeInt(w, value);
      return;
    case "string":
      writeString(w, value);
      return;
    case "object":
      break;
    default:
      throw new MsgpackError(`cannot encode a value of type ${typeof value}`);
  }
  if (value === null) {
    w.u8(0xc0);
  } else if (value instanceof Uint8Array) {
    writeBinary(w, value);
  } else if (value instanceof ArrayBuffer) {
    writeBinary(w, new Uint8Array(value));
  } else if (ArrayBuffer.isView(value)) {
    writeBinary(w, new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
  } else if (Array.isArray(value)) {
    writeLength(w, value.length, 0x90, 15, null, 0xdc, 0xdd, "array");
    for (const item of value) writeValue(w, item, depth + 1);
  } else if (value instanceof Map) {
    writeMap(w, [...value.entries()], depth);
  } else if (isPlainObject(value)) {
    writeMap(w, Object.entries(value).filter(([, v]) => v !== undefined), depth);
  } else {
    const name = value.constructor && value.constructor.name ? value.constructor.name : "object";
    throw new MsgpackError(`cannot encode an instance of ${name}`);
  }
}

/** Encode a value as msgpack bytes. */
export function encode(value) {
  const w = new Writer();
  writeValue(w, value, 0);
  return w.result();
}

// -- decoding ------------------------------------------------------------------------------------

class Reader {
  constructor(bytes) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = 0;
  }

  need(n, what) {
    if (this.pos + n > this.bytes.length) {
      throw new MsgpackError(
        `truncated input: ${what} needs ${n} byte(s) at offset ${this.pos}, ` +
          `only ${this.bytes.length - this.pos} left`,
      );
    }
  }

  u8(what) { this.need(1, what); const v = this.view.getUint8(this.pos); this.pos += 1; return v; }
  u16(what) { this.need(2, what); const v = this.view.getUint16(this.pos); this.pos += 2; return v; }
  u32(what) { this.need(4, what); const v = this.view.getUint32(this.pos); this.pos += 4; return v; }
  i8(what) { this.need(1, what); const v = this.view.getInt8(this.pos); this.pos += 1; return v; }
  i16(what) { this.need(2, what); const v = this.view.getInt16(this.pos); this.pos += 2; return v; }
  i32(what) { this.need(4, what); const v = this.view.getInt32(this.pos); this.pos += 4; return v; }
  u64(what) { this.need(8, what); const v = this.view.getBigUint64(this.pos); this.pos += 8; return v; }
  i64(what) { this.need(8, what); const v = this.view.getBigInt64(this.pos); this.pos += 8; return v; }
  f32(what) { this.need(4, what); const v = this.view.getFloat32(this.pos); this.pos += 4; return v; }
  f64(what) { this.need(8, what); const v = this.view.getFloat64(this.pos); this.pos += 8; return v; }

  take(n, what) {
    this.need(n, what);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

function fromBigInt(n) {
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

function readString(r, length) {
  const at = r.pos;
  const bytes = r.take(length, "string");
  try {
    return UTF8_DECODER.decode(bytes);
  } catch {
    throw new MsgpackError(`invalid UTF-8 in the string at offset ${at}`);
  }
}

function readArray(r, length, depth) {
  // Every element takes at least one byte: refuse impossible lengths before allocating.
  r.need(length, `array of ${length} element(s)`);
  const out = new Array(length);
  for (let i = 0; i < length; i++) out[i] = readValue(r, depth + 1);
  return out;
}

function readMap(r, length, depth) {
  r.need(length * 2, `map of ${length} entr${length === 1 ? "y" : "ies"}`);
  const out = {};
  for (let i = 0; i < length; i++) {
    const at = r.pos;
    let key = readValue(r, depth + 1);
    if (typeof key === "number" || typeof key === "bigint") key = String(key);
    else if (typeof key !== "string") {
      throw new MsgpackError(`unsupported map key at offset ${at}: only strings and integers are accepted`);
    }
    const value = readValue(r, depth + 1);
    if (key === "__proto__") {
      Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
    } else {
      out[key] = value;
    }
  }
  return out;
}

function readValue(r, depth) {
  if (depth > MAX_DEPTH) throw new MsgpackError(`input nested deeper than ${MAX_DEPTH} levels`);
  const at = r.pos;
  const b = r.u8("a type byte");
  if (b <= 0x7f) return b;
  if (b >= 0xe0) return b - 0x100;
  if (b <= 0x8f) return readMap(r, b & 0x0f, depth);
  if (b <= 0x9f) return readArray(r, b & 0x0f, depth);
  if (b <= 0xbf) return readString(r, b & 0x1f);
  switch (b) {
    case 0xc0: return null;
    case 0xc2: return false;
    case 0xc3: return true;
    case 0xc4: return r.take(r.u8("bin8 length"), "bin8").slice();
    case 0xc5: return r.take(r.u16("bin16 length"), "bin16").slice();
    case 0xc6: return r.take(r.u32("bin32 length"), "bin32").slice();
    case 0xca: return r.f32("float32");
    case 0xcb: return r.f64("float64");
    case 0xcc: return r.u8("uint8");
    case 0xcd: return r.u16("uint16");
    case 0xce: return r.u32("uint32");
    case 0xcf: return fromBigInt(r.u64("uint64"));
    case 0xd0: return r.i8("int8");
    case 0xd1: return r.i16("int16");
    case 0xd2: return r.i32("int32");
    case 0xd3: return fromBigInt(r.i64("int64"));
    case 0xd9: return readString(r, r.u8("str8 length"));
    case 0xda: return readString(r, r.u16("str16 length"));
    case 0xdb: return readString(r, r.u32("str32 length"));
    case 0xdc: return readArray(r, r.u16("array16 length"), depth);
    case 0xdd: return readArray(r, r.u32("array32 length"), depth);
    case 0xde: return readMap(r, r.u16("map16 length"), depth);
    case 0xdf: return readMap(r, r.u32("map32 length"), depth);
    case 0xc7: case 0xc8: case 0xc9:
    case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
      throw new MsgpackError(`unsupported msgpack extension type (0x${b.toString(16)}) at offset ${at}`);
    default:
      throw new MsgpackError(`invalid msgpack type byte 0x${b.toString(16)} at offset ${at}`);
  }
}

/** Decode exactly one msgpack value from bytes (Uint8Array, Buffer, ArrayBuffer or a view). */
export function decode(input) {
  let bytes;
  if (input instanceof Uint8Array) bytes = input;
  else if (input instanceof ArrayBuffer) bytes = new Uint8Array(input);
  else if (ArrayBuffer.isView(input)) bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  else throw new MsgpackError("decode expects a Uint8Array or an ArrayBuffer");
  if (bytes.length === 0) throw new MsgpackError("truncated input: no bytes to decode");
  const r = new Reader(bytes);
  const value = readValue(r, 0);
  if (r.pos !== bytes.length) {
    throw new MsgpackError(`invalid input: ${bytes.length - r.pos} unexpected byte(s) after the value at offset ${r.pos}`);
  }
  return value;
}
