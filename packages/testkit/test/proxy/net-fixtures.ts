import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/** A loopback server on port 0 that remembers its connections and everything it received. */
export interface Fixture {
  server: Server;
  port: number;
  sockets: Socket[];
  received(): Buffer;
  close(): Promise<void>;
}

export async function startServer(onSocket: (socket: Socket) => void): Promise<Fixture> {
  const sockets: Socket[] = [];
  const chunks: Buffer[] = [];
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    sockets,
    received: () => Buffer.concat(chunks),
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

export const echoServer = () => startServer((socket) => socket.pipe(socket));
export const sinkServer = () => startServer(() => {});
export const greetingServer = (name: string) => startServer((socket) => socket.end(name));

/** A client socket that records what it received and how it ended. */
export interface Client {
  socket: Socket;
  received(): string;
  events: string[];
  error: NodeJS.ErrnoException | undefined;
  closed: Promise<{ hadError: boolean }>;
}

export function openClient(port: number): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    const client: Client = {
      socket,
      received: () => Buffer.concat(chunks).toString(),
      events: [],
      error: undefined,
      closed: new Promise((done) => socket.once('close', (hadError) => done({ hadError }))),
    };
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    for (const event of ['end', 'close', 'error'] as const) {
      socket.on(event, () => client.events.push(event));
    }
    socket.on('error', (error) => (client.error = error));
    socket.once('connect', () => resolve(client));
    socket.once('error', reject);
  });
}

/** Resolves with the error code of a connect attempt that fails, or rejects if it succeeds. */
export function connectError(port: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      reject(new Error(`connect to ${port} unexpectedly succeeded`));
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code));
  });
}

/** Rejects if `promise` has not settled within `ms`. */
export function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A deterministic PRNG (mulberry32) so jitter sequences repeat run to run. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `length` bytes of a pattern that shows both loss and reordering. */
export function pattern(offset: number, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  for (let i = 0; i < length; i++) buffer[i] = (offset + i) % 251;
  return buffer;
}
