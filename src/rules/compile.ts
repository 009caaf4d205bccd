/**
 * Compiles a rules file's conditions with CEL (@marcbachmann/cel-js: a tree-walking interpreter with no
 * dependencies, a type checker and parse limits; never `eval`). A condition is refused at load unless it parses
 * within the limits, uses only the operators and functions below, names only declared attributes, lists and
 * params, and type-checks to a bool. What is left costs at most `maxAstNodes` node visits per rule, with no
 * loops (macros), no regular expressions and no host objects, so a rule set's cost per transaction is bounded by
 * its size.
 */
import { createHash } from 'node:crypto';
import type { ASTNode, Environment, ParseResult } from '@marcbachmann/cel-js' with { 'resolution-mode': 'import' };
import type { ScoringPolicy } from '../config';
import { cardAttributes, transactionAttributes } from './attributes';
import type { ListKind } from './list-kinds';
import type { ParsedRuleSet, ResolvedParam, RuleAction, RuleMode, RuleSetFile, RuleSetProblem } from './rule-set';
import { RuleSetError, configParamKeys, fieldName, parseRuleSetText, ruleSetLimits } from './rule-set';

/** Parse limits passed to CEL: how deep and how large one condition may be. */
export const conditionLimits = {
  maxAstNodes: 100,
  maxDepth: 12,
  maxListElements: 64,
  maxMapEntries: 0,
  maxCallArguments: 4,
};

/** Functions a condition may call: string tests and conversions, nothing that loops or backtracks. */
const allowedFunctions = new Set(['size', 'double', 'string', 'has', 'startsWith', 'endsWith', 'contains']);
const allowedOperators = new Set([
  'value',
  'id',
  '.',
  '[]',
  'list',
  'call',
  'rcall',
  '?:',
  '||',
  '&&',
  '!_',
  '-_',
  '==',
  '!=',
  '<',
  '<=',
  '>',
  '>=',
  'in',
  '+',
  '-',
  '*',
  '/',
  '%',
]);

export interface CompiledRule {
  name: string;
  action: RuleAction;
  mode: RuleMode;
  reason: string;
  condition: ParseResult;
}

/** A rule set ready to evaluate, with the document it was compiled from (params resolved) and its hash. */
export interface CompiledRuleSet {
  /** sha256 of the resolved document, 16 hex digits: recorded on every decision as `rulesHash`. */
  hash: string;
  document: RuleSetFile;
  rules: CompiledRule[];
  params: Record<string, ResolvedParam>;
  lists: Record<string, ListKind>;
}

/** Reads, validates and compiles a rules file's text; throws RuleSetError naming file, line and field. */
export async function compileRuleSetText(
  text: string,
  file: string,
  configRules?: ScoringPolicy['rules'],
): Promise<CompiledRuleSet> {
  return compileParsed(parseRuleSetText(text, file), configRules);
}

/** Compiles a document already stored resolved (the live rule set in the feature store). */
export async function compileRuleSetDocument(document: unknown, source: string): Promise<CompiledRuleSet> {
  return compileRuleSetText(JSON.stringify(document, null, 1), source);
}

async function compileParsed(parsed: ParsedRuleSet, configRules?: ScoringPolicy['rules']): Promise<CompiledRuleSet> {
  const { ruleSet, lineOf, file } = parsed;
  const problems: RuleSetProblem[] = [];
  const params = resolveParams(ruleSet, configRules, (path, message) =>
    problems.push({ line: lineOf(path), field: fieldName(path), message }),
  );
  if (problems.length > 0) throw new RuleSetError(file, problems);
  const env = await environmentFor(params, ruleSet.lists);
  const rules: CompiledRule[] = [];
  ruleSet.rules.forEach((rule, i) => {
    const path = ['rules', i, 'condition'];
    const compiled = compileCondition(env, rule.condition);
    if (typeof compiled === 'string') {
      problems.push({ line: lineOf(path), field: `${fieldName(path)} (rule ${rule.name})`, message: compiled });
    } else {
      rules.push({ name: rule.name, action: rule.action, mode: rule.mode, reason: rule.reason, condition: compiled });
    }
  });
  if (problems.length > 0) throw new RuleSetError(file, problems);
  const document: RuleSetFile = { ...ruleSet, params };
  return { hash: ruleSetHash(document), document, rules, params, lists: ruleSet.lists };
}

/** The hash of a resolved document: key order does not matter, every value does. */
export function ruleSetHash(document: RuleSetFile): string {
  return createHash('sha256').update(canonicalJson(document)).digest('hex').slice(0, 16);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Params with `{ env: RULE_* }` replaced by the configured value. */
function resolveParams(
  ruleSet: RuleSetFile,
  configRules: ScoringPolicy['rules'] | undefined,
  refuse: (path: Array<string | number>, message: string) => void,
): Record<string, ResolvedParam> {
  const resolved: Record<string, ResolvedParam> = {};
  for (const [name, value] of Object.entries(ruleSet.params)) {
    if (typeof value !== 'object' || Array.isArray(value)) {
      resolved[name] = value;
    } else if (!configRules) {
      refuse(['params', name], `${value.env} can only be read where the configuration is loaded`);
    } else {
      resolved[name] = configRules[configParamKeys[value.env]];
    }
  }
  return resolved;
}

/** The CEL type a param is declared with, from its value. */
function paramType(value: ResolvedParam): string {
  if (typeof value === 'number') return 'double';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'string') return 'string';
  if (value.length === 0) return 'list';
  return typeof value[0] === 'number' ? 'list<double>' : 'list<string>';
}

async function environmentFor(params: Record<string, ResolvedParam>, lists: Record<string, ListKind>) {
  const cel = await import('@marcbachmann/cel-js');
  const env: Environment = new cel.Environment({ limits: conditionLimits, homogeneousAggregateLiterals: true });
  const schemaOf = (names: string[], type: (n: string) => string) => Object.fromEntries(names.map((n) => [n, type(n)]));
  env.registerVariable('txn', { schema: { ...transactionAttributes } });
  env.registerVariable('card', { schema: { ...cardAttributes } });
  // An empty object schema is not a type: a placeholder field keeps `lists` and `params` declared.
  env.registerVariable('lists', { schema: schemaOf(Object.keys(lists).concat('_none'), () => 'bool') });
  env.registerVariable('params', {
    schema: schemaOf(Object.keys(params).concat('_none'), (n) => (n === '_none' ? 'bool' : paramType(params[n]!))),
  });
  return env;
}

/** The compiled condition, or why it is refused. */
function compileCondition(env: Environment, condition: string): ParseResult | string {
  let parsed: ParseResult;
  try {
    parsed = env.parse(condition);
  } catch (err) {
    return `does not parse: ${firstLine(err)}`;
  }
  const refusal = refusedNode(parsed.ast);
  if (refusal) return refusal;
  const checked = parsed.check();
  if (!checked.valid) return `does not type-check: ${firstLine(checked.error)}`;
  if (checked.type !== 'bool') return `must be a bool, is ${checked.type}`;
  return parsed;
}

/** The first node outside the allowed language, walking the whole tree. */
function refusedNode(node: ASTNode): string | undefined {
  if (!allowedOperators.has(node.op)) return `operator '${node.op}' is not allowed in a rule condition`;
  if (node.op === 'value') {
    const v = node.args;
    if (typeof v === 'string' && v.length > ruleSetLimits.maxStringChars) {
      return `a string literal of ${v.length} characters is longer than ${ruleSetLimits.maxStringChars}`;
    }
    if (v instanceof Uint8Array) return 'bytes literals are not allowed in a rule condition';
    return undefined;
  }
  if (node.op === 'id') return undefined;
  if (node.op === 'call' || node.op === 'rcall') {
    const name = node.args[0];
    if (!allowedFunctions.has(name)) return `function '${name}' is not allowed in a rule condition`;
  }
  for (const child of childNodes(node)) {
    const refusal = refusedNode(child);
    if (refusal) return refusal;
  }
  return undefined;
}

function childNodes(node: ASTNode): ASTNode[] {
  const out: ASTNode[] = [];
  const visit = (x: unknown) => {
    if (Array.isArray(x)) x.forEach(visit);
    else if (x !== null && typeof x === 'object' && 'op' in x) out.push(x as ASTNode);
  };
  visit(node.args);
  return out;
}

function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0] ?? message;
}
