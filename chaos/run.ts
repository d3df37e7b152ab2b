// npm run chaos -- --minutes N --seed S [--endpoints 6] [--servers 3] [--keep] [--strict-sockets]
//   [--schedule]
//
// Runs one real hub through a seeded fault schedule while simulated devices call tools, and
// exits non-zero if a call was lost or misdelivered, an endpoint ever held two sockets, the
// referee saw a protocol violation, the hub died by itself, or it did not recover after the
// heal. `--schedule` prints the schedule for the seed and exits (same seed, same schedule).
import { formatSummary } from './report.js';
import { runChaos } from './runner.js';
import { describeEvent, makeSchedule } from './schedule.js';

interface Args {
  minutes: number;
  seed: number;
  endpoints: number;
  servers: number;
  keep: boolean;
  strictSockets: boolean;
  scheduleOnly: boolean;
}

function parse(argv: readonly string[]): Args {
  const args: Args = {
    minutes: 2,
    seed: Math.floor(Math.random() * 2 ** 31),
    endpoints: 6,
    servers: 3,
    keep: false,
    strictSockets: false,
    scheduleOnly: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    if (flag === '--keep') args.keep = true;
    else if (flag === '--strict-sockets') args.strictSockets = true;
    else if (flag === '--schedule') args.scheduleOnly = true;
    else if (flag === '--help' || flag === '-h') {
      console.log(
        'usage: npm run chaos -- [--minutes N] [--seed S] [--endpoints N] [--servers N] [--keep] [--strict-sockets] [--schedule]',
      );
      process.exit(0);
    } else {
      const value = Number(argv[++i]);
      const key = {
        '--minutes': 'minutes',
        '--seed': 'seed',
        '--endpoints': 'endpoints',
        '--servers': 'servers',
      }[flag] as 'minutes' | 'seed' | 'endpoints' | 'servers' | undefined;
      if (key === undefined || !Number.isFinite(value) || value < 0) {
        console.error(`chaos: bad argument ${flag} ${argv[i] ?? ''}`);
        process.exit(2);
      }
      args[key] = value;
    }
  }
  return args;
}

const args = parse(process.argv.slice(2));
const durationMs = Math.round(args.minutes * 60_000);
if (args.scheduleOnly) {
  const endpoints = Array.from({ length: args.endpoints }, (_, i) => `ep${i + 1}`);
  const servers = Array.from({ length: args.servers }, (_, i) => `u${i + 1}`);
  const schedule = makeSchedule({
    seed: args.seed,
    durationMs,
    endpoints,
    servers,
    optionalServer: `u${args.servers + 1}`,
  });
  console.log(schedule.map(describeEvent).join('\n'));
  process.exit(0);
}

console.log(
  `chaos: seed ${args.seed}, ${args.minutes} min (replay: npm run chaos -- --minutes ${args.minutes} --seed ${args.seed})`,
);
const summary = await runChaos({
  seed: args.seed,
  durationMs,
  endpoints: args.endpoints,
  servers: args.servers,
  keep: args.keep,
  strictSockets: args.strictSockets,
  log: (line) => console.log(line),
});
console.log(formatSummary(summary));
if (args.keep) console.log(`run folder: ${summary.dir}`);
process.exit(summary.clean ? 0 : 1);
