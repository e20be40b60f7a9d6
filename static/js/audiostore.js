// Unacked audio on disk (IndexedDB), per session and client id, so a reload, a crashed tab or a
// browser restart during an outage does not lose what was said (outbox.js, "Persistence").
//
// One record per audio frame: {owner, order, seq, sent, format, data}. `order` is the outbox's
// local, never renumbered position of the frame (the key, with `owner`); `seq` and `sent` are
// what the frame had when last written, so a reload can tell frames the server may have applied
// (welcome.last_seq) from those it cannot have.
//
// The disk may hold hours of audio (2 hours are ~230 MB) while the page holds only a window of it
// in memory: `scan` reads the saved frames page by page (so a reload does not hold them all at
// once), `read` pages a run of frames back in to be sent, and `write` can change the seq and
// `sent` of a saved frame without the page holding its bytes (`patches`).

const DB_NAME = "astra-audio";
const STORE = "frames";
const SCAN_PAGE = 500; // frames per transaction when reading them all (1.6 MB of 100 ms PCM16)

let opening = null;

/** The database, opened once per page (null where IndexedDB is missing or refused). */
function database() {
  if (opening) return opening;
  opening = new Promise((resolve) => {
    let request;
    try {
      request = globalThis.indexedDB.open(DB_NAME, 1);
    } catch {
      resolve(null);
      return;
    }
    request.onupgradeneeded = () => {
      request.result.createObjectStore(STORE, { keyPath: ["owner", "order"] });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => resolve(null);
    request.onblocked = () => resolve(null);
  });
  return opening;
}

/** Run `work(store)` in one transaction; resolves when it commits, rejects with its error. */
function transact(db, mode, work) {
  return new Promise((resolve, reject) => {
    let tx;
    try {
      tx = db.transaction(STORE, mode);
      const result = work(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(result && "result" in result ? result.result : undefined);
    } catch (exc) {
      reject(exc);
      return;
    }
    tx.onerror = (event) => {
      event.preventDefault();
      reject(tx.error);
    };
    tx.onabort = () => reject(tx.error || new DOMException("aborted", "AbortError"));
  });
}

export class AudioStore {
  /** The audio of one session and client id; null where IndexedDB cannot be used. */
  static async open(sessionId, clientId) {
    if (typeof globalThis.indexedDB === "undefined") return null;
    const db = await database();
    return db ? new AudioStore(db, `${sessionId}.${clientId}`) : null;
  }

  constructor(db, owner) {
    this.db = db;
    this.owner = owner;
    this.range = IDBKeyRange.bound([owner, -Infinity], [owner, Infinity]);
  }

  /** Every saved frame of this owner, in order. */
  load() {
    return transact(this.db, "readonly", (store) => store.getAll(this.range));
  }

  /**
   * Every saved frame of this owner, in order, handed to `each(record)` SCAN_PAGE at a time (one
   * transaction per page): the caller keeps what it needs of each, the rest is garbage.
   */
  async scan(each) {
    let range = this.range;
    for (;;) {
      const page = await transact(this.db, "readonly", (store) => store.getAll(range, SCAN_PAGE));
      for (const record of page) each(record);
      if (page.length < SCAN_PAGE) return;
      range = IDBKeyRange.bound([this.owner, page[page.length - 1].order], [this.owner, Infinity], true, false);
    }
  }

  /** The saved frames whose order is in [first, last], in order. */
  read(first, last) {
    const range = IDBKeyRange.bound([this.owner, first], [this.owner, last]);
    return transact(this.db, "readonly", (store) => store.getAll(range));
  }

  /**
   * In one transaction: delete orders, write frames ({order, seq, sent, format, data}), and set
   * the seq and `sent` of saved frames the page holds no bytes of (patches: {order, seq, sent}).
   */
  write(frames, deleted, patches = []) {
    return transact(this.db, "readwrite", (store) => {
      for (const order of deleted) store.delete([this.owner, order]);
      for (const f of frames) {
        store.put({ owner: this.owner, order: f.order, seq: f.seq, sent: f.sent, format: f.format, data: f.data });
      }
      for (const p of patches) {
        const request = store.get([this.owner, p.order]);
        request.onsuccess = () => {
          const saved = request.result;
          if (saved) store.put({ ...saved, seq: p.seq, sent: p.sent });
        };
      }
    });
  }
}
