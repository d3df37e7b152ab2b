import type { Socket } from 'node:net';
import { Pipe, type PipeHooks } from './pipe.js';

/** Tears a socket down with a TCP RST, as a crashed peer or a middlebox would. */
export function reset(socket: Socket): void {
  if (socket.destroyed) return;
  // resetAndDestroy() on a socket still connecting waits for the connect; there is nothing to
  // reset yet, and waiting could outlive the proxy.
  if (socket.connecting) socket.destroy();
  else socket.resetAndDestroy();
}

export interface PairHooks extends PipeHooks {
  connected(pair: Pair): void;
  closed(pair: Pair): void;
}

/**
 * A client socket and the upstream socket opened for it.
 *
 *   client ──data, FIN──▶ [toServer pipe] ──▶ upstream
 *   client ◀── [toClient pipe] ◀──data, FIN── upstream
 *
 * Teardown travels in kind: a FIN becomes end() on the other side, after any delayed bytes;
 * an error, an RST, or a close that came without a FIN becomes an RST on the other side. Each
 * peer then sees what it would see if the network between them were real.
 */
export class Pair {
  readonly toServer: Pipe;
  readonly toClient: Pipe;
  /** Resolves once both sockets have emitted 'close' and the pipes' timers are gone. */
  readonly closed: Promise<void>;
  connected = false;
  private openSockets = 2;
  private markClosed!: () => void;

  constructor(
    readonly client: Socket,
    readonly upstream: Socket,
    private readonly hooks: PairHooks,
  ) {
    this.closed = new Promise((resolve) => (this.markClosed = resolve));
    this.toServer = new Pipe('toServer', client, upstream, hooks);
    this.toClient = new Pipe('toClient', upstream, client, hooks);
    upstream.once('connect', () => {
      this.connected = true;
      hooks.connected(this);
    });
    this.watch(client, upstream, this.toServer);
    this.watch(upstream, client, this.toClient);
  }

  refresh(): void {
    this.toServer.refresh();
    this.toClient.refresh();
  }

  reset(): void {
    reset(this.client);
    reset(this.upstream);
  }

  destroy(): void {
    this.client.destroy();
    this.upstream.destroy();
  }

  private watch(side: Socket, other: Socket, outbound: Pipe): void {
    let sawEnd = false;
    side.once('end', () => (sawEnd = true));
    // A refused upstream lands here too: the client is reset at once rather than left hanging.
    side.on('error', () => outbound.propagateReset(() => reset(other)));
    side.once('close', (hadError: boolean) => {
      if (hadError || !sawEnd) outbound.propagateReset(() => reset(other));
      if (--this.openSockets > 0) return;
      this.toServer.dispose();
      this.toClient.dispose();
      this.hooks.closed(this);
      this.markClosed();
    });
  }
}
