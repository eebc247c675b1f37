// One HTTP server and port: GraphQL over HTTP (Apollo, with uploads) and WebSocket (graphql-ws)
// at /graphql, health and readiness probes, Prometheus metrics, and the built dashboard.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type ErrorRequestHandler } from 'express';
import { NoSchemaIntrospectionCustomRule, specifiedRules, validate, type GraphQLFormattedError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { Config } from '../config.js';
import { bearerToken, identify, tokenFromConnectionParams } from '../graphql/auth.js';
import type { AppContext, AppServices } from '../graphql/context.js';
import { formatError } from '../graphql/errors.js';
import { documentNestingError, queryLimitRule } from '../graphql/limits.js';
import { buildAppSchema } from '../graphql/schema.js';
import { sendGraphQLError } from './http-errors.js';
import { corsMiddleware, websocketOriginAllowed } from './cors.js';
import { consoleLogger, type Logger } from './logger.js';
import { createMetrics, type AppMetrics } from './metrics.js';
import { overloadStatusPlugin } from './overload-status.js';
import { dashboardPolicy, securityHeaders } from './security-headers.js';
import { dashboardRouter } from './static-dashboard.js';
import { uploadMiddleware } from './upload-middleware.js';

export type ServerConfig = Pick<
  Config,
  | 'port'
  | 'host'
  | 'adminToken'
  | 'classifyToken'
  | 'maxUploadBytes'
  | 'maxFiles'
  | 'maxJsonBytes'
  | 'maxQueryDepth'
  | 'maxQueryFields'
  | 'maxQueryAliases'
  | 'dashboardDir'
  | 'production'
  | 'corsOrigins'
>;

export interface RunningServer {
  /** http://host:port/graphql */
  url: string;
  /** ws://host:port/graphql */
  wsUrl: string;
  /** http://host:port */
  origin: string;
  httpServer: http.Server;
  metrics: AppMetrics;
  /** Stops accepting, lets in-flight requests finish, closes WebSocket clients. Services are left running. */
  close(): Promise<void>;
}

const GRAPHQL_PATH = '/graphql';

function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function urlHost(address: AddressInfo): string {
  // A wildcard address is reachable on loopback; URLs need a concrete host.
  if (address.address === '0.0.0.0' || address.address === '::') return '127.0.0.1';
  return address.family === 'IPv6' ? `[${address.address}]` : address.address;
}

export async function createServer(config: ServerConfig, services: AppServices, options: { log?: Logger } = {}): Promise<RunningServer> {
  const log = options.log ?? consoleLogger;
  const schema = await buildAppSchema(services.pubSub);
  const metrics = createMetrics({
    trainingInProgress: () => services.training.activeRun() !== null,
    modelReady: () => services.models.status().ready,
    classifyBatching: () => services.models.batchingStats(),
  });
  const tokens = { adminToken: config.adminToken, classifyToken: config.classifyToken };
  const limits = { maxUploadBytes: config.maxUploadBytes, maxFiles: config.maxFiles };
  const validationRules = [queryLimitRule({ maxDepth: config.maxQueryDepth, maxFields: config.maxQueryFields, maxAliases: config.maxQueryAliases })];
  const contextFor = (token: string | undefined): AppContext => ({
    services,
    caller: identify(token, tokens),
    limits,
    production: config.production,
    log,
    recordClassification: metrics.recordClassification,
  });
  const format = (formatted: GraphQLFormattedError, error: unknown) => formatError(formatted, error, { production: config.production, log });

  const app = express();
  app.disable('x-powered-by');
  app.use(securityHeaders());
  const httpServer = http.createServer(app);
  // Node closes an idle keep-alive connection after 5 s, timed from the last response. When a
  // long forward pass holds the event loop past that, the timer fires before the client's next
  // request (already received) is read, and the client gets a reset instead of an answer. Under
  // load that happened; a minute of grace makes it need a minute-long stall.
  httpServer.keepAliveTimeout = 65_000;
  httpServer.headersTimeout = 66_000;

  // Same schema, auth, limits and error formatting as HTTP; a message is at most a JSON body's size.
  const originAllowed = websocketOriginAllowed(config.corsOrigins);
  const wsServer = new WebSocketServer({
    server: httpServer,
    path: GRAPHQL_PATH,
    maxPayload: config.maxJsonBytes,
    verifyClient: ({ origin, req }, done) => (originAllowed(origin || undefined, req) ? done(true) : done(false, 403, 'cross-origin WebSocket not allowed (CORS_ORIGINS)')),
  });
  // Apollo turns introspection off in production for HTTP; graphql-ws needs the rule spelled out.
  const wsRules = [...specifiedRules, ...validationRules, ...(config.production ? [NoSchemaIntrospectionCustomRule] : [])];
  const wsCleanup = useServer<Record<string, unknown>>(
    {
      schema,
      context: (ctx) => contextFor(tokenFromConnectionParams(ctx.connectionParams)),
      onSubscribe: (_ctx, _id, payload) => {
        const tooDeep = documentNestingError(payload.query, config.maxQueryDepth);
        return tooDeep ? [tooDeep] : undefined;
      },
      validate: (s, document) => validate(s, document, wsRules),
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: result.errors.map((e) => format(e.toJSON(), e)) } : undefined,
      onError: (_ctx, _id, _payload, errors) => errors.map((e) => format(e.toJSON(), e)),
    },
    wsServer,
  );

  const apollo = new ApolloServer<AppContext>({
    schema,
    csrfPrevention: true,
    validationRules,
    introspection: !config.production,
    includeStacktraceInErrorResponses: false,
    // server/index.ts handles SIGTERM/SIGINT: Apollo's own handler would re-raise the signal and
    // kill the process before training is cancelled and the store closed.
    stopOnTerminationSignals: false,
    formatError: format,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      {
        async serverWillStart() {
          return {
            async drainServer() {
              await wsCleanup.dispose();
            },
          };
        },
      },
      metrics.apolloPlugin,
      overloadStatusPlugin,
    ],
  });
  await apollo.start();

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    const status = services.models.status();
    if (status.ready) res.json({ status: 'ready', activeVersion: status.activeVersion });
    else res.status(503).json({ status: 'not ready', reason: status.reason });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  app.use(
    GRAPHQL_PATH,
    corsMiddleware(config.corsOrigins),
    uploadMiddleware({ maxUploadBytes: config.maxUploadBytes, maxFiles: config.maxFiles, maxFieldBytes: config.maxJsonBytes }, metrics.recordRefusal),
    express.json({ limit: config.maxJsonBytes }),
    (req, res, next) => {
      const body = req.body as { query?: unknown } | undefined;
      const query = typeof body?.query === 'string' ? body.query : typeof req.query.query === 'string' ? req.query.query : undefined;
      const tooDeep = query === undefined ? null : documentNestingError(query, config.maxQueryDepth);
      if (!tooDeep) return next();
      metrics.recordRefusal(tooDeep.code);
      sendGraphQLError(res, 400, tooDeep.code, tooDeep.message);
    },
    expressMiddleware(apollo, { context: async ({ req }) => contextFor(bearerToken(req.get('authorization'))) }),
  );
  app.use(dashboardPolicy(), dashboardRouter(config.dashboardDir));

  const onError: ErrorRequestHandler = (error: { type?: string; status?: number; message?: string }, req, res, _next) => {
    if (error.type === 'entity.too.large') {
      metrics.recordRefusal('PAYLOAD_TOO_LARGE');
      return sendGraphQLError(res, 413, 'PAYLOAD_TOO_LARGE', `the request body is larger than ${config.maxJsonBytes} bytes`);
    }
    if (typeof error.status === 'number' && error.status >= 400 && error.status < 500) {
      metrics.recordRefusal('BAD_REQUEST');
      return sendGraphQLError(res, error.status, 'BAD_REQUEST', error.message ?? 'bad request');
    }
    log.error(`${req.method} ${req.path} failed`, error);
    sendGraphQLError(res, 500, 'INTERNAL_SERVER_ERROR', config.production ? 'Internal server error' : (error.message ?? String(error)));
  };
  app.use(onError);

  await listen(httpServer, config.port, config.host);
  const address = httpServer.address() as AddressInfo;
  const origin = `http://${urlHost(address)}:${address.port}`;

  let closing: Promise<void> | undefined;
  return {
    url: `${origin}${GRAPHQL_PATH}`,
    wsUrl: `${origin.replace(/^http/, 'ws')}${GRAPHQL_PATH}`,
    origin,
    httpServer,
    metrics,
    close: () => (closing ??= apollo.stop()),
  };
}
