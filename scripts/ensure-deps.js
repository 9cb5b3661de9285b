// Runs before `npm start` / `npm test`: installs what a fresh Debian machine lacks, so one command is enough.
const { existsSync } = require('node:fs');
const { execSync, spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');

if (!existsSync(path.join(root, 'node_modules', '.package-lock.json'))) {
  console.log('Installing npm dependencies (npm ci)...');
  execSync('npm ci --no-audit --no-fund', { cwd: root, stdio: 'inherit' });
}

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const hasPostgres = () => spawnSync('sh', ['-c', 'ls /usr/lib/postgresql/*/bin/initdb'], { stdio: 'ignore' }).status === 0;

// Debian packages: redis-server for the queue when REDIS_URL is not given; PostgreSQL and Chromium
// (the console's browser tests, test/console/) for the tests.
const wanted = [];
const testing = process.env.npm_lifecycle_event === 'pretest';
if (!process.env.REDIS_URL && !has('redis-server')) wanted.push('redis-server');
if (testing && !process.env.DATABASE_URL && !hasPostgres()) wanted.push('postgresql');
if (testing && !process.env.CHROMIUM_PATH && !existsSync('/usr/bin/chromium')) wanted.push('chromium');
if (wanted.length) {
  const isRoot = process.getuid && process.getuid() === 0;
  const sudo = isRoot ? '' : has('sudo') ? 'sudo -n ' : undefined;
  if (sudo === undefined || !has('apt-get')) {
    console.warn(`Missing Debian packages: ${wanted.join(' ')}. Install them (apt-get install ${wanted.join(' ')}) or set REDIS_URL / DATABASE_URL / CHROMIUM_PATH.`);
  } else {
    console.log(`Installing Debian packages: ${wanted.join(' ')}...`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const ok = spawnSync('sh', ['-c', `${sudo}apt-get install -y -q --no-install-recommends ${wanted.join(' ')} || (${sudo}apt-get update -q && ${sudo}apt-get install -y -q --no-install-recommends ${wanted.join(' ')})`], { stdio: 'inherit', env });
    if (ok.status !== 0) console.warn(`Could not install ${wanted.join(' ')}; the server will run without them where it can.`);
  }
}
