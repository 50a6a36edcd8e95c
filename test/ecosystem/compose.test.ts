// docker-compose.yml, checked where no Docker engine runs: valid against the Compose
// Specification's JSON schema (the copy check-jsonschema vendors; scripts/setup.sh installs it),
// and consistent with what it relies on: the services and profile the README names, the npm
// scripts and files its commands run, declared volumes mounted where the image's user can write,
// pinned images, and healthchecks that call a binary their image ships.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../common/project-paths.js';
import { venvBin, venvPython } from '../../dev/tools.js';

const COMPOSE_FILE = join(projectRoot, 'docker-compose.yml');

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  profiles?: string[];
  volumes?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
}
interface ComposeFile {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

/** check-jsonschema with its vendored Compose Specification schema; exit status and output. */
function validateCompose(file: string): { status: number | null; output: string } {
  const bin = join(venvBin, 'check-jsonschema');
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run 'npm run setup' (installs check-jsonschema from PyPI)`);
  const run = spawnSync(bin, ['--builtin-schema', 'vendor.compose-spec', file], { encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** The file as Compose reads it (YAML 1.1 with merge keys), parsed by PyYAML from the venv. */
function loadCompose(): ComposeFile {
  const script = 'import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)';
  const run = spawnSync(venvPython(), ['-c', script, COMPOSE_FILE], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`cannot parse ${COMPOSE_FILE}: ${run.stderr}`);
  return JSON.parse(run.stdout) as ComposeFile;
}

/** The built image's base, from the Dockerfile. */
const dockerfile = readFileSync(join(projectRoot, 'Dockerfile'), 'utf8');
const BUILT = 'build: .';

/**
 * What each image really ships, from its Dockerfile: temporalio/cli's (Alpine, the CLI copied to
 * /usr/local/bin/temporal, user temporal uid 1000 with home /home/temporal), qdrant's (Debian
 * slim: bash, coreutils; runs as root, storage in /qdrant/storage) and ours (node on Debian,
 * user node, state under the /data directories it makes and chowns).
 */
const IMAGE_FACTS: Record<string, { binaries: string[]; writable: string[] }> = {
  'temporalio/temporal': { binaries: ['/usr/local/bin/temporal'], writable: ['/home/temporal'] },
  'qdrant/qdrant': { binaries: ['bash'], writable: ['/qdrant/storage', '/qdrant/snapshots'] },
  [BUILT]: {
    binaries: ['node'],
    writable: (/mkdir -p ([^&]+)&& chown -R node:node/.exec(dockerfile)?.[1] ?? '').trim().split(/\s+/).filter(Boolean),
  },
};
const imageOf = (s: Service) => (s.build !== undefined ? BUILT : (s.image ?? '').replace(/:[^/]*$/, ''));

describe('docker-compose.yml', () => {
  const compose = loadCompose();
  const services = Object.entries(compose.services);
  const scratch = mkdtempSync(join(tmpdir(), 'compose-test-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('is valid against the Compose Specification schema', () => {
    const { status, output } = validateCompose(COMPOSE_FILE);
    expect(output).toContain('validation done');
    expect(status).toBe(0);
  });

  it('is checked by a validator that rejects what the schema forbids', () => {
    // A misspelled healthcheck key: YAML-valid, but the schema allows no unknown properties there.
    const broken = readFileSync(COMPOSE_FILE, 'utf8').replace('      retries: 30\n', '      retry: 30\n');
    expect(broken).not.toBe(readFileSync(COMPOSE_FILE, 'utf8'));
    const file = join(scratch, 'docker-compose.yml');
    writeFileSync(file, broken);
    const { status, output } = validateCompose(file);
    expect(status).not.toBe(0);
    expect(output).toContain('retry');
  });

  it('has the services and profile the README uses', () => {
    const readme = readFileSync(join(projectRoot, 'README.md'), 'utf8');
    const commands = [...readme.matchAll(/docker compose ([^\n#`]*)/g)].map((m) => m[1].trim().split(/\s+/));
    expect(commands.length).toBeGreaterThan(0);
    const profiles = new Set(services.flatMap(([, s]) => s.profiles ?? []));
    for (const args of commands) {
      for (let i = 0; i < args.length; i++) {
        if (args[i] === '--profile') expect(profiles, `README: docker compose ${args.join(' ')}`).toContain(args[i + 1]);
      }
      const up = args.indexOf('up');
      for (const name of up < 0 ? [] : args.slice(up + 1).filter((a) => !a.startsWith('-'))) {
        expect(Object.keys(compose.services), `README: docker compose ${args.join(' ')}`).toContain(name);
      }
    }
    // `docker compose up` is the core stack; the rag profile adds the RAG side.
    const unprofiled = services.filter(([, s]) => !s.profiles?.length).map(([n]) => n);
    expect(unprofiled.sort()).toEqual(['local-cloud', 'temporal', 'worker-control']);
    const rag = services.filter(([, s]) => s.profiles?.includes('rag')).map(([n]) => n);
    expect(rag.sort()).toEqual(['qdrant', 'rag-service', 'worker-rag']);
  });

  it('pins every image to a version', () => {
    for (const image of [...services.map(([, s]) => s.image), ...[...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1])]) {
      if (image === undefined) continue;
      const tag = /:([^/]+)$/.exec(image)?.[1];
      expect(tag, image).toBeDefined();
      expect(tag, image).not.toBe('latest');
    }
  });

  it('health-checks with binaries the images ship, and waits only on services that have a check', () => {
    for (const [name, s] of services) {
      if (!s.healthcheck) continue;
      const facts = IMAGE_FACTS[imageOf(s)];
      expect(facts, `${name}: no facts recorded for image ${imageOf(s)}`).toBeDefined();
      expect(s.healthcheck.test[0], name).toBe('CMD');
      expect(facts.binaries, name).toContain(s.healthcheck.test[1]);
    }
    for (const [name, s] of services) {
      for (const [dep, { condition }] of Object.entries(s.depends_on ?? {})) {
        expect(compose.services[dep], `${name} depends on ${dep}`).toBeDefined();
        if (condition === 'service_healthy') expect(compose.services[dep].healthcheck, `${name} waits for ${dep} to be healthy`).toBeDefined();
      }
    }
    // Every long-running server the others wait on or a user reaches has a check.
    for (const name of ['temporal', 'local-cloud', 'qdrant', 'rag-service']) expect(compose.services[name].healthcheck, name).toBeDefined();
  });

  it('mounts declared named volumes where the image user can write', () => {
    for (const [name, s] of services) {
      for (const mount of s.volumes ?? []) {
        const [source, target] = mount.split(':');
        expect(Object.keys(compose.volumes ?? {}), `${name}: ${mount}`).toContain(source);
        expect(IMAGE_FACTS[imageOf(s)].writable, `${name}: ${mount}`).toContain(target);
      }
    }
  });

  it('runs npm scripts and files that exist', () => {
    const scripts = (JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    for (const [name, s] of services) {
      if (s.build === undefined) continue;
      const cmd = s.command ?? [];
      expect(cmd.length, name).toBeGreaterThan(0);
      if (cmd[0] === 'npm') {
        const script = cmd.slice(1).filter((a) => !a.startsWith('-'))[1];
        expect(Object.keys(scripts), `${name}: ${cmd.join(' ')}`).toContain(script);
      } else {
        expect(existsSync(join(projectRoot, cmd[0])), `${name}: ${cmd[0]}`).toBe(true);
        for (const file of cmd.filter((a) => a.endsWith('.ts'))) expect(existsSync(join(projectRoot, file)), `${name}: ${file}`).toBe(true);
      }
    }
  });
});
