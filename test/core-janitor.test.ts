import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { JANITOR_JOBS, startJanitor, type JanitorJob } from '../src/core/janitor.ts';
import { engines, type TestDb } from './helpers/db.ts';

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

for (const engine of engines()) {
  describe(`janitor (${engine.name})`, () => {
    let t: TestDb;
    before(async () => {
      t = await engine.create();
    });
    after(async () => t.drop());

    it('every real housekeeping job runs on an empty database without error', async () => {
      for (const job of JANITOR_JOBS) await job.run(t.db);
    });

    it('jobs repeat, never overlap themselves, report failures and keep going; stop waits for a running job', async () => {
      let runs = 0;
      let active = 0;
      let maxActive = 0;
      const slow: JanitorJob = {
        name: 'slow',
        everyMs: 1,
        firstMs: 0,
        run: async () => {
          runs++;
          active++;
          maxActive = Math.max(maxActive, active);
          await tick(20);
          active--;
          if (runs === 2) throw new Error('boom');
        },
      };
      const errors: string[] = [];
      const stop = startJanitor(t.db, (job, err) => errors.push(`${job}: ${(err as Error).message}`), [slow]);
      const deadline = Date.now() + 5000;
      while (runs < 4 && Date.now() < deadline) await tick(5);
      const stopping = stop();
      await stopping;
      const finishedAfterStop = active === 0;
      const runsAtStop = runs;
      await tick(50);
      assert.ok(runsAtStop >= 4, `ran ${runsAtStop} times`);
      assert.equal(maxActive, 1, 'never two runs of one job at once');
      assert.deepEqual(errors, ['slow: boom']);
      assert.ok(finishedAfterStop, 'stop() waited for the running job');
      assert.equal(runs, runsAtStop, 'nothing runs after stop');
    });
  });
}
