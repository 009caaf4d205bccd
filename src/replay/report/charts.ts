/** Inline SVG charts for the report page: no scripts or external references, so the page stands alone. */
import { escapeHtml, formatPercent } from './format';
import type { BacktestReport } from './schema';

export const colors = { fraud: '#c0392b', legit: '#2e86c1', local: '#27ae60', hosted: '#8e44ad', bar: '#5d6d7e' };

/** Horizontal bars, one per item, scaled to the largest value. */
export function barChart(
  items: Array<{ label: string; value: number; display: string; color: string }>,
  title: string,
): string {
  const width = 640;
  const labelWidth = 170;
  const rowHeight = 26;
  const height = items.length * rowHeight + 16;
  const max = Math.max(0, ...items.map((i) => i.value));
  const span = width - labelWidth - 110;
  const bars = items
    .map((item, i) => {
      const y = 8 + i * rowHeight;
      const w = max > 0 ? Math.max(item.value > 0 ? 1 : 0, (item.value / max) * span) : 0;
      return [
        `<text x="${labelWidth - 8}" y="${y + 15}" text-anchor="end">${escapeHtml(item.label)}</text>`,
        `<rect x="${labelWidth}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowHeight - 8}" fill="${item.color}"><title>${escapeHtml(`${item.label}: ${item.display}`)}</title></rect>`,
        `<text x="${(labelWidth + w + 6).toFixed(1)}" y="${y + 15}">${escapeHtml(item.display)}</text>`,
      ].join('');
    })
    .join('');
  return `<svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(title)}">${bars}</svg>`;
}

/** The score chart's frame: the plot, with room around it for the axis labels. */
const frame = { width: 640, height: 260, left: 44, right: 12, top: 14, bottom: 36 };
const plotW = frame.width - frame.left - frame.right;
const plotH = frame.height - frame.top - frame.bottom;

const share = (n: number, total: number) => (total > 0 ? n / total : 0);

/** Share of each class per score bucket (classes differ in size by orders of magnitude), with the thresholds. */
export function scoreChart(report: BacktestReport): string {
  const { width, height, left, right, top } = frame;
  const { counts, scoreDistribution: buckets } = report;
  const maxShare = Math.max(
    0.0001,
    ...buckets.flatMap((b) => [share(b.fraud, counts.fraud), share(b.legit, counts.legit)]),
  );
  const yMax = Math.min(1, Math.ceil(maxShare * 10) / 10);
  const groupW = plotW / buckets.length;
  const parts = [
    ...shareGridLines(yMax),
    ...buckets.flatMap((b, i) => bucketBars(b, left + i * groupW + 4, (groupW - 8) / 2, yMax, counts)),
    ...bucketTicks(buckets.length, groupW),
    ...thresholdMarkers(report.thresholds),
    `<line x1="${left}" x2="${width - right}" y1="${top + plotH}" y2="${top + plotH}" stroke="#566573"/>`,
    `<text x="${left + plotW / 2}" y="${height - 6}" text-anchor="middle">risk score</text>`,
  ];
  return `<svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="score distribution by label">${parts.join('')}</svg>`;
}

/** Lines across the plot at each quarter of the share axis, labelled in percent. */
function shareGridLines(yMax: number): string[] {
  const { width, left, right, top } = frame;
  return [0, 1, 2, 3, 4].flatMap((quarter) => {
    const v = (yMax * quarter) / 4;
    const y = top + plotH - (v / yMax) * plotH;
    return [
      `<line x1="${left}" x2="${width - right}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#eaecee"/>`,
      `<text x="${left - 4}" y="${(y + 4).toFixed(1)}" text-anchor="end">${(v * 100).toFixed(0)}%</text>`,
    ];
  });
}

/** A bucket's two bars, from `x0`: the share of all fraud that scored in it, then of all legit. */
function bucketBars(
  bucket: BacktestReport['scoreDistribution'][number],
  x0: number,
  barW: number,
  yMax: number,
  counts: BacktestReport['counts'],
): string[] {
  const classes = [
    ['fraud', bucket.fraud, counts.fraud],
    ['legit', bucket.legit, counts.legit],
  ] as const;
  return classes.map(([cls, n, total], j) => {
    const s = share(n, total);
    const h = (s / yMax) * plotH;
    const title = `${cls} ${bucket.from.toFixed(1)}–${bucket.to.toFixed(1)}: ${n} (${formatPercent(total > 0 ? s : null)} of ${cls})`;
    return `<rect x="${(x0 + j * barW).toFixed(1)}" y="${(frame.top + plotH - h).toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}" fill="${colors[cls]}"><title>${escapeHtml(title)}</title></rect>`;
  });
}

/** Ticks on bucket boundaries, where the threshold lines are drawn too. */
function bucketTicks(buckets: number, groupW: number): string[] {
  const { height, left, top, bottom } = frame;
  return Array.from({ length: buckets + 1 }, (_, i) => {
    const x = left + i * groupW;
    return [
      `<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${top + plotH}" y2="${top + plotH + 4}" stroke="#566573"/>`,
      `<text x="${x.toFixed(1)}" y="${height - bottom + 16}" text-anchor="middle">${(i / buckets).toFixed(1)}</text>`,
    ];
  }).flat();
}

function thresholdMarkers(thresholds: BacktestReport['thresholds']): string[] {
  const markers = [
    ['approve below', thresholds.approveBelow],
    ['decline at', thresholds.declineAt],
  ] as const;
  return markers.flatMap(([name, value]) => {
    const x = frame.left + value * plotW;
    return [
      `<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${frame.top}" y2="${frame.top + plotH}" stroke="#1c2833" stroke-dasharray="4 3"/>`,
      `<text x="${(x + 3).toFixed(1)}" y="${frame.top + 10}">${escapeHtml(`${name} ${value}`)}</text>`,
    ];
  });
}

/** One bar split between local and hosted model calls. */
export function shareChart(report: BacktestReport): string {
  const width = 640;
  const height = 44;
  const { local, hosted, total } = report.modelCalls;
  if (total === 0) return '<p class="note">No model calls.</p>';
  const wl = (local / total) * (width - 20);
  const label = (n: number, name: string) => escapeHtml(`${name} ${n} (${formatPercent(n / total)})`);
  return [
    `<svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="local vs hosted model calls">`,
    `<rect x="10" y="8" width="${wl.toFixed(1)}" height="28" fill="${colors.local}"><title>${label(local, 'local')}</title></rect>`,
    `<rect x="${(10 + wl).toFixed(1)}" y="8" width="${(width - 20 - wl).toFixed(1)}" height="28" fill="${colors.hosted}"><title>${label(hosted, 'hosted')}</title></rect>`,
    local > 0 ? `<text x="16" y="26" style="fill:#fff">${label(local, 'local')}</text>` : '',
    hosted > 0
      ? `<text x="${width - 16}" y="26" text-anchor="end" style="fill:#fff">${label(hosted, 'hosted')}</text>`
      : '',
    '</svg>',
  ].join('');
}
