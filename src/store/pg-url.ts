/**
 * PostgreSQL connection URLs as libpq reads them, for the parts the driver
 * does not: a Unix-domain socket given as `?host=/directory` (libpq
 * "Connection URIs": a host that starts with a slash is a socket directory),
 * for example `postgres://tegu@localhost/tegu?host=/var/run/postgresql`.
 * On one machine a socket is cheaper per query than TCP over loopback.
 */
export interface DriverTarget {
  /** The URL without the `host` parameter. */
  url: string;
  /** The socket file (`<dir>/.s.PGSQL.<port>`) when the URL names a socket directory. */
  path?: string;
}

export function driverTarget(url: string): DriverTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { url };
  }
  const host = parsed.searchParams.get('host');
  if (host === null || !host.startsWith('/')) return { url };
  parsed.searchParams.delete('host');
  const port = parsed.port === '' ? '5432' : parsed.port;
  return { url: parsed.toString(), path: `${host.replace(/\/+$/, '')}/.s.PGSQL.${port}` };
}
