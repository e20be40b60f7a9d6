// The producer identity of this page for one session (protocol.md, `hello.client_id`): a UUID
// kept in localStorage per session, so a reload resumes the same sequence numbers.
//
// Sequence numbers belong to the client id, so two tabs must never send under the same one
// (their frames would collide and one would be acked as a duplicate, i.e. lost). Where the Web
// Locks API exists, a tab holds a lock named after its client id; a second tab on the same
// session finds it taken and uses an id of its own (kept in its sessionStorage), which it keeps
// taking first after a reload. Where it does not (plain http on a LAN is no secure context), a
// lease in localStorage, renewed while the tab lives, stands in for the lock.

import { local, session, uuid } from "./storage.js";

/** A storage lease not renewed for this long is free: its tab went away without letting go (a
 * crash). Long, because a hidden tab's timers may run only once a minute. */
const LEASE_MS = 180_000;
const RENEW_MS = 15_000;
/** After writing its claim a tab waits this long and reads it back: of two tabs claiming at
 * once, the one whose write came last holds it, the other finds it taken. */
const SETTLE_MS = 200;

/** This tab's name in its leases, kept across reloads and a crashed tab's restore (session
 * storage): a lease it left behind (a crash lets no `pagehide` run) is its own again once it is
 * no longer renewed (a duplicated tab copies the name, and renews what it holds). */
function tabName() {
  let name = session.get("lease-holder");
  if (!name) {
    name = uuid();
    session.set("lease-holder", name);
  }
  return name;
}

/** The Web Locks stand-in: a lease on `name` in localStorage, {holder, at}. */
async function tryStorageLease(name) {
  const key = `lease.${name}`;
  const holder = tabName();
  const current = local.getJSON(key);
  if (current && typeof current.at === "number") {
    const age = Date.now() - current.at;
    const left = current.holder === holder ? age < 2 * RENEW_MS : age < LEASE_MS;
    if (left) return { held: false, release: () => {} };
  }
  if (!local.setJSON(key, { holder, at: Date.now() })) {
    return { held: true, release: () => {} }; // no storage to share: nothing to coordinate with
  }
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const ours = () => {
    const now = local.getJSON(key);
    return Boolean(now) && now.holder === holder;
  };
  const now = local.getJSON(key);
  if (now && now.holder !== holder) return { held: false, release: () => {} };
  const renew = () => {
    if (ours()) local.setJSON(key, { holder, at: Date.now() });
  };
  const timer = setInterval(renew, RENEW_MS);
  // A hidden tab's timers may wait a minute: shown again, it renews at once.
  const shown = () => {
    if (document.visibilityState === "visible") renew();
  };
  document.addEventListener("visibilitychange", shown);
  const release = () => {
    clearInterval(timer);
    document.removeEventListener("visibilitychange", shown);
    globalThis.removeEventListener("pagehide", gone);
    if (ours()) local.remove(key);
  };
  // Let go when the page goes away for good; one kept in the back/forward cache keeps its lease
  // (its timer resumes with it).
  const gone = (event) => {
    if (!event.persisted) release();
  };
  globalThis.addEventListener("pagehide", gone);
  return { held: true, release };
}

function tryLock(name) {
  if (!globalThis.navigator || !navigator.locks || typeof navigator.locks.request !== "function") {
    return tryStorageLease(name);
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

/** The storage name of a session's client ids for one user (a token's `sub`). */
function idsOf(sessionId, user) {
  return user ? `${sessionId}.${encodeURIComponent(user)}` : sessionId;
}

/**
 * Resolve {clientId, release} for a session and a user (the token's `sub`). Ids are kept per
 * user: the server binds a client id to the first user who says hello with it (CLIENT_ID_TAKEN
 * for anyone else), and a queue left by one user on a shared recording computer is not sent by
 * the next one, in their name.
 */
export async function claimClientId(sessionId, user = "") {
  const sharedKey = `client.${idsOf(sessionId, user)}`;
  const tabKey = `tab-client.${idsOf(sessionId, user)}`;
  let shared = local.get(sharedKey);
  const legacy = local.get(`client.${sessionId}`);
  if (!shared && user && legacy && legacy !== local.get(`client-not-mine.${idsOf(sessionId, user)}`)) {
    // Kept before ids were per user: taken over once, with its queue (the user who left it
    // there, most likely; if not, the server refuses it and a new one is made).
    shared = legacy;
    local.remove(`client.${sessionId}`);
    local.set(sharedKey, shared);
    local.set(`client-taken-over.${idsOf(sessionId, user)}`, shared);
  }
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

/**
 * The server refused `clientId` as another user's (CLIENT_ID_TAKEN): forget it for this user, so
 * the next claim makes a new one. Its queue stays stored under it, for whoever it belongs to.
 */
export function forgetClientId(sessionId, user, clientId) {
  const sharedKey = `client.${idsOf(sessionId, user)}`;
  const tabKey = `tab-client.${idsOf(sessionId, user)}`;
  const takenOverKey = `client-taken-over.${idsOf(sessionId, user)}`;
  if (local.get(sharedKey) === clientId) local.remove(sharedKey);
  if (session.get(tabKey) === clientId) session.remove(tabKey);
  if (local.get(takenOverKey) === clientId) {
    // the browser's old id was another user's: it goes back, with its queue, for that user,
    // and is not taken over by this one again
    local.remove(takenOverKey);
    local.set(`client-not-mine.${idsOf(sessionId, user)}`, clientId);
    if (!local.get(`client.${sessionId}`)) local.set(`client.${sessionId}`, clientId);
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
