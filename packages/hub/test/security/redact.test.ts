import { afterEach, describe, expect, it } from 'vitest';
import {
  isCredentialName,
  maskUrl,
  redact,
  registerSecrets,
  secretsOfUrl,
} from '../../src/log/redact.js';
import { openPostgres } from '../../src/store/postgres.js';

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

describe('credentials named the way programs name them', () => {
  it.each([
    ['GITHUB_TOKEN=abc123', 'GITHUB_TOKEN=***'],
    ['OPENAI_API_KEY=sk-proj-abcdef', 'OPENAI_API_KEY=***'],
    ['X-Api-Key: k-12345678', 'X-Api-Key: ***'],
    ['x_api_key=abcdef123', 'x_api_key=***'],
    ['access-token=abcdef', 'access-token=***'],
    ['ACCESS_TOKEN: abcdef', 'ACCESS_TOKEN: ***'],
    ['PGPASSWORD=hunter2', 'PGPASSWORD=***'],
    ['MYSQL_PWD=hunter2', 'MYSQL_PWD=***'],
    ['DB_PASSWD: hunter2', 'DB_PASSWD: ***'],
    ['AWS_CREDENTIALS=AKIA1234', 'AWS_CREDENTIALS=***'],
    ['SECRET_KEY_BASE=0123abcd', 'SECRET_KEY_BASE=***'],
    ['csrftoken=abc123', 'csrftoken=***'],
    ['Proxy-Authorization: Digest abc123', 'Proxy-Authorization: Digest ***'],
    ['Authorization: token ghp_abc123', 'Authorization: token ***'],
    ['Set-Cookie: sid=abc123; Path=/; HttpOnly', 'Set-Cookie: ***'],
    ['{"githubToken":"ghp_abc123"}', '{"githubToken":"***"}'],
    ['{"X-Api-Key": "two words"}', '{"X-Api-Key": "***"}'],
    ["client_secret='two words'", "client_secret='***'"],
    ['env: FOO=bar,GITHUB_TOKEN=abc123', 'env: FOO=bar,GITHUB_TOKEN=***'],
    ['spawn failed with x=GITHUB_TOKEN=abc123', 'spawn failed with x=GITHUB_TOKEN=***'],
  ])('%s is shown as %s', (text, shown) => {
    expect(redact(text)).toBe(shown);
  });

  it.each([
    'socket closed (unknown key: foo)',
    'max_tokens=100 prompt_tokens=20',
    'monkey=banana keyboard=us author=bob',
    'NODE_ENV=production',
    'Invalid credentials: user not found',
    'tokens: 3, keys: 4',
  ])('%s is left as it was', (text) => {
    expect(redact(text)).toBe(text);
  });

  it.each([
    'GITHUB_TOKEN',
    'OPENAI_API_KEY',
    'X-Api-Key',
    'x_api_key',
    'apiKey',
    'access-token',
    'ACCESS_TOKEN',
    'clientSecret',
    'Authorization',
    'Proxy-Authorization',
    'Cookie',
    'PGPASSWORD',
    'MYSQL_PWD',
    'AWS_CREDENTIALS',
    'SECRET_KEY_BASE',
    'token',
    'key',
    'signature',
  ])('%s names a credential', (name) => {
    expect(isCredentialName(name)).toBe(true);
  });

  it.each(['NODE_ENV', 'PATH', 'HOME', 'max_tokens', 'monkey', 'keyboard', 'author', 'LANG', ''])(
    '%s does not name a credential',
    (name) => {
      expect(isCredentialName(name)).toBe(false);
    },
  );
});

describe('a registered secret next to punctuation', () => {
  let forget = () => {};
  afterEach(() => forget());
  const SECRET = 'secret123';
  const QUOTED = [
    `"${SECRET}",`,
    `(${SECRET})`,
    `token=${SECRET}&x`,
    `it was ${SECRET}.`,
    `\`${SECRET}\``,
    `${SECRET}!`,
    `*${SECRET}*`,
    `a|${SECRET}|b`,
    `#${SECRET}`,
    `%${SECRET}%`,
    `~${SECRET}+`,
    `$${SECRET}$`,
  ];

  it.each([1, 100, 5_000])(
    'is hidden wherever it stands, with %i other secrets registered',
    (n) => {
      const others = Array.from({ length: n }, (_, i) => `other-token-${i}-abcdef`);
      forget = registerSecrets([...others, SECRET]);
      for (const text of QUOTED)
        expect([text, redact(text)]).toEqual([text, text.replace(SECRET, '***')]);
      expect(redact(`${others[n - 1]}.`)).toBe('***.');
    },
  );
});

describe('a URL quoted in a message', () => {
  it('shows none of its token, where the API would show a hint', () => {
    const url = 'wss://api.example.test/mcp/?token=eyJhbGciOiJIUzI1NiJ9.payload';
    expect(redact(`connect ${url} failed`)).toBe(
      'connect wss://api.example.test/mcp/?token=*** failed',
    );
    expect(redact('GET https://example.test/?api_key=abcdefghijkl&page=2 failed')).toBe(
      'GET https://example.test/?api_key=***&page=2 failed',
    );
    expect(maskUrl(url)).toBe('wss://api.example.test/mcp/?token=eyJh***');
  });

  it('shows none of a token carried in its fragment (an OAuth implicit grant)', () => {
    const url = 'https://app.example.test/callback#access_token=abcdefghijk&state=42';
    expect(maskUrl(url)).toBe('https://app.example.test/callback#access_token=***&state=42');
    expect(redact(`redirected to ${url}`)).not.toContain('abcdefghijk');
    expect(secretsOfUrl(url)).toContain('abcdefghijk');
  });

  it('with broken percent-encoding still has its password and token hidden', () => {
    const raw = 'wss://user:p%zz-s3cret@x.test/mcp?token=t%zz-tok3n&api_key=k%2Bvalue1';
    const secrets = secretsOfUrl(raw);
    expect(secrets).toEqual(
      expect.arrayContaining(['p%zz-s3cret', 't%zz-tok3n', 'k%2Bvalue1', 'k+value1']),
    );
    const forget = registerSecrets(secrets);
    try {
      expect(redact('server said p%zz-s3cret and t%zz-tok3n and k+value1')).toBe(
        'server said *** and *** and ***',
      );
    } finally {
      forget();
    }
  });
});

describe('a PostgreSQL connection that fails', () => {
  it.each([
    'postgres://tether:hunter2-pg-secret@127.0.0.1:1/tether',
    'postgres://tether:hunter2-pg%zz-secret@127.0.0.1:1/tether',
    'postgres://tether:hunter2/pg-secret@127.0.0.1:1/tether',
    'host=127.0.0.1 port=1 password=hunter2-pg-secret',
  ])('never quotes the password of %s', async (databaseUrl) => {
    const error = await openPostgres({ databaseUrl }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/^connecting to PostgreSQL at /);
    expect((error as Error).message).not.toMatch(/hunter2|pg-secret/);
  });
});
