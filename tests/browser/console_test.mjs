// The web console, clicked through in Debian's Chromium (playwright-core drives it; it cannot download a
// browser here). Started by console_test.py, which runs the run command and passes, in the environment:
// CONSOLE_URL, RUN_DIR (run/: admin token, Fabrikam.pfx and its password), VIEWER_TOKEN_FILE, SCREENSHOT_DIR,
// CHROMIUM, WORK_DIR. Every step goes through the console as a person would; each view is photographed at
// 1280 and 390 px wide. Exit status 0 when every check held.

import {execFileSync} from 'node:child_process';
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {chromium} from 'playwright-core';

const env = process.env;
const url = env.CONSOLE_URL;
const origin = new URL(url).origin;
const runDir = env.RUN_DIR;
const shots = env.SCREENSHOT_DIR;
const work = env.WORK_DIR;
const adminToken = readFileSync(join(runDir, 'controller/admin.token'), 'utf8').trim();
const viewerToken = readFileSync(env.VIEWER_TOKEN_FILE, 'utf8').trim();
const fabrikamPassword = readFileSync(join(runDir, 'Fabrikam.password'), 'utf8');
const TIMEOUT = 30000;

const failures = [];
let passed = 0;

function check(condition, what) {
    if (!condition) {
        throw new Error(what);
    }
}

async function step(name, fn) {
    const started = Date.now();
    try {
        await fn();
        passed += 1;
        console.log(`ok    ${name} (${Date.now() - started} ms)`);
    } catch (e) {
        failures.push(`${name}: ${e.message}`);
        for (const page of openPages) {
            await page.screenshot({path: join(shots, `FAILED-${failures.length}-${page.viewportSize().width}.png`),
                fullPage: true}).catch(() => {});
        }
        console.log(`FAIL  ${name}: ${e.stack || e.message}`);
    }
}

const browser = await chromium.launch({
    executablePath: env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
        '--disable-sync', '--no-first-run'],
});

const openPages = [];

// A page that records console errors, uncaught exceptions and any request leaving the controller's origin.
async function openPage(width, height) {
    const context = await browser.newContext({viewport: {width, height}, ignoreHTTPSErrors: true,
        acceptDownloads: true});
    const page = await context.newPage();
    openPages.push(page);
    context.on('close', () => openPages.splice(openPages.indexOf(page), 1));
    page.setDefaultTimeout(TIMEOUT);
    page.problems = [];
    page.on('pageerror', (e) => page.problems.push(`uncaught: ${e.message}`));
    page.on('console', (m) => {
        // Chromium logs every 4xx answer as "Failed to load resource"; the steps provoke some on purpose
        // (a wrong token, a wrong password) and check that the console shows the API's message instead.
        if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())) {
            page.problems.push(`console: ${m.text()}`);
        }
    });
    page.on('request', (r) => {
        const target = new URL(r.url());
        if (!['blob:', 'data:'].includes(target.protocol) && target.origin !== origin) {
            page.problems.push(`a request left the controller: ${r.url()}`);
        }
    });
    return page;
}

async function shot(page, name) {
    const width = page.viewportSize().width;
    await page.screenshot({path: join(shots, `${name}-${width}.png`), fullPage: true});
}

async function signIn(page, token) {
    await page.goto(url);
    await page.locator('#token').fill(token);
    await page.keyboard.press('Enter');
    await page.locator('header.top').waitFor();
}

const row = (page, text) => page.locator('tbody tr', {hasText: text});

mkdirSync(shots, {recursive: true});
const admin = await openPage(1280, 900);

await step('sign-in: a wrong token shows the API\'s message, the right one signs in (keyboard only)', async () => {
    await admin.goto(url);
    const csp = (await admin.request.get(url, {ignoreHTTPSErrors: true})).headers()['content-security-policy'];
    check(csp && csp.includes("script-src 'self'") && csp.includes("default-src 'none'"), `CSP header: ${csp}`);
    const script = await admin.request.get(`${origin}/console/app.js`);
    check(script.headers()['content-type'] === 'text/javascript; charset=utf-8', 'app.js is JavaScript');
    const again = await admin.request.get(`${origin}/console/app.js`, {headers: {'If-None-Match': script.headers().etag}});
    check(again.status() === 304, `an unchanged file is answered 304, got ${again.status()}`);
    const missing = await admin.request.get(`${origin}/console/missing.js`);
    check(missing.status() === 404 && (await missing.json()).code === 'not-found', 'an unknown file is 404 not-found');
    await admin.locator('#token').waitFor();
    check(await admin.evaluate(() => document.activeElement.id) === 'token', 'the token field has the focus');
    await shot(admin, 'sign-in');
    await admin.keyboard.type('not-a-token');
    await admin.keyboard.press('Enter');
    await admin.locator('#sign-in-error', {hasText: 'unauthenticated'}).waitFor();
    await admin.keyboard.type(adminToken);
    await admin.keyboard.press('Enter');
    await admin.locator('nav a', {hasText: 'Import'}).waitFor();
    check(await admin.evaluate(() => document.cookie) === '', 'no cookie is set');
    check(!admin.url().includes(adminToken), 'the token is not in the URL');
    check(await admin.evaluate(() => sessionStorage.getItem('certdeploy.token')) === adminToken,
        'the token is in sessionStorage');
    await admin.locator('h1', {hasText: 'Certificates'}).waitFor();
    // The view moves the focus once it has rendered, which a loaded machine may do a moment after the
    // heading appears: wait for it (10 s), then check.
    await admin.waitForFunction(() => document.activeElement && document.activeElement.tagName === 'H1', null,
        {timeout: 10000}).catch(() => {});
    check(await admin.evaluate(() => document.activeElement.tagName) === 'H1',
        'the new view\'s heading has the focus, as after a page load');
    check(await admin.evaluate(() => document.querySelector('a, button, input, select').textContent) ===
        'Skip to content', '"Skip to content" comes first in the focus order');
});

await step('import wizard: a wrong password is refused with wrong-password before any server is chosen', async () => {
    await admin.goto(`${url}#/import`);
    await admin.locator('#import-file').setInputFiles(join(runDir, 'Fabrikam.pfx'));
    await admin.locator('#import-password').fill('not the password');
    await admin.locator('#dry-run .error', {hasText: 'wrong-password'}).waitFor();
    check(await admin.locator('#dry-run').textContent().then((t) => t.includes('the password does not open this file')),
        'the API\'s message is shown');
    check(await admin.locator('#to-servers').isDisabled(), 'Next stays disabled');
    check(await admin.locator('#server-list').count() === 0, 'no server list is shown yet');
    await shot(admin, 'import-wrong-password');
});

const liveStates = {};
await step('import wizard: Fabrikam.pfx on both servers, watched live until both succeeded', async () => {
    await admin.locator('#import-password').fill(fabrikamPassword);
    const card = admin.locator('.certificate-card');
    await card.waitFor();
    const text = await card.textContent();
    for (const expected of ['CN=mail.fabrikam.com', 'autodiscover.fabrikam.com', 'Fabrikam Example Root CA',
        'RSA 2048', 'with its private key', 'Valid']) {
        check(text.includes(expected), `the dry run shows ${expected}: ${text}`);
    }
    await shot(admin, 'import-file');
    await admin.locator('#to-servers').click();
    await admin.locator('#server-list li', {hasText: 'ex02'}).waitFor();
    check(await admin.locator('#server-list li', {hasText: 'reachable'}).count() === 2, 'both servers reachable');
    await admin.locator('#server-search').fill('ex02');
    check(await admin.locator('#server-list li').count() === 1, 'the search narrows the list');
    await admin.locator('#server-search').fill('');
    await admin.locator('#select-label').click();  // role=mailbox: both
    await admin.locator('#chosen', {hasText: '2 of 2'}).waitFor();
    await admin.locator('#import-exportable').check();
    await shot(admin, 'import-servers');
    // Every state each server's row shows, in order, from the moment Finish is pressed.
    await admin.evaluate(() => {
        window.seenStates = {};
        new MutationObserver(() => {
            for (const tr of document.querySelectorAll('#targets tbody tr')) {
                const seen = (window.seenStates[tr.dataset.server] ||= []);
                if (seen[seen.length - 1] !== tr.dataset.state) {
                    seen.push(tr.dataset.state);
                }
            }
        }).observe(document.body, {subtree: true, childList: true, attributes: true});
    });
    await admin.locator('#finish').click();
    for (const server of ['ex01', 'ex02']) {
        await admin.locator(`#targets tr[data-server="${server}"][data-state="succeeded"]`).waitFor();
    }
    await admin.locator('#job-state .state-succeeded').waitFor();
    Object.assign(liveStates, await admin.evaluate(() => window.seenStates));
    for (const server of ['ex01', 'ex02']) {
        const seen = liveStates[server] || [];
        // The dispatcher may start before the POST's answer is read back, so the first row can
        // already say running; what matters is that the page moved forward live, never back.
        const order = ['pending', 'running', 'succeeded'];
        const ranks = seen.map((s) => order.indexOf(s));
        check(seen.length >= 2 && seen[0] !== 'succeeded' && seen[seen.length - 1] === 'succeeded' &&
                ranks.every((r, i) => r >= 0 && (i === 0 || r > ranks[i - 1])),
            `${server} moved forward live to succeeded on the page: ${JSON.stringify(seen)}`);
    }
    const result = await admin.locator('#targets').textContent();
    check(result.includes('installed, status Valid'), `each server reports installed, status Valid: ${result}`);
    check((await admin.locator('#job-progress').textContent()).includes('2 of 2 server(s) finished'),
        'the live region says 2 of 2 finished');
    await shot(admin, 'import-progress');
});

await step('certificates pane: Fabrikam Valid on both servers; the expiry filter keeps only what expires', async () => {
    await admin.goto(`${url}#/certificates`);
    const fabrikam = row(admin, 'mail.fabrikam.com');
    await fabrikam.waitFor();
    const text = await fabrikam.textContent();
    check(text.includes('Valid') && text.includes('ex01') && text.includes('ex02'), `Fabrikam row: ${text}`);
    check(await row(admin, 'soon.contoso.com').count() === 1, 'the 10-day certificate is listed');
    await admin.locator('#fleet-summary', {hasText: 'expire within 14 days'}).waitFor();
    await shot(admin, 'certificates');
    await admin.locator('#filter-expiring').fill('30');
    await admin.waitForFunction(() => !document.querySelector('#certificates-results').textContent
        .includes('mail.fabrikam.com'));
    check(await row(admin, 'soon.contoso.com').count() === 1, 'the expiring certificate stays');
    check(await admin.locator('tbody tr .expiry.critical').count() === 1, 'its days left are coloured critical');
    await shot(admin, 'certificates-expiring');
    const [download] = await Promise.all([admin.waitForEvent('download'), admin.locator('button', {hasText: 'Export CSV'}).click()]);
    const csv = readFileSync(await download.path(), 'utf8');
    check(csv.startsWith('"FriendlyName","Subject"') && csv.includes('soon.contoso.com') &&
        !csv.includes('mail.fabrikam.com'), `the CSV holds the current view: ${csv}`);
    await admin.locator('#filter-expiring').fill('');
    await admin.locator('#filter-status').selectOption('Valid');
    await row(admin, 'mail.fabrikam.com').waitFor();
});

let thumbprint = '';
await step('server ex01: Enable for the web service, and nginx serves the certificate', async () => {
    await admin.goto(`${url}#/servers/ex01`);
    const fabrikam = row(admin, 'mail.fabrikam.com');
    await fabrikam.waitFor();
    thumbprint = await fabrikam.getAttribute('data-thumbprint');
    check(/^[0-9A-F]{40}$/.test(thumbprint), `thumbprint ${thumbprint}`);
    check((await fabrikam.textContent()).includes('Valid'), 'Status Valid on ex01');
    await fabrikam.locator('button', {hasText: 'Enable'}).click();
    const dialog = admin.locator('dialog');
    await dialog.locator('#enable-services').fill('web');
    await dialog.locator('button', {hasText: /^Enable$/}).click();
    await dialog.locator('#targets tr[data-server="ex01"][data-state="succeeded"]').waitFor();
    await dialog.locator('button', {hasText: 'Close'}).click();
    await admin.waitForFunction(() => [...document.querySelectorAll('#server-certificates tbody tr')]
        .some((tr) => tr.textContent.includes('mail.fabrikam.com') && tr.querySelector('[data-label="Services"]')
            .textContent.includes('web')));
    const served = execFileSync('openssl', ['s_client', '-connect', '127.0.0.1:8443', '-servername',
        'mail.fabrikam.com'], {input: '', stdio: ['pipe', 'pipe', 'ignore']}).toString();
    check(served.includes('CN = mail.fabrikam.com') || served.includes('CN=mail.fabrikam.com'),
        'nginx on ex01 serves mail.fabrikam.com');
    await shot(admin, 'server');
});

await step('server ex01: Remove is refused while the certificate is in use, with the agent\'s reason', async () => {
    const fabrikam = row(admin, 'mail.fabrikam.com');
    await fabrikam.locator('button', {hasText: 'Remove'}).click();
    const dialog = admin.locator('dialog');
    await dialog.locator('.warning', {hasText: 'bound to web'}).waitFor();
    await dialog.locator('button.primary', {hasText: 'Remove'}).click();
    await dialog.locator('#targets tr[data-server="ex01"][data-state="failed"]').waitFor();
    check((await dialog.locator('#targets').textContent()).includes('certificate-in-use'),
        'the failure names certificate-in-use');
    await shot(admin, 'remove-refused');
    await dialog.locator('button', {hasText: 'Close'}).click();
    await row(admin, 'mail.fabrikam.com').waitFor();
});

await step('server ex01: Export downloads a PFX that OpenSSL opens with the password typed', async () => {
    const fabrikam = row(admin, 'mail.fabrikam.com');
    await fabrikam.locator('button', {hasText: 'Export'}).click();
    const dialog = admin.locator('dialog');
    const password = 'export-' + Math.random().toString(36).slice(2);
    await dialog.locator('#export-password').fill(password);
    await dialog.locator('#export-password-again').fill(password);
    await dialog.locator('#export-profile').selectOption('modern');
    const [download] = await Promise.all([admin.waitForEvent('download'),
        dialog.locator('button', {hasText: /^Export$/}).click()]);
    const file = join(work, 'exported.pfx');
    await download.saveAs(file);
    check(download.suggestedFilename().endsWith('.pfx'), `file name ${download.suggestedFilename()}`);
    const passwordFile = join(work, 'exported.password');
    writeFileSync(passwordFile, password, {mode: 0o600});
    const certificate = execFileSync('openssl', ['pkcs12', '-in', file, '-passin', `file:${passwordFile}`, '-nokeys',
        '-clcerts'], {stdio: ['ignore', 'pipe', 'pipe']}).toString();
    const subject = execFileSync('openssl', ['x509', '-noout', '-subject', '-fingerprint', '-sha1'],
        {input: certificate}).toString();
    check(subject.includes('mail.fabrikam.com'), `the PFX holds mail.fabrikam.com: ${subject}`);
    check(subject.replaceAll(':', '').includes(thumbprint), 'with the same thumbprint');
    const key = execFileSync('openssl', ['pkcs12', '-in', file, '-passin', `file:${passwordFile}`, '-nocerts',
        '-nodes'], {stdio: ['ignore', 'pipe', 'pipe']}).toString();
    check(key.includes('PRIVATE KEY'), 'and its private key');
    let refused = false;
    try {
        execFileSync('openssl', ['pkcs12', '-in', file, '-passin', 'pass:wrong', '-nokeys'], {stdio: 'ignore'});
    } catch {
        refused = true;
    }
    check(refused, 'another password does not open it');
});

await step('requests: made on ex02, its .csr signed by a CA, the answer imported naming no server; renew, remove', async () => {
    await admin.goto(`${url}#/requests`);
    await admin.locator('#pending-requests', {hasText: 'No request is waiting'}).waitFor();
    await admin.locator('#request-subject').fill('CN=owa.fabrikam.com, O=Fabrikam');
    await admin.locator('#request-domains').fill('owa.fabrikam.com');
    await admin.locator('#request-key').selectOption({label: 'ECDSA P-256'});
    await admin.locator('#request-server-ex02').check();
    await admin.locator('#make-request').click();
    await admin.locator('#targets tr[data-server="ex02"][data-state="succeeded"]').waitFor();
    check((await admin.locator('#targets').textContent()).includes('requested, status PendingRequest'),
        'ex02 made its request');
    await admin.locator('#requests-table tr[data-server="ex02"]').waitFor();
    check((await admin.locator('#requests-table').textContent()).includes('EC 256'), 'an ECDSA P-256 key');
    await shot(admin, 'requests');
    const [download] = await Promise.all([admin.waitForEvent('download'),
        admin.locator('#requests-table button', {hasText: '.csr'}).click()]);
    const csr = join(work, 'ex02.csr');
    await download.saveAs(csr);
    check(readFileSync(csr, 'utf8').startsWith('-----BEGIN CERTIFICATE REQUEST-----'), 'the download is the request');
    // The CA: the run command's example root.
    const answer = join(work, 'ex02-owa.crt');
    execFileSync('openssl', ['x509', '-req', '-in', csr, '-CA', join(runDir, 'example/root.pem'), '-CAkey',
        join(runDir, 'example/root.key'), '-days', '30', '-copy_extensions', 'copy', '-out', answer],
    {stdio: 'ignore'});
    // The import wizard sees where the answer belongs before any server is chosen.
    await admin.goto(`${url}#/import`);
    await admin.locator('#import-file').setInputFiles(answer);
    await admin.locator('#completes', {hasText: 'ex02'}).waitFor();
    // Imported from the requests page, naming no server.
    await admin.goto(`${url}#/requests`);
    await admin.locator('#answer-files').setInputFiles(answer);
    await admin.locator('#import-answers').click();
    await admin.locator('#targets tr[data-server="ex02"][data-state="succeeded"]').waitFor();
    check((await admin.locator('#targets').textContent()).includes('completed, status Valid'),
        'the answer completed ex02\'s request');
    await admin.locator('#pending-requests', {hasText: 'No request is waiting'}).waitFor();
    // On ex02: Valid with its key; Renew makes a new request there, shown as PendingRequest with its .csr.
    await admin.goto(`${url}#/servers/ex02`);
    const owa = row(admin, 'owa.fabrikam.com');
    await owa.waitFor();
    check((await owa.textContent()).includes('Valid'), 'owa.fabrikam.com is Valid on ex02');
    await owa.locator('button', {hasText: 'Renew'}).click();
    await admin.locator('dialog button', {hasText: /^Renew$/}).click();
    await admin.locator('dialog #targets tr[data-server="ex02"][data-state="succeeded"]').waitFor();
    await admin.locator('dialog button', {hasText: 'Close'}).click();
    // The fleet's inventory shows it under its own status.
    await admin.goto(`${url}#/certificates`);
    await admin.locator('#filter-status').selectOption('PendingRequest');
    await admin.waitForFunction(() => {
        const rows = [...document.querySelectorAll('#certificates-results tbody tr')];
        return rows.length > 0 && rows.every((tr) => tr.querySelector('.status-PendingRequest'));
    });
    check(await row(admin, 'owa.fabrikam.com').count() === 1, 'the certificates pane lists the pending request alone');
    await admin.goto(`${url}#/servers/ex02`);
    const pending = admin.locator('tbody tr', {has: admin.locator('.status-PendingRequest')});
    await pending.waitFor();
    check(await pending.locator('button', {hasText: 'Request (.csr)'}).count() === 1, 'the request downloads there');
    await shot(admin, 'server-pending-request');
    await pending.locator('button', {hasText: 'Remove'}).click();
    await admin.locator('dialog button', {hasText: /^Remove$/}).click();
    await admin.locator('dialog #targets tr[data-server="ex02"][data-state="succeeded"]').waitFor();
    await admin.locator('dialog button', {hasText: 'Close'}).click();
    await admin.goto(`${url}#/requests`);
    await admin.locator('#pending-requests', {hasText: 'No request is waiting'}).waitFor();
});

await step('servers: an admin registers ex09 (no agent there); the wizard\'s Cancel and Retry failed; delete', async () => {
    await admin.goto(`${url}#/servers`);
    await admin.locator('#register-server').click();
    const dialog = admin.locator('dialog');
    await dialog.locator('#server-name').fill('ex09');
    await dialog.locator('#server-url').fill('https://127.0.0.1:9009');
    await dialog.locator('#server-labels').fill('role=spare');
    await dialog.locator('button', {hasText: 'Register'}).click();
    await row(admin, 'ex09').waitFor();
    check((await row(admin, 'ex09').textContent()).includes('role=spare'), 'ex09 is listed with its label');

    await admin.goto(`${url}#/import`);
    await admin.locator('#import-file').setInputFiles(join(runDir, 'Fabrikam.pfx'));
    await admin.locator('#import-password').fill(fabrikamPassword);
    await admin.locator('.certificate-card').waitFor();
    await admin.locator('#to-servers').click();
    await admin.locator('#server-list li', {hasText: 'ex09'}).locator('input').check();
    await admin.locator('#server-list li', {hasText: 'ex01'}).locator('input').check();
    await admin.locator('#chosen', {hasText: 'ex09 unreachable'}).waitFor();
    await admin.locator('#finish').click();
    await admin.locator('#targets tr[data-server="ex01"][data-state="succeeded"]').waitFor();
    check((await admin.locator('#targets tr[data-server="ex01"]').textContent()).includes('alreadyInstalled'),
        'ex01 already had it');
    // Nothing answers at ex09: its attempts run out (4, with backoff) and it fails, saying why.
    await admin.locator('#targets tr[data-server="ex09"][data-state="failed"]').waitFor();
    const ex09 = await admin.locator('#targets tr[data-server="ex09"]').textContent();
    check(ex09.includes('agent-unreachable'), `ex09 failed with the reason: ${ex09}`);
    await admin.locator('#job-state .state-partiallySucceeded').waitFor();
    check(await admin.locator('#cancel-job').isHidden(), 'no Cancel on a finished job');
    await shot(admin, 'import-failed');
    await admin.locator('#retry-failed').click();
    await admin.locator('#targets tr[data-server="ex09"]:not([data-state="failed"])').waitFor();
    await admin.locator('#cancel-job').click();
    await admin.locator('#targets tr[data-server="ex09"][data-state="cancelled"]').waitFor();
    await admin.locator('#job-state .state-cancelled, #job-state .state-partiallySucceeded').first().waitFor();
    check(await admin.locator('#targets tr[data-server="ex01"][data-state="succeeded"]').count() === 1,
        'ex01 stays succeeded');

    await admin.goto(`${url}#/servers`);
    await row(admin, 'ex09').locator('button', {hasText: 'Edit'}).click();
    await admin.locator('dialog #server-labels').fill('role=spare site=paris');
    await admin.locator('dialog button', {hasText: 'Save'}).click();
    await admin.waitForFunction(() => document.querySelector('#servers-table').textContent.includes('site=paris'));
    await row(admin, 'ex09').locator('button', {hasText: 'Delete'}).click();
    await admin.locator('dialog button.primary', {hasText: 'Delete'}).click();
    await admin.waitForFunction(() => !document.querySelector('#servers-table').textContent.includes('ex09'));
});

await step('servers, jobs, a job\'s timeline, tokens and the audit log', async () => {
    await admin.goto(`${url}#/servers`);
    const ex01 = row(admin, 'ex01');
    await ex01.waitFor();
    const text = await ex01.textContent();
    check(text.includes('yes') && text.includes('role=mailbox') && text.includes('0.1.0'), `ex01 row: ${text}`);
    check(await admin.locator('#register-server').count() === 1, 'an admin may register a server');
    await shot(admin, 'servers');
    await admin.goto(`${url}#/jobs`);
    await admin.locator('#jobs tbody tr', {hasText: 'import'}).first().waitFor();
    await admin.locator('#job-state-filter').selectOption('failed');
    await admin.waitForFunction(() => [...document.querySelectorAll('#jobs tbody tr')]
        .every((tr) => tr.textContent.includes('failed')));
    await admin.locator('#jobs tbody tr', {hasText: 'remove'}).waitFor();
    await admin.locator('#job-state-filter').selectOption('');
    await admin.locator('#jobs tbody tr', {hasText: 'succeeded'}).first().waitFor();
    await shot(admin, 'jobs');
    await admin.locator('#jobs tbody tr', {hasText: 'remove'}).filter({hasText: 'failed'}).locator('a').click();
    await admin.locator('.timeline li', {hasText: 'certificate-in-use'}).waitFor();
    await shot(admin, 'job');
    await admin.goto(`${url}#/tokens`);
    await row(admin, 'console-viewer').waitFor();
    await admin.locator('#token-name').fill('ci-mail');
    await admin.locator('#token-role').selectOption('operator');
    await admin.locator('#token-scope').fill('role=mailbox');
    await admin.locator('button', {hasText: 'Create token'}).click();
    const secret = await admin.locator('#new-token').inputValue();
    check(secret.length >= 32, 'the new token is shown once');
    await row(admin, 'ci-mail').waitFor();
    check((await row(admin, 'ci-mail').textContent()).includes('role=mailbox'), 'with its scope');
    const made = await admin.request.get(`${origin}/v1/whoami`, {headers: {Authorization: `Bearer ${secret}`}});
    check((await made.json()).role === 'operator', 'the token shown works, as an operator');
    await shot(admin, 'tokens');
    await row(admin, 'ci-mail').locator('button', {hasText: 'Revoke'}).click();
    await admin.locator('dialog button.primary', {hasText: 'Revoke'}).click();
    await admin.waitForFunction(() => [...document.querySelectorAll('#tokens-table tbody tr')]
        .some((tr) => tr.textContent.includes('ci-mail') && !tr.querySelector('button')));
    const revoked = await admin.request.get(`${origin}/v1/whoami`, {headers: {Authorization: `Bearer ${secret}`}});
    check(revoked.status() === 401 && (await revoked.json()).code === 'token-revoked', 'a revoked token is refused');
    await admin.goto(`${url}#/audit`);
    await admin.locator('#audit tbody tr', {hasText: '/v1/servers/{name}/certificates/{thumbprint}/export'}).waitFor();
    await shot(admin, 'audit');
});

await step('a viewer sees no Import, no Enable, Remove or Export, and no admin page', async () => {
    const viewer = await openPage(1280, 900);
    await signIn(viewer, viewerToken);
    await row(viewer, 'mail.fabrikam.com').waitFor();
    check(await viewer.locator('nav a', {hasText: 'Import'}).count() === 0, 'no Import in the navigation');
    check(await viewer.locator('a', {hasText: 'Import a certificate'}).count() === 0, 'no Import button');
    check(await viewer.locator('nav a', {hasText: 'Tokens'}).count() === 0, 'no Tokens');
    await shot(viewer, 'viewer-certificates');
    await viewer.goto(`${url}#/servers/ex01`);
    await row(viewer, 'mail.fabrikam.com').waitFor();
    check(await viewer.locator('#server-certificates button').count() === 0, 'no action on a certificate');
    await viewer.goto(`${url}#/requests`);
    await viewer.locator('#pending-requests').waitFor();
    check(await viewer.locator('#make-request, #import-answers').count() === 0, 'no request or answer form');
    await viewer.goto(`${url}#/import`);
    await viewer.locator('main', {hasText: 'needs the operator role'}).waitFor();
    check(viewer.problems.length === 0, `no console error: ${viewer.problems.join('; ')}`);
    await viewer.context().close();
});

await step('390 px wide: every view fits the screen', async () => {
    const phone = await openPage(390, 844);
    await signIn(phone, adminToken);
    const views = [['certificates', 'mail.fabrikam.com'], ['servers', 'ex02'], ['servers/ex01', 'mail.fabrikam.com'],
        ['jobs', 'import'], ['tokens', 'console-viewer'], ['audit', '/v1/imports'], ['requests', 'Waiting for the CA'],
        ['import', 'Certificate file']];
    for (const [hash, text] of views) {
        await phone.goto(`${url}#/${hash}`);
        await phone.locator('main', {hasText: text}).waitFor();
        await phone.waitForLoadState('networkidle');
        const width = await phone.evaluate(() => document.documentElement.scrollWidth);
        check(width <= 390, `#/${hash} is ${width} px wide at 390`);
        // Screen readers: every control has a name (a label, or aria-label), every table a caption.
        const unnamed = await phone.evaluate(() => [...document.querySelectorAll('input, select, button')]
            .filter((e) => !(e.labels?.length || e.getAttribute('aria-label') || e.textContent.trim()))
            .map((e) => e.outerHTML.slice(0, 80)));
        check(unnamed.length === 0, `#/${hash}: controls without a name: ${unnamed.join(' ')}`);
        check(await phone.locator('table:not(:has(caption))').count() === 0, `#/${hash}: a table without caption`);
        await shot(phone, hash.replace('/', '-'));
    }
    await phone.locator('#import-file').setInputFiles(join(runDir, 'Fabrikam.pfx'));
    await phone.locator('#import-password').fill(fabrikamPassword);
    await phone.locator('.certificate-card').waitFor();
    await shot(phone, 'import-file');
    const jobs = await phone.evaluate(async () => (await (await fetch('/v1/jobs?limit=20', {headers:
        {Authorization: `Bearer ${sessionStorage.getItem('certdeploy.token')}`}})).json()).jobs);
    await phone.goto(`${url}#/jobs/${jobs.find((j) => j.kind === 'import').id}`);
    await phone.locator('.timeline').first().waitFor();
    await shot(phone, 'job');
    check(phone.problems.length === 0, `no console error: ${phone.problems.join('; ')}`);
    await phone.context().close();
});

await step('no console error, no uncaught exception, no request to another host (admin session)', async () => {
    check(admin.problems.length === 0, admin.problems.join('; '));
});

await browser.close();
console.log(`${passed} passed, ${failures.length} failed; screenshots in ${shots}`);
for (const failure of failures) {
    console.log(`FAIL: ${failure}`);
}
process.exit(failures.length ? 1 : 0);
