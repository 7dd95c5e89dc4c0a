import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processAlive, processStartTime } from './processes.js';
import { LabAlreadyRunning, readRecord, ResourceRecord } from './resources.js';

const dir = () => mkdtempSync(join(tmpdir(), 'l3lab-record-'));

test('a process is named by pid and start time: another start time is another process', () => {
  const start = processStartTime(process.pid)!;
  assert.ok(start);
  assert.equal(processAlive(process.pid, start), true);
  assert.equal(processAlive(process.pid, String(Number(start) + 1)), false, 'a reused pid is not the recorded process');
  assert.equal(processStartTime(2 ** 22 + 1), undefined);
});

test('the next start stops what a killed lab left (by its record) and starts a record of its own', async (t) => {
  const d = dir();
  t.after(() => rmSync(d, { recursive: true, force: true }));
  const file = join(d, 'resources.json');
  // A leftover daemon of a lab that no longer runs (pid 2^22+1 does not exist).
  const daemon = spawn('sleep', ['600'], { detached: true, stdio: 'ignore' });
  const exited = once(daemon, 'exit');
  const left = { name: 'sleep', pid: daemon.pid!, startTime: processStartTime(daemon.pid!)!, stopSignal: 'SIGTERM' };
  writeFileSync(file, JSON.stringify({ lab: { pid: 2 ** 22 + 1, startTime: '1' }, processes: [left], namespaces: [], links: [] }));
  const said: string[] = [];
  const record = await ResourceRecord.takeOver(file, (m) => said.push(m));
  await exited;
  assert.equal(processAlive(left.pid, left.startTime), false);
  assert.match(said.join('\n'), /removing what the last lab left behind \(1 processes/);
  assert.deepEqual(readRecord(file), { lab: { pid: process.pid, startTime: processStartTime(process.pid) }, processes: [], namespaces: [], links: [] });

  record.namespace('l3lab-x');
  record.namespace('l3lab-x');
  record.link('l3labbr1');
  assert.deepEqual(readRecord(file)?.namespaces, ['l3lab-x'], 'written at once, each name once');
  await record.close();
  assert.equal(existsSync(file), false, 'a clean stop removes the record');
});

test('a record whose lab still runs is not taken over', async (t) => {
  const d = dir();
  t.after(() => rmSync(d, { recursive: true, force: true }));
  const file = join(d, 'resources.json');
  const other = spawn('sleep', ['600'], { stdio: 'ignore' });
  t.after(() => other.kill());
  writeFileSync(file, JSON.stringify({ lab: { pid: other.pid, startTime: processStartTime(other.pid!) }, processes: [], namespaces: [], links: [] }));
  await assert.rejects(ResourceRecord.takeOver(file, () => undefined), (err: Error) => err instanceof LabAlreadyRunning && err.message.includes(`pid ${other.pid}`));
});
