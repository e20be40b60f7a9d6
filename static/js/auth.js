// The bearer token: taken from the URL fragment (#token=…) once, then kept in sessionStorage
// (per tab, gone when the tab closes). It is sent only in the Authorization header and in the
// WebSocket hello frame, never in a URL. The payload is decoded for display only: the server
// verifies the signature.

import { session } from "./storage.js";

const TOKEN_KEY = "token";

/** The fragment's parameters (#token=…&session=…) as a URLSearchParams. */
export function fragmentParams(hash = window.location.hash) {
  return new URLSearchParams(hash.startsWith("#") ? hash.slice(1) : hash);
}

/** Rewrite the fragment (without reloading or adding a history entry). */
export function setFragment(params) {
  const text = params.toString();
  const url = window.location.pathname + window.location.search + (text ? `#${text}` : "");
  window.history.replaceState(window.history.state, "", url);
}

/**
 * Take a token out of the fragment if there is one: store it, remove it from the address bar.
 * Returns the token found, or null.
 */
export function takeTokenFromFragment() {
  const params = fragmentParams();
  const token = params.get("token");
  if (!token) return null;
  params.delete("token");
  setFragment(params);
  const clean = cleanToken(token);
  session.set(TOKEN_KEY, clean);
  return clean;
}

export function storedToken() {
  return session.get(TOKEN_KEY);
}

/** A pasted token without the spaces and line breaks that wrapping may have added. */
export function cleanToken(token) {
  return String(token || "").replace(/\s+/g, "");
}

export function storeToken(token) {
  session.set(TOKEN_KEY, cleanToken(token));
}

export function forgetToken() {
  session.remove(TOKEN_KEY);
}

function base64UrlDecode(part) {
  const b64 = part.replace(/-/g, "+").replace(/_/g, "/");
  const padded = b64 + "=".repeat((4 - (b64.length % 4)) % 4);
  const binary = atob(padded);
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
}

/**
 * The claims of a JWT, unverified, for display: {tenant_id, role, sub, exp}.
 * Throws an Error with a Spanish message when the text is not a JWT.
 */
export function readClaims(token) {
  const parts = cleanToken(token).split(".");
  if (parts.length !== 3 || !parts[1]) throw new Error("El texto no tiene la forma de una clave de acceso (un JWT).");
  let claims;
  try {
    claims = JSON.parse(base64UrlDecode(parts[1]));
  } catch {
    throw new Error("No se pudo leer el contenido de la clave de acceso.");
  }
  if (!claims || typeof claims !== "object") throw new Error("La clave de acceso no contiene datos válidos.");
  return {
    tenant_id: typeof claims.tenant_id === "string" ? claims.tenant_id : "",
    role: typeof claims.role === "string" ? claims.role : "",
    sub: claims.sub === undefined || claims.sub === null ? "" : String(claims.sub),
    exp: typeof claims.exp === "number" ? claims.exp : null,
  };
}

/** True when the token's exp claim is in the past (with a small clock allowance). */
export function isExpired(claims, now = Date.now() / 1000) {
  return claims.exp !== null && claims.exp + 30 < now;
}

export const ROLE_NAMES = {
  recorder: "grabación",
  stenographer: "relatoría",
  viewer: "consulta",
  admin: "administración",
};

export const CAN = {
  start: new Set(["recorder", "admin"]),
  send: new Set(["recorder", "admin"]),
  upload: new Set(["recorder", "stenographer", "admin"]),
  finalize: new Set(["recorder", "stenographer", "admin"]),
  discard: new Set(["recorder", "admin"]), // a recorder only while the session holds nothing
  edit: new Set(["recorder", "stenographer", "admin"]),
};
