// The view's state lives in the URL query, so a view can be shared, reloaded and navigated.
import { STATUSES } from './format.js';

export const FILTER_KEYS = ['q', 'status', 'platform', 'channel', 'sender', 'since', 'until'];
export const RANGES = ['1h', '24h', '7d', '30d'];
export const DEFAULT_RANGE = '24h';
export const VIEWS = ['chart', 'failures'];
export const DEFAULT_VIEW = 'chart';
// The filters the live stream applies itself: those a row keeps for life. A retry changes
// status and error, so a row can stop matching status or q: the stream must still bring
// that update for the row to leave the view; matches() checks those here.
export const STREAM_KEYS = ['platform', 'channel', 'sender'];

/** A time the API accepts (ISO 8601 UTC), or '' for anything unreadable. */
function normalTime(value) {
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? '' : date.toISOString().replace('.000Z', 'Z');
}

/** Parse a query string into {filters, range, view, id}; values the API would reject are dropped. */
export function readState(search = window.location.search) {
  const params = new URLSearchParams(search);
  const filters = {};
  for (const key of FILTER_KEYS) {
    const value = (params.get(key) || '').trim();
    if (value) filters[key] = value;
  }
  if (filters.status && !STATUSES.includes(filters.status)) delete filters.status;
  for (const key of ['since', 'until']) {
    if (filters[key]) filters[key] = normalTime(filters[key]);
    if (!filters[key]) delete filters[key];
  }
  if (filters.since && filters.until && new Date(filters.since) >= new Date(filters.until)) {
    delete filters.until;
  }
  const range = RANGES.includes(params.get('range')) ? params.get('range') : DEFAULT_RANGE;
  const view = VIEWS.includes(params.get('view')) ? params.get('view') : DEFAULT_VIEW;
  const idText = params.get('id') || '';
  const id = /^[1-9][0-9]{0,17}$/.test(idText) ? idText : null;
  return { filters, range, view, id };
}

export function toSearch(state) {
  const params = new URLSearchParams();
  for (const key of FILTER_KEYS) {
    if (state.filters[key]) params.set(key, state.filters[key]);
  }
  if (state.range !== DEFAULT_RANGE) params.set('range', state.range);
  if (state.view !== DEFAULT_VIEW) params.set('view', state.view);
  if (state.id) params.set('id', state.id);
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** Record the state as a new history entry (or replace the current one). */
export function writeState(state, { replace = false } = {}) {
  const search = toSearch(state);
  if (search === window.location.search) return;
  const url = `${window.location.pathname}${search}`;
  if (replace) window.history.replaceState(null, '', url);
  else window.history.pushState(null, '', url);
}

export function sameFilters(a, b) {
  return FILTER_KEYS.every((key) => (a[key] || '') === (b[key] || ''));
}

export function streamFilters(filters) {
  return Object.fromEntries(STREAM_KEYS.filter((key) => filters[key]).map((key) => [key, filters[key]]));
}

export function hasFilters(filters) {
  return FILTER_KEYS.some((key) => filters[key]);
}

/** Does a row (from the live tail) belong in the view? Mirrors the server's filters. */
export function matches(row, filters) {
  if (filters.status && row.status !== filters.status) return false;
  const same = (value, wanted) => (value || '').toLowerCase() === wanted.toLowerCase();
  if (filters.platform && !same(row.target_platform, filters.platform)) return false;
  if (filters.channel && row.kook_channel_id !== filters.channel) return false;
  if (filters.sender && !same(row.sender_name, filters.sender)) return false;
  const created = new Date(row.created_at).getTime();
  if (filters.since && created < new Date(filters.since).getTime()) return false;
  if (filters.until && created >= new Date(filters.until).getTime()) return false;
  if (filters.q) {
    const haystack = [row.content, row.sender_name, row.error_message]
      .map((text) => text || '').join('\n').toLowerCase();
    const terms = filters.q.toLowerCase().split(/\s+/).filter(Boolean);
    if (!terms.every((term) => haystack.includes(term))) return false;
  }
  return true;
}
