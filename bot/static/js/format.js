// How numbers, times and statuses are shown.

export const STATUSES = ['success', 'failed', 'pending', 'received'];

const timeFmt = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
});
const dayTimeFmt = new Intl.DateTimeFormat(undefined, {
  month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
});
const fullFmt = new Intl.DateTimeFormat(undefined, {
  year: 'numeric', month: 'short', day: 'numeric',
  hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
  timeZoneName: 'short',
});
const dayFmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
const hourFmt = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
});
const countFmt = new Intl.NumberFormat();

function toDate(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? null : date;
}

function sameDay(a, b) {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth()
    && a.getDate() === b.getDate();
}

/** Short time for the table: clock time today, date and time before. */
export function shortTime(iso) {
  const date = toDate(iso);
  if (!date) return '—';
  return sameDay(date, new Date()) ? timeFmt.format(date) : dayTimeFmt.format(date);
}

export function fullTime(iso) {
  const date = toDate(iso);
  return date ? fullFmt.format(date) : '—';
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
  return spanSeconds <= 2 * 86400 ? hourFmt.format(date) : dayFmt.format(date);
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
