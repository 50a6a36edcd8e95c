// The chat page at GET / in a real headless browser (Debian's chromium driven by playwright-core)
// against the real stack of test/observability/rag-service-stack.ts: the tiny model streams real
// tokens; the ragQuery workflow is the MOCK fixture with two fixed sources. The test types a key
// and a question and sees the answer grow token by token, then the sources with their scores,
// the step timings and the endpoint. Skips, saying why, when no chromium is installed.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RagService } from '../../clients/rag-service/server.js';
import { API_KEY, startRagServiceStack, type RagServiceStack } from '../observability/rag-service-stack.js';

const EP = 'chat-page';
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(chromiumPath);
if (!haveChromium) console.warn(`test/web/chat-page.test.ts skipped: no chromium at ${chromiumPath} (apt-get install chromium, or set CHROMIUM_PATH)`);

describe.skipIf(!haveChromium)('the chat page', () => {
  let stack: RagServiceStack;
  let svc: RagService;
  let browser: Browser;

  beforeAll(async () => {
    [stack, browser] = await Promise.all([startRagServiceStack(EP), chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] })]);
    svc = await stack.start();
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('is served with a strict Content-Security-Policy and no inline code', async () => {
    const res = await fetch(`${svc.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain('unsafe');
    const html = await res.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)/); // every script is a file of this origin
    expect(html).not.toMatch(/https?:\/\//); // nothing from another site
    for (const asset of ['/chat.js', '/chat.css']) expect((await fetch(`${svc.url}${asset}`)).status).toBe(200);
  });

  it('streams the answer token by token, then shows sources with scores, timings and the endpoint', async () => {
    const page = await browser.newPage();
    const violations: string[] = [];
    page.on('console', (m) => m.type() === 'error' && violations.push(m.text()));
    await page.goto(`${svc.url}/`);
    await page.fill('#api-key', API_KEY);
    await page.fill('#question', 'What happened in the forest?');
    // Record every length the answer passes through, as the browser renders it.
    // (Strings: this code runs in the page, whose DOM types this Node project does not load.)
    await page.evaluate(`
      window.lengths = [];
      const answer = document.getElementById('answer');
      new MutationObserver(() => window.lengths.push(answer.textContent.length)).observe(answer, { childList: true, characterData: true, subtree: true });
    `);
    await page.click('#send');

    await page.locator('#status', { hasText: 'done' }).waitFor({ timeout: 60_000 });
    const answer = await page.textContent('#answer');
    expect(answer!.trim().length).toBeGreaterThan(0);
    const lengths = await page.evaluate<number[]>('window.lengths.filter((n) => n > 0)');
    // Tokens appeared one after another, not as one block at the end.
    expect(new Set(lengths).size).toBeGreaterThan(1);

    const sources = await page.locator('#sources li').allTextContents();
    expect(sources).toHaveLength(2);
    expect(sources[0]).toContain('Scaling (scaling.md)');
    expect(sources[0]).toContain('0.920');
    expect(sources[1]).toContain('faq.md');
    expect(sources[1]).toContain('0.710');
    const steps = await page.locator('#timings td:first-child').allTextContents();
    expect(steps).toEqual(expect.arrayContaining(['embed', 'retrieve', 'rerank', 'buildPrompt', 'generate', 'ttft']));
    expect(await page.textContent('#meta')).toContain(`endpoint ${EP} (tgi)`);
    expect(await page.textContent('#error')).toBe('');
    // The key stays in this tab's sessionStorage (for a reload), nowhere else.
    expect(await page.evaluate(`[sessionStorage.getItem('llmops.apiKey'), localStorage.length]`)).toEqual([API_KEY, 0]);
    expect(violations).toEqual([]);
    await page.screenshot({ path: '/tmp/chat-page.png', fullPage: true });
    await page.close();
  });

  it("shows the service's error when the key is wrong", async () => {
    const page = await browser.newPage();
    await page.goto(`${svc.url}/`);
    await page.fill('#api-key', 'wrong-key-0123456789abcdef');
    await page.fill('#question', 'Anything?');
    await page.click('#send');
    await expect.poll(() => page.textContent('#error')).toContain('401: A valid API key is required');
    expect(await page.locator('#sources li').count()).toBe(0);
    await page.close();
  });
});
