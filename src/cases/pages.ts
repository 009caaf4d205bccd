/** The case console's pages: server-rendered HTML, no script, every value escaped. */
import { formatMoney } from '../money';
import type { CaseFile, CaseSort, CaseSummary } from './desk';
import { caseSorts } from './desk';

const escapeHtml = (s: string | number | boolean | null | undefined) =>
  String(s ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

const style = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 0; color: #1d232b; background: #f5f6f8; }
header { background: #1d2b3a; color: #fff; padding: 12px 24px; display: flex; gap: 24px; align-items: baseline; }
header a { color: #cfe3ff; }
main { padding: 16px 24px; max-width: 1100px; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid #e3e6ea; vertical-align: top; }
th { background: #eef1f4; font-weight: 600; }
.status-open { color: #a35b00; font-weight: 600; }
.status-resolved { color: #16703a; font-weight: 600; }
.status-expired { color: #6b7280; font-weight: 600; }
section { background: #fff; padding: 12px 16px; margin: 0 0 16px; border: 1px solid #e3e6ea; }
h2 { font-size: 16px; margin: 0 0 8px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
dt { color: #5b6470; }
form.verdict { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
button { padding: 6px 14px; border: 0; border-radius: 4px; color: #fff; cursor: pointer; font-size: 14px; }
button.fraud { background: #b42318; } button.legitimate { background: #16703a; }
.notice { padding: 8px 12px; margin: 0 0 16px; border: 1px solid; }
.notice.ok { background: #ecfdf3; border-color: #16703a; } .notice.error { background: #fef3f2; border-color: #b42318; }
`;

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>${style}</style></head><body><header><strong>fraudflow cases</strong><a href="/?open=1">open cases</a>
<a href="/">all cases</a></header><main>${body}</main></body></html>`;
}

const caseLink = (transactionId: string) => `/cases/${encodeURIComponent(transactionId)}`;

function age(openedAt: Date, now: Date): string {
  const minutes = Math.max(0, Math.round((now.getTime() - openedAt.getTime()) / 60_000));
  return minutes < 90 ? `${minutes} min` : `${(minutes / 60).toFixed(1)} h`;
}

export function caseListPage(rows: CaseSummary[], opts: { open: boolean; sort: CaseSort; now: Date }): string {
  const sortLinks = caseSorts
    .map((s) =>
      s === opts.sort ? `<strong>${s}</strong>` : `<a href="/?${opts.open ? 'open=1&' : ''}sort=${s}">${s}</a>`,
    )
    .join(' · ');
  const body = rows
    .map(
      (r) => `<tr data-transaction="${escapeHtml(r.transactionId)}">
<td><a href="${caseLink(r.transactionId)}">${escapeHtml(r.transactionId)}</a></td>
<td class="status-${escapeHtml(r.status)}">${escapeHtml(r.status)}</td><td>${r.riskScore.toFixed(2)}</td>
<td>${r.amount.toFixed(2)}</td><td>${escapeHtml(r.merchantCategory)}</td>
<td>${escapeHtml(r.openedAt.toISOString())} (${age(r.openedAt, opts.now)})</td>
<td>${escapeHtml(r.verdict ?? '')}</td><td>${escapeHtml(r.decision ?? '')}</td></tr>`,
    )
    .join('\n');
  return page(
    `${opts.open ? 'Open cases' : 'Cases'} (${rows.length})`,
    `<h1>${opts.open ? 'Open cases' : 'All cases'} (${rows.length})</h1><p>Sort by: ${sortLinks}</p>
<table id="cases"><thead><tr><th>Transaction</th><th>Status</th><th>Risk</th><th>Amount</th><th>MCC</th>
<th>Opened (age)</th><th>Verdict</th><th>Decision</th></tr></thead><tbody>
${body || '<tr><td colspan="8">No cases.</td></tr>'}</tbody></table>`,
  );
}

type Shown = string | number | boolean | null | undefined;

function rows(pairs: Array<[string, Shown]>): string {
  return `<dl>${pairs
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`)
    .join('')}</dl>`;
}

function verdictForm(file: CaseFile): string {
  if (file.status !== 'open') {
    const r = file.resolution;
    const how = r?.resolvedBy === 'analyst' ? `${r.verdict} by ${r.analyst}` : 'expired (no verdict within the SLA)';
    return `<section id="outcome"><h2>Closed: ${escapeHtml(how)}</h2>${rows([
      ['final decision', file.final?.decision],
      ['resolved at', r?.resolvedAt],
      ['note', r?.note],
    ])}</section>`;
  }
  return `<section id="verdict"><h2>Verdict</h2>
<form class="verdict" method="post" action="${caseLink(file.transactionId)}/resolve">
<label>Analyst <input name="analyst" required maxlength="128"></label>
<label>Note <input name="note" maxlength="2000" size="40"></label>
<button class="fraud" name="verdict" value="fraud">Fraud (decline)</button>
<button class="legitimate" name="verdict" value="legitimate">Legitimate (approve)</button>
</form></section>`;
}

export function caseFilePage(file: CaseFile, notice?: { ok: boolean; text: string }): string {
  const { event, review } = file;
  const amount = formatMoney(event.amount);
  const calls = review.modelCalls
    .map(
      (c) => `<tr><td>${escapeHtml(c.tier)}</td><td>${escapeHtml(c.provider)}</td><td>${escapeHtml(c.model)}</td>
<td>${escapeHtml(c.outcome)}</td><td>${c.riskScore?.toFixed(2) ?? ''}</td><td>${c.confidence?.toFixed(2) ?? ''}</td>
<td>$${c.costUsd.toFixed(5)}</td><td>${Math.round(c.latencyMs)} ms</td></tr>`,
    )
    .join('');
  // A null feature has no history to compute it from (no previous transaction, no spread).
  const features = Object.entries(review.features ?? {}).map(([k, v]): [string, Shown] => [k, v ?? '—']);
  return page(
    `Case ${file.transactionId}`,
    `${notice ? `<p class="notice ${notice.ok ? 'ok' : 'error'}" role="status">${escapeHtml(notice.text)}</p>` : ''}
<h1>Case ${escapeHtml(file.transactionId)} <span class="status-${file.status}">${file.status}</span></h1>
${verdictForm(file)}
<section><h2>Transaction</h2>${rows([
      ['amount', amount],
      ['occurred at', event.occurredAt],
      [
        'merchant',
        `${event.merchant.name} (${event.merchant.id}, MCC ${event.merchant.mcc}, ${event.merchant.country ?? ''})`,
      ],
      ['channel', event.channel],
      ['card', event.cardToken],
      ['cardholder country', event.cardholderCountry],
      ['opened at', file.openedAt],
      ['due at', file.dueAt],
    ])}</section>
<section><h2>Why it was reviewed</h2>${rows([
      ['risk score', review.riskScore.toFixed(3)],
      ['path', review.path],
      ['rule hits', review.ruleHits.map((h) => `${h.rule} (${h.effect}): ${h.detail}`).join('; ') || 'none'],
    ])}<ul>${review.reasons.map((r) => `<li>${escapeHtml(r)}</li>`).join('')}</ul></section>
<section><h2>Model answers and cost</h2><table><thead><tr><th>Tier</th><th>Provider</th><th>Model</th><th>Outcome</th>
<th>Risk</th><th>Confidence</th><th>Cost</th><th>Latency</th></tr></thead><tbody>${calls}</tbody></table></section>
<section><h2>Card history</h2>${features.length ? rows(features) : '<p>Card history was unavailable.</p>'}</section>`,
  );
}

export function errorPage(status: number, message: string): string {
  return page(`Error ${status}`, `<p class="notice error" role="alert">${escapeHtml(message)}</p>`);
}
