/** MQTT clients for tests, standing in for devices. */
import mqtt, { type MqttClient } from 'mqtt';

export async function device(url: string, clientId = `dev-${Math.random().toString(36).slice(2)}`): Promise<MqttClient> {
  return mqtt.connectAsync(url, { clientId, protocolVersion: 4, reconnectPeriod: 200, clean: true });
}

export function telemetry(metrics: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ ...extra, metrics });
}
