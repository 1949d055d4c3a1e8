// Servers: the registry with each agent's reachability, version, last contact and what its server holds
// (certificates, soonest expiry, from the inventory). Admins register, edit, approve and delete servers.

import {call, callAll} from './api.js';
import {expiryCell, field, fill, formatTime, h, openDialog, sortableTable} from './dom.js';
import {errorBox} from './views.js';

export async function renderServers(main, _params, ctx) {
    const sort = {key: 'name', ascending: true};
    const list = h('div', {id: 'servers-table'});
    fill(main, h('div', {class: 'title-row'}, h('h1', {}, 'Servers'),
        ctx.can('admin') ? h('button', {type: 'button', class: 'primary', id: 'register-server',
            onclick: () => serverDialog(null, load)}, 'Register a server') : null), list);
    let rows = [];
    const render = () => fill(list, rows.length ? sortableTable('Servers', columns(ctx, load), rows, sort, render)
        : h('p', {class: 'empty'}, 'No server is registered. Agents register themselves with a join token ' +
            '(certdeploy token join), or an admin registers one here.'));
    async function load() {
        try {
            const [servers, inventory] = await Promise.all([callAll('/v1/servers', 'servers'),
                callAll('/v1/certificates', 'certificates')]);
            rows = servers.map((s) => {
                const held = inventory.filter((c) => c.servers.some((where) => where.server === s.name));
                const soonest = held.map((c) => c.notAfter).sort()[0] || null;
                return {...s, count: held.length, soonest};
            });
            render();
        } catch (e) {
            fill(list, errorBox(e));
        }
    }
    await load();
}

const labelText = (labels) => Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(' ');

function columns(ctx, reload) {
    const cols = [
        {key: 'name', label: 'Name', value: (s) => s.name,
            cell: (s) => h('a', {href: `#/servers/${encodeURIComponent(s.name)}`}, s.name)},
        {key: 'labels', label: 'Labels', value: (s) => labelText(s.labels)},
        {key: 'reachable', label: 'Reachable', value: (s) => (s.reachable ? 'yes' : 'no'),
            cell: (s) => [h('span', {class: s.reachable ? 'reachable' : 'unreachable'}, s.reachable ? 'yes' : 'no'),
                s.pending ? h('span', {class: 'warning'}, ' (pending approval)') : '']},
        {key: 'version', label: 'Agent version', value: (s) => s.agentVersion || ''},
        {key: 'lastContact', label: 'Last contact', value: (s) => s.lastContact || '', cell: (s) => formatTime(s.lastContact)},
        {key: 'count', label: 'Certificates', value: (s) => s.count},
        {key: 'soonest', label: 'Soonest expiry', value: (s) => s.soonest || '9999',
            cell: (s) => (s.soonest ? expiryCell(s.soonest) : '—')},
    ];
    if (ctx.can('admin')) {
        cols.push({key: 'actions', label: 'Actions', cell: (s) => h('span', {class: 'row-actions'},
            s.pending ? h('button', {type: 'button', onclick: () => approve(s, reload)}, 'Approve') : null,
            h('button', {type: 'button', 'aria-label': `Edit ${s.name}`, onclick: () => serverDialog(s, reload)}, 'Edit…'),
            h('button', {type: 'button', class: 'danger', 'aria-label': `Delete ${s.name}`,
                onclick: () => deleteDialog(s, reload)}, 'Delete…'))});
    }
    return cols;
}

async function approve(server, reload) {
    try {
        await call('POST', `/v1/servers/${encodeURIComponent(server.name)}/approve`);
        reload();
    } catch (e) {
        openDialog('Approve', errorBox(e), []);
    }
}

function parseLabels(text) {
    const labels = {};
    for (const pair of text.split(/[\s,]+/).filter(Boolean)) {
        const eq = pair.indexOf('=');
        if (eq <= 0) {
            throw {code: 'invalid-request', message: `"${pair}" is not LABEL=VALUE (for example role=mailbox)`};
        }
        labels[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    return labels;
}

function serverDialog(server, reload) {
    const name = h('input', {id: 'server-name', type: 'text', required: true, autocomplete: 'off',
        value: server?.name || '', disabled: Boolean(server), placeholder: 'ex03'});
    const url = h('input', {id: 'server-url', type: 'url', required: true, autocomplete: 'off',
        value: server?.agentUrl || '', placeholder: 'https://ex03.contoso.com:9443'});
    const labels = h('input', {id: 'server-labels', type: 'text', autocomplete: 'off',
        value: server ? labelText(server.labels) : '', placeholder: 'role=mailbox site=paris'});
    const error = h('div');
    const body = h('form', {}, field('Name', name), field('Agent URL', url, 'https://HOST:PORT'),
        field('Labels', labels, 'LABEL=VALUE, separated by spaces or commas'), error);
    const save = h('button', {type: 'button', class: 'primary', onclick: async () => {
        fill(error);
        try {
            await call('PUT', `/v1/servers/${encodeURIComponent(name.value.trim())}`,
                {json: {agentUrl: url.value.trim(), labels: parseLabels(labels.value)}});
            dialog.close();
            reload();
        } catch (e) {
            fill(error, errorBox(e));
        }
    }}, server ? 'Save' : 'Register');
    const dialog = openDialog(server ? `Edit ${server.name}` : 'Register a server', body,
        [h('button', {type: 'button', onclick: () => dialog.close()}, 'Cancel'), save]);
    (server ? url : name).focus();
}

function deleteDialog(server, reload) {
    const error = h('div');
    const go = h('button', {type: 'button', class: 'primary danger', onclick: async () => {
        try {
            await call('DELETE', `/v1/servers/${encodeURIComponent(server.name)}`);
            dialog.close();
            reload();
        } catch (e) {
            fill(error, errorBox(e));
        }
    }}, 'Delete');
    const dialog = openDialog(`Delete ${server.name}?`, h('div', {}, h('p', {}, 'The controller forgets the server ' +
        'and revokes its agent\'s identity; what is installed there stays. Its agent must enrol again to return.'),
    error), [h('button', {type: 'button', onclick: () => dialog.close()}, 'Cancel'), go]);
}
