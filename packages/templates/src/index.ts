export * from './defaults';
export * from './render';
export * from './universal';
export * from './consent';
