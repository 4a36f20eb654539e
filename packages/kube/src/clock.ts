/**
 * Time and timers come from `@egressgateway/election`'s `Clock` (one interface across the
 * packages), so the informers, the controller and the election all run on the same injected clock
 * in virtual-time tests.
 */
export { type Clock, sleep, systemClock, type TimerHandle } from '@egressgateway/election';
