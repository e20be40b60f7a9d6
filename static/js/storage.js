// Web Storage that never throws: private modes, full quotas and disabled storage degrade to
// "not stored" instead of breaking the console. Keys are namespaced with "astra.".

const PREFIX = "astra.";

function area(kind) {
  try {
    const store = kind === "local" ? window.localStorage : window.sessionStorage;
    const probe = `${PREFIX}probe`;
    store.setItem(probe, "1");
    store.removeItem(probe);
    return store;
  } catch {
    return null;
  }
}

class SafeStorage {
  constructor(kind) {
    this.kind = kind;
    this.store = undefined; // resolved lazily (window may not exist when imported by node)
  }

  get backend() {
    if (this.store === undefined) this.store = typeof window === "undefined" ? null : area(this.kind);
    return this.store;
  }

  get(key) {
    try {
      return this.backend ? this.backend.getItem(PREFIX + key) : null;
    } catch {
      return null;
    }
  }

  /** Returns false when the value could not be stored (quota, disabled storage). */
  set(key, value) {
    try {
      if (!this.backend) return false;
      this.backend.setItem(PREFIX + key, value);
      return true;
    } catch {
      return false;
    }
  }

  remove(key) {
    try {
      if (this.backend) this.backend.removeItem(PREFIX + key);
    } catch {
      // nothing to do
    }
  }

  getJSON(key) {
    const raw = this.get(key);
    if (raw === null) return null;
    try {
      return JSON.parse(raw);
    } catch {
      return null;
    }
  }

  setJSON(key, value) {
    let text;
    try {
      text = JSON.stringify(value);
    } catch {
      return false;
    }
    return this.set(key, text);
  }
}

export const local = new SafeStorage("local");
export const session = new SafeStorage("session");

/** A random UUID, also outside secure contexts (plain http on a LAN) where randomUUID is absent. */
export function uuid() {
  if (globalThis.crypto && typeof globalThis.crypto.randomUUID === "function") {
    try {
      return globalThis.crypto.randomUUID();
    } catch {
      // fall through
    }
  }
  const b = new Uint8Array(16);
  globalThis.crypto.getRandomValues(b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
