/** The rules file fraudflow ships (src/rules/shipped/rules.yaml): the rule set in force until one is promoted. */
import fs from 'node:fs';
import path from 'node:path';
import type { ScoringPolicy } from '../config';
import type { CompiledRuleSet } from './compile';
import { compileRuleSetText } from './compile';

export const shippedRulesFile = path.join(__dirname, 'shipped', 'rules.yaml');

/** The shipped rule set with this configuration's RULE_* limits. */
export function compileShippedRules(configRules: ScoringPolicy['rules']): Promise<CompiledRuleSet> {
  return compileRuleSetText(fs.readFileSync(shippedRulesFile, 'utf8'), shippedRulesFile, configRules);
}
