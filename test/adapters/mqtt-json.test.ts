/**
 * A vendor's own JSON end to end (docs/adapters.md, "Vendors' own JSON"): an elevator
 * monitoring terminal's gateway publishing `{"car": {…}, "fault": {"code": "02"}}` on its own
 * topic of the service's broker; the fault code's alert at market supervision, and its end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { device } from '../harness/publish.ts';
import { waitFor } from '../harness/ports.ts';
import { alerts, delivered, rejects, rowsAtLeast, startRig, type Rig } from './rig.ts';

let rig: Rig;
let gateway: MqttClient;

beforeAll(async () => {
  rig = await startRig('mqttjson');
  gateway = await device(rig.broker.url, 'lift-gateway');
}, 60_000);

afterAll(async () => {
  await gateway?.endAsync();
  await rig?.stop();
}, 60_000);

const report = (id: string, body: unknown) => gateway.publishAsync(`lift/${id}/report`, typeof body === 'string' ? body : JSON.stringify(body), { qos: 1 });

describe('fault codes', () => {
  it('code 02 starts trapped: critical to market supervision; a report without a code ends it', async () => {
    const t0 = Date.now();
    await report('LX-0009', { car: { floor: 5, speed: 0, door: false }, fault: { code: '02' } });
    await waitFor('trapped at market supervision', () => delivered(rig, '/market', 'EL-9').some((d) => d.event === 'alert.firing'), 15_000);
    expect(delivered(rig, '/market', 'EL-9')[0]).toMatchObject({ event: 'alert.firing', department: { id: 'market-supervision' }, alert: { rule: 'trapped', severity: 'critical' } });
    const open = (await alerts(rig, 'active')).find((a) => a.device === 'EL-9' && a.rule === 'trapped');
    expect(open).toMatchObject({ state: 'firing', severity: 'critical' });
    // The readings, at the arrival time (the profile names no time field).
    const [reading] = await rowsAtLeast(rig, `SELECT floor, speed_mps, door_open, site, building FROM elevator WHERE device = 'EL-9'`);
    expect(reading).toMatchObject({ floor: 5, speed_mps: 0, door_open: false, site: 'garden', building: '9栋' });
    expect(reading!.time as number).toBeGreaterThanOrEqual(t0 - 1000);
    expect(reading!.time as number).toBeLessThanOrEqual(Date.now());

    // The passenger is out: a report without a fault code.
    await report('LX-0009', { car: { floor: 5, speed: 0, door: true } });
    await waitFor('the end at market supervision', () => delivered(rig, '/market', 'EL-9').some((d) => d.event === 'alert.resolved'), 15_000);
    expect((await alerts(rig)).find((a) => a.id === open!.id)?.state).toBe('resolved');
    const events = await rowsAtLeast(rig, `SELECT active FROM events WHERE device = 'EL-9' AND code = 'trapped'`, 2);
    expect(events.map((e) => e.active)).toEqual([true, false]);
  });

  it('an empty code ends what was started as well', async () => {
    await report('LX-0009', { car: { floor: 7, speed: 1.6, door: false }, fault: { code: '08' } });
    await waitFor('door_open_moving at market supervision', () => delivered(rig, '/market', 'EL-9').some((d) => d.alert?.rule === 'door_open_moving' && d.event === 'alert.firing'), 15_000);
    await report('LX-0009', { car: { floor: 7, speed: 0, door: false }, fault: { code: '' } });
    await waitFor('its end', () => delivered(rig, '/market', 'EL-9').some((d) => d.alert?.rule === 'door_open_moving' && d.event === 'alert.resolved'), 15_000);
  });
});

describe('refused', () => {
  it('a code the profile does not map: bad_metric naming the adapter, with the raw report; its readings stored', async () => {
    const raw = JSON.stringify({ car: { floor: 12, speed: 0, door: false }, fault: { code: '99' } });
    await report('LX-0009', raw);
    const rej = await waitFor('the reject', async () => (await rejects(rig)).find((r) => r.topic === 'lift/LX-0009/report' && r.reason === 'bad_metric'));
    expect(rej).toMatchObject({ detail: 'adapter lift-gw: fault code "99" of EL-9 is not mapped by its profile', payload: raw });
    await rowsAtLeast(rig, `SELECT floor FROM elevator WHERE device = 'EL-9' AND floor = 12`);
  });

  it('an unknown terminal, or a report that is not JSON: refused naming the adapter, with the raw report', async () => {
    await report('LX-9999', { car: { floor: 1 } });
    const unknown = await waitFor('unknown_device', async () => (await rejects(rig)).find((r) => r.topic === 'lift/LX-9999/report'));
    expect(unknown).toMatchObject({ reason: 'unknown_device', detail: 'adapter lift-gw: no device has source id "LX-9999" on this adapter', payload: JSON.stringify({ car: { floor: 1 } }) });
    await report('LX-0009', 'floor=3;speed=0');
    const bad = await waitFor('bad_payload', async () => (await rejects(rig)).find((r) => r.topic === 'lift/LX-0009/report' && r.reason === 'bad_payload'));
    expect(bad).toMatchObject({ detail: 'adapter lift-gw: the report is not JSON', payload: 'floor=3;speed=0' });
  });
});
