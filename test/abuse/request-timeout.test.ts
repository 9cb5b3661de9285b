import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import express from 'express';
import { armRequestTimeout } from '../../server/abuse/request-timeout.js';
import { send } from '../../server/http/respond.js';

describe('request timeout', () => {
  let base: string;
  let close: () => void;
  let lateSendFailed: unknown;
  before(async () => {
    const app = express();
    app.use((_req, res, next) => {
      armRequestTimeout(res, 100);
      next();
    });
    app.get('/slow', (_req, res) => {
      setTimeout(() => {
        try {
          send(res, 200, { resourceType: 'Patient', id: 'late' }, {}, false);
        } catch (err) {
          lateSendFailed = err;
        }
      }, 300);
    });
    app.get('/fast', (_req, res) => send(res, 200, { resourceType: 'Patient', id: 'fast' }, {}, false));
    const server = app.listen(0);
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = () => server.close();
  });
  after(() => close());

  it('a request not answered in time is 503 with Retry-After and a timeout OperationOutcome; the late answer is dropped', async () => {
    const res = await fetch(`${base}/slow`);
    expect(res.status).to.equal(503);
    expect(res.headers.get('retry-after')).to.match(/^\d+$/);
    const body = await res.json();
    expect(body.resourceType).to.equal('OperationOutcome');
    expect(body.issue[0].code).to.equal('timeout');
    await new Promise((r) => setTimeout(r, 300));
    expect(lateSendFailed).to.equal(undefined);
  });

  it('a request answered in time is untouched', async () => {
    const res = await fetch(`${base}/fast`);
    expect(res.status).to.equal(200);
    expect((await res.json()).id).to.equal('fast');
  });
});
