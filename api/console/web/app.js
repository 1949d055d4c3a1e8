// The console's shell: sign-in, the navigation the caller's role allows, and a view per location hash
// (#/certificates, #/servers/ex01, #/jobs/ID…). The hash never holds a secret.

import {authEvents, call, setToken, token} from './api.js';
import {fill, h} from './dom.js';
import {renderTokens, renderAudit} from './access.js';
import {renderCertificates} from './certificates.js';
import {renderImport} from './import.js';
import {renderJob, renderJobs} from './jobs.js';
import {renderRequests} from './requests.js';
import {renderServer} from './server.js';
import {renderServers} from './servers.js';

const ROLES = ['viewer', 'operator', 'admin'];

const VIEWS = [
    {path: /^certificates$/, nav: 'certificates', title: 'Certificates', render: renderCertificates},
    {path: /^servers$/, nav: 'servers', title: 'Servers', render: renderServers},
    {path: /^servers\/(.+)$/, nav: 'servers', title: 'Server', render: renderServer},
    {path: /^import$/, nav: 'import', title: 'Import', role: 'operator', render: renderImport},
    {path: /^requests$/, nav: 'requests', title: 'Requests', render: renderRequests},
    {path: /^jobs$/, nav: 'jobs', title: 'Jobs', render: renderJobs},
    {path: /^jobs\/(.+)$/, nav: 'jobs', title: 'Job', render: renderJob},
    {path: /^tokens$/, nav: 'tokens', title: 'Tokens', role: 'admin', render: renderTokens},
    {path: /^audit$/, nav: 'audit', title: 'Audit log', role: 'admin', render: renderAudit},
];

const NAV = [
    {id: 'certificates', label: 'Certificates'},
    {id: 'servers', label: 'Servers'},
    {id: 'import', label: 'Import', role: 'operator'},
    {id: 'requests', label: 'Requests'},
    {id: 'jobs', label: 'Jobs'},
    {id: 'tokens', label: 'Tokens', role: 'admin'},
    {id: 'audit', label: 'Audit log', role: 'admin'},
];

const root = document.getElementById('app');
const announcer = document.getElementById('announce');
let who = null;
let leaving = null;  // aborts the current view's streams when another is shown

function can(role) {
    return who !== null && ROLES.indexOf(who.role) >= ROLES.indexOf(role);
}

// Read by screen readers without moving the focus (progress, results of actions).
export function announce(text) {
    announcer.textContent = '';
    setTimeout(() => {
        announcer.textContent = text;
    }, 50);
}

function signInView(message) {
    const input = h('input', {id: 'token', name: 'token', type: 'password', autocomplete: 'off', required: true,
        spellcheck: 'false', 'aria-describedby': 'token-hint'});
    const error = h('div', {id: 'sign-in-error', role: 'alert', class: message ? 'error' : ''}, message || '');
    const button = h('button', {type: 'submit', class: 'primary'}, 'Sign in');
    const form = h('form', {class: 'sign-in', 'aria-labelledby': 'sign-in-title'},
        h('h1', {id: 'sign-in-title'}, 'Sign in to certdeploy'),
        h('div', {class: 'field'},
            h('label', {for: 'token'}, 'API token'),
            input,
            h('small', {id: 'token-hint', class: 'hint'},
                'A token made by `certdeploy token create` or by an admin. It is kept in this tab only ' +
                '(sessionStorage) and sent only to this controller.')),
        error, button);
    form.addEventListener('submit', async (event) => {
        event.preventDefault();
        button.disabled = true;
        fill(error);
        error.className = '';
        setToken(input.value.trim());
        input.value = '';
        try {
            who = await call('GET', '/v1/whoami');
            start();
        } catch (e) {
            setToken(null);
            error.className = 'error';
            fill(error, h('strong', {}, e.code), ' ', e.message);
            button.disabled = false;
            input.focus();
        }
    });
    fill(root, h('main', {id: 'main'}, form));
    input.focus();
}

function signOut(message) {
    leaving?.abort();
    setToken(null);
    who = null;
    signInView(message);
}

function shell() {
    const nav = h('nav', {'aria-label': 'Main'}, h('ul', {}, NAV.filter((item) => !item.role || can(item.role))
        .map((item) => h('li', {}, h('a', {href: `#/${item.id}`, dataset: {nav: item.id}}, item.label)))));
    const scope = who.scope ? Object.entries(who.scope).map(([k, v]) => `${k}=${v}`).join(',') : null;
    const header = h('header', {class: 'top'},
        h('a', {class: 'brand', href: '#/certificates'}, h('img', {src: '/console/icon.svg', alt: ''}), 'certdeploy'),
        nav,
        h('div', {class: 'who'},
            h('span', {title: 'Signed in as'}, who.name, ' · ', h('strong', {}, who.role), scope ? ` · ${scope}` : ''),
            h('button', {type: 'button', onclick: () => signOut('Signed out.')}, 'Sign out')));
    const main = h('main', {id: 'main', tabindex: '-1'});
    fill(root, h('a', {class: 'skip', href: '#main', onclick: (e) => {
        e.preventDefault();
        main.focus();
    }}, 'Skip to content'), header, main);
    return main;
}

async function route() {
    if (!who) {
        return;
    }
    const path = decodeURIComponent(location.hash.replace(/^#\/?/, '')) || 'certificates';
    let view = null;
    let params = [];
    for (const candidate of VIEWS) {
        const match = candidate.path.exec(path);
        if (match) {
            view = candidate;
            params = match.slice(1);
            break;
        }
    }
    leaving?.abort();
    leaving = new AbortController();
    const main = document.getElementById('main') || shell();
    for (const link of document.querySelectorAll('nav a')) {
        if (view && link.dataset.nav === view.nav) {
            link.setAttribute('aria-current', 'page');
        } else {
            link.removeAttribute('aria-current');
        }
    }
    if (!view || (view.role && !can(view.role))) {
        fill(main, h('h1', {}, 'Not here'), h('p', {class: 'error', role: 'alert'},
            view ? `This page needs the ${view.role} role; you signed in as ${who.role}.` : `No page "${path}".`),
        h('p', {}, h('a', {href: '#/certificates'}, 'Back to the certificates')));
        return;
    }
    document.title = `${view.title} · certdeploy`;
    fill(main);
    const ctx = {who, can, announce, signal: leaving.signal, go: (hash) => {
        location.hash = hash;
    }};
    await view.render(main, params, ctx);
    // Focus moves to the new view's heading, as a page load would, so that screen readers read it.
    const heading = main.querySelector('h1');
    if (heading && !main.contains(document.activeElement)) {
        heading.setAttribute('tabindex', '-1');
        heading.focus({preventScroll: true});
    }
}

function start() {
    shell();
    if (!location.hash) {
        history.replaceState(null, '', '#/certificates');
    }
    route();
}

// A token that stops working (revoked, expired) signs the tab out; a wrong one typed at sign-in is answered
// on the sign-in form itself.
authEvents.addEventListener('unauthenticated', (event) => {
    if (who !== null) {
        signOut(`Signed out: ${event.detail.message}`);
    }
});
window.addEventListener('hashchange', route);

(async () => {
    if (!token()) {
        signInView();
        return;
    }
    try {
        who = await call('GET', '/v1/whoami');
        start();
    } catch (e) {
        if (who === null && e.status !== 401) {
            signInView(e.message);
        }
    }
})();
