// A simulator in its own process, so the benchmark process measures only the links (or, for
// the hub's scenarios, so neither end of 10,000 sockets shares a process with the other).
import { EndpointSimulator } from '@tether/testkit';

type Command =
  | { type: 'close-all'; code: number; reason: string }
  | { type: 'count' }
  | { type: 'progress' }
  | { type: 'fleet' };

let sim: EndpointSimulator;
try {
  sim = await EndpointSimulator.start({
    port: Number(process.env.SIM_PORT ?? 0),
    maxFrames: 1_000,
  });
} catch (error) {
  process.send?.({ type: 'error', code: (error as NodeJS.ErrnoException).code ?? String(error) });
  process.exit(1);
}
process.send?.({ type: 'listening', port: sim.port, at: Date.now() });

// The fleet as this simulator saw it since it listened: every socket opened (a connection
// attempt that reached it), each token's first handshake, the most sockets a token held at once,
// and the closes by code. Kept here, cheaply, so the benchmark process can ask at any time.
const opens: number[] = [];
const handshakes: number[] = [];
const firstReady = new Map<string, number>();
const openNow = new Map<string, number>();
let maxOpen = 0;
const closes: Record<string, number> = {};
sim.on('open', (s) => {
  opens.push(Date.now());
  const now = (openNow.get(s.token) ?? 0) + 1;
  openNow.set(s.token, now);
  maxOpen = Math.max(maxOpen, now);
});
sim.on('ready', (s) => {
  const at = Date.now();
  handshakes.push(at);
  if (!firstReady.has(s.token)) firstReady.set(s.token, at);
});
sim.on('close', (s) => {
  openNow.set(s.token, (openNow.get(s.token) ?? 1) - 1);
  const key = `${s.code} by ${s.by}`;
  closes[key] = (closes[key] ?? 0) + 1;
});

process.on('message', (command: Command) => {
  if (command.type === 'close-all') {
    const at = Date.now();
    const closed = sim.closeSockets({ code: command.code, reason: command.reason });
    process.send?.({ type: 'closed', at, closed });
  } else if (command.type === 'count') {
    const open = sim.sockets().filter((s) => s.state === 'ready').length;
    process.send?.({ type: 'count', open });
  } else if (command.type === 'progress') {
    process.send?.({ type: 'progress', ready: firstReady.size, opens: opens.length });
  } else if (command.type === 'fleet') {
    process.send?.({
      type: 'fleet',
      opens,
      handshakes,
      firstReady: [...firstReady.values()],
      maxOpen,
      closes,
    });
  }
});
process.on('disconnect', () => process.exit(0));
