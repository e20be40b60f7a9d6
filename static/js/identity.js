// The producer identity of this page for one session (protocol.md, `hello.client_id`): a UUID
// kept in localStorage per session, so a reload resumes the same sequence numbers.
//
// Sequence numbers belong to the client id, so two tabs must never send under the same one
// (their frames would collide and one would be acked as a duplicate, i.e. lost). Where the Web
// Locks API exists, a tab holds a lock named after its client id; a second tab on the same
// session finds it taken and uses an id of its own (kept in its sessionStorage), which it keeps
// taking first after a reload.

import { local, session, uuid } from "./storage.js";

function tryLock(name) {
  if (!globalThis.navigator || !navigator.locks || typeof navigator.locks.request !== "function") {
    return Promise.resolve({ held: true, release: () => {} });
  }
  return new Promise((resolve) => {
    navigator.locks
      .request(name, { ifAvailable: true }, (lock) => {
        if (!lock) {
          resolve({ held: false, release: () => {} });
          return undefined;
        }
        // Held until released (leaving the session) or the tab goes away.
        return new Promise((release) => resolve({ held: true, release }));
      })
      .catch(() => resolve({ held: true, release: () => {} }));
  });
}

/** Resolve {clientId, release} for a session. */
export async function claimClientId(sessionId) {
  const sharedKey = `client.${sessionId}`;
  const tabKey = `tab-client.${sessionId}`;
  let shared = local.get(sharedKey);
  if (!shared) {
    shared = uuid();
    local.set(sharedKey, shared);
  }
  // A tab that once took an id of its own (the shared one was held by another tab) takes it
  // again first: its outbox, with whatever it queued offline, is kept under that id. Taking the
  // shared one once it was free (the other tab closed) left that queue unsent for good.
  const candidates = [shared];
  const tabOwn = session.get(tabKey);
  if (tabOwn && tabOwn !== shared) candidates.unshift(tabOwn);
  for (const id of candidates) {
    const lock = await tryLock(`astra-client-${id}`);
    if (lock.held) return { clientId: id, release: lock.release };
  }
  // Every known id is in use by another tab (a duplicated tab copies sessionStorage too).
  for (;;) {
    const id = uuid();
    const lock = await tryLock(`astra-client-${id}`);
    if (lock.held) {
      session.set(tabKey, id);
      return { clientId: id, release: lock.release };
    }
  }
}

/** Persistence of the outbox (sequence counter and unacked frames) per session and client. */
export function outboxStore(sessionId, clientId) {
  const key = `outbox.${sessionId}.${clientId}`;
  return {
    load: () => local.getJSON(key),
    save: (state) => local.setJSON(key, state),
  };
}
