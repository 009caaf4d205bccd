export * from './score-transaction';
export * from './hosted-budget-ledger';
