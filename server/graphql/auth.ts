// Who is calling: bearer tokens compared in constant time, and the type-graphql auth checker
// that turns a missing or wrong token into UNAUTHENTICATED and a too-weak one into FORBIDDEN.
import { createHash, timingSafeEqual } from 'node:crypto';
import { GraphQLError } from 'graphql';
import type { AuthCheckerFn } from 'type-graphql';
import type { AppContext } from './context.js';

export type Role = 'ADMIN' | 'CLASSIFY';

export interface TokenSettings {
  adminToken?: string;
  classifyToken?: string;
}

export interface Caller {
  /** A credential was sent (valid or not). */
  presented: boolean;
  roles: ReadonlySet<Role>;
  /** Admin operations are possible at all (ADMIN_TOKEN is set). */
  adminEnabled: boolean;
  /** Classification needs no token (CLASSIFY_TOKEN is unset). */
  classifyOpen: boolean;
}

// Hashing first gives equal-length inputs, so timingSafeEqual never leaks the token's length.
const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

function sameToken(presented: string, expected: string | undefined): boolean {
  return expected !== undefined && timingSafeEqual(digest(presented), digest(expected));
}

/**
 * The token of an `Authorization: Bearer <token>` header (scheme case-insensitive). Any other
 * header value counts as a credential that matches nothing, so the caller hears "not valid".
 */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^\s*Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : '';
}

/** graphql-ws `connectionParams`: `{ authorization: 'Bearer <token>' }` or `{ token: '<token>' }`. */
export function tokenFromConnectionParams(params: Readonly<Record<string, unknown>> | undefined): string | undefined {
  if (!params) return undefined;
  const authorization = params.authorization ?? params.Authorization;
  if (typeof authorization === 'string') return bearerToken(authorization);
  return typeof params.token === 'string' && params.token !== '' ? params.token : undefined;
}

export function identify(token: string | undefined, settings: TokenSettings): Caller {
  const roles = new Set<Role>();
  if (token !== undefined) {
    // Both comparisons always run: which token matched must not show in the timing either.
    const admin = sameToken(token, settings.adminToken);
    const classify = sameToken(token, settings.classifyToken);
    if (admin) roles.add('ADMIN').add('CLASSIFY');
    if (classify) roles.add('CLASSIFY');
  }
  return { presented: token !== undefined, roles, adminEnabled: settings.adminToken !== undefined, classifyOpen: settings.classifyToken === undefined };
}

const unauthenticated = (message: string) => new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED' } });

/** Throws the coded error that explains why `caller` may not act as `role`; returns when it may. */
export function requireRole(caller: Caller, role: Role): void {
  if (role === 'CLASSIFY' && caller.classifyOpen) return;
  if (caller.roles.has(role)) return;
  if (role === 'ADMIN' && !caller.adminEnabled) {
    throw unauthenticated('admin operations are disabled on this server: set ADMIN_TOKEN in its environment, then send "Authorization: Bearer <ADMIN_TOKEN>"');
  }
  if (!caller.presented) {
    const name = role === 'ADMIN' ? 'ADMIN_TOKEN' : 'CLASSIFY_TOKEN or ADMIN_TOKEN';
    throw unauthenticated(`this operation needs a token: send "Authorization: Bearer <${name}>" (over WebSocket: connectionParams.authorization)`);
  }
  if (caller.roles.size > 0) {
    throw new GraphQLError('this token may classify images but not manage training or models', { extensions: { code: 'FORBIDDEN' } });
  }
  throw unauthenticated('the token is not valid');
}

export const authChecker: AuthCheckerFn<AppContext, Role> = ({ context }, roles) => {
  for (const role of roles) requireRole(context.caller, role);
  return true;
};
