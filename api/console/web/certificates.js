// Certificates: the fleet's inventory (GET /v1/certificates) — every certificate on every server, its
// status there and when it expires — as a sortable, filterable table, exportable as CSV. The filters are
// the API's own (status, domain with wildcards, server, expiringWithinDays).

import {callAll} from './api.js';
import {daysLeft, download, expiryCell, field, fill, formatTime, h, sortableTable, statusBadge} from './dom.js';
import {errorBox} from './views.js';

const STATUSES = ['Valid', 'Untrusted', 'DateInvalid', 'Invalid', 'PendingRequest'];

export async function renderCertificates(main, _params, ctx) {
    const filters = {status: '', domain: '', server: '', expiringWithinDays: ''};
    const sort = {key: 'notAfter', ascending: true};
    let rows = [];

    const summary = h('p', {class: 'summary', id: 'fleet-summary'});
    const results = h('div', {id: 'certificates-results', 'aria-live': 'polite'});
    const status = h('select', {id: 'filter-status', name: 'status'},
        h('option', {value: ''}, 'Any status'), STATUSES.map((s) => h('option', {value: s}, s)));
    const domain = h('input', {id: 'filter-domain', name: 'domain', type: 'search', placeholder: 'mail.contoso.com',
        title: 'A host name, matched exactly or under a wildcard certificate'});
    const server = h('select', {id: 'filter-server', name: 'server'}, h('option', {value: ''}, 'Any server'));
    const expiring = h('input', {id: 'filter-expiring', name: 'expiringWithinDays', type: 'number', min: 0,
        max: 36500, inputmode: 'numeric', placeholder: 'days'});
    const csv = h('button', {type: 'button', onclick: () => exportCsv(rows)}, 'Export CSV');

    fill(main,
        h('div', {class: 'title-row'}, h('h1', {}, 'Certificates'),
            ctx.can('operator') ? h('a', {class: 'button primary', href: '#/import'}, 'Import a certificate') : null),
        summary,
        h('form', {class: 'filters', role: 'search', 'aria-label': 'Filter certificates',
            onsubmit: (e) => e.preventDefault()},
        field('Status', status), field('Domain', domain), field('Server', server),
        field('Expiring within (days)', expiring), h('div', {class: 'field'}, h('span', {}, ' '), csv)),
        results);

    const render = () => {
        fill(results, rows.length === 0
            ? h('p', {class: 'empty'}, 'No certificate matches.')
            : sortableTable('Certificates of the fleet', columns(), rows, sort, render));
    };
    let generation = 0;
    const load = async () => {
        const mine = ++generation;
        try {
            const found = await callAll('/v1/certificates', 'certificates', filters);
            if (mine !== generation) {
                return;  // a newer filter answered first
            }
            rows = found;
            render();
            ctx.announce(`${rows.length} certificate(s) shown`);
        } catch (e) {
            if (mine === generation) {
                fill(results, errorBox(e));
            }
        }
    };
    let timer = null;
    const changed = (key, input) => () => {
        filters[key] = input.value.trim();
        clearTimeout(timer);
        timer = setTimeout(load, 250);
    };
    status.addEventListener('change', changed('status', status));
    server.addEventListener('change', changed('server', server));
    domain.addEventListener('input', changed('domain', domain));
    expiring.addEventListener('input', changed('expiringWithinDays', expiring));

    await Promise.all([load(), fleetSummary(summary, server)]);
}

// The whole fleet at a glance: how many certificates, how many expire soon, how many are not Valid.
async function fleetSummary(summary, serverSelect) {
    try {
        const [all, servers] = await Promise.all([callAll('/v1/certificates', 'certificates'),
            callAll('/v1/servers', 'servers')]);
        for (const server of servers) {
            serverSelect.append(h('option', {value: server.name}, server.name));
        }
        const soon = (days) => all.filter((c) => daysLeft(c.notAfter) < days).length;
        const notValid = all.filter((c) => c.servers.some((s) => s.status !== 'Valid')).length;
        const unreachable = servers.filter((s) => !s.reachable).length;
        fill(summary,
            `${all.length} certificate(s) on ${servers.length} server(s)`,
            h('span', {class: soon(14) ? 'critical' : ''}, ` · ${soon(14)} expire within 14 days`),
            h('span', {class: soon(30) ? 'warning' : ''}, ` · ${soon(30)} within 30 days`),
            h('span', {class: notValid ? 'critical' : ''}, ` · ${notValid} not Valid somewhere`),
            unreachable ? h('span', {class: 'warning'}, ` · ${unreachable} server(s) unreachable`) : '');
    } catch (e) {
        fill(summary, errorBox(e));
    }
}

function statuses(row) {
    const distinct = [...new Set(row.servers.map((s) => s.status))];
    return distinct.map((s) => statusBadge(s, row));
}

function services(row) {
    return row.servers.flatMap((s) => s.services.map((service) => `${service} (${s.server})`)).join(', ');
}

function columns() {
    return [
        {key: 'friendlyName', label: 'Friendly name', value: (r) => r.friendlyName || ''},
        {key: 'subject', label: 'Subject', value: (r) => r.subject || ''},
        {key: 'domains', label: 'Certificate domains', value: (r) => (r.certificateDomains || []).join(', ')},
        // Shortened here (the server's page and the CSV show it whole); the whole one is its title.
        {key: 'thumbprint', label: 'Thumbprint', value: (r) => r.thumbprint,
            cell: (r) => h('code', {class: 'thumbprint', title: r.thumbprint, 'aria-label': r.thumbprint},
                `${r.thumbprint.slice(0, 8)}…${r.thumbprint.slice(-4)}`)},
        {key: 'notBefore', label: 'Not before', value: (r) => r.notBefore || '', cell: (r) => formatTime(r.notBefore)},
        {key: 'notAfter', label: 'Not after', value: (r) => r.notAfter, cell: (r) => expiryCell(r.notAfter)},
        {key: 'status', label: 'Status', value: (r) => r.servers.map((s) => s.status).join(','), cell: statuses},
        {key: 'servers', label: 'Servers', value: (r) => r.servers.map((s) => s.server).join(','),
            cell: (r) => r.servers.map((s, i) => [i ? ', ' : '', h('a', {href: `#/servers/${encodeURIComponent(s.server)}`},
                s.server)])},
        {key: 'services', label: 'Services', value: services},
    ];
}

// One line per certificate and server, as a spreadsheet wants it.
function exportCsv(rows) {
    const quote = (v) => `"${String(v ?? '').replaceAll('"', '""')}"`;
    const lines = [['FriendlyName', 'Subject', 'CertificateDomains', 'Thumbprint', 'NotBefore', 'NotAfter',
        'DaysLeft', 'Server', 'Status', 'Services']];
    for (const r of rows) {
        for (const s of r.servers) {
            lines.push([r.friendlyName, r.subject, (r.certificateDomains || []).join(' '), r.thumbprint, r.notBefore,
                r.notAfter, daysLeft(r.notAfter), s.server, s.status, s.services.join(' ')]);
        }
    }
    const text = lines.map((line) => line.map(quote).join(',')).join('\r\n') + '\r\n';
    download(new Blob([text], {type: 'text/csv'}), 'certificates.csv');
}

