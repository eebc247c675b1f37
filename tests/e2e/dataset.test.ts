// The dataset and feedback loop in a real browser against the real server: upload labelled
// images and see the counts change, correct a screening result, accept the correction on the
// Review page, retrain from the Training page, and see the new version's data differ from the
// old one by exactly those images.
import fs from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { createRng } from '../../server/ml/random.js';
import { encodeRaw, toyLesionPixels } from '../helpers/images.js';
import { ADMIN_TOKEN, CHROMIUM_PATH, ensureDashboardBuilt, launchChromium, openPage, screenshot, startDashboardServer, type DashboardServer, type WatchedPage } from './dashboard-harness.js';

const hasChromium = fs.existsSync(CHROMIUM_PATH);
if (!hasChromium) console.warn(`dataset e2e tests skipped: ${CHROMIUM_PATH} is absent (install it with: apt-get install -y chromium)`);

const LAPTOP = { width: 1366, height: 900 };
const PHONE = { width: 390, height: 844 };
const TOKEN_KEY = 'skin-screening.admin-token';

const lesion = (kind: 'benign' | 'malignant', seed: number) => encodeRaw(toyLesionPixels(48, kind, createRng(seed)), 48, 48, 3, 'png');

describe.skipIf(!hasChromium)(`dataset management in ${CHROMIUM_PATH}`, () => {
  let server: DashboardServer;
  let browser: Browser;
  let current: WatchedPage | undefined;

  /** A page of the dashboard with the admin token already entered. */
  async function open(route: string, viewport = LAPTOP): Promise<WatchedPage> {
    current = await openPage(browser, viewport);
    await current.context.addInitScript({ content: `sessionStorage.setItem(${JSON.stringify(TOKEN_KEY)}, ${JSON.stringify(ADMIN_TOKEN)})` });
    await current.page.goto(`${server.origin}${route}`);
    return current;
  }

  const trainCount = (page: WatchedPage['page'], label: string) =>
    page.locator(`[data-testid="dataset-overview"] [data-split="TRAIN"] tr[data-class="${label}"] [data-testid="class-count"]`).innerText();

  beforeAll(async () => {
    ensureDashboardBuilt();
    server = await startDashboardServer({ env: { KEEP_CLASSIFIED_IMAGES: 'true', FEEDBACK_DIR: '{root}/feedback' } });
    await server.app.services.training.start({ imageSize: 32, epochs: 1, batchSize: 8, seed: 3 }, 'api');
    await server.app.services.training.whenIdle();
    browser = await launchChromium();
  }, 300_000);

  afterEach(async () => {
    const errors = current?.errors ?? [];
    await current?.context.close();
    current = undefined;
    expect(errors, 'browser console errors').toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('uploads labelled images, counts them, browses thumbnails, and reports a file it refuses', async () => {
    const { page } = await open('/dataset');
    await expect.poll(() => trainCount(page, 'malignant')).toBe('24');

    await page.getByLabel('Class').first().fill('malignant');
    await page.getByLabel('Images of this class').setInputFiles([
      { name: 'new-1.png', mimeType: 'image/png', buffer: await lesion('malignant', 901) },
      { name: 'new-2.png', mimeType: 'image/png', buffer: await lesion('malignant', 902) },
      { name: 'letter.png', mimeType: 'image/png', buffer: Buffer.from('not an image') },
    ]);
    await page.getByRole('button', { name: 'Add 3 images as malignant' }).click();
    const report = page.getByTestId('import-report');
    await report.waitFor();
    expect(await report.locator('.report__summary').innerText()).toBe('2 added, 0 already in the dataset, 1 refused.');
    expect(await report.locator('[data-status="REJECTED"]').innerText()).toContain('NOT_AN_IMAGE');
    await expect.poll(() => trainCount(page, 'malignant')).toBe('26');

    // The browser shows the split a page at a time, each image as a thumbnail.
    await page.locator('#browse-label').selectOption('malignant');
    await expect.poll(() => page.getByTestId('browse-count').innerText()).toBe('24 of 26 shown');
    await page.getByRole('button', { name: 'Load more' }).click();
    await expect.poll(() => page.getByTestId('browse-count').innerText()).toBe('26 of 26 shown');
    const thumbnail = page.locator('.browser__tile img').first();
    expect(await thumbnail.getAttribute('src')).toMatch(/^data:image\/webp;base64,/);
    await expect.poll(() => page.evaluate("document.querySelector('.browser__tile img').naturalWidth")).toBe(96);
    await screenshot(page, 'dataset');
  });

  it('corrects a screening result and accepts the correction into the training set', async () => {
    const { page } = await open('/');
    await page.locator('input[type="file"]').setInputFiles({ name: 'visit.png', mimeType: 'image/png', buffer: await lesion('malignant', 903) });
    const card = page.getByRole('article', { name: 'Result for visit.png' });
    await card.getByRole('button', { name: 'Correct this prediction' }).click({ timeout: 30_000 });
    await card.getByLabel('It really is').selectOption('malignant');
    await card.getByRole('button', { name: 'Send correction' }).click();
    await card.getByText('Sent for review as malignant').waitFor();

    await page.getByRole('link', { name: 'Review' }).click();
    const item = page.locator('[data-feedback-id]');
    await item.waitFor();
    expect(await item.getByTestId('true-label').innerText()).toBe('malignant');
    expect(await item.locator('img').getAttribute('src')).toMatch(/^data:image\/webp;base64,/);
    await screenshot(page, 'review');
    await item.getByRole('button', { name: 'Accept into training set' }).click();
    await page.getByText(/Added to the dataset as train\/malignant\/[0-9a-f]{64}\.png/).waitFor();
    await page.getByTestId('review-empty').waitFor();
  });

  it('retrains from the Training page; the new version saw exactly the added images more', async () => {
    const { page } = await open('/training');
    await page.getByLabel('Epochs', { exact: true }).fill('1');
    await page.getByLabel('Image size (px)', { exact: true }).fill('32');
    await page.getByLabel('Batch size', { exact: true }).fill('8');
    await page.getByRole('button', { name: 'Start training' }).click();
    await page.locator('section.monitor [data-outcome="version"]').waitFor({ timeout: 90_000 });
    expect(await page.locator('section.monitor [data-outcome="version"]').innerText()).toBe('v2');

    await page.getByRole('link', { name: 'Dataset' }).click();
    await expect.poll(() => trainCount(page, 'malignant')).toBe('27');
    const diff = page.getByTestId('dataset-diff');
    await diff.waitFor();
    expect(await diff.getByTestId('diff-summary').innerText()).toBe('v2 saw 3 more malignant training images than v1');
    expect(await diff.locator('[data-change="train/malignant"] [data-testid="diff-added"]').innerText()).toBe('3');
    expect(await diff.locator('[data-change="train/benign"] [data-testid="diff-added"]').innerText()).toBe('0');
    await screenshot(page, 'dataset-diff');
  });

  it('fits a phone screen on the Dataset and Review pages', async () => {
    const { page } = await open('/dataset', PHONE);
    await page.locator('.browser__tile img').first().waitFor();
    // The widest content: the diff between the two versions trained above (it loads last).
    await page.getByTestId('dataset-diff').waitFor();
    for (const route of ['/dataset', '/review']) {
      if (route === '/review') {
        await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Review' }).click();
        await page.getByTestId('review-empty').waitFor();
      }
      const overflow = (await page.evaluate('document.documentElement.scrollWidth - window.innerWidth')) as number;
      expect(overflow, `${route} scrolls sideways by ${overflow}px`).toBeLessThanOrEqual(0);
    }
    await screenshot(page, 'phone-review');
  });
});
