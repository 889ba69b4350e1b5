import { AppError } from '@sicantik/core';

/** A provider is half-configured or a value is unusable: never retried; the message names variables, never values. */
export class ProviderConfigError extends AppError {
  constructor(message: string) {
    super(message, { retriable: false, code: 'PROVIDER_CONFIG' });
  }
}
