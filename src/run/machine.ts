import os from 'node:os';

/** The machine a run or a benchmark ran on, as summary.json and the reports record it. */
export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  node: string;
  platform: string;
}

/** This machine: CPU count and model, Node version, platform. */
export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    node: process.version,
    platform: process.platform,
  };
}
