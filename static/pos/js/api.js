// The JSON API client (/api/v1/): CSRF, idempotency keys, retries, errors.

import { config, t, uuid } from "./util.js";

export class ApiError extends Error {
  constructor(status, { code = "error", message = "", field = null, ...extra } = {}) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.field = field;
    this.extra = extra;
  }
}

let onUnauthenticated = () => {};
/** Called with the ApiError when the server says the staff member is not signed in. */
export function setUnauthenticatedHandler(fn) {
  onUnauthenticated = fn;
}

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Call the API. Writes get a fresh Idempotency-Key per call (one user action); a retry after a
 * network failure or a 502/503/504 resends the same key, so the server applies it once.
 */
export async function api(method, path, body = undefined, { key = null, retries = 2, etag = null } = {}) {
  const write = method !== "GET";
  const headers = { Accept: "application/json" };
  if (write) {
    headers["Content-Type"] = "application/json";
    headers["X-CSRFToken"] = csrfToken();
    headers["Idempotency-Key"] = key || uuid();
  }
  if (etag) headers["If-None-Match"] = etag;
  const url = config.api + path.replace(/^\//, "");
  let attempt = 0;
  for (;;) {
    let response;
    try {
      response = await fetch(url, {
        method,
        headers,
        credentials: "same-origin",
        body: write ? JSON.stringify(body ?? {}) : undefined,
        cache: "no-store",
      });
    } catch (_networkError) {
      if (attempt++ < retries) {
        await sleep(400 * attempt);
        continue;
      }
      throw new ApiError(0, { code: "network", message: t("network_error") });
    }
    if ([502, 503, 504].includes(response.status) && attempt++ < retries) {
      await sleep(400 * attempt);
      continue;
    }
    if (response.status === 304) return { notModified: true, etag };
    let data = null;
    const text = await response.text();
    if (text) {
      try {
        data = JSON.parse(text);
      } catch (_e) {
        data = null;
      }
    }
    if (!response.ok) {
      const payload = (data && data.error) || {};
      const error = new ApiError(response.status, {
        code: payload.code || (response.status >= 500 ? "server_error" : "error"),
        message: payload.message || (response.status >= 500 ? t("server_error") : response.statusText),
        field: payload.field || null,
        ...payload,
      });
      // retry_after may come in the error body, next to it, or as a header.
      const retryAfter =
        payload.retry_after ?? (data && data.retry_after) ?? response.headers.get("Retry-After");
      if (retryAfter !== null && retryAfter !== undefined && retryAfter !== "") {
        error.retryAfter = parseInt(retryAfter, 10) || 0;
      }
      if (response.status === 401) onUnauthenticated(error);
      throw error;
    }
    if (data && typeof data === "object") {
      Object.defineProperty(data, "__etag", { value: response.headers.get("ETag"), enumerable: false });
    }
    return data;
  }
}

export const get = (path, opts) => api("GET", path, undefined, opts);
export const post = (path, body, opts) => api("POST", path, body, opts);
export const patch = (path, body, opts) => api("PATCH", path, body, opts);
