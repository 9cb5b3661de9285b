import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import express from 'express';

/** Pages for people (API docs, console) load only this server's own files and cannot be framed. */
export function pageHeaders(opts: { styleInline?: boolean; scriptHashes?: string[] } = {}): express.RequestHandler {
  const csp = [
    "default-src 'self'",
    `script-src 'self'${(opts.scriptHashes ?? []).map((h) => ` '${h}'`).join('')}`,
    `style-src 'self'${opts.styleInline ? " 'unsafe-inline'" : ''}`,
    "img-src 'self' data:",
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  return (_req, res, next) => {
    res.setHeader('Content-Security-Policy', csp);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cache-Control', 'no-cache');
    next();
  };
}

/** A package's folder, looked up where Node would look (some packages do not export package.json). */
export function packageDir(name: string): string {
  const dir = (require.resolve.paths(name) ?? []).map((base) => path.join(base, name)).find((d) => existsSync(path.join(d, 'package.json')));
  if (!dir) throw new Error(`package ${name} is not installed: run npm ci`);
  return dir;
}

/** A folder of static files, no directory listings, no dotfiles. */
export function staticFiles(dir: string): express.RequestHandler {
  return express.static(dir, { index: false, dotfiles: 'deny', fallthrough: true, redirect: false });
}

export const WEB_DIR = path.join(__dirname, '..', 'web');

/** CSP hashes of a page's inline scripts (the console's import map, which browsers take only inline). */
export function inlineScriptHashes(html: string): string[] {
  return [...html.matchAll(/<script[^>]*>([\s\S]*?)<\/script>/g)].filter((m) => m[1].trim()).map((m) => `sha256-${createHash('sha256').update(m[1]).digest('base64')}`);
}
