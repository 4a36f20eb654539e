import { packageTestConfig } from '../../vitest.shared.ts';

export default packageTestConfig('chart', { testTimeout: 60_000 });
