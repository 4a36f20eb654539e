import { packageTestConfig } from '../../vitest.shared.ts';

export default packageTestConfig('netns-lab', { testTimeout: 120_000 });
