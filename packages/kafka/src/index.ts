export * from './client';
export * from './consumer';
export * from './lifecycle';
export * from './bootstrap';
export * from './follow';
export * from './batchConsumer';
export * from './assigner';
