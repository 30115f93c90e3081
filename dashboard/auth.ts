/**
 * Bearer-token auth (docs/interfaces.md#roles). Tokens come from the estate file as SHA-256
 * hashes; the token itself is never stored. A principal is scoped to sites and departments:
 * `null` means the whole estate.
 */
import { createHash } from 'node:crypto';
import type { Estate, Role } from '../config/index.ts';
import { ApiError } from './errors.ts';

export interface Principal {
  name: string;
  role: Role;
  /** sites the token may see; null = all */
  sites: ReadonlySet<string> | null;
  /** departments a department token acts for; null = not scoped by department */
  departments: ReadonlySet<string> | null;
}

export class TokenBook {
  private readonly byHash = new Map<string, Principal>();

  constructor(estate: Estate) {
    for (const t of estate.auth.tokens) {
      this.byHash.set(t.sha256.toLowerCase(), {
        name: t.name,
        role: t.role,
        sites: t.sites ? new Set(t.sites) : null,
        departments: t.departments ? new Set(t.departments) : null,
      });
    }
  }

  /** The principal of an `Authorization` header value, or undefined. */
  verify(header: string | undefined): Principal | undefined {
    if (!header) return undefined;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) return undefined;
    const hash = createHash('sha256').update(m[1]!).digest('hex');
    // Looked up by hash: timing reveals at most something about a hash, never about a token.
    return this.byHash.get(hash);
  }
}

export function canSeeSite(p: Principal, site: string): boolean {
  return p.sites === null || p.sites.has(site);
}

/** Sites visible to the principal, or undefined for all of them. */
export function siteFilter(p: Principal): string[] | undefined {
  return p.sites === null ? undefined : [...p.sites];
}

export function requireRole(p: Principal, ...roles: Role[]): void {
  if (!roles.includes(p.role)) throw new ApiError('FORBIDDEN', `a ${p.role} token may not do this`);
}
