/**
 * The IoT platforms' pushes (docs/adapters.md), public: OneNET's URL verification
 * (`GET /ingest/onenet/:id`) and pushes (`POST /ingest/onenet/:id`), CTWing's pushes
 * (`POST /ingest/ctwing/:id/:secret`). The body is taken as the bytes sent (OneNET signs the
 * text as it was sent) and handed to ingest's adapters, which answer once what it carried is
 * in the spool and judged. Authentication failures are answered 401 and never stored.
 */
import type { FastifyInstance } from 'fastify';
import { errorResponses } from '../schemas.ts';

export interface PushAnswerLike {
  status: number;
  body: string;
  contentType?: string;
}

/** What the routes need of ingest's adapters (ingest's `AdapterIntake`). */
export interface PushApi {
  onenetVerify(id: string, q: { msg?: string; nonce?: string; signature?: string }): PushAnswerLike;
  onenetPush(id: string, raw: string): Promise<PushAnswerLike>;
  ctwingPush(id: string, secret: string, raw: string): Promise<PushAnswerLike>;
}

/** A push's largest body: a OneNET array of data points, a CTWing report. */
export const PUSH_BODY_LIMIT = 256 * 1024;

export async function pushRoutes(app: FastifyInstance, deps: { push: PushApi }): Promise<void> {
  // A plugin of its own (server.ts registers it so), so that this parser is for these routes only.
  // The bytes as they came, whatever the content type the platform sent (OneNET signs them).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: PUSH_BODY_LIMIT }, (_req, body, done) => done(null, body));
  const send = (reply: import('fastify').FastifyReply, a: PushAnswerLike) => reply.status(a.status).type(a.contentType ?? 'text/plain; charset=utf-8').send(a.body);
  const tags = ['adapters'];
  const plain = (description: string) => ({ description, content: { 'text/plain': { schema: { type: 'string' } } } });
  const refusals = [
    [401, "UNAUTHENTICATED: the signature is not OneNET's for this adapter's token, or the URL is not this adapter's; never stored"],
    [404, 'NOT_FOUND: no adapter of that id and type'],
  ] as const;
  const pushRefusals = errorResponses(...refusals, [413, 'PAYLOAD_TOO_LARGE: the body is over 256 KiB'], [503, 'SPOOL_UNAVAILABLE: what the push carried could not be made durable; the platform tries again', { retryAfter: false }]);
  app.get<{ Params: { id: string }; Querystring: { msg?: string; nonce?: string; signature?: string } }>(
    '/ingest/onenet/:id',
    {
      schema: {
        operationId: 'verifyOnenetUrl',
        tags,
        summary: "OneNET's URL verification: answers `msg` when the signature is right",
        security: [],
        response: { 200: plain('`msg` itself'), ...errorResponses(...refusals) },
      },
    },
    async (req, reply) => send(reply, deps.push.onenetVerify(req.params.id, req.query)),
  );
  app.post<{ Params: { id: string }; Body: string }>(
    '/ingest/onenet/:id',
    {
      schema: {
        operationId: 'pushOnenet',
        tags,
        summary: 'A OneNET data push; answered once what it carried is in the spool and judged',
        security: [],
        response: { 200: plain('`ok`: taken (or a retry of a push already taken); `refused`: signed but unreadable, in the reject log'), ...pushRefusals },
      },
    },
    async (req, reply) => send(reply, await deps.push.onenetPush(req.params.id, typeof req.body === 'string' ? req.body : '')),
  );
  app.post<{ Params: { id: string; secret: string }; Body: string }>(
    '/ingest/ctwing/:id/:secret',
    {
      schema: {
        operationId: 'pushCtwing',
        tags,
        summary: 'A CTWing subscription push (the secret in the path is its only authentication); answered once in the spool and judged',
        security: [],
        response: { 200: plain('`ok`: taken, a retry of a push already taken, or a message type the service ignores'), ...pushRefusals },
      },
    },
    async (req, reply) => send(reply, await deps.push.ctwingPush(req.params.id, req.params.secret, typeof req.body === 'string' ? req.body : '')),
  );
}
