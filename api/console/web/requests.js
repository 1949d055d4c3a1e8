// Certificate requests (New-ExchangeCertificate -GenerateRequest, across the fleet): a new request made on the
// chosen servers, each server making its own key pair; the requests waiting for their CA, each downloadable as
// the .csr a CA takes; and the CA's answers imported together, each finding the server whose request it
// completes — no server to choose.

import {call, callAll} from './api.js';
import {download, field, fill, formatTime, h} from './dom.js';
import {errorBox, jobProgress} from './views.js';

const KEYS = [
    {label: 'RSA 2048', keyAlgorithm: 'RSA', keySize: 2048},
    {label: 'RSA 3072', keyAlgorithm: 'RSA', keySize: 3072},
    {label: 'RSA 4096', keyAlgorithm: 'RSA', keySize: 4096},
    {label: 'ECDSA P-256', keyAlgorithm: 'ECDSA', keySize: 256},
    {label: 'ECDSA P-384', keyAlgorithm: 'ECDSA', keySize: 384},
];

export async function renderRequests(main, _params, ctx) {
    const pending = h('div', {id: 'pending-requests'});
    const progress = h('div', {id: 'request-progress'});
    fill(main, h('h1', {}, 'Certificate requests'),
        h('p', {}, 'A request is made on each server: the key pair never leaves it. Give the requests to your ' +
            'certification authority, then import its answers here; each completes the request it belongs to.'),
        ctx.can('operator') ? await newRequestForm(ctx, progress, () => listPending(pending)) : null,
        progress,
        h('h2', {}, 'Waiting for the CA'), pending,
        ctx.can('operator') ? answersForm(ctx, progress, () => listPending(pending)) : null);
    await listPending(pending);
}

async function newRequestForm(ctx, progress, reload) {
    let servers = [];
    try {
        servers = (await callAll('/v1/servers', 'servers')).filter((s) => !s.pending);
    } catch (e) {
        return errorBox(e);
    }
    const subject = h('input', {id: 'request-subject', type: 'text', autocomplete: 'off',
        placeholder: 'CN=mail.contoso.com, O=Contoso, C=US'});
    const domains = h('input', {id: 'request-domains', type: 'text', autocomplete: 'off',
        placeholder: 'mail.contoso.com, autodiscover.contoso.com'});
    const key = h('select', {id: 'request-key'}, KEYS.map((k, i) => h('option', {value: String(i)}, k.label)));
    const friendlyName = h('input', {id: 'request-friendly-name', type: 'text', autocomplete: 'off'});
    const exportable = h('input', {id: 'request-exportable', type: 'checkbox'});
    const boxes = servers.map((s) => h('input', {type: 'checkbox', value: s.name, id: `request-server-${s.name}`}));
    const serverList = h('fieldset', {class: 'server-checks'}, h('legend', {}, 'Servers'),
        servers.length ? servers.map((s, i) => h('label', {for: boxes[i].id}, boxes[i], ` ${s.name}`,
            s.reachable === false ? h('span', {class: 'muted'}, ' (unreachable)') : ''))
            : h('p', {class: 'empty'}, 'No server is registered.'));
    const error = h('div');
    const submit = h('button', {type: 'submit', class: 'primary', id: 'make-request'}, 'Make the requests');
    const form = h('form', {class: 'wizard-step', 'aria-label': 'New certificate request'},
        h('h2', {}, 'New request'),
        field('Subject', subject, 'As the certificate will name it; the first domain when left empty.'),
        field('Domains', domains, 'DNS names, comma-separated: the certificate\'s subject alternative names.'),
        field('Key', key),
        field('Friendly name (optional)', friendlyName),
        h('label', {for: exportable.id}, exportable, ' Private key exportable once the certificate is installed'),
        serverList, error, h('div', {class: 'actions'}, submit));
    form.addEventListener('submit', async (event) => {
        event.preventDefault();
        fill(error);
        const chosen = boxes.filter((b) => b.checked).map((b) => b.value);
        if (!chosen.length) {
            fill(error, errorBox({code: 'no-servers', message: 'Choose at least one server.'}));
            return;
        }
        const {keyAlgorithm, keySize} = KEYS[Number(key.value)];
        const body = {servers: chosen, keyAlgorithm, keySize, privateKeyExportable: exportable.checked};
        if (subject.value.trim()) {
            body.subject = subject.value.trim();
        }
        const names = domains.value.split(',').map((d) => d.trim()).filter(Boolean);
        if (names.length) {
            body.domains = names;
        }
        if (friendlyName.value.trim()) {
            body.friendlyName = friendlyName.value.trim();
        }
        submit.disabled = true;
        try {
            const job = await call('POST', '/v1/requests', {json: body,
                extraHeaders: {'Idempotency-Key': crypto.randomUUID()}});
            fill(progress, jobProgress(job, ctx, {onFinal: reload}));
            ctx.announce(`Requests asked on ${chosen.join(', ')}`);
        } catch (e) {
            fill(error, errorBox(e));
        } finally {
            submit.disabled = false;
        }
    });
    return form;
}

function answersForm(ctx, progress, reload) {
    const files = h('input', {id: 'answer-files', type: 'file', multiple: true, accept: '.cer,.crt,.der,.pem,.p7b,.p7c',
        required: true});
    const error = h('div');
    const submit = h('button', {type: 'submit', class: 'primary', id: 'import-answers'}, 'Import the answers');
    const form = h('form', {class: 'wizard-step', 'aria-label': 'Import the CA\'s answers'},
        h('h2', {}, 'Import the CA\'s answers'),
        field('Answers', files, 'One file or several (.cer, .crt, .p7b): each goes to the server whose request ' +
            'has its key. If one matches no request, nothing is imported.'),
        error, h('div', {class: 'actions'}, submit));
    form.addEventListener('submit', async (event) => {
        event.preventDefault();
        fill(error);
        if (!files.files.length) {
            fill(error, errorBox({code: 'no-file', message: 'Choose the CA\'s answer files.'}));
            return;
        }
        const upload = new FormData();
        for (const file of files.files) {
            upload.append('file', file);
        }
        submit.disabled = true;
        try {
            const answer = await call('POST', '/v1/imports', {form: upload,
                extraHeaders: {'Idempotency-Key': crypto.randomUUID()}});
            const jobs = answer.jobs || [answer];
            fill(progress, jobs.map((job) => jobProgress(job, ctx, {onFinal: reload})));
            files.value = '';
            ctx.announce(`${jobs.length} answer(s) imported`);
        } catch (e) {
            fill(error, errorBox(e));
        } finally {
            submit.disabled = false;
        }
    });
    return form;
}

async function listPending(node) {
    let requests;
    try {
        requests = await callAll('/v1/requests', 'requests');
    } catch (e) {
        fill(node, errorBox(e));
        return;
    }
    if (!requests.length) {
        fill(node, h('p', {class: 'empty'}, 'No request is waiting for its CA.'));
        return;
    }
    fill(node, h('div', {class: 'table-scroll'}, h('table', {id: 'requests-table'},
        h('caption', {class: 'visually-hidden'}, 'Requests waiting for their CA'),
        h('thead', {}, h('tr', {}, ['Server', 'Subject', 'Domains', 'Key', 'Requested', 'Request']
            .map((label) => h('th', {scope: 'col'}, label)))),
        h('tbody', {}, requests.map((r) => h('tr', {dataset: {server: r.server, id: r.id}},
            h('th', {scope: 'row', dataset: {label: 'Server'}},
                h('a', {href: `#/servers/${encodeURIComponent(r.server)}`}, r.server)),
            h('td', {dataset: {label: 'Subject'}}, r.subject),
            h('td', {dataset: {label: 'Domains'}}, (r.certificateDomains || []).join(', ')),
            h('td', {dataset: {label: 'Key'}}, `${r.keyAlgorithm} ${r.publicKeySize}`),
            h('td', {dataset: {label: 'Requested'}}, formatTime(r.requestedAt)),
            h('td', {dataset: {label: 'Request'}}, h('button', {type: 'button',
                'aria-label': `Download the request of ${r.server}`,
                onclick: () => downloadCsr(r, node)}, '.csr'))))))));
}

async function downloadCsr(request, node) {
    try {
        const res = await call('GET', `/v1/servers/${encodeURIComponent(request.server)}/requests/${request.id}`,
            {raw: true});
        download(await res.blob(), `${request.server}-${request.id}.csr`);
    } catch (e) {
        node.prepend(errorBox(e));
    }
}
