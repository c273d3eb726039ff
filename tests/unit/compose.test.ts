import { execFileSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(__dirname, '../..');

// `docker-compose config` parses and validates the file without a Docker engine.
test('docker-compose.yml passes docker-compose config', () => {
  const out = execFileSync('docker-compose', ['config', '--services'], {
    cwd: root,
    env: { ...process.env, POSTGRES_PASSWORD: 'only-for-validation' },
  }).toString();
  expect(out.split('\n').filter(Boolean).sort()).toEqual(['postgresql', 'temporal', 'temporal-ui', 'worker']);
});

test('docker-compose.yml refuses to start without a database password', () => {
  const env = { ...process.env };
  delete env.POSTGRES_PASSWORD;
  expect(() => execFileSync('docker-compose', ['config'], { cwd: root, env, stdio: 'pipe' })).toThrow(
    /POSTGRES_PASSWORD/,
  );
});
