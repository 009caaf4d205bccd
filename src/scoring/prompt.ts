/**
 * The fraud-analyst prompt. Bump `promptVersion` on any change: it is recorded on every decision and hashed into
 * the policy hash so backtests can tell prompt changes apart.
 */
import { formatMoney } from '../money';
import type { TransactionEvent } from '../schemas/transaction-event';
import type { CardFeatures } from '../schemas/card-features';
import { formatFeatureLine } from '../features/card-history';
import { recordPersonalDataMasks } from '../observability/metrics';
import { addMaskCounts, emptyMaskCounts } from './pii';
import { defaultRedactedFields, hostedMerchantText, hostedView, localView } from './redaction';

export const promptVersion = 'fraud-analyst-v3';

const systemPrompt = [
  'You are a card-fraud analyst at a payments company.',
  'Assess the transaction and answer only with JSON: {"riskScore": number 0..1, "confidence": number 0..1, "reasons": [short strings]}.',
  'riskScore is the probability the transaction is fraudulent. confidence is how sure you are of that score.',
  'Typical fraud signs: card testing (tiny amounts, many attempts), large foreign purchases, bursts on one card,',
  'new devices with foreign IPs, money transfers and quasi-cash. Ordinary local purchases are low risk.',
].join(' ');

export interface ChatMessage {
  role: 'system' | 'user';
  content: string;
}

/**
 * Messages for a model. `audience: 'hosted'` uses only the redacted view of the transaction, with personal data in
 * its free text (the merchant's name and category in the summary line included) masked and counted in metrics.
 * The card-history feature line is aggregate behaviour, not personal data: the hosted view keeps it.
 */
export function buildScoringMessages(
  event: TransactionEvent,
  audience: 'local' | 'hosted',
  redactedFields: readonly string[] = defaultRedactedFields,
  features?: CardFeatures,
): ChatMessage[] {
  let view: Record<string, unknown>;
  let merchant: { name: string; category?: string | undefined };
  if (audience === 'hosted') {
    const hosted = hostedView(event, redactedFields);
    const text = hostedMerchantText(event);
    recordPersonalDataMasks(addMaskCounts(addMaskCounts(emptyMaskCounts(), hosted.masks), text.masks));
    view = hosted.view;
    merchant = text;
  } else {
    view = localView(event);
    merchant = event.merchant;
  }
  const m = event.merchant;
  const summary = `${formatMoney(event.amount)} at ${merchant.name} (MCC ${m.mcc}${merchant.category ? ` ${merchant.category}` : ''}, ${m.country}) via ${event.channel}`;
  return [
    { role: 'system', content: systemPrompt },
    {
      role: 'user',
      content: [
        `Transaction: ${summary}`,
        ...(features ? [`Card history: ${formatFeatureLine(features)}`] : []),
        `Signals: ${JSON.stringify(view)}`,
      ].join('\n'),
    },
  ];
}
