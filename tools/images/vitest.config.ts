import { packageTestConfig } from '../../vitest.shared.ts';

export default packageTestConfig('images', { testTimeout: 180_000 });
