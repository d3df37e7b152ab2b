// A simulator in its own process, so the benchmark process measures only the links.
import { EndpointSimulator } from '@tether/testkit';

type Command = { type: 'close-all'; code: number; reason: string } | { type: 'count' };

const sim = await EndpointSimulator.start({
  port: Number(process.env.SIM_PORT ?? 0),
  maxFrames: 1_000,
});
process.send?.({ type: 'listening', port: sim.port });
process.on('message', (command: Command) => {
  if (command.type === 'close-all') {
    const at = Date.now();
    const closed = sim.closeSockets({ code: command.code, reason: command.reason });
    process.send?.({ type: 'closed', at, closed });
  } else if (command.type === 'count') {
    const open = sim.sockets().filter((s) => s.state === 'ready').length;
    process.send?.({ type: 'count', open });
  }
});
process.on('disconnect', () => process.exit(0));
