export type { Alert, AlertEvent, AlertState, LocalizedText, Notification, Recipient } from './types.ts';
export { newId } from './ids.ts';
