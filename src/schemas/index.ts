export * from './money';
export * from './transaction-event';
export * from './decision';
export * from './risk-assessment';
export * from './dead-letter';
