export * from './score-transaction';
export * from './hosted-budget-ledger';
export * from './replay';
export * from './work-case';
