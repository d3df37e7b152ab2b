import { EndpointSimulator } from '@tether/testkit';
import type { SimMode } from '@tether/testkit';

export interface SimCommandOptions {
  port: number;
  host: string;
  mode: SimMode;
  token: string[];
  pingInterval?: number;
  frames: boolean;
}

/** `tether sim`: a Xiaozhi endpoint on this machine, for trying Tether without a device. */
export async function runSim(options: SimCommandOptions): Promise<EndpointSimulator> {
  const sim = await EndpointSimulator.start({
    mode: options.mode,
    host: options.host,
    port: options.port,
    ...(options.token.length > 0 ? { tokens: options.token } : {}),
    ...(options.pingInterval ? { jsonRpcPing: { intervalMs: options.pingInterval } } : {}),
  });
  const token = options.token[0] ?? 'demo';
  console.log(`Xiaozhi endpoint simulator (${options.mode}) listening.`);
  console.log(`  provider URL: ${sim.url(token)}`);
  if (options.mode === 'relay') console.log(`  robot URL:    ${sim.robotUrl(token)}`);
  sim.on('open', (s) => console.log(`${stamp()} open   ${s.id} token=${s.token}`));
  sim.on('ready', (s) =>
    console.log(
      `${stamp()} ready  ${s.id} tools=${s.tools.map((t) => t.name).join(', ') || '(none)'}`,
    ),
  );
  sim.on('close', (s) =>
    console.log(`${stamp()} close  ${s.id} ${s.code} ${s.reason} (by ${s.by})`),
  );
  sim.on('violation', (v) =>
    console.log(`${stamp()} VIOLATION ${v.kind} on ${v.socketId}: ${v.detail}`),
  );
  if (options.frames) {
    let shown = 0;
    const timer = setInterval(() => {
      for (const frame of sim.frames.slice(shown)) {
        console.log(
          `${stamp()} ${frame.direction === 'in' ? '<-' : '->'} ${frame.socketId} ${frame.data.slice(0, 200)}`,
        );
      }
      shown = sim.frames.length;
    }, 100);
    timer.unref();
  }
  return sim;
}

function stamp(): string {
  return new Date().toISOString().slice(11, 23);
}
