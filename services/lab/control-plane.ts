// Runs the control plane's services for the lab, from one set of environment
// settings (the same variables an operator would set): in this process, as
// `l3vpn all` does, or each as its own `l3vpn <service>` process.
import { join } from 'node:path';
import { commonSettings, databaseSettings, loadSettings, type SettingSpec, type Settings } from '../common/config.js';
import type { Logger } from '../common/logger.js';
import { projectRoot } from '../common/project-root.js';
import type { RunningService } from '../common/service.js';
import { Daemon, freePort, type ProcessRecorder } from './processes.js';

export type ServiceName = 'labels' | 'bgp' | 'vpn' | 'agent';

interface ServiceCode {
  specs: SettingSpec[];
  start(s: Settings, log: Logger): Promise<RunningService>;
}

async function codeOf(name: ServiceName): Promise<ServiceCode> {
  switch (name) {
    case 'labels': {
      const m = await import('../labels/main.js');
      return { specs: [...commonSettings, ...databaseSettings, ...m.labelsSettings], start: m.startLabels };
    }
    case 'bgp': {
      const m = await import('../bgp/main.js');
      return { specs: [...commonSettings, ...m.bgpSettings], start: m.startBgp };
    }
    case 'vpn': {
      const m = await import('../vpn/main.js');
      return { specs: [...commonSettings, ...databaseSettings, ...m.vpnSettings, ...m.redisSettings], start: m.startVpn };
    }
    case 'agent': {
      const m = await import('../agent/main.js');
      return { specs: [...commonSettings, ...m.agentSettings], start: m.startAgent };
    }
  }
}

export interface RunningPart {
  /** "labels", "bgp", "vpn", "agent pe1" */
  label: string;
  /** Where it runs: "this process" or "pid N, log FILE". */
  where: string;
  /** In this process: the service itself (its readiness checks and metrics go to the lab's ops listener). */
  service?: RunningService;
  /** Its own process's ops listener (/healthz, /readyz, /metrics). */
  ops?: string;
  stop(): Promise<void>;
  /** Its own process only: SIGKILL, as a crash (no clean shutdown); resolves once it has exited. */
  kill?(): Promise<void>;
}

export interface Launcher {
  start(name: ServiceName, label: string, env: NodeJS.ProcessEnv): Promise<RunningPart>;
}

/** Every service in this process, each with its own child logger (as `l3vpn all`). */
export function inProcess(log: Logger, graceMs: number): Launcher {
  return {
    async start(name, label, env) {
      const code = await codeOf(name);
      const running = await code.start(loadSettings(code.specs, { env }), log.child({ service: label }));
      return { label, where: 'this process', service: running, stop: () => running.stop(graceMs) };
    },
  };
}

/** Every service as its own `l3vpn <service>` process, its JSON log in logDir; `record` learns each pid. */
export function separateProcesses(logDir: string, record?: ProcessRecorder): Launcher {
  const main = join(projectRoot(), 'dist', 'services', 'main.js');
  return {
    async start(name, label, env) {
      const file = join(logDir, `${label.replace(/\s+/g, '-')}.log`);
      const ops = `127.0.0.1:${await freePort()}`;
      const d = Daemon.start(label, process.execPath, [main, name], file, { ...env, OPS_ADDRESS: ops }, record);
      // A service that cannot start exits at once: report it here rather than as a timeout later.
      await new Promise((r) => setTimeout(r, 300));
      if (!d.running) throw new Error(`l3vpn ${name} (${label}) exited at start; see ${file}`);
      return { label, where: `pid ${d.pid}, log ${file}`, ops, stop: () => d.stop(10_000), kill: () => d.stop(0, 'SIGKILL') };
    },
  };
}
