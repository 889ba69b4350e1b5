export * from './defaults';
export * from './render';
