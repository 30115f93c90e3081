/**
 * An MQTT connection a platform publishes on (ChirpStack's integration, a vendor's gateway),
 * shared by the devices behind it: opened by the first that starts, closed when the last has
 * stopped and what it published is acknowledged.
 */
import mqtt, { type MqttClient } from 'mqtt';

export interface MqttLinkOptions {
  url: string;
  clientId: string;
  username?: string;
  password?: string;
  reconnectPeriodMs?: number;
  onError: (message: string) => void;
}

export class SharedMqtt {
  private client: MqttClient | undefined;
  private users = 0;

  constructor(private readonly opts: MqttLinkOptions) {}

  get connected(): boolean {
    return this.client?.connected === true;
  }

  open(): MqttClient {
    this.users++;
    if (!this.client) {
      // MQTT 3.1.1: the embedded broker (Aedes) speaks nothing newer.
      this.client = mqtt.connect(this.opts.url, {
        clientId: this.opts.clientId,
        protocolVersion: 4,
        clean: true,
        keepalive: 30,
        connectTimeout: 5000,
        reconnectPeriod: this.opts.reconnectPeriodMs ?? 1000,
        queueQoSZero: false,
        ...(this.opts.username ? { username: this.opts.username } : {}),
        ...(this.opts.password ? { password: this.opts.password } : {}),
      });
      this.client.on('error', (err) => this.opts.onError(`${this.opts.url}: ${err.message}`));
    }
    return this.client;
  }

  async close(): Promise<void> {
    if (--this.users > 0 || !this.client) return;
    const c = this.client;
    this.client = undefined;
    if (!c.connected) return void c.end(true);
    await Promise.race([c.endAsync().catch(() => undefined), new Promise((r) => setTimeout(r, 3000).unref())]);
    if (!c.disconnected) c.end(true);
  }
}

/** Publishes and counts: `sent` once the broker acknowledged (QoS 1) or the packet left (QoS 0). */
export function publishCounted(client: MqttClient, topic: string, payload: string, qos: 0 | 1, stats: { sent: number; messages: number; buffered: number; dropped: number }, readings: number, onError: (m: string) => void): void {
  stats.buffered += readings;
  client.publish(topic, payload, { qos }, (err) => {
    stats.buffered -= readings;
    if (err) {
      stats.dropped += readings;
      onError(`publish on ${topic} failed: ${err.message}`);
      return;
    }
    stats.sent += readings;
    stats.messages++;
  });
}
