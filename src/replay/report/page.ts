/** The report page's shell and building blocks: inline CSS, tables, summary cards and chart legends. */
import { escapeHtml } from './format';

const css = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1c2833;margin:0;background:#f4f6f7}
main{max-width:1040px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d5d8dc;padding-bottom:4px}
h3{font-size:14px;margin:12px 0 6px}
.meta{color:#566573;margin:0 0 16px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(180px,1fr));gap:10px}
.card{background:#fff;border:1px solid #d5d8dc;border-radius:6px;padding:10px 12px}
.card .v{font-size:20px;font-weight:600}.card .k{color:#566573;font-size:12px}
.cols{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:16px}
table{border-collapse:collapse;background:#fff;margin:4px 0 8px}
th,td{border:1px solid #d5d8dc;padding:4px 8px;text-align:right;vertical-align:top}
th.l,td.l,.cm th:first-child,.cm td:first-child{text-align:left}
td.text{text-align:left;white-space:pre-wrap;font-family:ui-monospace,monospace;font-size:12px}
.cm td.tp,.cm td.tn{background:#e9f7ef}.cm td.fp,.cm td.fn{background:#fdedec}
.better{color:#1e8449}.worse{color:#b03a2e}
.note{color:#566573;font-size:12px}
.warn{background:#fef9e7;border:1px solid #f7dc6f;padding:6px 10px;border-radius:4px;margin:0 0 12px}
svg{background:#fff;border:1px solid #d5d8dc;border-radius:4px;max-width:100%;height:auto}
svg text{font:11px system-ui,sans-serif;fill:#1c2833}
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px;vertical-align:middle}
`;

export function page(title: string, body: string): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${css}</style>`,
    '</head>',
    `<body><main>${body}</main></body>`,
    '</html>',
    '',
  ].join('\n');
}

/** A table of HTML cells; the first `textColumns` columns hold text and are left-aligned, the rest numbers. */
export function table(head: string[], rows: string[][], textColumns = 1): string {
  const cell = (tag: 'th' | 'td', html: string, i: number) =>
    i < textColumns ? `<${tag} class="l">${html}</${tag}>` : `<${tag}>${html}</${tag}>`;
  const th = head.map((h, i) => cell('th', h, i)).join('');
  const tr = rows.map((r) => `<tr>${r.map((c, i) => cell('td', c, i)).join('')}</tr>`).join('');
  return `<table><thead><tr>${th}</tr></thead><tbody>${tr}</tbody></table>`;
}

export function card(key: string, value: string): string {
  return `<div class="card"><div class="v">${escapeHtml(value)}</div><div class="k">${escapeHtml(key)}</div></div>`;
}

export function legend(items: Array<[label: string, color: string]>): string {
  return `<div class="legend note">${items.map(([l, c]) => `<span style="background:${c}"></span>${escapeHtml(l)}`).join('')}</div>`;
}
