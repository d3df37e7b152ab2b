import type { SessionServer } from '@tether/session/server';

export interface ConversationState {
  conversationId: string;
  language: 'en' | 'fr' | 'zh';
  history: Array<{ from: 'user' | 'server'; text: string }>;
  /** The conversation this one was seeded from, when the client's previous session expired. */
  continuedFrom?: string;
}

export interface ConversationServerOptions {
  port?: number;
  host?: string;
  /** Sessions in Redis (resumable across restarts and instances) instead of memory. */
  redisUrl?: string;
  resumeWindowMs?: number;
  heartbeatMs?: number;
  pauseAfterMs?: number;
  detachAfterMs?: number;
  pingIntervalMs?: number;
  log?: (line: string) => void;
}

export interface ConversationStats {
  connections: number;
  sessions: Array<{
    id: string;
    status: string;
    conversationId: string;
    messages: number;
    streaming: boolean;
  }>;
}

export interface ConversationServer {
  port: number;
  url: string;
  sessions: SessionServer<ConversationState>;
  stats(): ConversationStats;
  close(): Promise<void>;
}

export function startConversationServer(
  options?: ConversationServerOptions,
): Promise<ConversationServer>;
