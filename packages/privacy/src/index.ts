export * from './settings';
export * from './crypto';
export * from './keyring';
export * from './personal';
export * from './registry';
export * from './privacy';
