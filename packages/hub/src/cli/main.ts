import { Command, InvalidArgumentError, Option } from 'commander';
import { runSim } from './sim.js';

function integer(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0)
    throw new InvalidArgumentError('expected a non-negative integer');
  return parsed;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Keeps the process up until SIGINT/SIGTERM, then runs `stop` once. */
function untilSignal(stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = () => {
    if (stopping) process.exit(1);
    stopping = true;
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

const program = new Command()
  .name('tether')
  .description('Keeps MCP tools attached to the AI endpoints that use them.')
  .showHelpAfterError();

program
  .command('start')
  .description('run the hub in the foreground (a demo when unconfigured)')
  .option('--config <file>', 'configuration file', 'tether.config.json')
  .option('--demo', 'run the demo')
  .action(async () => {
    // The hub arrives with roadmap step 3. Until then `start` is honest about it and shows the
    // one part that runs today: the endpoint simulator, ready for a provider to dial.
    console.log(
      'The Tether hub is not built yet (roadmap step 3); starting the endpoint simulator instead.',
    );
    const sim = await runSim({
      port: 0,
      host: '127.0.0.1',
      mode: 'official',
      token: [],
      frames: true,
    });
    untilSignal(() => sim.close());
  });

program
  .command('sim')
  .description('run the Xiaozhi endpoint simulator')
  .option('--port <n>', 'port to listen on (0 picks a free one)', integer, 8004)
  .option('--host <host>', 'address to bind', '127.0.0.1')
  .addOption(
    new Option('--mode <mode>', 'which endpoint to play')
      .choices(['official', 'relay'])
      .default('official'),
  )
  .option('--token <token>', 'accepted token (repeatable; default: any)', collect, [] as string[])
  .option('--ping-interval <ms>', 'send JSON-RPC pings at this interval', integer)
  .option('--frames', 'print every frame', false)
  .action(async (options) => {
    const sim = await runSim(options);
    untilSignal(() => sim.close());
  });

await program.parseAsync(process.argv);
