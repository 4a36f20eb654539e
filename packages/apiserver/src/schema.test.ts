import { describe, expect, it } from 'vitest';
import { compileSchema, errorsToCauses, pruneAndDefault, toJsonSchema } from './schema.js';
import type { JsonObject } from './types.js';

const schema: JsonObject = {
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      required: ['size'],
      properties: {
        size: { type: 'integer', minimum: 1, maximum: 10 },
        color: { type: 'string', enum: ['red', 'blue'], default: 'red' },
        port: { 'x-kubernetes-int-or-string': true },
        free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        tags: { type: 'object', additionalProperties: { type: 'string' } },
        items: {
          type: 'array',
          items: { type: 'object', properties: { n: { type: 'string', default: 'x' } } },
        },
        cidr: { type: 'string', format: 'cidr' },
        count: { type: 'string', format: 'int64' },
        maybe: { type: 'string', nullable: true },
      },
    },
  },
};

describe('pruneAndDefault', () => {
  it('returns the very same object when nothing needs pruning or defaulting', () => {
    const obj: JsonObject = { spec: { size: 1, color: 'blue' } };
    expect(pruneAndDefault(obj, schema).object).toBe(obj);
  });

  it('prunes unknown fields, keeps preserved and additionalProperties content, applies defaults', () => {
    const obj: JsonObject = {
      apiVersion: 'x/v1',
      kind: 'X',
      metadata: { name: 'a', anything: 1 },
      spec: {
        size: 1,
        junk: 1,
        free: { deep: { x: 1 } },
        tags: { a: 'b' },
        items: [{ other: 1 }, { n: 'y' }],
      },
      top: 1,
    };
    const before = structuredClone(obj);
    const { object, unknown } = pruneAndDefault(obj, schema);
    expect(unknown.sort()).toEqual(['spec.items[0].other', 'spec.junk', 'top']);
    expect(obj).toEqual(before);
    expect(object).toEqual({
      apiVersion: 'x/v1',
      kind: 'X',
      metadata: { name: 'a', anything: 1 },
      spec: {
        size: 1,
        color: 'red',
        free: { deep: { x: 1 } },
        tags: { a: 'b' },
        items: [{ n: 'x' }, { n: 'y' }],
      },
    });
  });

  it('drops null for non-nullable fields and keeps it for nullable ones', () => {
    const obj: JsonObject = { spec: { size: 1, color: null, maybe: null } };
    expect(pruneAndDefault(obj, schema).object.spec).toEqual({ size: 1, color: 'red', maybe: null });
  });
});

describe('compiled validation', () => {
  const c = compileSchema(schema);
  const causes = (o: JsonObject) => (c.validate(o) ? [] : errorsToCauses(c.validate.errors ?? [], o));
  it('accepts a valid object and int-or-string in both forms', () => {
    expect(causes({ spec: { size: 3, port: 80 } })).toEqual([]);
    expect(causes({ spec: { size: 3, port: 'http', count: 'not-checked' } })).toEqual([]);
  });
  it('reports required, enum, range, type and format causes like the real server', () => {
    expect(causes({ spec: {} })).toEqual([
      { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.size' },
    ]);
    expect(causes({ spec: { size: 11, color: 'green', cidr: '10.0.0.0/33' } })).toEqual([
      {
        reason: 'FieldValueInvalid',
        message: 'Invalid value: "10.0.0.0/33": spec.cidr in body must be of type cidr',
        field: 'spec.cidr',
      },
      {
        reason: 'FieldValueNotSupported',
        message: 'Unsupported value: "green": supported values: "red", "blue"',
        field: 'spec.color',
      },
      {
        reason: 'FieldValueInvalid',
        message: 'Invalid value: 11: spec.size in body should be less than or equal to 10',
        field: 'spec.size',
      },
    ]);
    expect(causes({ spec: { size: 'x' } })).toEqual([
      {
        reason: 'FieldValueTypeInvalid',
        message: 'Invalid value: "string": spec.size in body must be of type integer: "string"',
        field: 'spec.size',
      },
    ]);
  });
  it('converts OpenAPI 3.0 boolean exclusiveMinimum to the JSON Schema form', () => {
    expect(toJsonSchema({ type: 'number', minimum: 1, exclusiveMinimum: true })).toEqual({
      type: 'number',
      exclusiveMinimum: 1,
    });
  });
});
