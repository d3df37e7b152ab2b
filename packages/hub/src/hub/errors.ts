export type HubErrorCode =
  'NOT_FOUND' | 'READ_ONLY' | 'CONFLICT' | 'NO_STORE' | 'OWNER_UNREACHABLE';

/** A person's request the hub cannot honour, with a code the API maps to a status. */
export class HubError extends Error {
  constructor(
    readonly code: HubErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'HubError';
  }
}
