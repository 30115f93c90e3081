/**
 * The embedded broker (Aedes), started when MQTT_URL is unset so `npm run demo` needs no
 * Mosquitto. It keeps sessions in memory; for a deployment that must not lose a device's
 * backlog across a restart, run Mosquitto (docs/ingest.md). Aedes speaks MQTT 3.1.1 only.
 */
import { createServer, type Server } from 'node:net';

export class BrokerPortError extends Error {
  readonly code = 'BROKER_PORT_IN_USE';
}

export interface EmbeddedBroker {
  port: number;
  close(): Promise<void>;
}

export async function startEmbeddedBroker(host: string, port: number): Promise<EmbeddedBroker> {
  // Loaded only in embedded mode.
  const { Aedes } = await import('aedes');
  const aedes = await Aedes.createBroker();
  const server: Server = createServer(aedes.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        reject(
          new BrokerPortError(
            `MQTT port ${host}:${port} is already taken, so the embedded broker cannot start. ` +
              `If a broker such as Mosquitto is running there, use it: MQTT_URL=mqtt://${host}:${port}. ` +
              `Otherwise pick a free port for the embedded broker: MQTT_PORT=1884.`,
          ),
        );
      } else reject(err);
    });
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as { port: number }).port;
  return {
    port: actual,
    close: () =>
      new Promise<void>((resolve) => {
        aedes.close(() => server.close(() => resolve()));
      }),
  };
}
