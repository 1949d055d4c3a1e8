// Jobs: the list (newest first, filtered by state), and one job's page with each server's timeline, live.

import {call} from './api.js';
import {field, fill, formatTime, h} from './dom.js';
import {errorBox, jobProgress, onTyped, pagedList} from './views.js';

const STATES = ['queued', 'running', 'succeeded', 'partiallySucceeded', 'failed', 'cancelled'];

export async function renderJobs(main, _params, ctx) {
    const state = h('select', {id: 'job-state-filter'}, h('option', {value: ''}, 'Any state'),
        STATES.map((s) => h('option', {value: s}, s)));
    const server = h('input', {id: 'job-server-filter', type: 'search', placeholder: 'ex01'});
    const body = h('tbody');
    const more = h('button', {type: 'button', hidden: true}, 'Older jobs');
    const error = h('div');
    fill(main, h('h1', {}, 'Jobs'),
        h('form', {class: 'filters', role: 'search', 'aria-label': 'Filter jobs', onsubmit: (e) => e.preventDefault()},
            field('State', state), field('Server', server)),
        error,
        h('div', {class: 'table-scroll'}, h('table', {id: 'jobs'},
            h('caption', {class: 'visually-hidden'}, 'Jobs, newest first'),
            h('thead', {}, h('tr', {}, ['Job', 'Kind', 'State', 'Created', 'Certificate', 'Succeeded']
                .map((label) => h('th', {scope: 'col'}, label)))),
            body)),
        more);
    const load = pagedList({body, more, error, columns: 6, emptyText: 'No job matches.',
        fetchPage: (after) => call('GET', '/v1/jobs', {query: {state: state.value, server: server.value.trim(),
            limit: 50, after}}),
        rowsOf: (page) => page.jobs.map(jobRow)});
    state.addEventListener('change', () => load(false));
    onTyped(server, () => load(false));
    await load(false);
}

function jobRow(job) {
    const c = job.targetCounts;
    const total = c.pending + c.running + c.succeeded + c.failed + c.cancelled;
    return h('tr', {},
        h('td', {}, h('a', {href: `#/jobs/${job.id}`}, h('code', {}, job.id.slice(0, 8)))),
        h('td', {}, job.kind),
        h('td', {}, h('span', {class: `state state-${job.state}`}, job.state)),
        h('td', {}, formatTime(job.createdAt)),
        h('td', {}, job.certificate?.subject || job.thumbprint),
        h('td', {}, `${c.succeeded}/${total}`));
}

export async function renderJob(main, [id], ctx) {
    fill(main, h('p', {class: 'crumbs'}, h('a', {href: '#/jobs'}, 'Jobs'), ' › ', id.slice(0, 8)),
        h('h1', {}, 'Job'));
    let job;
    try {
        job = await call('GET', `/v1/jobs/${encodeURIComponent(id)}`);
    } catch (e) {
        main.append(errorBox(e));
        return;
    }
    const row = (label, ...value) => [h('dt', {}, label), h('dd', {}, ...value)];
    const options = job.options || {};
    main.append(h('dl', {class: 'facts'},
        row('Kind', job.kind),
        row('Certificate', job.certificate?.subject || '—', ' ', h('code', {class: 'thumbprint'}, job.thumbprint)),
        row('Created', formatTime(job.createdAt)),
        row('Finished', formatTime(job.finishedAt)),
        options.services?.length ? row('Services', options.services.join(', ')) : null,
        options.privateKeyExportable !== undefined ? row('Private key exportable', options.privateKeyExportable ? 'yes'
            : 'no') : null),
    h('h2', {}, 'Servers'),
    jobProgress(job, ctx, {showTimeline: true}));
}
