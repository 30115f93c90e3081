/**
 * Why the broker connection failed, as a code and a sentence an operator can act on
 * (shown by /readyz under `broker.error` and logged once per reason; docs/mqtt-security.md).
 */

export type BrokerErrorCode =
  | 'MQTT_BAD_CREDENTIALS'
  | 'MQTT_NOT_AUTHORIZED'
  | 'MQTT_REFUSED'
  | 'MQTT_TLS_UNTRUSTED'
  | 'MQTT_TLS_HOSTNAME'
  | 'MQTT_TLS_EXPIRED'
  | 'MQTT_TLS_FAILED'
  | 'MQTT_UNREACHABLE'
  | 'MQTT_ERROR';

export interface BrokerError {
  code: BrokerErrorCode;
  message: string;
}

const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ECONNRESET']);

export function brokerError(err: Error & { code?: unknown }): BrokerError {
  const code = err.code;
  const detail = err.message;
  // CONNACK refusals: MQTT 3.1.1 return codes 4 and 5, MQTT 5 reason codes 134 and 135.
  if (code === 4 || code === 134) {
    return { code: 'MQTT_BAD_CREDENTIALS', message: `the broker refused the service's username or password (MQTT_USERNAME, MQTT_PASSWORD): ${detail}` };
  }
  if (code === 5 || code === 135) {
    return { code: 'MQTT_NOT_AUTHORIZED', message: `the broker refused the service's login: check MQTT_USERNAME and MQTT_PASSWORD against the broker's password file: ${detail}` };
  }
  if (typeof code === 'number') return { code: 'MQTT_REFUSED', message: `the broker refused the connection (reason ${code}): ${detail}` };
  if (typeof code === 'string') {
    if (UNTRUSTED.has(code)) {
      return { code: 'MQTT_TLS_UNTRUSTED', message: `the broker's certificate is not signed by a trusted CA (set MQTT_CA_FILE to the CA that signed it): ${code}` };
    }
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
      return { code: 'MQTT_TLS_HOSTNAME', message: `the broker's certificate does not name the host in MQTT_URL: ${detail}` };
    }
    if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
      return { code: 'MQTT_TLS_EXPIRED', message: `the broker's certificate is not valid now: ${code}` };
    }
    if (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || code.startsWith('CERT_')) {
      return { code: 'MQTT_TLS_FAILED', message: `TLS with the broker failed: ${code}: ${detail}` };
    }
    if (UNREACHABLE.has(code)) return { code: 'MQTT_UNREACHABLE', message: `the broker cannot be reached: ${code}` };
  }
  return { code: 'MQTT_ERROR', message: `MQTT error: ${detail}` };
}
