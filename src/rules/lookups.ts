/**
 * The list lookups a rule set needs for one transaction, as reads that ride along with the card-history script
 * (one SMISMEMBER per declared list, of the transaction's candidates for that list's kind), and the memberships
 * they answer.
 */
import type { StoreRead } from '../features/store';
import type { TransactionEvent } from '../schemas/transaction-event';
import type { CompiledRuleSet } from './compile';
import { listCandidates } from './list-kinds';
import { listKey } from './list-store';

export interface ListLookups {
  /** Lists with candidates, in the order of `reads`. */
  names: string[];
  reads: StoreRead[];
  /** Lists the transaction cannot be on (no IP, no e-mail, no BIN): false without a read. */
  absent: string[];
}

export function listLookups(set: CompiledRuleSet, event: TransactionEvent, prefix: string): ListLookups {
  const lookups: ListLookups = { names: [], reads: [], absent: [] };
  for (const [name, kind] of Object.entries(set.lists)) {
    const members = listCandidates(kind, event);
    if (members.length === 0) {
      lookups.absent.push(name);
      continue;
    }
    lookups.names.push(name);
    lookups.reads.push({ command: 'smismember', key: listKey(prefix, kind, name), members });
  }
  return lookups;
}

/** Memberships from the answers to `lookups.reads` (SMISMEMBER answers 0/1 per member). */
export function membershipsFrom(lookups: ListLookups, answers: unknown[]): Record<string, boolean> {
  const memberships: Record<string, boolean> = {};
  for (const name of lookups.absent) memberships[name] = false;
  lookups.names.forEach((name, i) => {
    const answer = answers[i];
    memberships[name] = Array.isArray(answer) && answer.some((a) => Number(a) === 1);
  });
  return memberships;
}
