/**
 * The simulators' public interface: device models (pure, testable without MQTT), simulated
 * devices on MQTT, devices behind adapters reporting through their platforms (platforms/),
 * fleets of them, and the time base. `cli.ts` is `npm run simulate`.
 */
export type { DeviceModel, Metrics, MetricValue, ModelContext, SimDeviceSpec } from './model.ts';
export { DeviceSimulation, modelFor, elevatorModel, hydrantModel, firelaneModel, waterModel, landingsOf, MAX_STOP_MS } from './models/index.ts';
export { Rng, rngAt, rngFor, deviceSeed } from './random.ts';
export { realClock, scaledClock, ManualClock, DeferredClock, type Clock } from './clock.ts';
export { Schedule } from './schedule.ts';
export { ReplayBuffer, MAX_REPLAY_BYTES } from './buffer.ts';
export { SimulatedDevice, clockTopic, DEFAULT_BUFFER_LIMIT, type DeviceOptions, type DeviceStats, type PendingReading, type ReadingHook } from './device.ts';
export { Fleet, FleetError, selectDevices, type FleetOptions, type FleetSummary } from './fleet.ts';
export { PlatformDevice, Platforms, deviceSources, vendorFields, vendorEventCode, encodeFrame, onenetBody, onenetSignature, onenetEncrypt, type DeviceSource, type PlatformLink, type PlatformReading, type LinkStats } from './platforms/index.ts';
export { parseCli, parseDuration, UsageError, USAGE, type CliOptions } from './options.ts';
export { Story, DEMO_STORY, DEMO_CYCLE_MS, DEMO_RULES, type StoryStep } from './story.ts';
export * from './scenario/index.ts';
