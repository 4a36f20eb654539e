import { packageTestConfig } from '../../vitest.shared.ts';

export default packageTestConfig('peers', { testTimeout: 120_000 });
