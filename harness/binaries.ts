import { accessSync, constants } from 'node:fs';
import { basename } from 'node:path';

/**
 * Fails fast with a copy-pasteable fix instead of a spawn ENOENT deep inside a test.
 * Example: "influxd not found at /usr/bin/influxd. Install it with: sudo apt-get update && sudo apt-get install -y influxdb"
 */
export function requireBinary(path: string, aptPackage: string): void {
  const install = `sudo apt-get update && sudo apt-get install -y ${aptPackage}`;
  try {
    accessSync(path, constants.F_OK);
  } catch {
    throw new Error(`${basename(path)} not found at ${path}. Install it with: ${install}`);
  }
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new Error(`${basename(path)} at ${path} is not executable. Reinstall it with: ${install} --reinstall`);
  }
}
