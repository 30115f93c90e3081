export { IngestPipeline, type IngestCounters, type PipelineDeps } from './pipeline.ts';
export { MqttSubscriber, type SubscriberOptions } from './subscriber.ts';
export { SeqDedup, WINDOW as DEDUP_WINDOW } from './dedup.ts';
export { RejectLog } from './rejects.ts';
export { Decoder, MAX_PAYLOAD, type Reject, type RejectReason, type Decoded } from './decode.ts';
export { parseTopic, type Topic } from './topic.ts';
export { DeviceStates, type DeviceState } from './device-state.ts';
export { startEmbeddedBroker, BrokerPortError, type EmbeddedBroker } from './broker.ts';
