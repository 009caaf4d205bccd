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

/** Share of each class per score bucket (classes differ in size by orders of magnitude), with the thresholds. */
export function scoreChart(report: BacktestReport): string {
  const width = 640;
  const height = 260;
  const left = 44;
  const right = 12;
  const top = 14;
  const bottom = 36;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const { fraud, legit } = report.counts;
  const share = (n: number, total: number) => (total > 0 ? n / total : 0);
  const maxShare = Math.max(
    0.0001,
    ...report.scoreDistribution.flatMap((b) => [share(b.fraud, fraud), share(b.legit, legit)]),
  );
  const yMax = Math.min(1, Math.ceil(maxShare * 10) / 10);
  const groupW = plotW / report.scoreDistribution.length;
  const barW = (groupW - 8) / 2;
  const y = (v: number) => top + plotH - (v / yMax) * plotH;
  const parts: string[] = [];
  for (let t = 0; t <= 4; t++) {
    const v = (yMax * t) / 4;
    parts.push(
      `<line x1="${left}" x2="${width - right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#eaecee"/>`,
      `<text x="${left - 4}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${(v * 100).toFixed(0)}%</text>`,
    );
  }
  report.scoreDistribution.forEach((b, i) => {
    const x0 = left + i * groupW + 4;
    for (const [j, cls, n, total] of [
      [0, 'fraud', b.fraud, fraud],
      [1, 'legit', b.legit, legit],
    ] as const) {
      const s = share(n, total);
      const h = (s / yMax) * plotH;
      parts.push(
        `<rect x="${(x0 + j * barW).toFixed(1)}" y="${(top + plotH - h).toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}" fill="${colors[cls]}"><title>${escapeHtml(`${cls} ${b.from.toFixed(1)}–${b.to.toFixed(1)}: ${n} (${formatPercent(total > 0 ? s : null)} of ${cls})`)}</title></rect>`,
      );
    }
  });
  // Ticks on bucket boundaries, where the threshold lines are drawn too.
  for (let i = 0; i <= report.scoreDistribution.length; i++) {
    const x = left + i * groupW;
    parts.push(
      `<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${top + plotH}" y2="${top + plotH + 4}" stroke="#566573"/>`,
      `<text x="${x.toFixed(1)}" y="${height - bottom + 16}" text-anchor="middle">${(i / report.scoreDistribution.length).toFixed(1)}</text>`,
    );
  }
  for (const [name, value] of [
    ['approve below', report.thresholds.approveBelow],
    ['decline at', report.thresholds.declineAt],
  ] as const) {
    const x = left + value * plotW;
    parts.push(
      `<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${top}" y2="${top + plotH}" stroke="#1c2833" stroke-dasharray="4 3"/>`,
      `<text x="${(x + 3).toFixed(1)}" y="${top + 10}">${escapeHtml(`${name} ${value}`)}</text>`,
    );
  }
  parts.push(
    `<line x1="${left}" x2="${width - right}" y1="${top + plotH}" y2="${top + plotH}" stroke="#566573"/>`,
    `<text x="${left + plotW / 2}" y="${height - 6}" text-anchor="middle">risk score</text>`,
  );
  return `<svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="score distribution by label">${parts.join('')}</svg>`;
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
