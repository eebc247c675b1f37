// Tokens are compared in constant time: every presented token, whatever its length, is compared
// with both configured tokens through crypto.timingSafeEqual on equal-length SHA-256 digests, so
// neither the token's length nor which token matched shows in the time an answer takes.
// (Timing itself is too noisy to measure on a shared machine; the comparison is what is checked.)
import { afterEach, describe, expect, it, vi } from 'vitest';

const compared = vi.hoisted(() => ({ calls: [] as [Buffer, Buffer][] }));

vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return {
    ...actual,
    timingSafeEqual: (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
      compared.calls.push([Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)]);
      return actual.timingSafeEqual(a, b);
    },
  };
});

const { identify, requireRole } = await import('../../server/graphql/auth.js');

const settings = { adminToken: 'admin-token-0123456789abcdef', classifyToken: 'classify-token-0123456789' };

afterEach(() => {
  compared.calls.length = 0;
});

describe('token comparison', () => {
  it.each([
    ['the admin token', settings.adminToken, ['ADMIN', 'CLASSIFY']],
    ['the classify token', settings.classifyToken, ['CLASSIFY']],
    ['an empty token', '', []],
    ['a one-character token', 'a', []],
    ['the admin token minus its last character', settings.adminToken.slice(0, -1), []],
    ['the admin token plus one character', `${settings.adminToken}f`, []],
    ['a 10000-character token', 'x'.repeat(10_000), []],
  ])('compares %s with both tokens as 32-byte digests', (_what, token, roles) => {
    const caller = identify(token, settings);
    expect([...caller.roles].sort()).toEqual(roles);
    // Both configured tokens are always compared, whether or not the first matched.
    expect(compared.calls).toHaveLength(2);
    for (const [a, b] of compared.calls) {
      expect(a.length).toBe(32);
      expect(b.length).toBe(32);
    }
  });

  it('compares nothing when no token is presented, and then refuses admin operations as unauthenticated', () => {
    const caller = identify(undefined, settings);
    expect(compared.calls).toHaveLength(0);
    expect(() => requireRole(caller, 'ADMIN')).toThrow(expect.objectContaining({ extensions: expect.objectContaining({ code: 'UNAUTHENTICATED' }) }));
  });

  it('never matches when admin operations are disabled, even for an empty token', () => {
    const caller = identify('', { classifyToken: settings.classifyToken });
    expect(caller.roles.size).toBe(0);
    expect(() => requireRole(caller, 'ADMIN')).toThrow(/admin operations are disabled/);
  });
});
