/** The adapters' public interface (docs/adapters.md): the intake, and what tests and simulators use of each platform's format. */
export { AdapterIntake, type IntakeDeps, type PushAnswer, type AdapterSubscription } from './intake.ts';
export { onenetSignature, decrypt as onenetDecrypt, rawValue } from './onenet.ts';
export { CODEC_IMPLEMENTATIONS, decodeFrame, CodecError } from './codecs.ts';
export { topicMatcher } from './mqtt-json.ts';
export { mapFields, at as fieldAt } from './profile.ts';
export type { SourceMessage, Translation, AdapterOrigin } from './types.ts';
