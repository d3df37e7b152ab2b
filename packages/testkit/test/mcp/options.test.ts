import { describe, expect, it } from 'vitest';
import { parseCliArgs, toCliArgs } from '../../src/mcp/options.js';
import type { FakeCliOptions } from '../../src/mcp/options.js';

describe('fake MCP CLI flags', () => {
  it('carry every option to the child and back', () => {
    const options: FakeCliOptions = {
      transport: 'sse',
      port: 0,
      host: '127.0.0.1',
      name: 'nasty',
      crashAfter: 3,
      progressEveryMs: 50,
      extraTools: 120,
      pageSize: 10,
      sessionTtlMs: 1000,
      noisyStderrMs: 25,
      ignoreSigterm: true,
    };
    expect(parseCliArgs(toCliArgs(options))).toEqual(options);
  });

  it('reject what they do not understand', () => {
    expect(() => parseCliArgs(['--transport', 'carrier-pigeon'])).toThrow(/--transport/);
    expect(() => parseCliArgs(['--crash-after', 'soon'])).toThrow(/--crash-after/);
    expect(() => parseCliArgs(['--page-size'])).toThrow(/needs a value/);
    expect(() => parseCliArgs(['--frobnicate', '1'])).toThrow(/unknown flag/);
  });
});
