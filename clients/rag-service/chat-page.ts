// Serves the chat page (page/index.html, chat.js, chat.css, favicon.svg) at GET /, /chat.js, ...,
// read once when the service starts. A strict Content-Security-Policy allows only this origin's
// script, styles and fetches (no inline code, no other site, no framing), so an answer or a source
// snippet that carried markup could not run even if the page ever wrote it as HTML.
import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';

const PAGE_DIR = new URL('./page/', import.meta.url);

const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const ASSETS: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/chat.js': { file: 'chat.js', type: 'text/javascript; charset=utf-8' },
  '/chat.css': { file: 'chat.css', type: 'text/css; charset=utf-8' },
  '/favicon.svg': { file: 'favicon.svg', type: 'image/svg+xml' },
};

export type PageAssets = Map<string, { body: Buffer; type: string }>;

export function loadChatPage(): PageAssets {
  return new Map(Object.entries(ASSETS).map(([path, a]) => [path, { body: readFileSync(new URL(a.file, PAGE_DIR)), type: a.type }]));
}

export function sendPageAsset(res: ServerResponse, asset: { body: Buffer; type: string }, headOnly: boolean): void {
  res.writeHead(200, {
    'content-type': asset.type,
    'content-length': asset.body.length,
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-cache',
  });
  res.end(headOnly ? undefined : asset.body);
}
