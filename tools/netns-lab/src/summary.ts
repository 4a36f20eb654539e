import type { LabPlan } from './plan.js';
import { FAULT_DESCRIPTIONS, gapBoundMs, type ScenarioResult } from './scenario.js';
import { describeTiming, type LabTiming } from './settings.js';

const ms = (x: number | undefined): string => (x === undefined ? 'n/a' : `${Math.round(x)} ms`);

/** The demo's closing summary (pure). */
export function formatSummary(
  r: ScenarioResult,
  plan: LabPlan,
  timing: LabTiming,
  detection: string,
): string {
  const gap = (k: keyof ScenarioResult['gaps']) => ms(r.gaps[k]?.ms);
  const bound = gapBoundMs(r.fault, timing.eipEvictionTimeout);
  const u4 = r.gaps.u4?.ms;
  const lines = [
    '',
    '=== summary ===',
    `fault:               ${r.fault}: ${FAULT_DESCRIPTIONS[r.fault]}`,
    `EIP holder:          ${r.from} -> ${r.to ?? 'none'} (gateway status changed after ${ms(r.detectionMs)})`,
    `failover on the wire (longest silence at the server, packets from the EIP only):`,
    `  UDP IPv4 ${gap('u4')}, UDP IPv6 ${gap('u6')}, TCP connects ${gap('c4')}, TCP stream ${gap('s4')}`,
    `  bound ${r.fault === 'rolling-update' ? 'of a rolling update' : 'eviction + 1 s'} = ${bound} ms: ${u4 !== undefined && u4 <= bound ? 'within' : 'EXCEEDED'}`,
    `source seen by the server: before [${r.sourcesBefore.join(', ')}], after [${r.sourcesAfter.join(', ')}] (EIP ${plan.eip4})`,
    `EIP on the LAN:      ${r.arpHandover ? `${r.arpHandover.oldMac} -> ${r.arpHandover.newMac}, ${r.arpHandover.ms >= 0 ? `unowned for ${ms(r.arpHandover.ms)}` : `OVERLAP of ${ms(-r.arpHandover.ms)}`}` : 'owner did not change'}`,
    `ARP for the EIP:     longest time nobody answered ${ms(r.arpSilence.ms)}${r.arpSilence.open ? ' (still silent at the end)' : ''}`,
    `old holder:          ${r.oldStillBound === undefined ? 'n/a (the EIP did not move)' : r.oldStillBound ? `STILL HAD the EIP when it was recovered (${r.from} did not let go by itself)` : 'let go of the EIP by itself before it was recovered'}`,
    `duplicate owners:    ${r.duplicates.length === 0 ? 'none seen' : `${r.duplicates.length} round(s): ${r.duplicates.map((d) => d.macs.join('+')).join(', ')}`}`,
    `TCP stream:          ${r.streamSurvived ? `survived (same connection ${r.streamAfter[0]})` : `did not survive (before [${r.streamBefore.join(', ')}], after [${r.streamAfter.join(', ')}])`}`,
    r.holderAfterRecovery === undefined
      ? 'recovery:            skipped'
      : `recovery:            ${r.from} back; EIP stays on ${r.holderAfterRecovery} (${r.holderAfterRecovery === r.to ? 'no move-back' : 'MOVED BACK'})`,
    ...(r.leaderBefore !== undefined
      ? [`leader:              ${r.leaderBefore} -> ${r.leaderAfter ?? 'none'}`]
      : []),
    `settings:            ${describeTiming(timing)}, detection ${detection}`,
  ];
  return lines.join('\n');
}

/** True when a result meets the claims the e2e tests check (gap bound, no duplicates, EIP source after). */
export function meetsClaims(r: ScenarioResult, plan: LabPlan, boundMs: number): string[] {
  const problems: string[] = [];
  if ((r.gaps.u4?.ms ?? Number.POSITIVE_INFINITY) > boundMs)
    problems.push(`IPv4 gap ${ms(r.gaps.u4?.ms)} exceeds ${boundMs} ms`);
  if (r.duplicates.length > 0) problems.push(`${r.duplicates.length} duplicate-owner round(s)`);
  if (r.sourcesAfter.join() !== plan.eip4)
    problems.push(`server saw [${r.sourcesAfter.join(', ')}] after the fault`);
  return problems;
}
