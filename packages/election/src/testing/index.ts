/**
 * `@egressgateway/election/testing`: virtual time for tests of code that runs an elector.
 *
 * @packageDocumentation
 */
export { flushMicrotasks, ManualClock } from '../manual-clock.js';
