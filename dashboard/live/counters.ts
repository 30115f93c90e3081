/**
 * What the live hub reports in `/metrics`: the sockets connected now, and the events sent to
 * sockets by type (a batch of readings to a room of 200 sockets counts 200). Kept in plain
 * numbers too, so a hub without a metrics registry (a unit test) still counts.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export type LiveEvent = 'reading' | 'status' | 'alert';

export class LiveCounters {
  readonly totals: Record<LiveEvent, number> = { reading: 0, status: 0, alert: 0 };
  private readonly events: Counter<'event'> | undefined;

  constructor(registry: Registry | undefined, clients: () => number) {
    if (!registry) return;
    new Gauge({
      name: 'estate_live_clients',
      help: 'socket.io clients of the live dashboard connected now',
      registers: [registry],
      collect() {
        this.set(clients());
      },
    });
    this.events = new Counter({ name: 'estate_live_events_total', help: 'Live events sent to sockets, by event (a reading batch counts once per socket)', labelNames: ['event'] as const, registers: [registry] });
    for (const e of ['reading', 'status', 'alert'] as const) this.events.inc({ event: e }, 0);
  }

  sent(event: LiveEvent, sockets: number): void {
    if (sockets <= 0) return;
    this.totals[event] += sockets;
    this.events?.inc({ event }, sockets);
  }
}
