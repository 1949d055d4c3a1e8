// Admin pages: API tokens (create, shown once; revoke) and the audit log.

import {call} from './api.js';
import {field, fill, formatTime, h, labelled, openDialog} from './dom.js';
import {errorBox, onTyped, pagedList} from './views.js';

export async function renderTokens(main, _params, ctx) {
    const list = h('div', {id: 'tokens-table'});
    const created = h('div', {id: 'token-created', 'aria-live': 'polite'});
    const name = h('input', {id: 'token-name', type: 'text', required: true, autocomplete: 'off', placeholder: 'ci-mail'});
    const role = h('select', {id: 'token-role'}, ['viewer', 'operator', 'admin'].map((r) => h('option', {value: r}, r)));
    const scope = h('input', {id: 'token-scope', type: 'text', autocomplete: 'off', placeholder: 'team=mail'});
    const days = h('input', {id: 'token-days', type: 'number', min: 1, max: 3650, value: 90});
    const error = h('div');
    const form = h('form', {class: 'inline-form', 'aria-label': 'Create a token'},
        field('Name', name), field('Role', role), field('Scope (optional)', scope, 'LABEL=VALUE …: servers it reaches'),
        field('Expires in (days)', days), h('div', {class: 'field'}, h('span', {}, ' '),
            h('button', {type: 'submit', class: 'primary'}, 'Create token')));
    fill(main, h('h1', {}, 'Tokens'), h('h2', {}, 'Create a token'), form, error, created, h('h2', {}, 'Tokens'), list);

    const load = async () => {
        try {
            const {tokens} = await call('GET', '/v1/tokens');
            fill(list, h('div', {class: 'table-scroll'}, labelled(h('table', {},
                h('caption', {class: 'visually-hidden'}, 'API tokens'),
                h('thead', {}, h('tr', {}, ['Name', 'Role', 'Scope', 'Created', 'Expires', 'Last used', 'Revoked', '']
                    .map((label) => h('th', {scope: 'col'}, label)))),
                h('tbody', {}, tokens.map((t) => h('tr', {},
                    h('td', {}, t.name), h('td', {}, t.role),
                    h('td', {}, t.scope ? Object.entries(t.scope).map(([k, v]) => `${k}=${v}`).join(' ') : 'all servers'),
                    h('td', {}, formatTime(t.createdAt)), h('td', {}, formatTime(t.expiresAt)),
                    h('td', {}, formatTime(t.lastUsedAt)), h('td', {}, formatTime(t.revokedAt)),
                    h('td', {}, t.revokedAt || t.name === ctx.who.name ? '' : h('button', {type: 'button',
                        class: 'danger', 'aria-label': `Revoke ${t.name}`, onclick: () => revoke(t.name, load)},
                    'Revoke…')))))))));
        } catch (e) {
            fill(list, errorBox(e));
        }
    };
    form.addEventListener('submit', async (event) => {
        event.preventDefault();
        fill(error);
        fill(created);
        const body = {name: name.value.trim(), role: role.value, expiresInDays: Number(days.value)};
        if (scope.value.trim()) {
            body.scope = Object.fromEntries(scope.value.trim().split(/[\s,]+/).map((p) => {
                const eq = p.indexOf('=');
                return [p.slice(0, eq), p.slice(eq + 1)];
            }));
        }
        try {
            const answer = await call('POST', '/v1/tokens', {json: body});
            // Shown once, here: the controller keeps only its hash.
            const secret = h('input', {id: 'new-token', type: 'text', readonly: true, value: answer.token,
                'aria-label': `The token ${answer.name}`});
            fill(created, h('div', {class: 'notice'}, h('p', {}, `Token ${answer.name} (${answer.role}) created. Copy it ` +
                'now: it is not shown again.'), secret));
            secret.select();
            name.value = '';
            load();
        } catch (e) {
            fill(error, errorBox(e));
        }
    });
    await load();
}

function revoke(tokenName, reload) {
    const error = h('div');
    const go = h('button', {type: 'button', class: 'primary danger', onclick: async () => {
        try {
            await call('DELETE', `/v1/tokens/${encodeURIComponent(tokenName)}`);
            dialog.close();
            reload();
        } catch (e) {
            fill(error, errorBox(e));
        }
    }}, 'Revoke');
    const dialog = openDialog(`Revoke ${tokenName}?`, h('div', {}, h('p', {}, 'Calls with it are refused from now ' +
        'on (token-revoked).'), error), [h('button', {type: 'button', onclick: () => dialog.close()}, 'Cancel'), go]);
}

export async function renderAudit(main) {
    const outcome = h('select', {id: 'audit-outcome'}, h('option', {value: ''}, 'Any outcome'),
        h('option', {value: 'succeeded'}, 'succeeded'), h('option', {value: 'refused'}, 'refused'));
    const token = h('input', {id: 'audit-token', type: 'search', placeholder: 'token name'});
    const server = h('input', {id: 'audit-server', type: 'search', placeholder: 'server'});
    const body = h('tbody');
    const error = h('div');
    const more = h('button', {type: 'button', hidden: true}, 'Older entries');
    fill(main, h('h1', {}, 'Audit log'),
        h('form', {class: 'filters', role: 'search', 'aria-label': 'Filter the audit log',
            onsubmit: (e) => e.preventDefault()}, field('Outcome', outcome), field('Token', token), field('Server', server)),
        error,
        h('div', {class: 'table-scroll'}, h('table', {id: 'audit'},
            h('caption', {class: 'visually-hidden'}, 'Audit log, newest first'),
            h('thead', {}, h('tr', {}, ['When', 'Who', 'From', 'Request', 'Server', 'Job', 'Status', 'Code']
                .map((label) => h('th', {scope: 'col'}, label)))), body)),
        more);
    const load = pagedList({body, more, error, columns: 8, emptyText: 'No entry matches.',
        fetchPage: (after) => call('GET', '/v1/audit', {query: {outcome: outcome.value, token: token.value.trim(),
            server: server.value.trim(), limit: 100, after}}),
        rowsOf: (page) => page.entries.map((e) => h('tr', {class: e.code ? 'refused' : ''},
            h('td', {}, formatTime(e.at)), h('td', {}, e.token || '—'), h('td', {}, e.client),
            h('td', {}, h('code', {}, `${e.method} ${e.route}`)), h('td', {}, e.server || ''),
            h('td', {}, e.job ? h('a', {href: `#/jobs/${e.job}`}, e.job.slice(0, 8)) : ''),
            h('td', {}, String(e.status)), h('td', {}, e.code || '')))});
    onTyped(token, () => load(false));
    onTyped(server, () => load(false));
    outcome.addEventListener('change', () => load(false));
    await load(false);
}
