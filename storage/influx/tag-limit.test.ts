/**
 * Recognising InfluxDB's refusal for a tag's cap on values (storage/influx/tag-limit.ts) in a
 * write error, and nothing else. The first case is the error Debian's influxd 1.6.7 gave here,
 * with INFLUXDB_DATA_MAX_VALUES_PER_TAG=3, for a fourth device; the whole service against a
 * real influxd is test/faults/tag-limit.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { MAX_VALUES_PER_TAG, tagLimitOf } from './tag-limit.ts';

const setting = { file: '[data] max-values-per-tag', env: 'INFLUXDB_DATA_MAX_VALUES_PER_TAG', unlimited: 0 };

describe('tagLimitOf', () => {
  const cases: [string, string, ReturnType<typeof tagLimitOf>][] = [
    [
      'influxd 1.6.7, a fourth device past a cap of 3',
      'partial write: max-values-per-tag limit exceeded (3/3): measurement="hydrant" tag="device" value="H0003" dropped=1',
      { measurement: 'hydrant', tag: 'device', value: 'H0003', limit: 3, setting },
    ],
    [
      'the default cap, the tag past it before the write (a batch of new values is taken whole)',
      'partial write: max-values-per-tag limit exceeded (100007/100000): measurement="status" tag="device" value="EL-100008" dropped=12',
      { measurement: 'status', tag: 'device', value: 'EL-100008', limit: 100000, setting },
    ],
    [
      "Go's %q: printable Unicode as is, quotes and backslashes escaped",
      String.raw`partial write: max-values-per-tag limit exceeded (20/20): measurement="hydrant" tag="building" value="3\"栋\\南" dropped=1`,
      { measurement: 'hydrant', tag: 'building', value: '3"栋\\南', limit: 20, setting },
    ],
    ["Go's %q: control characters", String.raw`max-values-per-tag limit exceeded (1/1): measurement="events" tag="code" value="a\tb\x01" dropped=1`, { measurement: 'events', tag: 'code', value: 'a\tb\x01', limit: 1, setting }],
    ['a field type conflict', 'partial write: field type conflict: input field "pressure_mpa" on measurement "hydrant" is type boolean, already exists as type float dropped=1', undefined],
    ['the cap on series per database (another setting)', 'partial write: max-series-per-database limit exceeded: (1000000) dropped=1', undefined],
    ['a line that does not parse', 'unable to parse \'hydrant,device=H0001 pressure_mpa=\': missing field value', undefined],
    ['nothing', '', undefined],
  ];
  it.each(cases)('%s', (_, error, expected) => {
    expect(tagLimitOf(error)).toEqual(expected);
  });

  it('names the setting as the configuration file and the official image spell it, 0 lifting it', () => {
    expect(MAX_VALUES_PER_TAG).toEqual(setting);
    expect(Object.isFrozen(MAX_VALUES_PER_TAG)).toBe(true);
  });
});
