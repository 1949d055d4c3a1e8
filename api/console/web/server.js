// One server: its agent, and its certificates as the agent answers now (Get-ExchangeCertificate -Server,
// Format-List FriendlyName,Subject,CertificateDomains,Thumbprint,NotBefore,NotAfter, plus Services and
// Status), with Enable for services, Export (admin) and Remove.

import {call} from './api.js';
import {download, expiryCell, field, fill, formatTime, h, openDialog, statusBadge} from './dom.js';
import {errorBox, jobProgress} from './views.js';

export async function renderServer(main, [name], ctx) {
    const details = h('div', {id: 'server-details'});
    const table = h('div', {id: 'server-certificates', 'aria-live': 'polite'});
    fill(main, h('p', {class: 'crumbs'}, h('a', {href: '#/servers'}, 'Servers'), ' › ', name),
        h('h1', {}, name), details, h('h2', {}, 'Certificates'), table);

    const load = async () => {
        try {
            const server = await call('GET', `/v1/servers/${encodeURIComponent(name)}`);
            fill(details, serverFacts(server));
        } catch (e) {
            fill(details, errorBox(e));
            return;
        }
        fill(table, h('p', {class: 'muted'}, 'Asking the agent…'));
        try {
            const answer = await call('GET', `/v1/servers/${encodeURIComponent(name)}/certificates`);
            fill(table, certificatesTable(answer.certificates, name, ctx, load));
        } catch (e) {
            fill(table, errorBox(e));
        }
    };
    await load();
}

function serverFacts(s) {
    const row = (label, ...value) => [h('dt', {}, label), h('dd', {}, ...value)];
    return h('dl', {class: 'facts'},
        row('Agent', h('code', {}, s.agentUrl)),
        row('Reachable', h('span', {class: s.reachable ? 'reachable' : 'unreachable'}, s.reachable ? 'yes' : 'no'),
            s.pending ? h('span', {class: 'warning'}, ' · waiting for approval') : ''),
        row('Agent version', s.agentVersion || '—'),
        row('Last contact', formatTime(s.lastContact)),
        row('Labels', Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(' ') || '—'),
        s.identityExpiresAt ? row('Agent identity until', formatTime(s.identityExpiresAt)) : null);
}

function certificatesTable(certificates, server, ctx, reload) {
    if (!certificates.length) {
        return h('p', {class: 'empty'}, 'This server holds no certificate from certdeploy yet.');
    }
    const head = ['FriendlyName', 'Subject', 'CertificateDomains', 'Thumbprint', 'NotBefore', 'NotAfter', 'Services',
        'Status', 'Actions'];
    return h('div', {class: 'table-scroll'}, h('table', {},
        h('caption', {class: 'visually-hidden'}, `Certificates on ${server}`),
        h('thead', {}, h('tr', {}, head.map((label) => h('th', {scope: 'col'}, label)))),
        h('tbody', {}, certificates.map((c) => h('tr', {dataset: {thumbprint: c.thumbprint}},
            h('td', {dataset: {label: 'FriendlyName'}}, c.friendlyName || '—'),
            h('td', {dataset: {label: 'Subject'}}, c.subject),
            h('td', {dataset: {label: 'CertificateDomains'}}, (c.certificateDomains || []).join(', ')),
            h('td', {dataset: {label: 'Thumbprint'}}, h('code', {class: 'thumbprint'}, c.thumbprint)),
            h('td', {dataset: {label: 'NotBefore'}}, formatTime(c.notBefore)),
            h('td', {dataset: {label: 'NotAfter'}}, expiryCell(c.notAfter)),
            h('td', {dataset: {label: 'Services'}}, (c.services || []).join(', ') || '—'),
            h('td', {dataset: {label: 'Status'}}, statusBadge(c.status, c)),
            h('td', {dataset: {label: 'Actions'}, class: 'row-actions'}, actions(c, server, ctx, reload)))))));
}

function actions(c, server, ctx, reload) {
    const label = c.friendlyName || c.subject;
    const out = [];
    if (c.status === 'PendingRequest') {
        // Its request for the CA; then Remove, which deletes the key that waited for the answer.
        out.push(h('button', {type: 'button', 'aria-label': `Download the certificate request for ${label}`,
            onclick: () => downloadRequest(c, server)}, 'Request (.csr)'));
        if (ctx.can('operator')) {
            out.push(h('button', {type: 'button', class: 'danger', 'aria-label': `Remove the request for ${label}`,
                onclick: () => removeDialog(c, server, ctx, reload)}, 'Remove…'));
        }
        return out;
    }
    if (ctx.can('operator')) {
        out.push(h('button', {type: 'button', 'aria-label': `Enable ${label} for services`,
            onclick: () => enableDialog(c, server, ctx, reload)}, 'Enable…'));
    }
    if (ctx.can('operator')) {
        out.push(h('button', {type: 'button', 'aria-label': `Renew ${label}`,
            onclick: () => renewDialog(c, ctx, reload)}, 'Renew…'));
    }
    if (ctx.can('admin') && c.hasPrivateKey) {
        out.push(h('button', {type: 'button', 'aria-label': `Export ${label}`,
            onclick: () => exportDialog(c, server)}, 'Export…'));
    }
    if (ctx.can('operator')) {
        out.push(h('button', {type: 'button', class: 'danger', 'aria-label': `Remove ${label}`,
            onclick: () => removeDialog(c, server, ctx, reload)}, 'Remove…'));
    }
    return out.length ? out : '—';
}

// Runs a job of one server in the dialog and shows its outcome there.
async function runInDialog(dialog, body, request, ctx, reload) {
    const error = h('div');
    body.append(error);
    try {
        const job = await request();
        fill(body, jobProgress(job, ctx, {onFinal: () => reload()}));
        for (const button of dialog.querySelectorAll('.actions button.primary')) {
            button.remove();
        }
    } catch (e) {
        fill(error, errorBox(e));
    }
}

function enableDialog(c, server, ctx, reload) {
    const services = h('input', {id: 'enable-services', type: 'text', required: true, autocomplete: 'off',
        value: (c.services || []).join(', '), placeholder: 'web'});
    const body = h('div', {}, h('p', {}, `Bind ${c.subject} (${c.thumbprint}) on ${server} to services; a service ` +
        'bound to another certificate moves to this one, and is reloaded (and rolled back if it fails).'),
    field('Services', services, 'Comma-separated, as the agent\'s configuration names them.'));
    const go = h('button', {type: 'button', class: 'primary', onclick: () => {
        const names = services.value.split(',').map((s) => s.trim()).filter(Boolean);
        go.disabled = true;
        runInDialog(dialog, body, () => call('POST', `/v1/certificates/${c.thumbprint}/enable`,
            {json: {servers: [server], services: names}}), ctx, reload).finally(() => {
            go.disabled = false;
        });
    }}, 'Enable');
    const dialog = openDialog(`Enable on ${server}`, body, [h('button', {type: 'button',
        onclick: () => dialog.close()}, 'Close'), go]);
    services.focus();
}

function removeDialog(c, server, ctx, reload) {
    const inUse = (c.services || []).length;
    const body = h('div', {}, h('p', {}, `Remove ${c.subject} (${c.thumbprint}) from ${server}?`),
        inUse ? h('p', {class: 'warning'}, `It is bound to ${c.services.join(', ')}: the agent refuses to remove it ` +
            '(certificate-in-use) until another certificate is enabled for that service.') : null);
    const go = h('button', {type: 'button', class: 'primary danger', onclick: () => {
        go.disabled = true;
        runInDialog(dialog, body, () => call('POST', `/v1/certificates/${c.thumbprint}/remove`,
            {json: {servers: [server]}}), ctx, reload);
    }}, 'Remove');
    const dialog = openDialog(`Remove from ${server}`, body, [h('button', {type: 'button',
        onclick: () => dialog.close()}, 'Close'), go]);
}

function renewDialog(c, ctx, reload) {
    const body = h('div', {}, h('p', {}, `Renew ${c.subject} (${c.thumbprint}): every server that holds it makes a ` +
        'new key pair and a request with the same subject, domains and key size. Import the CA\'s answers on the ' +
        'Requests page, then enable the new certificate for the services.'));
    const go = h('button', {type: 'button', class: 'primary', onclick: () => {
        go.disabled = true;
        runInDialog(dialog, body, () => call('POST', `/v1/certificates/${c.thumbprint}/renew`, {json: {}}), ctx,
            reload);
    }}, 'Renew');
    const dialog = openDialog(`Renew ${c.friendlyName || c.subject}`, body, [h('button', {type: 'button',
        onclick: () => dialog.close()}, 'Close'), go]);
}

async function downloadRequest(c, server) {
    const res = await call('GET', `/v1/servers/${encodeURIComponent(server)}/requests/${c.thumbprint}`, {raw: true});
    download(await res.blob(), `${server}-${c.thumbprint}.csr`);
}

function exportDialog(c, server) {
    const password = h('input', {id: 'export-password', type: 'password', autocomplete: 'new-password', required: true});
    const again = h('input', {id: 'export-password-again', type: 'password', autocomplete: 'new-password',
        required: true});
    const profile = h('select', {id: 'export-profile'}, h('option', {value: 'modern'}, 'modern (AES-256)'),
        h('option', {value: 'legacy'}, 'legacy (3DES, for old Windows)'));
    const error = h('div');
    const body = h('form', {}, h('p', {}, `Export ${c.subject} with its private key from ${server} as a PKCS #12 ` +
        'file. The export is recorded in the audit log.'),
    field('Password for the file', password), field('The password again', again), field('Profile', profile), error);
    const go = h('button', {type: 'button', class: 'primary', onclick: async () => {
        fill(error);
        if (!password.value || password.value !== again.value) {
            fill(error, errorBox({code: 'password-mismatch', message: 'Type the same, non-empty password twice.'}));
            return;
        }
        go.disabled = true;
        try {
            const res = await call('POST', `/v1/servers/${encodeURIComponent(server)}/certificates/${c.thumbprint}/export`,
                {json: {password: password.value, profile: profile.value}, raw: true});
            const name = (c.friendlyName || c.thumbprint).replace(/[^A-Za-z0-9._-]+/g, '_');
            download(await res.blob(), `${name}.pfx`);
            password.value = '';
            again.value = '';
            dialog.close();
        } catch (e) {
            fill(error, errorBox(e));
        } finally {
            go.disabled = false;
        }
    }}, 'Export');
    const dialog = openDialog(`Export from ${server}`, body, [h('button', {type: 'button',
        onclick: () => dialog.close()}, 'Cancel'), go]);
    password.focus();
}
