import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { LabelsServiceClient } from '../../services/common/gen/proto/l3vpn/v1/labels.js';
import { callerOptions, type CallerCredentials } from '../../services/common/grpc/caller.js';
import { promiseClient, type PromiseClient } from '../../services/common/grpc/client.js';
import { projectRoot } from '../../services/common/project-root.js';
import { callerAs, serviceAuthEnv } from './service-auth.js';

export type LabelsClient = PromiseClient<InstanceType<typeof LabelsServiceClient>>;

/** A client of the labels service at `address`, calling as `caller` (this run's service:vpn by default). */
export function labelsClient(address: string, caller: CallerCredentials = callerAs('service:vpn')): LabelsClient {
  return promiseClient(new LabelsServiceClient(address, caller.channel, callerOptions(caller, { 'grpc.max_receive_message_length': 64 * 1024 * 1024 })));
}

export interface LabelsProcess {
  address: string;
  child: ChildProcess;
  logs: string[];
  stop(): Promise<void>;
}

/** Runs `l3vpn labels` (the built binary) as its own process on a free port, accepting this run's test principals. */
export async function startLabelsProcess(env: Record<string, string>): Promise<LabelsProcess> {
  const child = spawn(process.execPath, [join(projectRoot(), 'dist/services/main.js'), 'labels'], {
    env: { ...process.env, LABELS_LISTEN: '127.0.0.1:0', LOG_LEVEL: 'info', ...serviceAuthEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`labels process did not start:\n${logs.join('\n')}`)), 30_000);
    child.on('exit', (code) => reject(new Error(`labels process exited with ${code}:\n${logs.join('\n')}`)));
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        logs.push(line);
        if (logs.length > 500) logs.shift();
        try {
          const entry = JSON.parse(line) as { msg?: string; port?: number };
          if (entry.msg === 'gRPC server listening' && entry.port) {
            clearTimeout(timer);
            resolve(entry.port);
          }
        } catch {
          // not a log line
        }
      });
    }
  });
  return {
    address: `127.0.0.1:${port}`,
    child,
    logs,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}
