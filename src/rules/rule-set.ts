/**
 * The rules file: an ordered list of rules over a transaction, its card history and saved lists, with named
 * parameters. YAML or JSON (JSON is YAML), validated with zod; every refusal names the file, the line and the
 * field. Conditions are checked later, by the compiler (src/rules/compile.ts), which reports with the same form.
 */
import { LineCounter, parseDocument, isNode } from 'yaml';
import type { Document } from 'yaml';
import { z } from 'zod';
import { ListKind, ListName } from './list-kinds';

/**
 * What a rule does when its condition holds. Precedence, strongest first: `allow` (approve, no model asked,
 * every block / review / escalate overridden) > `block` (decline, no model asked) > `review` (a human looks) >
 * `escalate` (the hosted model is asked) > `tag` (recorded on the decision only).
 */
export const RuleAction = z.enum(['allow', 'block', 'review', 'escalate', 'tag']);
export type RuleAction = z.infer<typeof RuleAction>;

/** `live` rules decide; `shadow` rules are evaluated and recorded (`shadowRuleHits`) and change nothing. */
export const RuleMode = z.enum(['live', 'shadow']);
export type RuleMode = z.infer<typeof RuleMode>;

/** The RULE_* settings a rules file can take a parameter from, so existing deployments keep their limits. */
export const configParamKeys = {
  RULE_REVIEW_AMOUNT: 'reviewAmount',
  RULE_DECLINE_AMOUNT: 'declineAmount',
  RULE_BLOCKED_COUNTRIES: 'blockedCountries',
  RULE_BLOCKED_MCCS: 'blockedMccs',
  RULE_REVIEW_MCCS: 'reviewMccs',
  RULE_ESCALATE_MCCS: 'escalateMccs',
  RULE_VELOCITY_REVIEW_PER_HOUR: 'velocityReviewPerHour',
  RULE_VELOCITY_ESCALATE_PER_HOUR: 'velocityEscalatePerHour',
  RULE_CARD_TESTING_MAX_USD: 'cardTestingMaxAmountUsd',
  RULE_CARD_TESTING_COUNT: 'cardTestingCount',
  RULE_IMPOSSIBLE_TRAVEL_MIN_KM: 'impossibleTravelMinKm',
  RULE_IMPOSSIBLE_TRAVEL_KMH: 'impossibleTravelKmh',
} as const;
export type ConfigParamName = keyof typeof configParamKeys;
const ConfigParamName = z.enum(Object.keys(configParamKeys) as [ConfigParamName, ...ConfigParamName[]]);

/** Bounds that keep a rule set cheap to load and to evaluate on every transaction. */
export const ruleSetLimits = {
  maxRules: 500,
  maxConditionChars: 1_000,
  maxStringChars: 256,
  maxParamListEntries: 1_000,
  maxParams: 200,
  maxLists: 100,
} as const;

const Identifier = z
  .string()
  .regex(/^[a-z][A-Za-z0-9_]{0,63}$/, 'expected an identifier: a lower-case letter, then letters, digits or _');
const Text = z.string().max(ruleSetLimits.maxStringChars);

export const ParamValue = z.union([
  z.number().finite(),
  z.boolean(),
  Text,
  z.array(Text).max(ruleSetLimits.maxParamListEntries),
  z.array(z.number().finite()).max(ruleSetLimits.maxParamListEntries),
  z.object({ env: ConfigParamName }).strict(),
]);
export type ParamValue = z.infer<typeof ParamValue>;
/** A parameter once RULE_* references are resolved. */
export type ResolvedParam = Exclude<ParamValue, { env: ConfigParamName }>;

export const Rule = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'expected a rule name of lower-case letters, digits and _'),
    action: RuleAction,
    condition: z.string().min(1).max(ruleSetLimits.maxConditionChars),
    reason: z.string().min(1).max(300),
    /** @default 'live' */
    mode: RuleMode.default('live'),
  })
  .strict();
export type Rule = z.infer<typeof Rule>;

export const RuleSetFile = z
  .object({
    version: z.literal(1),
    description: z.string().max(1_000).optional(),
    params: z
      .record(Identifier, ParamValue)
      .refine((p) => Object.keys(p).length <= ruleSetLimits.maxParams, `at most ${ruleSetLimits.maxParams} params`)
      .default({}),
    lists: z
      .record(ListName, ListKind)
      .refine((l) => Object.keys(l).length <= ruleSetLimits.maxLists, `at most ${ruleSetLimits.maxLists} lists`)
      .default({}),
    rules: z.array(Rule).max(ruleSetLimits.maxRules),
  })
  .strict()
  .superRefine((file, ctx) => {
    const seen = new Set<string>();
    file.rules.forEach((rule, i) => {
      if (seen.has(rule.name)) {
        ctx.addIssue({ code: 'custom', path: ['rules', i, 'name'], message: `rule name '${rule.name}' is used twice` });
      }
      seen.add(rule.name);
    });
  });
export type RuleSetFile = z.infer<typeof RuleSetFile>;

/** One reason a rules file was refused: where, which field, what. */
export interface RuleSetProblem {
  line: number;
  field: string;
  message: string;
}

/** Thrown when a rules file is refused at load: it names the file and every problem's line and field. */
export class RuleSetError extends Error {
  constructor(
    readonly file: string,
    readonly problems: RuleSetProblem[],
  ) {
    super(problems.map((p) => `${file}:${p.line}: ${p.field}: ${p.message}`).join('\n'));
    this.name = 'RuleSetError';
  }
}

/** A parsed rules file and how to find the line of any of its fields. */
export interface ParsedRuleSet {
  file: string;
  ruleSet: RuleSetFile;
  lineOf: (path: ReadonlyArray<string | number>) => number;
}

/** Parses and validates a rules file's text; throws RuleSetError naming line and field. */
export function parseRuleSetText(text: string, file: string): ParsedRuleSet {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new RuleSetError(
      file,
      doc.errors.map((e) => ({
        line: e.linePos?.[0].line ?? 1,
        field: '(syntax)',
        message: e.message.split('\n')[0] ?? e.code,
      })),
    );
  }
  const lineOf = (path: ReadonlyArray<string | number>) => lineOfPath(doc, lineCounter, path);
  let value: unknown;
  try {
    // No aliases at all: a rules file has no use for them, and expanding them is how a YAML bomb grows.
    value = doc.toJS({ maxAliasCount: 0 });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new RuleSetError(file, [
      { line: 1, field: '(document)', message: `${message}: YAML aliases are not allowed` },
    ]);
  }
  const parsed = RuleSetFile.safeParse(value);
  if (!parsed.success) {
    throw new RuleSetError(
      file,
      parsed.error.issues.map((issue) => {
        const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
        return { line: lineOf(path), field: fieldName(path), message: issue.message };
      }),
    );
  }
  return { file, ruleSet: parsed.data, lineOf };
}

/** `rules[3].condition`, the way a reader finds it in the file. */
export function fieldName(path: ReadonlyArray<string | number>): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('') || '(document)';
}

/** The line of the deepest node on `path` that exists (a missing field is reported at its parent). */
function lineOfPath(doc: Document, lineCounter: LineCounter, path: ReadonlyArray<string | number>): number {
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
  }
  return 1;
}
