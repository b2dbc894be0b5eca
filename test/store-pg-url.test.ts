import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { openPostgres } from '../src/store/postgres.ts';
import { driverTarget } from '../src/store/pg-url.ts';

describe('PostgreSQL URLs (libpq host= socket directories)', () => {
  test('a host= that starts with a slash becomes the socket file, with the URL port', () => {
    assert.deepEqual(driverTarget('postgres://tegu@localhost/mail?host=/var/run/postgresql'), {
      url: 'postgres://tegu@localhost/mail',
      path: '/var/run/postgresql/.s.PGSQL.5432',
    });
    assert.deepEqual(driverTarget('postgres://tegu@localhost:5433/mail?host=/tmp/&sslmode=disable'), {
      url: 'postgres://tegu@localhost:5433/mail?sslmode=disable',
      path: '/tmp/.s.PGSQL.5433',
    });
  });

  test('other URLs pass through untouched', () => {
    for (const url of ['postgres://postgres@127.0.0.1:5432/postgres', 'postgres://u@h/db?host=db.example', 'not a url']) {
      assert.deepEqual(driverTarget(url), { url });
    }
  });

  const tcpUrl = process.env.TEGU_TEST_DATABASE_URL;
  if (tcpUrl) {
    test('the store connects through the socket directory the server reports', async () => {
      const tcp = openPostgres({ url: tcpUrl, max: 1 });
      let dirs: string;
      try {
        dirs = String((await tcp.query<{ d: string }>('SELECT current_setting($1) AS d', ['unix_socket_directories']))[0]?.d ?? '');
      } finally {
        await tcp.close();
      }
      const dir = dirs.split(',')[0]?.trim() ?? '';
      assert.ok(dir.startsWith('/'), `unix_socket_directories: ${dirs}`);
      const u = new URL(tcpUrl);
      u.searchParams.set('host', dir);
      const viaSocket = openPostgres({ url: u.toString(), max: 1 });
      try {
        const rows = await viaSocket.query<{ addr: string | null }>('SELECT inet_client_addr()::text AS addr');
        // A Unix-domain client has no address; over TCP it would be 127.0.0.1.
        assert.equal(rows[0]?.addr, null);
      } finally {
        await viaSocket.close();
      }
    });
  }
});
