// Successes and failures over time as stacked SVG bars, drawn here (no chart library).
import { h, s } from './dom.js';
import { axisLabel, count } from './format.js';

const MARGIN = { top: 12, right: 8, bottom: 26, left: 44 };
const LABEL_GAP_PX = 76;

/** The smallest "round" number (1, 2, 2.5, 5 x 10^n) at or above value. */
function niceCeil(value) {
  if (value <= 1) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const factor of [1, 2, 2.5, 5, 10]) {
    if (factor * magnitude >= value) return factor * magnitude;
  }
  return 10 * magnitude;
}

/** Bars of non-zero values stay visible: a single failure must not vanish. */
function barHeight(value, top, innerHeight) {
  if (!value) return 0;
  return Math.max(2, (innerHeight * value) / top);
}

function bucketTitle(point, bucketSeconds) {
  const start = new Date(point.t);
  const end = new Date(start.getTime() + bucketSeconds * 1000);
  const span = `${axisLabel(start, 0)}–${axisLabel(end, 0)}`;
  const day = start.toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
  return `${day} ${span}: ${count(point.success)} success, ${count(point.failed)} failed`;
}

export function renderChart(container, stats) {
  const series = Array.isArray(stats.series) ? stats.series : [];
  const width = Math.max(280, Math.floor(container.clientWidth || 800));
  const height = width < 560 ? 150 : 190;
  const inner = {
    w: width - MARGIN.left - MARGIN.right,
    h: height - MARGIN.top - MARGIN.bottom,
  };
  const peak = Math.max(0, ...series.map((p) => (p.success || 0) + (p.failed || 0)));
  if (!series.length || peak === 0) {
    container.replaceChildren(h('p', { class: 'chart-empty' }, 'No forwarded messages in this range.'));
    return;
  }
  const top = niceCeil(peak);
  const baseline = MARGIN.top + inner.h;
  const svg = s('svg', {
    class: 'chart-svg',
    viewBox: `0 0 ${width} ${height}`,
    width: String(width),
    height: String(height),
    role: 'img',
    'aria-label': `Successes and failures over time, peak ${peak} per bucket`,
  });

  const ticks = top % 2 === 0 || top >= 10 ? [0, top / 2, top] : [0, top];
  for (const tick of ticks) {
    const y = baseline - (inner.h * tick) / top;
    svg.append(
      s('line', { class: tick === 0 ? 'axis' : 'grid', x1: MARGIN.left, x2: width - MARGIN.right, y1: y, y2: y }),
      s('text', { class: 'tick', x: MARGIN.left - 8, y: y + 4, 'text-anchor': 'end' }, count(tick)),
    );
  }

  const step = inner.w / series.length;
  const barWidth = Math.max(1, Math.min(28, step * 0.72));
  const spanSeconds = series.length * (stats.bucket_seconds || 0);
  const byDay = spanSeconds > 2 * 86400;
  let lastLabelX = -Infinity;
  let lastDay = '';
  series.forEach((point, i) => {
    const x0 = MARGIN.left + i * step;
    const x = x0 + (step - barWidth) / 2;
    const ok = barHeight(point.success, top, inner.h);
    const bad = barHeight(point.failed, top, inner.h);
    const group = s('g', { class: 'bucket' },
      s('title', null, bucketTitle(point, stats.bucket_seconds || 0)),
      s('rect', { class: 'bucket-hit', x: x0, y: MARGIN.top, width: step, height: inner.h }));
    if (ok) group.append(s('rect', { class: 'bar-success', x, y: baseline - ok, width: barWidth, height: ok, rx: 1.5 }));
    if (bad) group.append(s('rect', { class: 'bar-failed', x, y: baseline - ok - bad, width: barWidth, height: bad, rx: 1.5 }));
    svg.append(group);
    // Long ranges label the first bucket of each day; short ones any bucket, spaced out.
    const start = new Date(point.t);
    const day = start.toDateString();
    const newDay = day !== lastDay;
    lastDay = day;
    const at = byDay ? x0 : x0 + step / 2;
    const wanted = byDay ? newDay && i > 0 : true;
    const fits = at - lastLabelX >= LABEL_GAP_PX && at > MARGIN.left + 18 && at < width - 24;
    if (wanted && fits) {
      lastLabelX = at;
      svg.append(s('text', { class: 'tick', x: at, y: height - 8, 'text-anchor': 'middle' },
        axisLabel(start, spanSeconds)));
    }
  });
  container.replaceChildren(svg);
}
