import type { HubEvent } from '@tether/protocol';

export interface MockHub {
  url: string;
  data: {
    endpoints: Array<Record<string, unknown> & { id: string; state: string }>;
    calls: Array<Record<string, unknown>>;
    off: Map<string, Set<string>>;
  };
  emit(event: HubEvent): void;
  transition(id: string, state: string, patch?: Record<string, unknown>): void;
  /** Logs a call as the hub would: in the call log and as a `call` event. */
  logCall(call: Record<string, unknown>): void;
  dropStreams(): void;
  close(): Promise<void>;
}

export function startMockServer(options?: {
  port?: number;
  token?: string;
  live?: boolean;
  /** How long GET /api/tools/stats takes to answer. */
  statsDelayMs?: number;
}): Promise<MockHub>;
