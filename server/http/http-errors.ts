// Errors answered before GraphQL runs, in the GraphQL response shape so clients parse one format.
import type { Response } from 'express';

export function sendGraphQLError(res: Response, status: number, code: string, message: string, extra: Record<string, unknown> = {}): void {
  if (res.headersSent) return;
  res.status(status).type('application/json').send(JSON.stringify({ errors: [{ message, extensions: { code, ...extra } }] }));
}
