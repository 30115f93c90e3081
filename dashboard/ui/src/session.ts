/**
 * Who is signed in: the token (kept in sessionStorage, so it lives as long as the tab) and
 * what it may do, from its role as `GET /api/me` gives it (found once per tab). The API
 * still decides: what the UI hides, the API would refuse.
 */
import { ApiError, createApi, type Api } from './api.ts';

const KEY = 'estate-sentinel.token';

export type Role = 'viewer' | 'operator' | 'department' | 'admin';

export interface Session {
  token: string;
  role: Role;
  canAck: boolean;
  canSilence: boolean;
  canSeeIngest: boolean;
  /** `POST /api/reports`: operators, departments and admins */
  canRequestReports: boolean;
  /** `POST /api/maintenance`: operators and admins */
  canRecordMaintenance: boolean;
  api: Api;
}

/** The token of this tab and the role found for it, if signed in. */
export function stored(): { token: string; role: Role | null } | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return null;
    const v = JSON.parse(raw) as { token?: unknown; role?: unknown };
    if (typeof v.token !== 'string') return null;
    return { token: v.token, role: v.role === 'viewer' || v.role === 'operator' || v.role === 'department' || v.role === 'admin' ? v.role : null };
  } catch {
    return null;
  }
}

export function forgetToken(): void {
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    // storage refused (private mode): nothing was kept
  }
}

/**
 * Checks the token against the API; throws the ApiError (401 invalid, 429 too many attempts,
 * 0 network). The role is found once per tab and kept with the token.
 */
export async function signIn(token: string, onUnauthorized: () => void, known: Role | null = null): Promise<Session> {
  const probe = createApi(token);
  await probe.get('/api/sites');
  const role = known ?? (await findRole(probe));
  try {
    sessionStorage.setItem(KEY, JSON.stringify({ token, role }));
  } catch {
    // storage refused: the session lasts until a reload
  }
  return {
    token,
    role,
    canAck: role !== 'viewer',
    canSilence: role === 'operator' || role === 'admin',
    canSeeIngest: role !== 'department',
    canRequestReports: role !== 'viewer',
    canRecordMaintenance: role === 'operator' || role === 'admin',
    api: createApi(token, onUnauthorized),
  };
}

async function findRole(probe: Api): Promise<Role> {
  return ((await probe.get('/api/me')) as { role: Role }).role;
}
