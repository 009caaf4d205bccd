/**
 * The local first pass as the scoring activity and `fraudflow tune` both run it: the text the local model reads,
 * and its raw output (a probe's log-odds over the model's embedding of that text, or the log-odds of a generated
 * score). One code path, so a policy is tuned on exactly what scoring will see.
 */
import type OpenAI from 'openai';
import { formatMoney } from '../money';
import type { CardFeatures } from '../schemas/card-features';
import type { TransactionEvent } from '../schemas/transaction-event';

/**
 * What the local model reads: one line for the transaction and one compact line for its card's history. Every
 * token costs ~2.3 ms of CPU on the 135M model (the tokenizer spells numbers digit by digit), so the history line
 * names only what departs from the ordinary and rounds to whole numbers: ~60 tokens, ~150 ms.
 */
export function firstPassText(event: TransactionEvent, features: CardFeatures): string {
  const m = event.merchant;
  const abroad =
    event.cardholderCountry && event.cardholderCountry !== m.country ? ` abroad from ${event.cardholderCountry}` : '';
  return [
    `${formatMoney(event.amount)} ${m.name} ${m.category ?? `MCC ${m.mcc}`} ${m.country}${abroad} ${event.channel}`,
    compactFeatureLine(features),
  ].join('\n');
}

/** The card-history line for the local model: counts, then only the notable signals. */
export function compactFeatureLine(f: CardFeatures): string {
  const parts = [`card 1h ${f.txnCount1h}, 24h ${f.txnCount24h}, 7d ${f.txnCount7d}`];
  if (f.historyCount === 0) parts.push('first use');
  if (f.amountRatioToMean !== null) parts.push(`${Math.round(f.amountRatioToMean * 10) / 10}x mean`);
  if (f.secondsSincePrevious !== null) parts.push(`prev ${sinceText(f.secondsSincePrevious)}`);
  if (f.distinctMerchants24h > 2) parts.push(`${f.distinctMerchants24h} merchants 24h`);
  if (f.distinctCountries24h > 1) parts.push(`${f.distinctCountries24h} countries 24h`);
  if (f.historyCount > 0 && f.firstTimeMerchant) parts.push('new merchant');
  if (f.historyCount > 0 && f.firstTimeCategory) parts.push('new category');
  if (f.historyCount > 0 && f.firstTimeCountry) parts.push('new country');
  if (f.speedKmhFromPrevious !== null && f.distanceKmFromPrevious !== null && f.distanceKmFromPrevious >= 100) {
    parts.push(`${Math.round(f.distanceKmFromPrevious)} km at ${Math.round(f.speedKmhFromPrevious)} km/h`);
  }
  if (f.smallAmountCount10m > 0) parts.push(`${f.smallAmountCount10m} small 10m`);
  parts.push(`hour ${f.localHour}`);
  return parts.join(', ');
}

/**
 * The question a fine-tuned model learns to answer after a first-pass text (`fraud: yes` or `fraud: no`). Its
 * embedding is the state of the text's last token, so a policy for a fine-tuned model embeds the text with this cue
 * after it: the state from which the model gives its answer.
 */
export const answerCue = 'fraud:';

/** What an embedding-probe first pass embeds: the first-pass text, then the policy's answer cue if it has one. */
export function embeddedText(event: TransactionEvent, features: CardFeatures, cue?: string): string {
  const text = firstPassText(event, features);
  return cue ? `${text}\n${cue}` : text;
}

function sinceText(seconds: number): string {
  if (seconds < 3600) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86_400)}d`;
}

/** The model's embedding of the first-pass text, through the OpenAI-compatible `/v1/embeddings`. */
export async function embedFirstPass(
  client: OpenAI,
  model: string,
  text: string,
  signal?: AbortSignal,
): Promise<{ embedding: number[]; inputTokens: number }> {
  const response = await client.embeddings.create({ model, input: text, encoding_format: 'float' }, { signal });
  // Validated by the caller: an empty or malformed embedding is the model's invalid output, not a crash.
  return { embedding: response.data[0]?.embedding ?? [], inputTokens: response.usage?.prompt_tokens ?? 0 };
}
