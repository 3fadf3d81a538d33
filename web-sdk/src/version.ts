/** Kept in step with package.json by web-sdk/test/package.test.ts. */
export const SDK_NAME = '@tenantlens/web-sdk';
export const SDK_VERSION = '0.1.0';
