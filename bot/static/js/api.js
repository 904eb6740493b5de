// The read API of msglog (see helpers/API.md): small fetch wrappers with typed errors.

const TOKEN_KEY = 'msglog.apiToken';
export const PAGE_SIZE = 50;

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

export function getToken() {
  try {
    return localStorage.getItem(TOKEN_KEY) || '';
  } catch {
    return '';
  }
}

export function setToken(token) {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage disabled: the token then lasts only as long as nothing asks for it again.
  }
}

export function authHeaders() {
  const token = getToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

export function apiUrl(path, params = {}) {
  const url = new URL(path, window.location.origin);
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') url.searchParams.set(key, value);
  }
  return url;
}

async function getJSON(path, params, signal) {
  let response;
  try {
    response = await fetch(apiUrl(path, params), {
      headers: { Accept: 'application/json', ...authHeaders() },
      signal,
    });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, 'network', 'The server cannot be reached.');
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    const error = body && body.error ? body.error : {};
    throw new ApiError(
      response.status,
      error.code || 'http_error',
      error.message || `The server answered ${response.status}.`,
    );
  }
  return body;
}

/** One page of rows, newest first; beforeId continues from an earlier page. */
export function listMessages(filters, beforeId, signal) {
  return getJSON('/api/messages', { ...filters, limit: PAGE_SIZE, before_id: beforeId }, signal);
}

export function getMessage(id, signal) {
  return getJSON(`/api/messages/${encodeURIComponent(id)}`, {}, signal);
}

/** Stats take the range and every listing filter: the figures follow the table. */
export function getStats(range, filters, signal) {
  return getJSON('/api/stats', { ...filters, range }, signal);
}

/** Failed rows grouped by error message, for the range and the filters. */
export function getFailures(range, filters, signal) {
  return getJSON('/api/failures', { ...filters, range }, signal);
}

/** The export of everything the filters match (a URL a plain link can follow). */
export function exportUrl(format, filters) {
  const extra = format === 'csv' ? { bom: 1 } : {};
  const url = apiUrl('/api/messages/export', { ...filters, format, ...extra });
  return `${url.pathname}${url.search}`;
}
