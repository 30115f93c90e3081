/**
 * One HTTP POST for the HTTP channels (webhook, WeCom, DingTalk), with a timeout, and the
 * rule for which answers are worth retrying:
 *
 * - 2xx: delivered
 * - 408, 425, 429, 5xx, a network error, a timeout: the receiver is away or busy; retry
 * - any other answer (3xx, 4xx): it refused the request and will refuse it again; give up
 *
 * Redirects are not followed: a webhook URL that moved must be fixed in the estate file,
 * not silently re-POSTed somewhere else.
 */
import type { SendResult } from '../types.ts';

export const DEFAULT_TIMEOUT_MS = 10_000;
export const USER_AGENT = 'estate-sentinel/1';
/** How much of a receiver's answer is kept in an error message. */
const SNIPPET = 200;

export type HttpOutcome = { kind: 'response'; status: number; statusText: string; text: string } | { kind: 'error'; retriable: true; error: string };

export interface PostRequest {
  url: string;
  body: string;
  headers: Record<string, string>;
  /** aborted when the worker stops */
  signal: AbortSignal;
  timeoutMs: number;
}

function describe(err: unknown): string {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  const cause = e.cause?.message ?? e.cause?.code;
  return cause ? String(cause) : String(e.message ?? err);
}

export async function post(req: PostRequest): Promise<HttpOutcome> {
  const timeout = AbortSignal.timeout(req.timeoutMs);
  try {
    const res = await fetch(req.url, {
      method: 'POST',
      body: req.body,
      headers: { 'user-agent': USER_AGENT, ...req.headers },
      redirect: 'manual',
      signal: AbortSignal.any([req.signal, timeout]),
    });
    const text = await res.text();
    return { kind: 'response', status: res.status, statusText: res.statusText, text };
  } catch (err) {
    if (timeout.aborted) return { kind: 'error', retriable: true, error: `no answer within ${req.timeoutMs} ms` };
    if (req.signal.aborted) return { kind: 'error', retriable: true, error: 'abandoned: the delivery worker stopped' };
    return { kind: 'error', retriable: true, error: describe(err) };
  }
}

export function isRetriableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

export function snippet(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > SNIPPET ? `${flat.slice(0, SNIPPET)}…` : flat;
}

/** The result of a plain HTTP answer: 2xx delivered, else retriable or not by status. */
export function fromStatus(outcome: HttpOutcome): SendResult {
  if (outcome.kind === 'error') return { ok: false, retriable: true, error: outcome.error };
  const { status, statusText, text } = outcome;
  if (status >= 200 && status < 300) return { ok: true };
  const body = snippet(text);
  const error = `HTTP ${status}${statusText ? ` ${statusText}` : ''}${body ? `: ${body}` : ''}`;
  return { ok: false, retriable: isRetriableStatus(status), error };
}

/**
 * The result of a robot's answer (WeCom, DingTalk): HTTP 200 with `{"errcode": 0}` is
 * delivered; another errcode is retriable only if listed in `retriable`.
 */
export function fromRobotAnswer(outcome: HttpOutcome, robot: string, retriable: ReadonlySet<number>): SendResult {
  const plain = fromStatus(outcome);
  if (!plain.ok || outcome.kind === 'error') return plain;
  let answer: { errcode?: unknown; errmsg?: unknown };
  try {
    answer = JSON.parse(outcome.text) as typeof answer;
  } catch {
    return { ok: false, retriable: false, error: `${robot} answered HTTP ${outcome.status} without a JSON reply: ${snippet(outcome.text)}` };
  }
  const code = typeof answer.errcode === 'number' ? answer.errcode : Number(answer.errcode);
  if (code === 0) return { ok: true };
  if (!Number.isFinite(code)) return { ok: false, retriable: false, error: `${robot} answered without an errcode: ${snippet(outcome.text)}` };
  return { ok: false, retriable: retriable.has(code), error: `${robot} errcode ${code}: ${snippet(String(answer.errmsg ?? ''))}` };
}
