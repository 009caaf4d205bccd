/**
 * The chaos run's dead-letter topic read against the invalid messages it produced: each invalid message must be
 * there (at-least-once copies are counted apart), and nothing else may be.
 */
import { DeadLetter } from '../../src/schemas/dead-letter';

/** The dead-letter topic as read: the invalid messages found (by key, with their reason), copies, and the rest. */
export interface DeadLetterTally {
  reasonByKey: Map<string, string>;
  copies: number;
  other: number;
}

/** Counts one dead-letter record: an invalid message seen for the first time, a copy, or something else. */
export function tallyDeadLetter(tally: DeadLetterTally, value: Buffer | null, invalidKeys: ReadonlySet<string>): void {
  let json: unknown;
  try {
    json = JSON.parse(value?.toString('utf8') ?? '');
  } catch {
    tally.other++;
    return;
  }
  const parsed = DeadLetter.safeParse(json);
  const key = parsed.success ? Buffer.from(parsed.data.originalKeyBase64 ?? '', 'base64').toString('utf8') : '';
  if (!parsed.success || !invalidKeys.has(key)) {
    tally.other++;
    return;
  }
  if (tally.reasonByKey.has(key)) tally.copies++;
  else tally.reasonByKey.set(key, parsed.data.reason);
}
