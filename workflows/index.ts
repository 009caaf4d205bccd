export * from './score-transaction';
