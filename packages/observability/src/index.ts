export * from './logger';
export * from './metrics';
export * from './ops';
export * from './auth';
export * from './roles';
export * from './docs';
