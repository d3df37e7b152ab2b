import { classifyMessage, idKey } from '@tether/protocol';
import type { Classified, JsonRpcId, JsonRpcMessage } from '@tether/protocol';
import type { FrameRecord, Violation, ViolationKind } from './types.js';

interface Ledger {
  token: string;
  /** Requests this socket carried that still wait for their reply. */
  pending: Map<string, string>;
  answered: Set<string>;
  /** Given up on by the endpoint: a reply may still come, late but legal. */
  abandoned: Set<string>;
  notificationsSent: number;
}

export type Verdict =
  | {
      ok: true;
      message: Classified & { kind: 'request' | 'notification' | 'response' };
      late?: boolean;
      method?: string;
    }
  | { ok: false; violation: Violation };

/**
 * Watches every frame of every socket and keeps the rules of docs/xiaozhi-endpoint.md:
 * notifications are never answered, a reply carries an id that was sent (echoed exactly, so
 * `"0"` does not answer `0`), on the socket that carried the request, once.
 *
 * Ledgers of closed sockets are kept, so a result computed before a drop and sent on the next
 * socket is caught as `wrong-socket` rather than mistaken for an unknown id. With the official
 * endpoint's per-socket counters such a reply is only recognisable while the new socket has no
 * pending request with the same number; the relay's unique string ids make it exact.
 */
export class Referee {
  readonly frames: FrameRecord[] = [];
  readonly violations: Violation[] = [];
  private readonly ledgers = new Map<string, Ledger>();

  constructor(
    private readonly maxFrames: number,
    private readonly onViolation: (violation: Violation) => void = () => {},
  ) {}

  open(socketId: string, token: string): void {
    this.ledgers.set(socketId, {
      token,
      pending: new Map(),
      answered: new Set(),
      abandoned: new Set(),
      notificationsSent: 0,
    });
  }

  /** Records a frame the endpoint sends; requests become pending on that socket. */
  outgoing(socketId: string, message: JsonRpcMessage): string {
    const data = JSON.stringify(message);
    const ledger = this.ledgers.get(socketId);
    if (ledger) {
      this.log({ at: Date.now(), socketId, token: ledger.token, direction: 'out', data });
      if ('method' in message) {
        if ('id' in message) ledger.pending.set(idKey(message.id), message.method);
        else ledger.notificationsSent++;
      }
    }
    return data;
  }

  /** The endpoint stopped waiting for a reply (timeout); a later reply is late, not a violation. */
  abandon(socketId: string, id: JsonRpcId): void {
    const ledger = this.ledgers.get(socketId);
    if (!ledger) return;
    const key = idKey(id);
    if (ledger.pending.delete(key)) ledger.abandoned.add(key);
  }

  /** Judges a frame the endpoint received. */
  incoming(socketId: string, data: string, binary = false): Verdict {
    const ledger = this.ledgers.get(socketId);
    const token = ledger?.token ?? '';
    this.log({
      at: Date.now(),
      socketId,
      token,
      direction: 'in',
      data,
      ...(binary ? { binary } : {}),
    });
    if (binary) return this.fail('malformed-frame', socketId, token, 'binary frame', data);

    let value: unknown;
    try {
      value = JSON.parse(data);
    } catch (error) {
      return this.fail(
        'malformed-frame',
        socketId,
        token,
        `not JSON: ${(error as Error).message}`,
        data,
      );
    }
    if (isIdlessResponse(value)) {
      return this.fail(
        'reply-to-notification',
        socketId,
        token,
        'a response without an id: notifications must not be answered',
        data,
      );
    }
    const classified = classifyMessage(value, data);
    if (classified.kind === 'invalid') {
      return this.fail('malformed-frame', socketId, token, classified.reason, data);
    }
    if (classified.kind !== 'response' || !ledger) return { ok: true, message: classified };

    const id = classified.message.id as JsonRpcId;
    const key = idKey(id);
    const method = ledger.pending.get(key);
    if (method !== undefined) {
      ledger.pending.delete(key);
      ledger.answered.add(key);
      return { ok: true, message: classified, method };
    }
    if (ledger.abandoned.delete(key)) return { ok: true, message: classified, late: true };
    const owner = this.ownerElsewhere(socketId, token, key);
    if (owner) {
      return this.fail(
        'wrong-socket',
        socketId,
        token,
        `reply to id ${JSON.stringify(id)} belongs to socket ${owner}`,
        data,
      );
    }
    if (ledger.answered.has(key)) {
      return this.fail(
        'duplicate-reply',
        socketId,
        token,
        `id ${JSON.stringify(id)} was already answered`,
        data,
      );
    }
    return this.fail(
      'unknown-id',
      socketId,
      token,
      `id ${JSON.stringify(id)} (${typeof id}) was never sent on this socket`,
      data,
    );
  }

  private ownerElsewhere(socketId: string, token: string, key: string): string | undefined {
    for (const [otherId, other] of this.ledgers) {
      if (otherId === socketId || other.token !== token) continue;
      if (other.pending.has(key) || other.abandoned.has(key)) return otherId;
    }
    return undefined;
  }

  private fail(
    kind: ViolationKind,
    socketId: string,
    token: string,
    detail: string,
    frame: string,
  ): Verdict {
    const violation: Violation = { at: Date.now(), kind, socketId, token, detail, frame };
    this.violations.push(violation);
    this.onViolation(violation);
    return { ok: false, violation };
  }

  private log(record: FrameRecord): void {
    this.frames.push(record);
    if (this.frames.length > this.maxFrames)
      this.frames.splice(0, this.frames.length - this.maxFrames);
  }
}

/**
 * `{"jsonrpc":"2.0","result":…}` with no id (or id null): what a naive server sends back to a
 * notification. The endpoint never sends malformed requests, so a null-id error is no excuse.
 */
function isIdlessResponse(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const record = value as Record<string, unknown>;
  return (
    !('method' in record) &&
    ('result' in record || 'error' in record) &&
    (record.id ?? null) === null
  );
}
