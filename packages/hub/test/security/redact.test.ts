import { afterEach, describe, expect, it } from 'vitest';
import { maskUrl, redact, registerSecrets } from '../../src/log/redact.js';

describe('one redactor for every message', () => {
  let forget = () => {};
  afterEach(() => forget());

  it('hides the token of a URL that new URL cannot parse', () => {
    const raw = 'ws://exa mple.test/mcp/?token=SECRET-123456';
    expect(() => new URL(raw)).toThrow();
    const shown = redact(`Invalid URL: ${raw}`);
    expect(shown).not.toContain('SECRET-123456');
    expect(shown).toContain('token=***');
    expect(maskUrl(raw)).not.toContain('SECRET-123456');
  });

  it('hides user:password@ in a fetch error and credential query parameters', () => {
    expect(redact('fetch failed: http://alice:hunter2hunter2@example.test/mcp')).not.toContain(
      'hunter2',
    );
    expect(redact('GET https://example.test/?api_key=abcdefghijkl&page=2 failed')).not.toContain(
      'abcdefghijkl',
    );
  });

  it('hides Bearer tokens and credential pairs, and leaves ordinary text alone', () => {
    expect(redact('Authorization: Bearer abc.def-ghi')).toBe('Authorization: Bearer ***');
    expect(redact('{"password":"p4ssw0rd!"}')).toBe('{"password":"***"}');
    const plain = 'socket closed 1006 by ws://example.test/mcp (unknown key: foo)';
    expect(redact(plain)).toBe(plain);
  });

  it('hides a registered secret wherever it appears, until it is forgotten', () => {
    forget = registerSecrets(['s3cr3t-value']);
    expect(redact('server said: s3cr3t-value is wrong')).toBe('server said: *** is wrong');
    forget();
    expect(redact('s3cr3t-value')).toBe('s3cr3t-value');
  });

  it('still hides every token when thousands of endpoints have registered theirs', () => {
    const tokens = Array.from({ length: 5_000 }, (_, i) => `eyJ0b2tlbi${i}.part-${i * 7}`);
    const slashed = 'abc/def+ghi==';
    forget = registerSecrets([...tokens, slashed]);
    expect(redact(`closed: ${tokens[4_321]} was replaced (${slashed})`)).toBe(
      'closed: *** was replaced (***)',
    );
    expect(redact('an ordinary line with nothing secret')).toBe(
      'an ordinary line with nothing secret',
    );
  });
});
