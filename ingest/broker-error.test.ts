import { describe, expect, it } from 'vitest';
import { brokerError } from './broker-error.ts';

const err = (message: string, code?: unknown) => Object.assign(new Error(message), code === undefined ? {} : { code });

describe('broker errors an operator can act on', () => {
  it.each([
    [err('Connection refused: Bad User Name or Password', 134), 'MQTT_BAD_CREDENTIALS'],
    [err('Connection refused: Bad username or password', 4), 'MQTT_BAD_CREDENTIALS'],
    [err('Connection refused: Not authorized', 135), 'MQTT_NOT_AUTHORIZED'],
    [err('Connection refused: Not authorized', 5), 'MQTT_NOT_AUTHORIZED'],
    [err('Connection refused: Server unavailable', 136), 'MQTT_REFUSED'],
    [err('self-signed certificate in certificate chain', 'SELF_SIGNED_CERT_IN_CHAIN'), 'MQTT_TLS_UNTRUSTED'],
    [err('unable to verify the first certificate', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'), 'MQTT_TLS_UNTRUSTED'],
    [err("Hostname/IP does not match certificate's altnames", 'ERR_TLS_CERT_ALTNAME_INVALID'), 'MQTT_TLS_HOSTNAME'],
    [err('certificate has expired', 'CERT_HAS_EXPIRED'), 'MQTT_TLS_EXPIRED'],
    [err('wrong version number', 'ERR_SSL_WRONG_VERSION_NUMBER'), 'MQTT_TLS_FAILED'],
    [err('connect ECONNREFUSED 127.0.0.1:1', 'ECONNREFUSED'), 'MQTT_UNREACHABLE'],
    [err('something else'), 'MQTT_ERROR'],
  ])('%s → %s', (e, code) => {
    const b = brokerError(e);
    expect(b.code).toBe(code);
    expect(b.message.length).toBeGreaterThan(20);
  });

  it('points at the setting to change', () => {
    expect(brokerError(err('x', 134)).message).toContain('MQTT_PASSWORD');
    expect(brokerError(err('x', 'SELF_SIGNED_CERT_IN_CHAIN')).message).toContain('MQTT_CA_FILE');
  });
});
