// How numbers, times and statuses are shown.

export const STATUSES = ['success', 'failed', 'pending', 'received', 'dead'];

const hourFmt = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
});
const dayFmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
const utcHourFmt = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: 'UTC',
});
const utcDayFmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' });
const countFmt = new Intl.NumberFormat();

// Times are shown in one zone for the whole page: the browser's, or UTC (the toggle).
let utc = false;

export function setUtc(value) {
  utc = Boolean(value);
}

export function isUtc() {
  return utc;
}

function toDate(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? null : date;
}

const pad = (n, width = 2) => String(n).padStart(width, '0');

/** The calendar fields of a moment in the page's zone. */
function parts(date) {
  if (utc) {
    return {
      y: date.getUTCFullYear(), mo: date.getUTCMonth() + 1, d: date.getUTCDate(),
      h: date.getUTCHours(), mi: date.getUTCMinutes(), s: date.getUTCSeconds(),
      ms: date.getUTCMilliseconds(), offset: 0,
    };
  }
  return {
    y: date.getFullYear(), mo: date.getMonth() + 1, d: date.getDate(),
    h: date.getHours(), mi: date.getMinutes(), s: date.getSeconds(),
    ms: date.getMilliseconds(), offset: -date.getTimezoneOffset(),
  };
}

function offsetText(minutes, zulu) {
  if (minutes === 0 && zulu) return 'Z';
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** The zone's short name for headers: "UTC" or "UTC+08:00". */
export function zoneLabel(at = new Date()) {
  if (utc) return 'UTC';
  return `UTC${offsetText(-at.getTimezoneOffset(), false)}`;
}

function dayText(p) {
  return `${p.y}-${pad(p.mo)}-${pad(p.d)}`;
}

function clockText(p) {
  return `${pad(p.h)}:${pad(p.mi)}:${pad(p.s)}`;
}

/** Short time for the table: the clock time today, the date with its year before. */
export function shortTime(iso, now = new Date()) {
  const date = toDate(iso);
  if (!date) return '—';
  const p = parts(date);
  return dayText(p) === dayText(parts(now)) ? clockText(p) : `${dayText(p)} ${clockText(p)}`;
}

/** Full ISO 8601 in the page's zone, with milliseconds and offset. */
export function isoTime(iso) {
  const date = toDate(iso);
  if (!date) return '—';
  const p = parts(date);
  return `${dayText(p)}T${clockText(p)}.${pad(p.ms, 3)}${offsetText(p.offset, true)}`;
}

export function fullTime(iso) {
  return isoTime(iso);
}

/** "3 min ago" style, for the detail panel. */
export function ago(iso) {
  const date = toDate(iso);
  if (!date) return '';
  const seconds = Math.round((Date.now() - date.getTime()) / 1000);
  if (seconds < 5) return 'just now';
  const steps = [[60, 'second'], [60, 'minute'], [24, 'hour'], [365, 'day']];
  let value = seconds;
  for (const [size, unit] of steps) {
    if (Math.abs(value) < size) return `${value} ${unit}${value === 1 ? '' : 's'} ago`;
    value = Math.round(value / size);
  }
  return `${value} year${value === 1 ? '' : 's'} ago`;
}

export function axisLabel(date, spanSeconds) {
  if (spanSeconds <= 2 * 86400) return (utc ? utcHourFmt : hourFmt).format(date);
  return (utc ? utcDayFmt : dayFmt).format(date);
}

export function latency(ms) {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
  return `${(ms / 60000).toFixed(1)} min`;
}

/** Latency band: fast under 1 s, ok under 3 s, slow beyond. */
export function latencyClass(ms) {
  if (ms === null || ms === undefined) return 'lat-none';
  if (ms < 1000) return 'lat-fast';
  if (ms < 3000) return 'lat-ok';
  return 'lat-slow';
}

export function statusClass(status) {
  return STATUSES.includes(status) ? status : 'unknown';
}

export function count(n) {
  return n === null || n === undefined ? '—' : countFmt.format(n);
}

export function percent(rate) {
  if (rate === null || rate === undefined) return '—';
  const value = rate * 100;
  return `${value === 100 || value === 0 ? value.toFixed(0) : value.toFixed(1)}%`;
}

/** ISO (UTC) -> value of an <input type="datetime-local"> in local time. */
export function toLocalInput(iso) {
  const date = toDate(iso);
  if (!date) return '';
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T`
    + `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** <input type="datetime-local"> value (local time) -> ISO UTC, '' when empty or invalid. */
export function fromLocalInput(value) {
  if (!value) return '';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? '' : date.toISOString().replace('.000Z', 'Z');
}
