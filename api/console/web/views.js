// Pieces several views share: an API error as the user reads it, and a job's live progress.

import {call, followJob} from './api.js';
import {fill, formatTime, h, labelled} from './dom.js';

// The API's own message and stable code, never a bare HTTP status.
export function errorBox(error) {
    return h('div', {class: 'error', role: 'alert'}, h('strong', {class: 'code'}, error.code || 'error'), ' ',
        error.message || String(error));
}

// Final states of a target, and of a job (which may also end partiallySucceeded).
const FINAL = new Set(['succeeded', 'failed', 'cancelled']);
const JOB_FINAL = new Set([...FINAL, 'partiallySucceeded']);

export function targetOutcome(target) {
    if (target.error) {
        return `${target.error.code}: ${target.error.message}`;
    }
    if (target.report) {
        return target.report.status ? `${target.report.result}, status ${target.report.status}` : target.report.result;
    }
    return target.state === 'running' ? 'in progress…' : '';
}

function countsText(counts) {
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    const finished = counts.succeeded + counts.failed + counts.cancelled;
    const parts = ['succeeded', 'failed', 'cancelled', 'running', 'pending'].filter((k) => counts[k])
        .map((k) => `${counts[k]} ${k}`);
    return `${finished} of ${total} server(s) finished${parts.length ? ': ' + parts.join(', ') : ''}`;
}

// A job's targets, kept live from its events stream, with Retry failed and Cancel for operators.
// Answers the node; `onFinal(job)` is called each time the job reaches a final state.
export function jobProgress(initialJob, ctx, {onFinal, showTimeline = false} = {}) {
    const job = {...initialJob};
    const targets = new Map((initialJob.targets || []).map((t) => [t.server, {...t, history: []}]));
    let lastEventId = null;
    let following = false;

    const stateLine = h('p', {class: 'job-state', id: 'job-state'});
    const live = h('p', {class: 'progress-live', 'aria-live': 'polite', role: 'status', id: 'job-progress'});
    const error = h('div');
    const retry = h('button', {type: 'button', id: 'retry-failed', hidden: true, onclick: () => act('retry')},
        'Retry failed');
    const cancel = h('button', {type: 'button', id: 'cancel-job', hidden: true, onclick: () => act('cancel')},
        'Cancel');
    const body = h('tbody');
    const node = h('section', {class: 'job-progress', 'aria-label': 'Progress of each server'},
        stateLine, live,
        h('div', {class: 'table-scroll'}, h('table', {id: 'targets'},
            h('caption', {class: 'visually-hidden'}, 'Each server of the job'),
            h('thead', {}, h('tr', {}, ['Server', 'State', 'Attempts', 'Result', 'Finished']
                .map((label) => h('th', {scope: 'col'}, label)))),
            body)),
        ctx.can('operator') ? h('div', {class: 'actions'}, retry, cancel) : null,
        error);

    function render() {
        const counts = job.targetCounts || {pending: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0};
        fill(stateLine, 'Job ', h('a', {href: `#/jobs/${job.id}`}, h('code', {}, job.id)), ` (${job.kind}): `,
            h('span', {class: `state state-${job.state}`}, job.state));
        live.textContent = countsText(counts);
        fill(body, [...targets.values()].map((t) => h('tr', {dataset: {server: t.server, state: t.state}},
            h('th', {scope: 'row'}, h('a', {href: `#/servers/${encodeURIComponent(t.server)}`}, t.server)),
            h('td', {}, h('span', {class: `state state-${t.state}`}, t.state)),
            h('td', {}, String(t.attempts ?? 0)),
            h('td', {class: 'outcome'}, targetOutcome(t),
                showTimeline && t.history.length ? h('ol', {class: 'timeline'}, t.history.map((step) =>
                    h('li', {}, h('time', {}, formatTime(step.at)), ' ', step.state,
                        step.text ? ` — ${step.text}` : ''))) : null),
            h('td', {}, formatTime(t.finishedAt)))));
        labelled(body.parentNode);
        const final = JOB_FINAL.has(job.state);
        retry.hidden = !(final && counts.failed);  // the API retries failed targets, not cancelled ones
        cancel.hidden = final;
    }

    async function act(what) {
        fill(error);
        try {
            const answer = await call('POST', `/v1/jobs/${encodeURIComponent(job.id)}/${what}`);
            Object.assign(job, answer);
            ctx.announce(what === 'retry' ? 'Retrying the servers that did not succeed' : 'Cancelling the job');
            render();
            if (!following) {
                follow();
            }
        } catch (e) {
            fill(error, errorBox(e));
        }
    }

    function onEvent(type, data) {
        if (type === 'job' || type === 'done') {
            job.state = data.state;
            job.finishedAt = data.finishedAt;
            job.targetCounts = data.targetCounts;
        } else if (type === 'target') {
            const previous = targets.get(data.server) || {history: []};
            const history = [...previous.history, {at: data.finishedAt || data.startedAt || new Date().toISOString(),
                state: data.state, text: FINAL.has(data.state) ? targetOutcome(data) : ''}];
            targets.set(data.server, {...data, history});
            if (FINAL.has(data.state)) {
                ctx.announce(`${data.server}: ${data.state}${data.error ? ', ' + data.error.message : ''}`);
            }
        }
        render();
        if (type === 'done') {
            onFinal?.(job);
        }
    }

    async function follow() {
        following = true;
        try {
            lastEventId = await followJob(job.id, onEvent, ctx.signal, lastEventId);
        } catch (e) {
            if (!ctx.signal.aborted) {
                fill(error, errorBox(e));
            }
        } finally {
            following = false;
        }
    }

    render();
    follow();
    return node;
}

// A list read page by page (newest first) into `body`, with an "older" button: answers load(append).
// fetchPage(after) answers the API's page; rowsOf(page) its rows as nodes. A newer load's answer wins over
// an older one still on its way (filters typed quickly).
export function pagedList({body, more, error, fetchPage, rowsOf, emptyText, columns}) {
    let next = null;
    let generation = 0;
    const load = async (append) => {
        fill(error);
        const mine = ++generation;
        try {
            const page = await fetchPage(append ? next : undefined);
            if (mine !== generation) {
                return;
            }
            if (!append) {
                body.replaceChildren();
            }
            const rows = rowsOf(page);
            body.append(...rows);
            if (!rows.length && !append) {
                body.append(h('tr', {}, h('td', {colspan: columns, class: 'empty'}, emptyText)));
            }
            labelled(body.parentNode);
            next = page.next;
            more.hidden = !next;
        } catch (e) {
            fill(error, errorBox(e));
        }
    };
    more.addEventListener('click', () => load(true));
    return load;
}

// Calls `action` once typing in `input` pauses.
export function onTyped(input, action, delay = 300) {
    let timer = null;
    input.addEventListener('input', () => {
        clearTimeout(timer);
        timer = setTimeout(action, delay);
    });
}
