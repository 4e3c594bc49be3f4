// The buyer's path in a real browser: headless Chromium at a phone's size opens the cashier
// page (web/cashier.html) of a real pay order, made through the real API of the real demo
// servers, logs in, sees the amount in yuan and the deal's Chinese title drawn with a CJK
// font, pays, and sees the paid state; an expired pay order and someone else's say so clearly.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  call, expirePayOrder, kDemoPassword, kPhone, kViewerPhone, launchBrowser, login, phonePage, placeOrder,
  register, startDemo,
} from './support.mjs';

const yuan = (fen) => `¥${(fen / 100).toFixed(2)}`;

// Fails when the page's content is wider than the phone: nothing may scroll sideways.
async function assertNoHorizontalScroll(page, state) {
  const m = await page.evaluate(() => {
    const wide = [];
    for (const el of document.querySelectorAll('body *')) {
      const r = el.getBoundingClientRect();
      if (r.width > 0 && (r.right > window.innerWidth + 0.5 || r.left < -0.5)) wide.push(el.id || el.tagName);
    }
    return { scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth,
             inner: window.innerWidth, wide };
  });
  assert.equal(m.inner, kPhone.width, `${state}: the layout viewport is not the phone's width`);
  assert.ok(m.scroll <= m.client, `${state}: scrolls sideways (${m.scroll} > ${m.client}px)`);
  assert.deepEqual(m.wide, [], `${state}: elements reach past the screen's edge`);
}

// Draws each character with the font the element uses and compares the pixels: without a CJK
// font every Han character is the same empty box (a text assertion alone would still pass).
async function assertHanRendered(page, selector, chars) {
  const glyphs = await page.evaluate(({ selector, chars }) => {
    const family = getComputedStyle(document.querySelector(selector)).fontFamily;
    return chars.map((ch) => {
      const canvas = document.createElement('canvas');
      canvas.width = 64;
      canvas.height = 64;
      const g = canvas.getContext('2d');
      g.font = `48px ${family}`;
      g.textBaseline = 'top';
      g.fillText(ch, 8, 8);
      const px = g.getImageData(0, 0, 64, 64).data;
      let ink = 0;
      let bits = '';
      for (let i = 3; i < px.length; i += 4) {
        if (px[i] > 0) ++ink;
        bits += px[i] > 127 ? '1' : '0';
      }
      return { ch, ink, bits };
    });
  }, { selector, chars });
  for (const g of glyphs) assert.ok(g.ink > 20, `${g.ch} draws nothing`);
  for (let i = 0; i < glyphs.length; ++i) {
    for (let j = i + 1; j < glyphs.length; ++j) {
      assert.notEqual(glyphs[i].bits, glyphs[j].bits,
                      `${glyphs[i].ch} and ${glyphs[j].ch} render identically: no CJK font (install fonts-noto-cjk)`);
    }
  }
}

async function loginOnPage(page, phone, password = kDemoPassword) {
  await page.locator('#login').waitFor({ state: 'visible' });
  await page.fill('#phone', phone);
  await page.fill('#password', password);
  await page.click('#login-form button[type=submit]');
}

async function tokenInBrowser(page, token) {
  await page.context().addInitScript((t) => localStorage.setItem('hutong.token', t), token);
}

async function wallet(demo, token) {
  return (await call('GET', `${demo.host}/api/wallet`, { token })).body.balance_fen;
}

async function payOrder(demo, token, payOrderId) {
  return (await call('GET', `${demo.host}/api/cashier/${payOrderId}`, { token })).body;
}

describe('cashier page in Chromium', { timeout: 120000 }, () => {
  let demo;
  let browser;
  let viewer;

  before(async () => {
    const started = await Promise.allSettled([startDemo(), launchBrowser()]);
    [demo, browser] = started.map((s) => s.value);
    for (const s of started) if (s.status === 'rejected') throw s.reason;
    viewer = await login(demo);
  });

  after(async () => {
    await browser?.close();
    await demo?.stop();
  });

  test('the viewer logs in, sees the amount and the Chinese title, pays and sees it paid', async () => {
    const { order, deal, mpToken } = await placeOrder(demo, viewer, 2);
    const expected = await payOrder(demo, viewer, order.pay_order_id);
    assert.equal(expected.status, 'pending');
    assert.ok(expected.description.includes(deal.title), `${expected.description} lacks ${deal.title}`);
    const han = [...new Set(deal.title.match(/\p{Script=Han}/gu))];
    assert.ok(han.length >= 2, `the demo deal's title has no Chinese: ${deal.title}`);
    const before = await wallet(demo, viewer);

    const page = await phonePage(browser);
    await page.goto(`${demo.host}/cashier/${order.pay_order_id}`);
    await assertNoHorizontalScroll(page, 'login');
    await loginOnPage(page, kViewerPhone);

    await page.locator('#order').waitFor({ state: 'visible' });
    assert.equal(await page.textContent('#amount'), yuan(expected.amount_fen));
    assert.equal(await page.textContent('#description'), expected.description);
    assert.equal(await page.textContent('#balance'), yuan(before));
    assert.ok(await page.isEnabled('#pay'));
    await assertHanRendered(page, '#description', ['新', '年', ...han.slice(0, 4)]);
    await assertNoHorizontalScroll(page, 'order');

    await page.click('#pay');
    await page.locator('#done').waitFor({ state: 'visible' });
    assert.equal(await page.textContent('#done h2'), '支付成功');
    assert.equal(await page.textContent('#done-amount'), yuan(expected.amount_fen));
    assert.equal(await page.textContent('#done-balance'), `钱包余额 ${yuan(before - expected.amount_fen)}`);
    await assertNoHorizontalScroll(page, 'paid');

    // The server agrees: charged once, and the provider's order is paid with its vouchers.
    assert.equal((await payOrder(demo, viewer, order.pay_order_id)).status, 'paid');
    assert.equal(await wallet(demo, viewer), before - expected.amount_fen);
    let mine;
    for (let i = 0; i < 100; ++i) {
      mine = (await call('GET', `${demo.provider}/mp/v1/orders/${order.order_id}`, { token: mpToken })).body;
      if (mine.status === 'paid') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(mine.status, 'paid', JSON.stringify(mine));
    assert.equal(mine.vouchers.length, 2);

    // Opened again (the token kept), the page shows the paid state and offers no second payment.
    await page.reload();
    await page.locator('#done').waitFor({ state: 'visible' });
    assert.equal(await page.isVisible('#pay'), false);
    assert.equal(await wallet(demo, viewer), before - expected.amount_fen);
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });

  test('a short wallet is topped up with sandbox money, then pays', async () => {
    const buyer = await register(demo, '13900000201', '浏览器测试');
    const { order } = await placeOrder(demo, buyer);
    const amount = (await payOrder(demo, buyer, order.pay_order_id)).amount_fen;
    const page = await phonePage(browser);
    await tokenInBrowser(page, buyer);
    await page.goto(`${demo.host}/cashier/${order.pay_order_id}`);
    await page.locator('#order').waitFor({ state: 'visible' });
    assert.equal(await page.textContent('#balance'), yuan(0));
    assert.equal(await page.isDisabled('#pay'), true);
    assert.match(await page.textContent('#msg'), /余额不足/);
    await assertNoHorizontalScroll(page, 'short');

    await page.click('#topup-btn');
    await page.locator('#pay:enabled').waitFor();
    const topped = await wallet(demo, buyer);
    assert.ok(topped >= amount, `topped up ${topped} for ${amount}`);
    await page.click('#pay');
    await page.locator('#done').waitFor({ state: 'visible' });
    assert.equal(await wallet(demo, buyer), topped - amount);
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });

  test("someone else's pay order is refused clearly, and another login can pay it", async () => {
    const other = '13900000202';
    await register(demo, other, '别人');
    const { order } = await placeOrder(demo, viewer);
    const amount = (await payOrder(demo, viewer, order.pay_order_id)).amount_fen;
    const before = await wallet(demo, viewer);
    const page = await phonePage(browser);
    await page.goto(`${demo.host}/cashier/${order.pay_order_id}`);
    await loginOnPage(page, other, 'not-the-password');
    await page.locator('#login-msg:has-text("手机号或密码不正确")').waitFor();
    await loginOnPage(page, other);

    await page.locator('#fail').waitFor({ state: 'visible' });
    assert.match(await page.textContent('#fail-msg'), /找不到这笔支付单.*当前登录的账号/);
    assert.equal(await page.isVisible('#pay'), false);
    await assertNoHorizontalScroll(page, 'not yours');

    // The buyer switches to the account that placed the order and pays it.
    await page.click('#switch-account');
    await loginOnPage(page, kViewerPhone);
    await page.locator('#order').waitFor({ state: 'visible' });
    await page.click('#pay');
    await page.locator('#done').waitFor({ state: 'visible' });
    assert.equal((await payOrder(demo, viewer, order.pay_order_id)).status, 'paid');
    assert.equal(await wallet(demo, viewer), before - amount);
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });

  test('an expired pay order says so and cannot be paid, also when it expires while open', async () => {
    const before = await wallet(demo, viewer);
    const stale = (await placeOrder(demo, viewer)).order;
    expirePayOrder(demo, stale.pay_order_id);
    const page = await phonePage(browser);
    await tokenInBrowser(page, viewer);
    await page.goto(`${demo.host}/cashier/${stale.pay_order_id}`);
    await page.locator('#fail').waitFor({ state: 'visible' });
    assert.match(await page.textContent('#fail-msg'), /已过期/);
    assert.equal(await page.isVisible('#pay'), false);
    await assertNoHorizontalScroll(page, 'expired');

    // Open while still payable; the deadline passes before the buyer taps pay.
    const open = (await placeOrder(demo, viewer)).order;
    await page.goto(`${demo.host}/cashier/${open.pay_order_id}`);
    await page.locator('#order').waitFor({ state: 'visible' });
    expirePayOrder(demo, open.pay_order_id);
    await page.click('#pay');
    await page.locator('#fail').waitFor({ state: 'visible' });
    assert.match(await page.textContent('#fail-msg'), /已过期/);

    for (const id of [stale.pay_order_id, open.pay_order_id]) {
      assert.equal((await payOrder(demo, viewer, id)).status, 'pending');
    }
    assert.equal(await wallet(demo, viewer), before);
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });
});
