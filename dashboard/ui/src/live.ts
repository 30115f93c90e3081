/**
 * Live updates over socket.io (docs/interfaces.md#live-updates): one connection per view, to the same
 * origin at `/socket.io` with `auth: {token}`. After each (re)connection every site is
 * subscribed again and its snapshot replaces what the view had, so nothing missed while
 * away stays missing.
 */
import { io, type Socket } from 'socket.io-client';
import type { Alert, Device } from './api.ts';

export interface Snapshot {
  site: string;
  devices: Device[];
  alerts: Alert[];
}

export interface ReadingEvent {
  site: string;
  items: { device: string; ts: string; values: Record<string, number | boolean> }[];
}

export interface StatusEvent {
  site: string;
  device: string;
  online: boolean;
  ts: string;
}

export interface AlertEvent {
  alert: Alert;
  transition: string;
}

export type LiveState = { state: 'connecting' | 'live' | 'offline' } | { state: 'unavailable'; message: string };

export interface LiveHandlers {
  snapshot?(s: Snapshot): void;
  reading?(r: ReadingEvent): void;
  status?(s: StatusEvent): void;
  alert?(a: AlertEvent): void;
  state?(s: LiveState): void;
  /** the token was refused */
  unauthorized?(): void;
}

export class Live {
  private readonly socket: Socket;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  constructor(
    token: string,
    private readonly sites: readonly string[],
    private readonly on: LiveHandlers,
  ) {
    on.state?.({ state: 'connecting' });
    this.socket = io({ path: '/socket.io', auth: { token }, reconnectionDelayMax: 5000 });
    this.socket.on('connect', () => this.subscribe());
    this.socket.on('connect_error', (err: Error & { data?: { code?: string } }) => {
      if (err.message === 'UNAUTHENTICATED' || err.data?.code === 'UNAUTHENTICATED') {
        this.close();
        on.unauthorized?.();
        return;
      }
      on.state?.({ state: 'offline' });
      // Refused by the server's middleware for another reason: socket.io does not retry by itself.
      if (!this.socket.active) this.later();
    });
    this.socket.on('disconnect', (reason) => {
      if (this.closed) return;
      on.state?.({ state: 'offline' });
      if (reason === 'io server disconnect') this.later();
    });
    this.socket.on('reading', (r: ReadingEvent) => on.reading?.(r));
    this.socket.on('status', (s: StatusEvent) => on.status?.(s));
    this.socket.on('alert', (a: AlertEvent) => on.alert?.(a));
  }

  private later(): void {
    clearTimeout(this.retry);
    this.retry = setTimeout(() => {
      if (!this.closed) this.socket.connect();
    }, 3000);
  }

  private subscribe(): void {
    let failed: string | undefined;
    let pending = this.sites.length;
    const done = () => {
      if (--pending > 0 || this.closed) return;
      this.on.state?.(failed ? { state: 'unavailable', message: failed } : { state: 'live' });
    };
    if (pending === 0) this.on.state?.({ state: 'live' });
    for (const site of this.sites) {
      this.socket.timeout(15_000).emit('subscribe', { site }, (err: Error | null, res: Snapshot | { error: { code: string; message: string } }) => {
        if (this.closed) return;
        if (err) failed = err.message;
        else if ('error' in res) failed = `${res.error.code}: ${res.error.message}`;
        else this.on.snapshot?.(res);
        done();
      });
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retry);
    this.socket.removeAllListeners();
    this.socket.close();
  }
}
