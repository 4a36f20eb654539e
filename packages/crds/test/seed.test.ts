import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { validateResource } from '../src/index.js';

const fixture = (name: string) => parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));

describe("the seed document's examples", () => {
  it('EgressGateway egw1 validates unchanged', () => {
    const obj = fixture('seed-egressgateway.yaml');
    const r = validateResource(obj);
    expect(r).toEqual({ ok: true, value: obj });
  });

  it('EgressTunnel workstation1 validates unchanged', () => {
    const obj = fixture('seed-egresstunnel.yaml');
    const r = validateResource(obj);
    expect(r).toEqual({ ok: true, value: obj });
  });
});
