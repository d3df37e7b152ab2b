import type { Command } from 'commander';

/** A repeatable option's values, in the order given. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/**
 * The options of every command that talks to a running hub. Flags win over the environment; the
 * variable is the better home for the token, since other users of the machine can read a
 * command line.
 */
export function clientOptions(command: Command): Command {
  return command
    .option('--url <url>', 'the hub API (default: $TETHER_URL, else http://127.0.0.1:8765)')
    .option('--token <token>', "the hub's admin token (default: $TETHER_ADMIN_TOKEN)")
    .option('--json', 'machine-readable output (errors too, as JSON on stderr)')
    .addHelpText(
      'after',
      '\nEnvironment:\n' +
        '  TETHER_URL          the hub API, when --url is not given\n' +
        '  TETHER_ADMIN_TOKEN  the admin token, when --token is not given; needed by a hub\n' +
        '                      started with TETHER_ADMIN_TOKEN or bound beyond loopback',
    );
}
