export * from './types';
export * from './catalog';
export * from './codec';
export * from './personal';
export * from './keys';
