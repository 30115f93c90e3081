/** The UI's paths, one per view; the server answers each with index.html (dashboard/ui-serve.ts). */
export type Route =
  | { view: 'login' }
  | { view: 'overview' }
  | { view: 'compound'; site: string }
  | { view: 'device'; device: string }
  | { view: 'alerts' }
  | { view: 'ingest' }
  | { view: 'reports' }
  | { view: 'deliveries' }
  | { view: 'missing' };

export function route(pathname: string): Route {
  const parts = pathname.split('/').filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  if (parts.length === 0) return { view: 'overview' };
  const [head, id] = parts;
  if (parts.length === 1 && head === 'login') return { view: 'login' };
  if (parts.length === 1 && head === 'alerts') return { view: 'alerts' };
  if (parts.length === 1 && head === 'ingest') return { view: 'ingest' };
  if (parts.length === 1 && head === 'reports') return { view: 'reports' };
  if (parts.length === 1 && head === 'deliveries') return { view: 'deliveries' };
  if (parts.length === 2 && head === 'sites') return { view: 'compound', site: id! };
  if (parts.length === 2 && head === 'devices') return { view: 'device', device: id! };
  return { view: 'missing' };
}

export const paths = {
  overview: () => '/',
  compound: (site: string) => `/sites/${encodeURIComponent(site)}`,
  device: (id: string) => `/devices/${encodeURIComponent(id)}`,
  alerts: (q: Record<string, string> = {}) => {
    const s = new URLSearchParams(Object.entries(q).filter(([, v]) => v !== '')).toString();
    return s ? `/alerts?${s}` : '/alerts';
  },
  ingest: () => '/ingest',
  reports: () => '/reports',
  deliveries: () => '/deliveries',
};
