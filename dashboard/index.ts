export { buildServer, principalOf, type ServerDeps } from './server.ts';
export { TokenBook, canSeeSite, siteFilter, requireRole, type Principal } from './auth.ts';
export { ApiError, ERRORS, type ErrorCode } from './errors.ts';
export type { Readiness } from './routes/health.ts';
export { LatestCache, type DeviceNow } from './live/latest.ts';
export { LiveHub, type HubDeps } from './live/hub.ts';
export type * from './live/protocol.ts';
export { siteRoom } from './live/protocol.ts';
