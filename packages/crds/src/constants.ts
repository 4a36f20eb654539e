/** API group of every egress gateway kind. */
export const API_GROUP = 'egressgateway.spidernet.io';
/** Served and stored version. */
export const API_VERSION = 'v1beta1';
/** `apiVersion` field value of every egress gateway object. */
export const API_GROUP_VERSION = `${API_GROUP}/${API_VERSION}` as const;
