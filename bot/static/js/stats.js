// The overview: one line of figures for the range and the active filters, and the chart.
import { byId, fill, h } from './dom.js';
import { renderChart } from './chart.js';
import * as fmt from './format.js';

const RANGE_NAMES = { '1h': 'Last hour', '24h': 'Last 24 h', '7d': 'Last 7 days', '30d': 'Last 30 days' };
const FILTER_NAMES = {
  status: 'status', platform: 'platform', channel: 'channel', sender: 'sender', q: 'search',
};

function rateClass(rate) {
  if (rate === null || rate === undefined) return '';
  if (rate >= 0.99) return 'good';
  if (rate >= 0.9) return 'warn';
  return 'bad';
}

function setFigure(id, text, tone = '', title = '') {
  const dd = byId(id);
  dd.className = tone ? `tone-${tone}` : '';
  dd.title = title;
  fill(dd, h('span', { class: 'figure' }, text));
}

function platformSummary(byPlatform) {
  return Object.entries(byPlatform || {})
    .sort((a, b) => b[1] - a[1])
    .map(([name, n]) => `${name || 'none'} ${fmt.count(n)}`)
    .join(' · ');
}

/** "Last 24 h · status failed · platform discord": what the figures count. */
export function scopeText(range, filters) {
  const parts = [RANGE_NAMES[range] || range];
  for (const [key, name] of Object.entries(FILTER_NAMES)) {
    if (filters[key]) parts.push(`${name} “${filters[key]}”`);
  }
  if (filters.since) parts.push(`from ${fmt.shortTime(filters.since, new Date(0))}`);
  if (filters.until) parts.push(`until ${fmt.shortTime(filters.until, new Date(0))}`);
  if (parts.length === 1) parts.push('all messages');
  return parts.join(' · ');
}

export class StatsView {
  constructor() {
    this.chart = byId('chart');
    this.note = byId('stats-note');
    this.last = null;
    this.width = 0;
    new ResizeObserver(() => {
      const width = Math.floor(this.chart.clientWidth);
      if (this.last && width !== this.width) {
        this.width = width;
        renderChart(this.chart, this.last);
      }
    }).observe(this.chart);
  }

  loading(range, filters) {
    this.note.textContent = scopeText(range, filters);
    this.chart.classList.add('is-loading');
    if (!this.last) this.chart.replaceChildren(h('p', { class: 'chart-empty' }, 'Loading…'));
  }

  /** Times were switched between local and UTC: draw the axis again. */
  redraw() {
    if (this.last) renderChart(this.chart, this.last);
  }

  render(stats, range, filters) {
    this.last = stats;
    this.chart.classList.remove('is-loading');
    this.note.textContent = scopeText(range, filters);
    const p50 = stats.latency_ms?.p50 ?? null;
    const p95 = stats.latency_ms?.p95 ?? null;
    setFigure('stat-total', fmt.count(stats.total), '', platformSummary(stats.by_platform));
    setFigure('stat-rate', fmt.percent(stats.success_rate), rateClass(stats.success_rate));
    setFigure('stat-failures', fmt.count(stats.failures), stats.failures > 0 ? 'bad' : '');
    setFigure('stat-p50', fmt.latency(p50), p50 === null ? '' : fmt.latencyClass(p50));
    setFigure('stat-p95', fmt.latency(p95), p95 === null ? '' : fmt.latencyClass(p95));
    this.width = Math.floor(this.chart.clientWidth);
    renderChart(this.chart, stats);
    const list = byId('platforms');
    const known = new Set([...list.options].map((o) => o.value));
    for (const name of Object.keys(stats.by_platform || {})) {
      if (name && !known.has(name)) list.append(h('option', { value: name }));
    }
  }

  error(err) {
    this.chart.classList.remove('is-loading');
    this.last = null;
    for (const id of ['stat-total', 'stat-rate', 'stat-failures', 'stat-p50', 'stat-p95']) {
      setFigure(id, '—');
    }
    this.chart.replaceChildren(
      h('p', { class: 'chart-empty chart-error' }, `Statistics are unavailable: ${err.message}`),
    );
  }
}
