// The HTTP API (README.md): every call carries `Authorization: Bearer`, errors arrive as
// {"error": {"code", "message", "details"?}} and are thrown as ApiError.

const PREFIX = "/v1/orchestrator/session";

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details || null;
  }
}

export class Api {
  /** getToken: () => string | null, read on every call so a new token applies at once. */
  constructor(getToken) {
    this.getToken = getToken;
  }

  /** blob: the answer's body as a Blob (a document) instead of JSON. */
  async request(method, path, { json, form, headers = {}, blob = false } = {}) {
    const init = { method, headers: { Accept: "application/json", ...headers }, cache: "no-store" };
    const token = this.getToken();
    if (token) init.headers.Authorization = `Bearer ${token}`;
    if (json !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(json);
    } else if (form !== undefined) {
      init.body = form; // the browser sets the multipart boundary
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (exc) {
      throw new ApiError(0, "NETWORK", String((exc && exc.message) || exc));
    }
    if (blob && response.ok) return response.blob();
    let body = null;
    const text = await response.text();
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        body = null;
      }
    }
    if (!response.ok) {
      const error = body && typeof body === "object" && body.error ? body.error : {};
      throw new ApiError(
        response.status,
        typeof error.code === "string" ? error.code : `HTTP_${response.status}`,
        typeof error.message === "string" ? error.message : response.statusText || "error",
        error.details,
      );
    }
    return body;
  }

  startSession(tenantId, title, skeletonId = "SKEL_STD_V1") {
    return this.request("POST", `${PREFIX}/start`, {
      json: { tenant_id: tenantId, skeleton_id: skeletonId, metadata: { title } },
    });
  }

  /** The token's tenant's open sessions, newest first: [{session_id, metadata, created_at, created_by}]. */
  listOpenSessions() {
    return this.request("GET", `${PREFIX}s`);
  }

  getSession(sessionId) {
    return this.request("GET", `${PREFIX}/${encodeURIComponent(sessionId)}`);
  }

  uploadAsset(sessionId, file, { zone, caption } = {}) {
    const form = new FormData();
    form.append("file", file, file.name);
    if (zone) form.append("zone", zone);
    if (caption) form.append("caption", caption);
    return this.request("POST", `${PREFIX}/${encodeURIComponent(sessionId)}/upload-asset`, { form });
  }

  finalize(sessionId) {
    return this.request("POST", `${PREFIX}/${encodeURIComponent(sessionId)}/finalize`);
  }

  /** Close the session with no acta (the reason is logged); everything it stored is kept. */
  discard(sessionId, reason) {
    return this.request("POST", `${PREFIX}/${encodeURIComponent(sessionId)}/discard`, { json: { reason } });
  }

  /** The acta as it would be written now, marked BORRADOR on its first line (not sealed): a Blob. */
  preview(sessionId) {
    return this.request("GET", `${PREFIX}/${encodeURIComponent(sessionId)}/preview`, { blob: true });
  }

  /** Run CORE again on a block pending review; the new version also arrives as block.updated. */
  reprocess(sessionId, blockId) {
    const sid = encodeURIComponent(sessionId);
    return this.request("POST", `${PREFIX}/${sid}/blocks/${encodeURIComponent(blockId)}/reprocess`);
  }

  /** A signed, expiring link to a block's utterance audio: {url, audio_ref}. */
  blockAudio(sessionId, blockId) {
    const sid = encodeURIComponent(sessionId);
    return this.request("GET", `${PREFIX}/${sid}/blocks/${encodeURIComponent(blockId)}/audio`);
  }

  /** A signed link to an utterance's audio (one heard with no words has no block). */
  utteranceAudio(sessionId, utteranceId) {
    const sid = encodeURIComponent(sessionId);
    return this.request("GET", `${PREFIX}/${sid}/utterances/${encodeURIComponent(utteranceId)}/audio`);
  }
}
