/**
 * The socket.io protocol of the live dashboard (docs/interfaces.md#live-updates), as types:
 * what a client may emit, what the server emits, and the shapes of both. The web UI and the
 * tests code against these; `hub.ts` implements them.
 *
 * Connect to path `/socket.io` with `auth: {token}` (a bearer token of the estate file). A bad
 * or missing token fails the connection with a `connect_error` whose message is
 * `UNAUTHENTICATED` (and `data: {code, message}`); an address that presented 10 bad tokens
 * within a minute gets `TOO_MANY_REQUESTS` (`data.retryAfter` in seconds) for 5 minutes,
 * as from the HTTP API. Then emit `subscribe {site}` with an acknowledgement callback; the answer
 * is a snapshot of the site, after which the socket receives the site's `reading`, `status`
 * and `alert` events. Subscribe again after a reconnection: the server keeps no memory of a
 * socket that went away, and the new snapshot replaces whatever the client had. Events may
 * arrive before the snapshot they follow; the snapshot already includes them. When the
 * operational store cannot be read the answer is `{error: {code: 'STORE_UNAVAILABLE'}}`:
 * subscribe again shortly.
 */
import type { alertJson } from '../routes/alerts.ts';
import type { deviceJson } from '../routes/registry.ts';

/** A device as `GET /api/devices/:id` gives it (without `thresholds`). */
export type DeviceJson = ReturnType<typeof deviceJson>;
/** An alert as `GET /api/alerts` gives it. */
export type AlertJson = ReturnType<typeof alertJson>;

export interface SubscribeRequest {
  site: string;
}

/** The answer to `subscribe`: the site as it is now. */
export interface SiteSnapshot {
  site: string;
  /** every device of the site, with its latest values, online state and open-alert counts */
  devices: DeviceJson[];
  /** the site's active alerts (firing or acknowledged) this token may see, newest first */
  alerts: AlertJson[];
}

export interface ErrorReply {
  /** STORE_UNAVAILABLE: the snapshot could not be read now; subscribe again shortly */
  error: { code: 'NOT_FOUND' | 'BAD_REQUEST' | 'STORE_UNAVAILABLE' | 'INTERNAL'; message: string };
}

export type SubscribeReply = SiteSnapshot | ErrorReply;
export type UnsubscribeReply = { site: string } | ErrorReply;

/** One device's values that changed since the last batch: for each metric its latest value. */
export interface ReadingItem {
  device: string;
  /** RFC 3339: the time of the newest reading among `values` (the reading's own time) */
  ts: string;
  values: Record<string, number | boolean>;
}

/**
 * Readings, coalesced: at most one batch per site every flush interval (250 ms), carrying
 * for each device that reported in that interval the latest value of each metric it sent.
 */
export interface ReadingBatch {
  site: string;
  items: ReadingItem[];
}

/** A device went online or offline (its status topic or last will). Sent at once. */
export interface StatusMessage {
  site: string;
  device: string;
  online: boolean;
  /** RFC 3339 */
  ts: string;
}

/**
 * An alert changed: `transition` is `firing`, `severity`, `acknowledged`, `escalated`,
 * `muted`, `unmuted`, `reminder` or `resolved`. Sent at once; alerts still pending (not yet
 * fired) are not sent.
 */
export interface AlertMessage {
  alert: AlertJson;
  transition: string;
}

export interface ClientToServerEvents {
  subscribe(req: SubscribeRequest, ack: (reply: SubscribeReply) => void): void;
  unsubscribe(req: SubscribeRequest, ack?: (reply: UnsubscribeReply) => void): void;
}

export interface ServerToClientEvents {
  reading(batch: ReadingBatch): void;
  status(message: StatusMessage): void;
  alert(message: AlertMessage): void;
}

/** The room of a site's subscribers. */
export const siteRoom = (site: string) => `site:${site}`;
