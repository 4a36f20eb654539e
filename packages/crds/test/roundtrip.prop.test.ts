import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validateAcrossObjects, validateResource } from '../src/index.js';
import {
  arbEgressClusterPolicy,
  arbEgressGateway,
  arbEgressObject,
  arbEgressPolicy,
} from '../src/testing/index.js';

describe('properties', () => {
  it('every generated object is valid, and object -> JSON -> validate is lossless', () => {
    fc.assert(
      fc.property(arbEgressObject(), (obj) => {
        const r = validateResource(JSON.parse(JSON.stringify(obj)));
        if (!r.ok) throw new Error(JSON.stringify(r.errors));
        expect(r.value).toEqual(obj);
      }),
    );
  });

  it('policies generated for a gateway pass the cross-object rules with it', () => {
    fc.assert(
      fc.property(
        arbEgressGateway(),
        fc.array(fc.oneof(arbEgressPolicy('gw-0'), arbEgressClusterPolicy('gw-0')), { maxLength: 5 }),
        (gw, policies) => {
          const named = { ...gw, metadata: { name: 'gw-0' } };
          expect(validateAcrossObjects([named, ...policies])).toEqual([]);
        },
      ),
    );
  });

  it('a policy naming a missing gateway is always reported', () => {
    fc.assert(
      fc.property(arbEgressPolicy('missing-gw'), (p) => {
        expect(validateAcrossObjects([p]).map((e) => e.path)).toEqual(['spec.egressGatewayName']);
      }),
    );
  });
});
