// Small DOM helpers: the console builds its views with these instead of a framework. Text always goes in as
// text nodes (never innerHTML), so nothing the API answers can become markup.

// h('button', {class: 'primary', onclick: fn, 'aria-label': 'Close'}, 'Close', child...)
export function h(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
        if (value === undefined || value === null || value === false) {
            continue;
        }
        if (key.startsWith('on') && typeof value === 'function') {
            node.addEventListener(key.slice(2), value);
        } else if (key === 'class') {
            node.className = value;
        } else if (key === 'value' || key === 'checked' || key === 'selected' || key === 'disabled') {
            node[key] = value;
        } else if (key === 'dataset') {
            Object.assign(node.dataset, value);
        } else {
            node.setAttribute(key, value === true ? '' : String(value));
        }
    }
    append(node, children);
    return node;
}

function append(node, children) {
    for (const child of children) {
        if (child === undefined || child === null || child === false) {
            continue;
        }
        if (Array.isArray(child)) {
            append(node, child);
        } else {
            node.append(child instanceof Node ? child : document.createTextNode(String(child)));
        }
    }
}

// Replaces a node's children.
export function fill(node, ...children) {
    node.replaceChildren();
    append(node, children);
    return node;
}

// "2027-01-04 12:00 UTC": one format everywhere, in UTC like the API.
export function formatTime(iso) {
    if (!iso) {
        return '—';
    }
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) {
        return iso;
    }
    return date.toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
}

export function daysLeft(iso, now = Date.now()) {
    return Math.floor((new Date(iso).getTime() - now) / 86400000);
}

// The days left until notAfter, coloured under 30 and 14 days (and once expired).
export function expiryCell(notAfter) {
    if (!notAfter) {
        return h('span', {class: 'expiry none'}, '—');  // a pending request: no dates until its CA answers
    }
    const days = daysLeft(notAfter);
    const level = days < 0 ? 'expired' : days < 14 ? 'critical' : days < 30 ? 'warning' : 'ok';
    const words = days < 0 ? `expired ${-days} d ago` : `${days} d left`;
    return h('span', {class: `expiry ${level}`}, formatTime(notAfter), h('span', {class: 'days'}, words));
}

// Why a certificate has the status it has, from what the API says of it.
export function statusReason(status, certificate = {}) {
    switch (status) {
        case 'Valid':
            return 'The chain reaches a root this server trusts and every date holds.';
        case 'Untrusted':
            return certificate.isSelfSigned
                ? 'Self-signed: no root this server trusts issued it.'
                : 'The chain does not reach a root this server trusts (a missing intermediate or an unknown root).';
        case 'DateInvalid': {
            if (certificate.notBefore && new Date(certificate.notBefore) > new Date()) {
                return `Not valid before ${formatTime(certificate.notBefore)}.`;
            }
            if (certificate.notAfter && new Date(certificate.notAfter) < new Date()) {
                return `Expired on ${formatTime(certificate.notAfter)}.`;
            }
            return 'A certificate of its chain is expired or not yet valid.';
        }
        case 'Invalid':
            return 'A bad signature, an unusable key, or an issuer that may not issue certificates.';
        case 'PendingRequest':
            return 'A certificate request made on this server, waiting for its CA\'s answer: import the answer ' +
                '(no server needed) to complete it with the key that never left the server.';
        default:
            return '';
    }
}

export function statusBadge(status, certificate) {
    return h('span', {class: `status status-${status}`, title: statusReason(status, certificate)}, status);
}

export function download(blob, filename) {
    const url = URL.createObjectURL(blob);
    const link = h('a', {href: url, download: filename, hidden: true});
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// A table whose columns sort when their header is pressed. columns: [{key, label, value(row) for sorting,
// cell(row) -> node or text}]. Keeps its sort across re-renders through `state`.
export function sortableTable(caption, columns, rows, state = {key: columns[0].key, ascending: true}, rerender) {
    const column = columns.find((c) => c.key === state.key) || columns[0];
    const sorted = [...rows].sort((a, b) => {
        const x = column.value ? column.value(a) : '';
        const y = column.value ? column.value(b) : '';
        const order = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
        return state.ascending ? order : -order;
    });
    const head = columns.map((c) => {
        if (!c.value) {
            return h('th', {scope: 'col'}, c.label);
        }
        const active = c.key === state.key;
        return h('th', {scope: 'col', 'aria-sort': active ? (state.ascending ? 'ascending' : 'descending') : 'none'},
            h('button', {
                type: 'button', class: 'sort',
                onclick: () => {
                    state.ascending = active ? !state.ascending : true;
                    state.key = c.key;
                    rerender();
                },
            }, c.label, h('span', {'aria-hidden': 'true'}, active ? (state.ascending ? ' ▲' : ' ▼') : '')));
    });
    return h('div', {class: 'table-scroll'},
        h('table', {},
            h('caption', {class: 'visually-hidden'}, caption),
            h('thead', {}, h('tr', {}, head)),
            h('tbody', {}, sorted.map((row) => h('tr', {}, columns.map((c) => h('td', {dataset: {label: c.label}},
                c.cell ? c.cell(row) : c.value(row))))))));
}

// A modal dialog (keyboard: Esc closes, focus stays inside); resolves when closed.
export function openDialog(title, body, actions) {
    const heading = h('h2', {id: `dialog-${Date.now()}`}, title);
    const dialog = h('dialog', {'aria-labelledby': heading.id}, heading, body, h('div', {class: 'actions'}, actions));
    document.body.append(dialog);
    dialog.addEventListener('close', () => dialog.remove());
    dialog.showModal();
    return dialog;
}

export function field(label, input, hint) {
    const id = input.id || `f-${Math.random().toString(36).slice(2)}`;
    input.id = id;
    const hintNode = hint ? h('small', {id: `${id}-hint`, class: 'hint'}, hint) : null;
    if (hintNode) {
        input.setAttribute('aria-describedby', hintNode.id);
    }
    return h('div', {class: 'field'}, h('label', {for: id}, label), input, hintNode);
}

// Gives every cell of `table` its column's header as data-label, which narrow screens show beside the value
// (style.css); answers the table.
export function labelled(table) {
    const headers = [...table.querySelectorAll('thead th')].map((th) => th.textContent.replace(/[▲▼]/g, '').trim());
    for (const row of table.querySelectorAll('tbody tr')) {
        [...row.children].forEach((cell, i) => {
            if (headers[i] && !cell.dataset.label) {
                cell.dataset.label = headers[i];
            }
        });
    }
    return table;
}
