/**
 * The alert and the notifications about it, as the alerts part, the outbox, the API and the
 * dashboard share them: defined once in config/alert.ts, named here for the alerts part.
 */
export type {
  Alert,
  AlertBody,
  AlertEvent,
  AlertKind,
  AlertNotification,
  AlertState,
  DeliveryEvent,
  GroupNotification,
  LocalizedText,
  Notification,
  Recipient,
  ReportNotification,
} from '../config/index.ts';
