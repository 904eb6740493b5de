// The stats header: five figures and the chart for the chosen range.
import { byId, fill, h } from './dom.js';
import { renderChart } from './chart.js';
import * as fmt from './format.js';

function rateClass(rate) {
  if (rate === null || rate === undefined) return '';
  if (rate >= 0.99) return 'good';
  if (rate >= 0.9) return 'warn';
  return 'bad';
}

function setFigure(id, text, tone = '', sub = '') {
  const dd = byId(id);
  dd.className = tone ? `tone-${tone}` : '';
  fill(dd, h('span', { class: 'figure' }, text), sub ? h('span', { class: 'card-sub' }, sub) : null);
}

function platformSummary(byPlatform) {
  return Object.entries(byPlatform || {})
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([name, n]) => `${name || 'none'} ${fmt.count(n)}`)
    .join(' · ');
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

  loading() {
    this.chart.classList.add('is-loading');
    if (!this.last) this.chart.replaceChildren(h('p', { class: 'chart-empty' }, 'Loading…'));
  }

  render(stats, filters) {
    this.last = stats;
    this.chart.classList.remove('is-loading');
    const p50 = stats.latency_ms?.p50 ?? null;
    const p95 = stats.latency_ms?.p95 ?? null;
    setFigure('stat-total', fmt.count(stats.total), '', platformSummary(stats.by_platform));
    setFigure('stat-rate', fmt.percent(stats.success_rate), rateClass(stats.success_rate));
    setFigure('stat-failures', fmt.count(stats.failures), stats.failures > 0 ? 'bad' : '');
    setFigure('stat-p50', fmt.latency(p50), p50 === null ? '' : fmt.latencyClass(p50));
    setFigure('stat-p95', fmt.latency(p95), p95 === null ? '' : fmt.latencyClass(p95));
    const scope = [filters.platform, filters.channel && `#${filters.channel}`].filter(Boolean);
    this.note.textContent = scope.length ? `· ${scope.join(' · ')}` : '';
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
