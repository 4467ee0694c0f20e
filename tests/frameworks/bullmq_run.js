// BullMQ end to end on DiskDB: a Queue and a Worker (both on ioredis) process
// plain jobs, a delayed job, a job that fails once and succeeds on its retry,
// and a job that fails every attempt; QueueEvents (streams, XREAD BLOCK) waits
// for each. Every outcome is checked here. Usage: node bullmq_run.js PORT LOGFILE
// (NODE_PATH = the node_modules installed by the test). Prints `completed ID
// VALUE` per finished job and `failed ID` for the failed one, which the Rust
// test reads back from DiskDB, then `bullmq OK`.
'use strict';

const assert = require('assert/strict');
const fs = require('fs');
const { Queue, QueueEvents, Worker } = require('bullmq');

const [port, logfile] = process.argv.slice(2);
const connection = { host: '127.0.0.1', port: Number(port), maxRetriesPerRequest: null };
const log = fs.createWriteStream(logfile);
const TIMEOUT = 30000;
const DELAY = 300;

async function main() {
  const queue = new Queue('fw', { connection });
  const events = new QueueEvents('fw', { connection });
  await events.waitUntilReady();
  const worker = new Worker(
    'fw',
    async (job) => {
      log.write(`run ${job.id} ${job.name} attempt ${job.attemptsMade + 1}\n`);
      switch (job.name) {
        case 'add':
          return job.data.a + job.data.b;
        case 'flaky':
          if (job.attemptsMade === 0) throw new Error('first attempt fails');
          return 'retried';
        case 'doomed':
          throw new Error('boom');
        default:
          throw new Error(`unknown job ${job.name}`);
      }
    },
    { connection },
  );
  worker.on('error', (e) => log.write(`worker error ${e.stack}\n`));
  try {
    const adds = [];
    for (let i = 0; i < 5; i++) adds.push([await queue.add('add', { a: i, b: 1000 }), i + 1000]);
    const delayed = await queue.add('add', { a: 1, b: 2 }, { delay: DELAY });
    assert.equal(await delayed.getState(), 'delayed');
    const flaky = await queue.add('flaky', {}, { attempts: 3, backoff: { type: 'fixed', delay: 50 } });
    const doomed = await queue.add('doomed', {}, { attempts: 2 });

    for (const [job, want] of [...adds, [delayed, 3], [flaky, 'retried']]) {
      const got = await job.waitUntilFinished(events, TIMEOUT);
      assert.equal(got, want, `job ${job.id}`);
      console.log(`completed ${job.id} ${JSON.stringify(want)}`);
    }
    await assert.rejects(doomed.waitUntilFinished(events, TIMEOUT), /boom/);

    const d = await queue.getJob(delayed.id);
    // Both times are Date.now() readings taken by different timers of the
    // client (BullMQ's delay timer may fire a millisecond early): allow a few ms.
    assert.ok(d.processedOn - d.timestamp >= DELAY - 5, `delayed job ran after ${d.processedOn - d.timestamp} ms`);
    const f = await queue.getJob(flaky.id);
    assert.equal(f.attemptsMade, 2);
    const x = await queue.getJob(doomed.id);
    assert.equal(await x.getState(), 'failed');
    assert.equal(x.attemptsMade, 2);
    assert.equal(x.failedReason, 'boom');
    const counts = await queue.getJobCounts('completed', 'failed', 'delayed', 'wait', 'active');
    assert.deepEqual(counts, { completed: 7, failed: 1, delayed: 0, wait: 0, active: 0 });
    console.log(`failed ${doomed.id}`);
  } finally {
    await worker.close();
    await events.close();
    await queue.close();
  }
  console.log('bullmq OK');
}

main().catch((e) => {
  // The stack only: ioredis errors carry the whole Lua script.
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
