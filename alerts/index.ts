export type { Alert, AlertBody, AlertEvent, AlertState, DeliveryEvent, GroupNotification, LocalizedText, Notification, Recipient, ReportNotification, AlertNotification } from './types.ts';
export { newId } from './ids.ts';
export { AlertEngine, type EngineDeps, type Turn } from './engine.ts';
export { AlertStore, ALERTS_SCHEMA, type AlertQuery, type SilenceRow, type AckRow, type HistoryRow } from './alert-store.ts';
export { AuditLog, AUDIT_SCHEMA, type AuditEntry } from './audit.ts';
export { AlertActions, type Actor, type AckTokens, type AckResult, type ListQuery, type SilenceInput } from './actions.ts';
export { summarize, ruleText, RULE_TEXT } from './summary.ts';
export { buildRouteTree, route, type RouteNode, type RouteSubject } from './routing.ts';
export { Recipients, type Target } from './recipients.ts';
export { effectiveRules, type EffectiveRule } from './rules/effective.ts';
export { DeviceEvaluator, type Signal, type Outcome } from './rules/evaluator.ts';
export {
  DeliveryWorker,
  Outbox,
  DELIVERY_SCHEMA,
  createSenders,
  redactChannel,
  signAckToken,
  verifyAckToken,
  signBody,
  DELIVERY_HEADER,
  SIGNATURE_HEADER,
  type OutboxItem,
  type DeliveryView,
} from './delivery/index.ts';
export { ackSecret } from './secret.ts';
export { routingTable, formatRoutingTable, type RoutingRow } from './routing-table.ts';
