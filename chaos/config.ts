// The hub's configuration file as a small model the schedule edits (and reverts), rendered to
// the JSON the hub watches. Every edit is a value, so a schedule prints and replays it.
import { renameSync, writeFileSync } from 'node:fs';
import { fakeStdioServerParams } from '@tether/testkit';

export interface ChaosEndpoint {
  name: string;
  url: string;
}

/** One aspect of the file set to a value; the schedule reverts it by setting the baseline. */
export type ConfigEdit =
  | { aspect: 'exclude'; endpoint: string; globs: string[] }
  | { aspect: 'extraTools'; server: string; count: number }
  | { aspect: 'serverPresent'; server: string; present: boolean }
  | { aspect: 'endpointEnabled'; endpoint: string; enabled: boolean }
  | { aspect: 'heartbeat'; intervalMs: number; misses: number }
  | { aspect: 'invalid'; on: boolean };

export interface HubTuning {
  earlyReplyMs: number;
  callTimeoutMs: number;
  toolChangeDebounceMs: number;
  heartbeatIntervalMs: number;
  heartbeatMisses: number;
  checkIntervalMs: number;
  reconnectCooldownMs: number;
}

export const DEFAULT_TUNING: HubTuning = {
  earlyReplyMs: 3_000,
  callTimeoutMs: 12_000,
  toolChangeDebounceMs: 500,
  heartbeatIntervalMs: 1_000,
  heartbeatMisses: 2,
  checkIntervalMs: 1_000,
  reconnectCooldownMs: 5_000,
};

export class ChaosConfig {
  private readonly exclude = new Map<string, string[]>();
  private readonly extraTools = new Map<string, number>();
  private readonly present = new Map<string, boolean>();
  private readonly enabled = new Map<string, boolean>();
  private heartbeat: { intervalMs: number; misses: number };
  private invalid = false;
  private writes = 0;

  constructor(
    readonly file: string,
    readonly endpoints: readonly ChaosEndpoint[],
    /** Upstream names; those in `optional` are absent from the baseline. */
    readonly servers: readonly string[],
    readonly optional: ReadonlySet<string>,
    readonly runId: string,
    readonly tuning: HubTuning = DEFAULT_TUNING,
  ) {
    this.heartbeat = { intervalMs: tuning.heartbeatIntervalMs, misses: tuning.heartbeatMisses };
    this.reset();
  }

  /** Back to the baseline (does not write). */
  reset(): void {
    for (const e of this.endpoints) {
      this.exclude.set(e.name, []);
      this.enabled.set(e.name, true);
    }
    for (const s of this.servers) {
      this.extraTools.set(s, 0);
      this.present.set(s, !this.optional.has(s));
    }
    this.heartbeat = {
      intervalMs: this.tuning.heartbeatIntervalMs,
      misses: this.tuning.heartbeatMisses,
    };
    this.invalid = false;
  }

  apply(edit: ConfigEdit): void {
    switch (edit.aspect) {
      case 'exclude':
        this.exclude.set(edit.endpoint, edit.globs);
        break;
      case 'extraTools':
        this.extraTools.set(edit.server, edit.count);
        break;
      case 'serverPresent':
        this.present.set(edit.server, edit.present);
        break;
      case 'endpointEnabled':
        this.enabled.set(edit.endpoint, edit.enabled);
        break;
      case 'heartbeat':
        this.heartbeat = { intervalMs: edit.intervalMs, misses: edit.misses };
        break;
      case 'invalid':
        this.invalid = edit.on;
        break;
    }
  }

  serverPresent(server: string): boolean {
    return this.present.get(server) ?? false;
  }

  render(): string {
    const t = this.tuning;
    const document = {
      endpoints: this.endpoints.map((e) => ({
        name: e.name,
        url: e.url,
        ...(this.enabled.get(e.name) === false && { enabled: false }),
        tools: { include: ['*'], exclude: this.exclude.get(e.name) ?? [] },
      })),
      mcpServers: Object.fromEntries(
        this.servers
          .filter((s) => this.present.get(s))
          .map((s) => {
            const extra = this.extraTools.get(s) ?? 0;
            const { command, args } = fakeStdioServerParams({
              name: s,
              ...(extra > 0 && { extraTools: extra }),
            });
            return [s, { command, args, env: { CHAOS_RUN: this.runId } }];
          }),
      ),
      hub: {
        earlyReplyMs: t.earlyReplyMs,
        callTimeoutMs: t.callTimeoutMs,
        toolChangeDebounceMs: t.toolChangeDebounceMs,
        notifyDownAfterMs: 600_000,
        monitor: {
          heartbeatIntervalMs: this.heartbeat.intervalMs,
          heartbeatMisses: this.heartbeat.misses,
          checkIntervalMs: t.checkIntervalMs,
          reconnectCooldownMs: t.reconnectCooldownMs,
        },
      },
    };
    const text = JSON.stringify(document, null, 2);
    // A save cut short: the hub must refuse it, keep running on the old one, and apply the fix.
    return this.invalid ? text.slice(0, Math.floor(text.length / 2)) : `${text}\n`;
  }

  /** Writes the file; alternately in place and by rename over it, as editors do. */
  write(): void {
    const text = this.render();
    if (this.writes++ % 2 === 0) {
      writeFileSync(this.file, text);
    } else {
      const temp = `${this.file}.tmp`;
      writeFileSync(temp, text);
      renameSync(temp, this.file);
    }
  }
}
