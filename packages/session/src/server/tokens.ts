import { createHash, randomBytes } from 'node:crypto';

/**
 * Resume tokens are `<session id>.<secret>`: the id finds the session in one lookup, the secret
 * (192 random bits) proves the holder is its client. Stores keep only a sha-256 of the whole
 * token, so reading the store does not let anyone resume a session.
 */
const TOKEN = /^([A-Za-z0-9_-]{8,64})\.([A-Za-z0-9_-]{16,128})$/;

export function newSessionId(): string {
  return randomBytes(12).toString('base64url');
}

export function newToken(sessionId: string): string {
  return `${sessionId}.${randomBytes(24).toString('base64url')}`;
}

/** The session id a token names, or null when it is not one of ours. */
export function tokenSessionId(token: string): string | null {
  return TOKEN.exec(token)?.[1] ?? null;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}
