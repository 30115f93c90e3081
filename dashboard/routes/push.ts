/**
 * The IoT platforms' pushes (docs/adapters.md), public: OneNET's URL verification
 * (`GET /ingest/onenet/:id`) and pushes (`POST /ingest/onenet/:id`), CTWing's pushes
 * (`POST /ingest/ctwing/:id/:secret`). The body is taken as the bytes sent (OneNET signs the
 * text as it was sent) and handed to ingest's adapters, which answer once what it carried is
 * in the spool and judged. Authentication failures are answered 401 and never stored.
 */
import type { FastifyInstance } from 'fastify';

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
  app.get<{ Params: { id: string }; Querystring: { msg?: string; nonce?: string; signature?: string } }>(
    '/ingest/onenet/:id',
    { schema: { tags, summary: "OneNET's URL verification", security: [], hide: false } },
    async (req, reply) => send(reply, deps.push.onenetVerify(req.params.id, req.query)),
  );
  app.post<{ Params: { id: string }; Body: string }>('/ingest/onenet/:id', { schema: { tags, summary: 'A OneNET data push', security: [] } }, async (req, reply) =>
    send(reply, await deps.push.onenetPush(req.params.id, typeof req.body === 'string' ? req.body : '')),
  );
  app.post<{ Params: { id: string; secret: string }; Body: string }>('/ingest/ctwing/:id/:secret', { schema: { tags, summary: 'A CTWing subscription push', security: [] } }, async (req, reply) =>
    send(reply, await deps.push.ctwingPush(req.params.id, req.params.secret, typeof req.body === 'string' ? req.body : '')),
  );
}
