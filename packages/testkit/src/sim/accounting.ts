import type { TokenAccounting } from './types.js';

/** Per token: sockets open now, the most ever open at once, and every open, ready and close. */
export class Accounting {
  private readonly tokens = new Map<string, TokenAccounting>();

  get(token: string): TokenAccounting {
    let entry = this.tokens.get(token);
    if (!entry) {
      entry = { token, openNow: 0, maxOpen: 0, opens: 0, closes: 0, handshakes: 0, timeline: [] };
      this.tokens.set(token, entry);
    }
    return entry;
  }

  open(token: string, socketId: string): void {
    const entry = this.get(token);
    entry.openNow++;
    entry.opens++;
    entry.maxOpen = Math.max(entry.maxOpen, entry.openNow);
    entry.timeline.push({ at: Date.now(), type: 'open', socketId });
  }

  ready(token: string, socketId: string, tools: number): void {
    const entry = this.get(token);
    entry.handshakes++;
    entry.timeline.push({ at: Date.now(), type: 'ready', socketId, tools });
  }

  close(
    token: string,
    socketId: string,
    code: number,
    reason: string,
    by: 'simulator' | 'provider',
  ): void {
    const entry = this.get(token);
    entry.openNow--;
    entry.closes++;
    entry.timeline.push({ at: Date.now(), type: 'close', socketId, code, reason, by });
  }
}
