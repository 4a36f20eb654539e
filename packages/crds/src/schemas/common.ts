import Type, { type Static, type TSchema } from 'typebox';

/** A string enum that is also a structural OpenAPI schema (`type: string` + `enum`). */
export function StringEnum<const T extends readonly string[]>(
  values: T,
  options: Record<string, unknown> = {},
) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

/** A map of strings (`additionalProperties: {type: string}` in the CRD). */
export const StringMap = (description: string) => Type.Record(Type.String(), Type.String(), { description });

/**
 * `metadata` of an object: only the fields this API reads are typed; the API server owns the
 * rest, so unknown metadata fields are allowed.
 */
export const ObjectMeta = Type.Object(
  {
    name: Type.Optional(Type.String()),
    namespace: Type.Optional(Type.String()),
    labels: Type.Optional(StringMap('Labels of the object.')),
    annotations: Type.Optional(StringMap('Annotations of the object.')),
    resourceVersion: Type.Optional(Type.String()),
    uid: Type.Optional(Type.String()),
    generation: Type.Optional(Type.Integer()),
    creationTimestamp: Type.Optional(Type.String()),
    deletionTimestamp: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);
/** Object metadata as this API reads it. */
export type ObjectMeta = Static<typeof ObjectMeta>;

/** `metav1.LabelSelectorRequirement`. */
export const LabelSelectorRequirementSchema = Type.Object(
  {
    key: Type.String({ description: 'The label key the selector applies to.' }),
    operator: StringEnum(['In', 'NotIn', 'Exists', 'DoesNotExist'] as const, {
      description: 'How the key relates to the values: In, NotIn, Exists or DoesNotExist.',
    }),
    values: Type.Optional(
      Type.Array(Type.String(), {
        description: 'Values for In and NotIn (non-empty); empty for Exists and DoesNotExist.',
        'x-kubernetes-list-type': 'atomic',
      }),
    ),
  },
  { additionalProperties: false },
);

/** `metav1.LabelSelector`: matchLabels and matchExpressions, ANDed. */
export const LabelSelectorSchema = Type.Object(
  {
    matchLabels: Type.Optional(StringMap('Labels that must all be present with these values.')),
    matchExpressions: Type.Optional(
      Type.Array(LabelSelectorRequirementSchema, {
        description: 'Requirements that must all hold.',
        'x-kubernetes-list-type': 'atomic',
      }),
    ),
  },
  // Atomic as metav1.LabelSelector is upstream: server-side apply replaces a selector whole.
  {
    additionalProperties: false,
    description: 'A Kubernetes label selector.',
    'x-kubernetes-map-type': 'atomic',
  },
);

/** Wraps a kind's spec and status schemas into the full object schema. */
export function KindSchema<S extends TSchema, T extends TSchema>(
  kind: string,
  description: string,
  spec: S,
  status: T,
) {
  return Type.Object(
    {
      apiVersion: Type.Optional(Type.String({ description: 'egressgateway.spidernet.io/v1beta1' })),
      kind: Type.Optional(Type.String({ description: kind })),
      metadata: Type.Optional(ObjectMeta),
      spec: Type.Optional(spec),
      status: Type.Optional(status),
    },
    { additionalProperties: false, description },
  );
}
