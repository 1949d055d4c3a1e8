// The import wizard (Exchange's "Import Exchange certificate", improved): 1. the file and its password, checked
// at once by the controller's dry run, which shows the certificate or the precise refusal before any server
// is chosen; 2. the servers (searchable, with reachability; by label; all), services and "private key
// exportable", then Finish; 3. every server's progress, live, with Retry failed and Cancel.

import {call, callAll} from './api.js';
import {daysLeft, expiryCell, field, fill, formatTime, h, statusBadge} from './dom.js';
import {errorBox, jobProgress} from './views.js';

const ACCEPT = '.pfx,.p12,.cer,.crt,.der,.pem,.p7b,.p7c';

export async function renderImport(main, _params, ctx) {
    const state = {file: null, plan: null, servers: [], selected: new Set(), services: []};
    const steps = ['Certificate file', 'Servers', 'Progress'];
    const stepList = h('ol', {class: 'steps', 'aria-label': 'Steps of the import'});
    const panel = h('div', {class: 'wizard-panel'});
    fill(main, h('h1', {}, 'Import a certificate'), stepList, panel);

    const showStep = (index) => {
        fill(stepList, steps.map((label, i) => h('li', {'aria-current': i === index ? 'step' : null,
            class: i < index ? 'done' : ''}, `${i + 1}. ${label}`)));
    };

    // Step 1 ---------------------------------------------------------------------------------------------
    const fileInput = h('input', {id: 'import-file', name: 'file', type: 'file', accept: ACCEPT, required: true});
    const password = h('input', {id: 'import-password', name: 'password', type: 'password', autocomplete: 'off'});
    const friendlyName = h('input', {id: 'import-friendly-name', name: 'friendlyName', type: 'text',
        autocomplete: 'off'});
    const checkResult = h('div', {id: 'dry-run', 'aria-live': 'polite'});
    const next = h('button', {type: 'submit', class: 'primary', id: 'to-servers', disabled: true}, 'Next: servers');
    const step1 = h('form', {class: 'wizard-step', 'aria-label': 'Certificate file'},
        h('p', {}, 'Choose the file a certification authority delivered, or one exported from another server ' +
            '(.pfx/.p12, .cer/.crt/.der, .p7b/.p7c), and type its password. The controller reads it at once ' +
            'and shows what it holds; nothing reaches a server before Finish.'),
        field('File', fileInput),
        field('Password', password, 'Needed for a .pfx/.p12; sent only with this file.'),
        field('Friendly name (optional)', friendlyName, 'As Exchange shows it; the file\'s own name otherwise.'),
        checkResult,
        h('div', {class: 'actions'}, next));

    let generation = 0;
    const check = async () => {
        const mine = ++generation;
        state.plan = null;
        next.disabled = true;
        if (!fileInput.files.length) {
            fill(checkResult);
            return;
        }
        fill(checkResult, h('p', {class: 'muted'}, 'Checking the file…'));
        const form = new FormData();
        form.append('file', fileInput.files[0]);
        if (password.value) {
            form.append('password', password.value);
        }
        form.append('dryRun', 'true');
        try {
            const plan = await call('POST', '/v1/imports', {form});
            if (mine !== generation) {
                return;
            }
            state.plan = plan;
            state.file = fileInput.files[0];
            // A CA's answer to requests made on servers: those servers are chosen for it (still changeable).
            state.selected = new Set(plan.servers.map((s) => s.name));
            fill(checkResult, certificateCard(plan.certificate),
                plan.servers.length ? h('p', {id: 'completes', class: 'note'},
                    `Completes the pending certificate request on ${plan.servers.map((s) => s.name).join(', ')}: ` +
                    'the private key made there joins this certificate.') : '');
            next.disabled = false;
            ctx.announce(`The file holds ${plan.certificate.subject}, status ${plan.certificate.status}`);
        } catch (e) {
            if (mine === generation) {
                fill(checkResult, errorBox(e));
                ctx.announce(`The file was refused: ${e.message}`);
            }
        }
    };
    let timer = null;
    fileInput.addEventListener('change', check);
    password.addEventListener('input', () => {
        clearTimeout(timer);
        timer = setTimeout(check, 400);
    });
    step1.addEventListener('submit', (event) => {
        event.preventDefault();
        if (state.plan) {
            showServers();
        }
    });

    // Step 2 ---------------------------------------------------------------------------------------------
    const showServers = async () => {
        showStep(1);
        fill(panel, h('p', {class: 'muted'}, 'Loading the servers…'));
        try {
            const [servers, inventory] = await Promise.all([callAll('/v1/servers', 'servers'),
                callAll('/v1/certificates', 'certificates')]);
            state.servers = servers.filter((s) => !s.pending);
            state.services = [...new Set(inventory.flatMap((c) => c.servers.flatMap((s) => s.services)))].sort();
        } catch (e) {
            fill(panel, errorBox(e));
            return;
        }
        const search = h('input', {id: 'server-search', type: 'search', placeholder: 'name or label'});
        const list = h('ul', {class: 'server-picker', id: 'server-list'});
        const chosen = h('p', {id: 'chosen', 'aria-live': 'polite'});
        const labels = [...new Set(state.servers.flatMap((s) => Object.entries(s.labels).map(([k, v]) => `${k}=${v}`)))]
            .sort();
        const labelSelect = h('select', {id: 'label-select'}, labels.map((l) => h('option', {value: l}, l)));
        const services = h('input', {id: 'import-services', name: 'services', type: 'text', list: 'known-services',
            autocomplete: 'off', placeholder: 'web, smtp'});
        const exportable = h('input', {id: 'import-exportable', type: 'checkbox', name: 'privateKeyExportable'});
        const finishError = h('div');
        const finish = h('button', {type: 'submit', class: 'primary', id: 'finish'}, 'Finish');

        const matches = (server, text) => !text || server.name.includes(text) ||
            Object.entries(server.labels).some(([k, v]) => `${k}=${v}`.includes(text));
        const renderList = () => {
            const text = search.value.trim().toLowerCase();
            fill(list, state.servers.filter((s) => matches(s, text)).map((s) => {
                const box = h('input', {type: 'checkbox', id: `pick-${s.name}`, value: s.name,
                    checked: state.selected.has(s.name), onchange: (e) => {
                        if (e.target.checked) {
                            state.selected.add(s.name);
                        } else {
                            state.selected.delete(s.name);
                        }
                        renderChosen();
                    }});
                return h('li', {}, box, h('label', {for: box.id}, h('strong', {}, s.name), ' ',
                    h('span', {class: s.reachable ? 'reachable' : 'unreachable'},
                        s.reachable ? 'reachable' : 'unreachable'),
                    ' ', h('span', {class: 'labels'}, Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(' '))));
            }));
            if (!state.servers.length) {
                fill(list, h('li', {class: 'empty'}, 'No server is registered (or within your token\'s scope).'));
            }
        };
        const renderChosen = () => {
            chosen.textContent = `${state.selected.size} of ${state.servers.length} server(s) chosen`;
            const unreachable = [...state.selected].filter((n) => !state.servers.find((s) => s.name === n)?.reachable);
            if (unreachable.length) {
                chosen.append(h('span', {class: 'warning'},
                    ` — ${unreachable.join(', ')} unreachable now: its target will be retried, then fail`));
            }
        };
        const select = (predicate) => {
            for (const s of state.servers) {
                if (predicate(s)) {
                    state.selected.add(s.name);
                }
            }
            renderList();
            renderChosen();
        };
        search.addEventListener('input', renderList);

        const form = h('form', {class: 'wizard-step', 'aria-label': 'Servers'},
            h('div', {class: 'chosen-certificate'}, 'Importing ', h('strong', {}, state.plan.certificate.subject),
                ' ', statusBadge(state.plan.certificate.status, state.plan.certificate)),
            h('fieldset', {}, h('legend', {}, 'Servers'),
                field('Search', search),
                h('div', {class: 'actions'},
                    h('button', {type: 'button', id: 'select-all', onclick: () => select(() => true)}, 'Select all'),
                    h('button', {type: 'button', id: 'select-none', onclick: () => {
                        state.selected.clear();
                        renderList();
                        renderChosen();
                    }}, 'Select none'),
                    labels.length ? h('span', {class: 'inline-field'}, h('label', {for: labelSelect.id}, 'Label'),
                        labelSelect, h('button', {type: 'button', id: 'select-label', onclick: () => {
                            const [k, ...rest] = labelSelect.value.split('=');
                            select((s) => s.labels[k] === rest.join('='));
                        }}, 'Select by label')) : null),
                list, chosen),
            h('fieldset', {}, h('legend', {}, 'Options'),
                field('Services to enable (optional)', services,
                    'Comma-separated names of the agents\' services, bound once the certificate is installed.'),
                h('datalist', {id: 'known-services'}, state.services.map((s) => h('option', {value: s}))),
                h('div', {class: 'check'}, exportable, h('label', {for: exportable.id},
                    'Private key exportable (Export can then take it off the server again)'))),
            finishError,
            h('div', {class: 'actions'},
                h('button', {type: 'button', onclick: () => {
                    showStep(0);
                    fill(panel, step1);
                }}, 'Back'),
                finish));
        form.addEventListener('submit', async (event) => {
            event.preventDefault();
            fill(finishError);
            if (!state.selected.size) {
                fill(finishError, errorBox({code: 'no-servers', message: 'Choose at least one server.'}));
                return;
            }
            finish.disabled = true;
            const upload = new FormData();
            upload.append('file', state.file);
            if (password.value) {
                upload.append('password', password.value);
            }
            upload.append('servers', [...state.selected].join(','));
            if (services.value.trim()) {
                upload.append('services', services.value.split(',').map((s) => s.trim()).filter(Boolean).join(','));
            }
            if (exportable.checked) {
                upload.append('privateKeyExportable', 'true');
            }
            if (friendlyName.value.trim()) {
                upload.append('friendlyName', friendlyName.value.trim());
            }
            try {
                // One key per wizard run: a double click or a resent request makes one job, not two.
                const job = await call('POST', '/v1/imports', {form: upload,
                    extraHeaders: {'Idempotency-Key': crypto.randomUUID()}});
                password.value = '';  // not kept once the controller has it
                state.file = null;
                showProgress(job);
            } catch (e) {
                fill(finishError, errorBox(e));
                finish.disabled = false;
            }
        });
        fill(panel, form);
        renderList();
        renderChosen();
        search.focus();
    };

    // Step 3 ---------------------------------------------------------------------------------------------
    const showProgress = (job) => {
        showStep(2);
        const done = h('p', {class: 'muted', id: 'import-done'});
        fill(panel, h('h2', {}, `Importing on ${job.targets.length} server(s)`),
            jobProgress(job, ctx, {onFinal: (final) => {
                fill(done, final.state === 'succeeded' ? 'Every server has the certificate. ' : '',
                    h('a', {href: '#/certificates'}, 'See it in the certificates'), ' · ',
                    h('button', {type: 'button', onclick: () => renderImport(main, [], ctx)}, 'Import another'));
            }}), done);
    };

    showStep(0);
    fill(panel, step1);
    fileInput.focus();
}

// What the dry run read: the certificate as the servers would hold it.
export function certificateCard(c) {
    const row = (label, ...value) => [h('dt', {}, label), h('dd', {}, ...value)];
    return h('section', {class: 'certificate-card', 'aria-label': 'The certificate in the file'},
        h('h2', {}, c.friendlyName || c.subject),
        h('dl', {},
            row('Subject', c.subject),
            row('Domains', (c.certificateDomains || []).join(', ') || '—'),
            row('Issuer', c.issuer),
            row('Valid', formatTime(c.notBefore), ' to ', expiryCell(c.notAfter)),
            row('Key', `${c.keyAlgorithm} ${c.publicKeySize} bits`,
                c.hasPrivateKey ? ', with its private key' : ', no private key (a certificate only)'),
            row('Thumbprint', h('code', {class: 'thumbprint'}, c.thumbprint)),
            row('Chain', h('ol', {class: 'chain'}, (c.chain || []).map((link) =>
                h('li', {}, link.subject, h('span', {class: 'muted'}, ` (until ${formatTime(link.notAfter)})`))))),
            row('Status', statusBadge(c.status, c), ' ', h('span', {class: 'muted'},
                daysLeft(c.notAfter) < 0 ? 'expired' : 'as the controller judges it; each server judges it again'))));
}
