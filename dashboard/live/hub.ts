/**
 * The live dashboard over socket.io (docs/interfaces.md#live-updates; the protocol is in
 * protocol.ts). Sockets authenticate in the handshake with the HTTP API's bearer tokens,
 * subscribe to sites they may see, and get a snapshot, then the site's events in its room.
 *
 * Readings are coalesced (batches.ts) and sent as one `reading` batch per site every flush
 * interval, so a room costs one encode per flush (socket.io's adapter encodes a room emit
 * once, frame included) however fast devices publish. Statuses and alerts go out at once.
 * A site whose room is empty collects nothing and is sent nothing.
 *
 * Alerts follow the HTTP API's scoping: a department token sees every site's devices, but
 * only the alerts routed to its departments. Its sockets also join one room per department
 * of theirs, and a marker room that excludes them from the site-wide alert emit.
 *
 * A snapshot's alerts come from the operational store, asynchronously, after the socket
 * joined its rooms: alert events sent to the room while the query runs may be newer than
 * what it read, so they are laid over its answer, and the snapshot the client applies is
 * never older than an event it already had. A store that cannot answer is a
 * STORE_UNAVAILABLE reply; the socket stays in the rooms and may subscribe again.
 */
import type { Server as HttpServer } from 'node:http';
import type { Logger } from 'pino';
import { Server, type Socket } from 'socket.io';
import type { Registry as PromRegistry } from 'prom-client';
import type { Estate, Registry } from '../../config/index.ts';
import type { Alert, AlertActions } from '../../alerts/index.ts';
import { isStoreUnavailable } from '../../storage/index.ts';
import type { Bus, BusEvents, DeviceStatus } from '../../bus.ts';
import { TokenBook, canSeeSite, type Principal } from '../auth.ts';
import { ClientGuard, guardOf } from '../auth-limit.ts';
import { alertJson } from '../routes/alerts.ts';
import { deviceJson } from '../routes/registry.ts';
import type { LatestCache } from './latest.ts';
import { ReadingBatches } from './batches.ts';
import { LiveCounters } from './counters.ts';
import { siteRoom, type ClientToServerEvents, type ErrorReply, type ServerToClientEvents, type SiteSnapshot } from './protocol.ts';

export interface HubDeps {
  estate: Estate;
  registry: Registry;
  latest: LatestCache;
  alerts: Pick<AlertActions, 'list' | 'canSee'>;
  bus: Bus;
  log: Logger;
  /** where `estate_live_*` metrics register; none if absent */
  metrics?: PromRegistry;
  /** how often readings are flushed to the rooms [250 ms] */
  flushMs?: number;
  /**
   * the client-address rule and failed-token budget; default: those of the HTTP API served by
   * the server the hub is started on (buildServer's), so both ways in share one budget; a
   * server of no HTTP API gets its own, trusting no proxy
   */
  guard?: ClientGuard;
}

interface SocketData {
  principal: Principal;
}

type LiveServer = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
type LiveSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

/** The room of a department token's sockets at a site, and the one per department. */
const departmentsRoom = (site: string) => `${siteRoom(site)}/departments`;
const departmentRoom = (site: string, department: string) => `${siteRoom(site)}/department:${department}`;
const SITE_ROOM = /^site:([^/]+)$/;
const SNAPSHOT_ALERTS = 1000;

export class LiveHub {
  private io: LiveServer | undefined;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void)[] = [];
  private readonly tokens: TokenBook;
  /** the HTTP API's: an address that presents too many bad tokens, here or there, is refused for a while */
  private guard: ClientGuard | undefined;
  private readonly batches: ReadingBatches;
  private readonly counters: LiveCounters;
  private readonly flushMs: number;
  /** per site, while snapshots of it are being taken: how many, and the alerts sent to its rooms meanwhile (latest by id) */
  private readonly taking = new Map<string, { n: number; sent: Map<string, Alert> }>();

  constructor(private readonly deps: HubDeps) {
    this.tokens = new TokenBook(deps.estate);
    this.batches = new ReadingBatches(deps.latest);
    this.counters = new LiveCounters(deps.metrics, () => this.io?.engine.clientsCount ?? 0);
    this.flushMs = deps.flushMs ?? 250;
  }

  /** Attaches to the HTTP server at `/socket.io` and starts listening to the bus. */
  start(server: HttpServer): void {
    if (this.io) return;
    const io: LiveServer = new Server(server, { path: '/socket.io', serveClient: false, maxHttpBufferSize: 64 * 1024 });
    this.io = io;
    const guard = (this.guard = this.deps.guard ?? guardOf(server) ?? this.guard ?? new ClientGuard());
    const { limiter } = guard;
    io.use((socket, next) => {
      // The handshake's request, read as fastify reads req.ip (X-Forwarded-For under TRUST_PROXY).
      const address = guard.address.of(socket.request);
      const wait = limiter.retryAfter(address);
      if (wait > 0) return next(refusal('TOO_MANY_REQUESTS', 'too many failed attempts; try again later', { retryAfter: wait }));
      const principal = this.authenticate(socket);
      if (!principal) {
        if (this.presented(socket)) limiter.fail(address);
        return next(refusal('UNAUTHENTICATED', 'a valid token is required in auth.token'));
      }
      socket.data.principal = principal;
      next();
    });
    io.on('connection', (socket) => this.connected(socket));
    const adapter = io.of('/').adapter;
    adapter.on('create-room', (room: string) => {
      const site = SITE_ROOM.exec(room)?.[1];
      if (site) this.batches.watch(site);
    });
    adapter.on('delete-room', (room: string) => {
      const site = SITE_ROOM.exec(room)?.[1];
      if (site) this.batches.unwatch(site);
    });
    const { bus } = this.deps;
    this.unsubscribe = [bus.on('reading', (r) => this.batches.add(r)), bus.on('status', (s) => this.status(s)), bus.on('alert', (e) => this.alert(e))];
    this.timer = setInterval(() => this.flush(), this.flushMs);
    this.timer.unref();
  }

  /** Disconnects every socket and detaches; the HTTP server itself is closed by its owner. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const u of this.unsubscribe) u();
    this.unsubscribe = [];
    const io = this.io;
    this.io = undefined;
    if (!io) return;
    io.disconnectSockets(true);
    // Not io.close(): that would also close the HTTP server, which fastify owns and closes.
    io.engine.close();
  }

  private authenticate(socket: LiveSocket): Principal | undefined {
    const token: unknown = socket.handshake.auth?.token;
    if (typeof token === 'string' && token.length > 0 && token.length <= 512) return this.tokens.verify(`Bearer ${token}`);
    // Clients that cannot set `auth` (a Node client behind a proxy) may send the header instead.
    return this.tokens.verify(socket.handshake.headers.authorization);
  }

  private presented(socket: LiveSocket): boolean {
    return socket.handshake.auth?.token !== undefined || socket.handshake.headers.authorization !== undefined;
  }

  private connected(socket: LiveSocket): void {
    const log = this.deps.log;
    log.debug({ socket: socket.id, token: socket.data.principal.name }, 'live client connected');
    socket.on('subscribe', (req: unknown, ack: unknown) => {
      const reply = replier<SiteSnapshot | ErrorReply>(req, ack);
      const site = siteOf(req);
      if (site === undefined) return reply(errorReply('BAD_REQUEST', 'subscribe takes {site: <site id>}'));
      const p = socket.data.principal;
      if (!this.deps.registry.sites.has(site) || !canSeeSite(p, site)) return reply(errorReply('NOT_FOUND', `no site ${site}`));
      // Joined before the snapshot is taken: nothing that happens after it can be missed.
      void socket.join(roomsOf(p, site));
      this.snapshot(p, site).then(reply, (err: unknown) => {
        const unavailable = isStoreUnavailable(err);
        log[unavailable ? 'warn' : 'error']({ err, site, token: p.name }, 'a live snapshot failed');
        reply(unavailable ? errorReply('STORE_UNAVAILABLE', 'the operational store cannot be used right now; subscribe again shortly') : errorReply('INTERNAL', 'internal error'));
      });
    });
    socket.on('unsubscribe', (req: unknown, ack: unknown) => {
      const reply = replier<{ site: string } | ErrorReply>(req, ack);
      const site = siteOf(req);
      if (site === undefined) return reply(errorReply('BAD_REQUEST', 'unsubscribe takes {site: <site id>}'));
      for (const room of [...socket.rooms]) if (room === siteRoom(site) || room.startsWith(`${siteRoom(site)}/`)) void socket.leave(room);
      reply({ site });
    });
    socket.on('disconnect', (reason) => log.debug({ socket: socket.id, reason }, 'live client disconnected'));
  }

  /** The site now, as the subscriber may see it. */
  async snapshot(p: Principal, site: string): Promise<SiteSnapshot> {
    const { registry, latest, alerts } = this.deps;
    let w = this.taking.get(site);
    if (!w) this.taking.set(site, (w = { n: 0, sent: new Map() }));
    w.n++;
    try {
      const read = await alerts.list(p, { state: 'active', site, limit: SNAPSHOT_ALERTS });
      // What was sent to the site's rooms while the store was read is at least as new as what it gave.
      const byId = new Map(read.map((a) => [a.id, a]));
      for (const a of w.sent.values()) {
        if (!alerts.canSee(p, a)) continue;
        if (a.state === 'firing' || a.state === 'acknowledged') byId.set(a.id, a);
        else byId.delete(a.id);
      }
      const list = w.sent.size === 0 ? read : [...byId.values()].sort(newestFirst).slice(0, SNAPSHOT_ALERTS);
      // Devices from memory, now: readings and statuses already sent are in the cache.
      return { site, devices: registry.devicesOf(site).map((d) => deviceJson(d, latest)), alerts: list.map(alertJson) };
    } finally {
      if (--w.n === 0) this.taking.delete(site);
    }
  }

  /** Sends each watched site's pending readings as one batch. */
  flush(): void {
    const io = this.io;
    if (!io) return;
    for (const [site, items] of this.batches.drain()) {
      const room = siteRoom(site);
      io.to(room).emit('reading', { site, items });
      this.counters.sent('reading', this.roomSize(room));
    }
  }

  private status(s: DeviceStatus): void {
    const io = this.io;
    if (!io || !this.batches.watching(s.site)) return;
    const room = siteRoom(s.site);
    io.to(room).emit('status', { site: s.site, device: s.device, online: s.online, ts: new Date(s.ts).toISOString() });
    this.counters.sent('status', this.roomSize(room));
  }

  private alert({ alert: a, transition }: BusEvents['alert']): void {
    const io = this.io;
    // System alerts have no site; an alert that never fired is not shown anywhere yet.
    if (!io || !a.site || a.state === 'pending' || a.firedAt === null || !this.batches.watching(a.site)) return;
    this.taking.get(a.site)?.sent.set(a.id, a);
    const message = { alert: alertJson(a), transition };
    const room = siteRoom(a.site);
    const marker = departmentsRoom(a.site);
    io.to(room).except(marker).emit('alert', message);
    let n = this.roomSize(room) - this.roomSize(marker);
    if (this.roomSize(marker) > 0 && a.departments.length > 0) {
      const rooms = a.departments.map((d) => departmentRoom(a.site, d));
      io.to(rooms).emit('alert', message);
      const reached = new Set<string>();
      for (const r of rooms) for (const id of io.of('/').adapter.rooms.get(r) ?? []) reached.add(id);
      n += reached.size;
    }
    this.counters.sent('alert', n);
  }

  private roomSize(room: string): number {
    return this.io?.of('/').adapter.rooms.get(room)?.size ?? 0;
  }
}

/** As the store lists alerts: newest first by when they fired, then by id. */
function newestFirst(x: Alert, y: Alert): number {
  const tx = x.firedAt ?? x.startsAt;
  const ty = y.firedAt ?? y.startsAt;
  return tx !== ty ? ty - tx : x.id < y.id ? 1 : x.id > y.id ? -1 : 0;
}

/** The acknowledgement callback (also when a client sent one without a payload), or a no-op. */
function replier<T>(req: unknown, ack: unknown): (reply: T) => void {
  const fn = typeof ack === 'function' ? ack : typeof req === 'function' ? req : undefined;
  return fn ? (reply: T) => (fn as (r: T) => void)(reply) : () => {};
}

function siteOf(req: unknown): string | undefined {
  if (typeof req !== 'object' || req === null) return undefined;
  const site = (req as { site?: unknown }).site;
  return typeof site === 'string' && site.length > 0 && site.length <= 64 ? site : undefined;
}

function roomsOf(p: Principal, site: string): string[] {
  if (p.role !== 'department') return [siteRoom(site)];
  return [siteRoom(site), departmentsRoom(site), ...[...(p.departments ?? [])].map((d) => departmentRoom(site, d))];
}

/** The handshake's refusal: the client's `connect_error` has the code as its message, and `data`. */
function refusal(code: 'UNAUTHENTICATED' | 'TOO_MANY_REQUESTS', message: string, extra: object = {}): Error {
  return Object.assign(new Error(code), { data: { code, message, ...extra } });
}

function errorReply(code: ErrorReply['error']['code'], message: string): ErrorReply {
  return { error: { code, message } };
}
