import { describe, expect, it } from 'vitest';
import { BUILTIN_RESOURCES, type ResourceInfo } from './resources.js';
import { buildTable, evalJsonPath, humanDuration, parseJsonPath } from './table.js';
import type { JsonValue } from './types.js';

describe('humanDuration', () => {
  it.each([
    [0, '0s'],
    [49_000, '49s'],
    [119_000, '119s'],
    [421_000, '7m1s'],
    [480_000, '8m'],
    [3_600_000, '60m'],
    [3 * 3_600_000 + 60_000, '3h1m'],
    [10 * 3_600_000, '10h'],
    [50 * 3_600_000, '2d2h'],
    [30 * 86_400_000, '30d'],
    [800 * 86_400_000, '2y70d'],
    [-5000, '<invalid>'],
  ])('%d ms -> %s', (ms, want) => {
    expect(humanDuration(ms)).toBe(want);
  });
});

describe('printer-column JSONPath', () => {
  const obj = {
    status: {
      conditions: [
        { type: 'A', status: 'False' },
        { type: 'Ready', status: 'True' },
      ],
      tunnel: { mac: 'm' },
    },
    metadata: { labels: { 'a.b/c': 'v' } },
  } as JsonValue;
  it.each([
    ['.status.tunnel.mac', 'm'],
    ['.status.conditions[1].type', 'Ready'],
    ['.status.conditions[-1].status', 'True'],
    ['.status.conditions[?(@.type=="Ready")].status', 'True'],
    ['{.metadata.labels.a\\.b/c}', 'v'],
    ['.status.missing.deep', undefined],
  ])('%s', (path, want) => {
    expect(evalJsonPath(obj, parseJsonPath(path))).toBe(want);
  });
});

describe('buildTable', () => {
  const widgets: ResourceInfo = {
    ...(BUILTIN_RESOURCES[0] as ResourceInfo),
    group: 'example.com',
    resource: 'widgets',
    kind: 'Widget',
    custom: true,
    namespaced: true,
    storageKey: 'example.com/widgets',
    printerColumns: [
      { name: 'Size', type: 'integer', jsonPath: '.spec.size' },
      { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ],
  };
  it('renders CRD columns: number cells stay numbers, missing values are null, dates become ages', () => {
    const now = Date.parse('2026-11-25T23:10:48Z');
    const t = buildTable(
      widgets,
      [
        {
          metadata: { name: 'w1', namespace: 'default', creationTimestamp: '2026-11-25T23:03:47Z' },
          spec: { size: 11 },
          status: { phase: 'Ready' },
        },
        {
          metadata: { name: 'w5', namespace: 'default', creationTimestamp: '2026-11-25T23:07:22Z' },
          spec: { size: 5 },
        },
      ],
      '294',
      now,
    );
    expect(t.columnDefinitions?.map((c) => [c.name, c.type, c.format])).toEqual([
      ['Name', 'string', 'name'],
      ['Size', 'integer', ''],
      ['Phase', 'string', ''],
      ['Age', 'date', ''],
    ]);
    expect(t.rows.map((r) => r.cells)).toEqual([
      ['w1', 11, 'Ready', '7m1s'],
      ['w5', 5, null, '3m26s'],
    ]);
    expect(t.rows[0]?.object).toMatchObject({
      kind: 'PartialObjectMetadata',
      metadata: { name: 'w1', namespace: 'default' },
    });
    expect(buildTable(widgets, [], '1', now, false).columnDefinitions).toBeNull();
  });
  it('prints node status from the Ready condition and roles from labels', () => {
    const nodes = BUILTIN_RESOURCES.find((r) => r.resource === 'nodes') as ResourceInfo;
    const t = buildTable(
      nodes,
      [
        {
          metadata: {
            name: 'n1',
            labels: { 'node-role.kubernetes.io/gateway': '' },
            creationTimestamp: '2026-01-01T00:00:00Z',
          },
          status: { conditions: [{ type: 'Ready', status: 'True' }] },
        },
      ],
      '1',
      Date.parse('2026-01-01T00:00:05Z'),
    );
    expect(t.rows[0]?.cells.slice(0, 4)).toEqual(['n1', 'Ready', 'gateway', '5s']);
  });
  it('prints core events with last seen, type, reason, object and message', () => {
    const events = BUILTIN_RESOURCES.find((r) => r.resource === 'events' && r.group === '') as ResourceInfo;
    const t = buildTable(
      events,
      [
        {
          metadata: { name: 'e1', creationTimestamp: '2026-01-01T00:00:00Z' },
          involvedObject: { kind: 'EgressTunnel', name: 'node1' },
          lastTimestamp: '2026-01-01T00:00:30Z',
          type: 'Warning',
          reason: 'HeartbeatTimeout',
          message: 'update tunnel status to HeartbeatTimeout',
        },
      ],
      '1',
      Date.parse('2026-01-01T00:01:00Z'),
    );
    expect(t.columnDefinitions?.map((c) => c.name)).toEqual([
      'Last Seen',
      'Type',
      'Reason',
      'Object',
      'Message',
    ]);
    expect(t.rows[0]?.cells).toEqual([
      '30s',
      'Warning',
      'HeartbeatTimeout',
      'egresstunnel/node1',
      'update tunnel status to HeartbeatTimeout',
    ]);
  });
});
