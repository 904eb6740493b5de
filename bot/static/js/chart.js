// Every status over time as stacked SVG bars, drawn here (no chart library).
import { h, s } from './dom.js';
import { axisLabel, count, shortTime } from './format.js';

// Bottom to top: what went through, then what failed, then what is still on its way.
export const SERIES = ['success', 'failed', 'pending', 'received'];
const MARGIN = { top: 6, right: 6, bottom: 18, left: 40 };
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

function total(point) {
  return SERIES.reduce((sum, name) => sum + (point[name] || 0), 0);
}

/** What hovering a bucket says: its span and the count of every status. */
export function bucketText(point, bucketSeconds) {
  const start = new Date(point.t);
  const end = new Date(start.getTime() + bucketSeconds * 1000);
  const span = `${shortTime(point.t, new Date(0))} – ${axisLabel(end, 0)}`;
  const counts = SERIES.map((name) => `${count(point[name] || 0)} ${name}`).join(', ');
  return `${span}: ${counts}`;
}

function tooltip(container) {
  let tip = container.querySelector('.chart-tip');
  if (!tip) {
    tip = h('div', { class: 'chart-tip', role: 'tooltip', hidden: true });
    container.append(tip);
  }
  return tip;
}

/** The tip follows the pointer over the buckets; its text is built from numbers only. */
function showTip(container, group, point, bucketSeconds) {
  const tip = tooltip(container);
  const rows = SERIES.map((name) => h('div', { class: 'tip-row' },
    h('span', { class: `swatch swatch-${name}` }),
    h('span', { class: 'tip-name' }, name),
    h('span', { class: 'tip-count' }, count(point[name] || 0))));
  tip.replaceChildren(
    h('div', { class: 'tip-time' }, bucketText(point, bucketSeconds).split(': ')[0]),
    ...rows,
  );
  tip.hidden = false;
  const box = group.getBoundingClientRect();
  const frame = container.getBoundingClientRect();
  const left = Math.min(Math.max(0, box.left - frame.left + box.width / 2 - 80), frame.width - 170);
  tip.style.left = `${Math.max(0, left)}px`;
}

export function renderChart(container, stats) {
  const series = Array.isArray(stats.series) ? stats.series : [];
  const width = Math.max(280, Math.floor(container.clientWidth || 800));
  const height = width < 560 ? 84 : 96;
  const inner = {
    w: width - MARGIN.left - MARGIN.right,
    h: height - MARGIN.top - MARGIN.bottom,
  };
  const peak = Math.max(0, ...series.map(total));
  if (!series.length || peak === 0) {
    container.replaceChildren(h('p', { class: 'chart-empty' }, 'No messages in this range.'));
    return;
  }
  const bucketSeconds = stats.bucket_seconds || 0;
  const top = niceCeil(peak);
  const baseline = MARGIN.top + inner.h;
  const svg = s('svg', {
    class: 'chart-svg',
    viewBox: `0 0 ${width} ${height}`,
    width: String(width),
    height: String(height),
    role: 'img',
    'aria-label': `Messages by status over time, peak ${peak} per bucket`,
  });

  for (const tick of [0, top]) {
    const y = baseline - (inner.h * tick) / top;
    svg.append(
      s('line', { class: tick === 0 ? 'axis' : 'grid', x1: MARGIN.left, x2: width - MARGIN.right, y1: y, y2: y }),
      s('text', { class: 'tick', x: MARGIN.left - 6, y: y + 4, 'text-anchor': 'end' }, count(tick)),
    );
  }

  const step = inner.w / series.length;
  const barWidth = Math.max(1, Math.min(28, step * 0.72));
  const spanSeconds = series.length * bucketSeconds;
  const byDay = spanSeconds > 2 * 86400;
  let lastLabelX = -Infinity;
  let lastDay = '';
  series.forEach((point, i) => {
    const x0 = MARGIN.left + i * step;
    const x = x0 + (step - barWidth) / 2;
    const text = bucketText(point, bucketSeconds);
    const group = s('g', { class: 'bucket', 'aria-label': text, dataset: { index: String(i) } },
      s('title', null, text),
      s('rect', { class: 'bucket-hit', x: x0, y: MARGIN.top, width: step, height: inner.h }));
    let y = baseline;
    for (const name of SERIES) {
      const tall = barHeight(point[name], top, inner.h);
      if (!tall) continue;
      y -= tall;
      group.append(s('rect', { class: `bar-${name}`, x, y, width: barWidth, height: tall }));
    }
    group.addEventListener('pointerenter', () => showTip(container, group, point, bucketSeconds));
    group.addEventListener('pointerleave', () => { tooltip(container).hidden = true; });
    svg.append(group);
    // Long ranges label the first bucket of each day; short ones any bucket, spaced out.
    const start = new Date(point.t);
    const day = axisLabel(start, 3 * 86400);
    const newDay = day !== lastDay;
    lastDay = day;
    const at = byDay ? x0 : x0 + step / 2;
    const wanted = byDay ? newDay && i > 0 : true;
    const fits = at - lastLabelX >= LABEL_GAP_PX && at > MARGIN.left + 18 && at < width - 24;
    if (wanted && fits) {
      lastLabelX = at;
      svg.append(s('text', { class: 'tick', x: at, y: height - 4, 'text-anchor': 'middle' },
        axisLabel(start, spanSeconds)));
    }
  });
  container.replaceChildren(svg, tooltip(container));
}
