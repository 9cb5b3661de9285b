import { expect } from 'chai';
import { useBrowserPage } from '../support/browser.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('API documentation in a real browser', function () {
  this.timeout(120_000);
  let server: TestServer;
  const { page, errors } = useBrowserPage();
  before(async () => {
    server = await startTestServer('pglite');
  });
  after(() => server?.stop());

  it('Swagger UI at /api-docs lists each type’s operations, and the page breaks no content-security rule', async () => {
    const p = page();
    const refused: string[] = [];
    p.on('console', (m) => {
      if (m.type() === 'error') refused.push(m.text());
    });
    await p.goto(`${server.running.url}/api-docs`);
    await p.getByRole('heading', { name: /Neighbourhood FHIR hub/ }).waitFor();
    await p.locator('#operations-tag-Patient').click();
    // Swagger UI breaks paths with zero-width spaces; its data-path attribute holds them whole.
    await p.locator('.opblock-summary-path[data-path="/Patient/{id}/$care-team"]').first().waitFor();
    expect(await p.locator('.opblock-summary-path[data-path="/Patient/{id}"]').count()).to.be.greaterThan(0);
    // Every other type is one choice away, in groups.
    await p.getByLabel('Select a definition').selectOption({ label: (await p.locator('option', { hasText: /^Account – / }).textContent()) as string });
    await p.locator('#operations-tag-Account').waitFor();
    expect(refused.filter((t) => /Content Security Policy/i.test(t))).to.deep.equal([]);
    expect(errors()).to.deep.equal([]);
  });
});
